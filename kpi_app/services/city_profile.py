"""Reading the city profile of a year (population, households, area, GDP): no writes.

Which KPI divides by which city fact, and the stored figures of a city and year. The data
entry (`services.values`) reads these to offer the shared denominators; editing the profile
and following the corrected figures into the KPI values is `services.city_facts`, which
builds on `values`, so the reads live here, below both.
"""

from __future__ import annotations

from kpi_app.catalogue import Indicator
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import CityYearFacts

FACT_NAMES = ("population", "households", "area_km2", "gdp")

# Catalogue denominators that are one of the city facts, by their (lower-case) wording.
# "Total city area/population" is left out on purpose: the KPI lets the city choose.
SHARED_DENOMINATORS = {
    "city population": "population",
    "total inhabitants": "population",
    "total population": "population",
    "total households": "households",
    "total city area": "area_km2",
    "city gdp": "gdp",
}


def fact_label(name: str) -> str:
    labels = {
        "population": _("city population"),
        "households": _("number of households"),
        "area_km2": _("city area (km²)"),
        "gdp": _("city GDP"),
    }
    return str(labels[name])


def shared_fact(indicator: Indicator) -> str | None:
    """The city fact this KPI divides by, or None."""
    if not indicator.denominator or indicator.multiplier is None:
        return None
    return SHARED_DENOMINATORS.get(indicator.denominator.strip().lower())


def facts_for(city_id: int, year: int) -> CityYearFacts | None:
    found: CityYearFacts | None = db.session.scalar(
        db.select(CityYearFacts).where(CityYearFacts.city_id == city_id, CityYearFacts.year == year)
    )
    return found


def previous_facts(city_id: int, year: int) -> CityYearFacts | None:
    """The latest earlier profile: a starting point the form offers for a new year."""
    found: CityYearFacts | None = db.session.scalar(
        db.select(CityYearFacts)
        .where(CityYearFacts.city_id == city_id, CityYearFacts.year < year)
        .order_by(CityYearFacts.year.desc())
        .limit(1)
    )
    return found


def fact_value(facts: CityYearFacts | None, name: str) -> float | None:
    if facts is None:
        return None
    value = getattr(facts, name)
    return float(value) if value is not None else None

"""The city profile of a reporting year: population, households, area and GDP, entered once.

Many KPIs divide by the same figures (21 by the city population, 9 by the households...).
U4SSC pre-fills them in its template and verifiers check that every KPI used the same ones.
Here they live in `CityYearFacts`, are offered as the denominator of every KPI whose
denominator names them, and when a figure is corrected, the KPI values of that year that
used the old figure follow (recomputed and audited), so the assessment stays consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from babel.numbers import list_currencies

from kpi_app.catalogue import Catalogue
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, CityYearFacts, IndicatorValue, User
from kpi_app.services import audit, values
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.city_profile import (
    FACT_NAMES,
    SHARED_DENOMINATORS,
    fact_label,
    fact_value,
    facts_for,
    previous_facts,
    shared_fact,
)

__all__ = [
    "FACT_NAMES",
    "SHARED_DENOMINATORS",
    "FactsInput",
    "FactsResult",
    "check_facts",
    "fact_label",
    "fact_value",
    "facts_for",
    "facts_input",
    "previous_facts",
    "save_facts",
    "shared_fact",
]


@dataclass(frozen=True, slots=True)
class FactsInput:
    population: float | None = None
    households: float | None = None
    area_km2: float | None = None
    gdp: float | None = None
    currency: str | None = None


@dataclass
class FactsResult:
    facts: CityYearFacts
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    values_updated: int = 0


def check_facts(data: FactsInput) -> list[values.Problem]:
    """Errors block saving; households above population is suspicious, not impossible."""
    problems: list[values.Problem] = []
    for name in ("population", "households", "area_km2"):
        amount = getattr(data, name)
        if amount is not None and amount <= 0:
            problems.append(values.Problem(name, _("This must be more than zero.")))
    if data.gdp is not None and data.gdp < 0:
        problems.append(values.Problem("gdp", _("The GDP cannot be negative.")))
    if data.currency and data.currency.upper() not in list_currencies():
        problems.append(
            values.Problem("currency", _("Use a three-letter ISO 4217 code such as EUR or NOK."))
        )
    if data.gdp is not None and not data.currency:
        problems.append(values.Problem("currency", _("Say in which currency the GDP is given.")))
    if (
        data.population is not None
        and data.households is not None
        and data.households > data.population
    ):
        problems.append(
            values.Problem(
                "households", _("There are more households than inhabitants."), "warning"
            )
        )
    return problems


def save_facts(
    assessment: Assessment,
    data: FactsInput,
    actor: User | None,
    catalogue: Catalogue | None = None,
) -> FactsResult:
    """Store the profile of the assessment's year; KPI denominators that used it follow."""
    values.ensure_editable(assessment)
    catalogue = catalogue or current_catalogue()
    facts = facts_for(assessment.city_id, assessment.year)
    if facts is None:
        facts = CityYearFacts(city_id=assessment.city_id, year=assessment.year)
        db.session.add(facts)
    changed: dict[str, tuple[Any, Any]] = {}
    for name in (*FACT_NAMES, "currency"):
        new = getattr(data, name)
        if name == "currency" and new:
            new = new.upper()
        old = getattr(facts, name)
        if old != new:
            changed[name] = (old, new)
            setattr(facts, name, new)
    result = FactsResult(facts=facts, changed=changed)
    if not changed:
        return result
    db.session.flush()
    audit.record(
        "update",
        "city_year_facts",
        facts.id,
        actor=actor,
        old={name: old for name, (old, _new) in changed.items()},
        new={name: new for name, (_old, new) in changed.items()},
        assessment_id=assessment.id,
    )
    result.values_updated = _follow_denominators(assessment, changed, actor, catalogue)
    db.session.commit()
    return result


def _follow_denominators(
    assessment: Assessment,
    changed: dict[str, tuple[Any, Any]],
    actor: User | None,
    catalogue: Catalogue,
) -> int:
    """Recompute values whose denominator was the old figure (and so meant the city fact)."""
    updated = 0
    records = db.session.scalars(
        db.select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    for record in records:
        if record.code not in catalogue:
            continue
        indicator = catalogue.indicator(record.code)
        fact = shared_fact(indicator)
        if fact not in changed:
            continue
        old, new = changed[fact]
        if old is None or new is None or record.denominator is None:
            continue
        if not values.same_number(record.denominator, float(old)):
            continue
        before = values.audit_fields(record)
        entry = values.input_from_record(record)
        moved = replace(entry, denominator=float(new))
        values.apply_entry(record, indicator, catalogue.item(record.code, record.data_point), moved)
        record.updated_by_id = actor.id if actor is not None else None
        db.session.flush()
        audit.record(
            "update",
            "indicator_value",
            record.id,
            actor=actor,
            old=before,
            new=values.audit_fields(record),
            reason=_("The city profile changed: %(fact)s.", fact=fact_label(fact)),
            assessment_id=assessment.id,
        )
        updated += 1
    return updated


def facts_input(facts: CityYearFacts | None) -> FactsInput:
    if facts is None:
        return FactsInput()
    return FactsInput(
        population=facts.population,
        households=facts.households,
        area_km2=facts.area_km2,
        gdp=facts.gdp,
        currency=facts.currency,
    )

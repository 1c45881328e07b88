"""The Member State view: a country's cities, their scores and reporting completeness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from kpi_app import charts
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, Country, IndicatorValue
from kpi_app.services import published_values, scores
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.reports.access import ReportNotFound
from kpi_app.services.reports.directory import (
    CityFilters,
    DirectoryPlan,
    build_directory,
    plan_directory,
)
from kpi_app.services.reports.names import (
    not_scored_label,
    translated_band_labels,
)


@dataclass
class CountryView:
    country: Country
    cities: pd.DataFrame
    summary: dict[str, Any]
    completeness: pd.DataFrame
    figures: dict[str, str]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"cities": self.cities, "completeness": self.completeness}


def _country(iso2: str) -> Country:
    country = db.session.scalar(select(Country).where(Country.iso2 == iso2.upper()))
    if country is None:
        raise ReportNotFound(iso2)
    return country


@dataclass(frozen=True)
class CountryPlan:
    """The country and the directory plan of its cities (what this user may see of them)."""

    country: Country
    directory: DirectoryPlan

    def key_parts(self) -> dict[str, Any]:
        """The directory plan's key covers the completeness table too: it is read from the
        same latest visible assessments, whose fingerprints change with any value or snapshot.
        """
        country = self.country
        return {"country": [country.iso2, country.name, country.region],
                **self.directory.key_parts()}  # fmt: skip


def plan_country(iso2: str, user: Any) -> CountryPlan:
    """Resolve the country (ReportNotFound if unknown) and what its page shows this user."""
    country = _country(iso2)
    return CountryPlan(country, plan_directory(user, CityFilters(country=country.iso2)))


def country_view(iso2: str, user: Any) -> CountryView:
    """All cities of a country: latest published (or permitted live) scores and completeness."""
    return build_country(plan_country(iso2, user))


def build_country(country_plan: CountryPlan) -> CountryView:
    """The Member State view a plan describes."""
    country, plan = country_plan.country, country_plan.directory
    directory = build_directory(plan)
    cities = directory.rows
    if plan.public is not None:  # read in SQL: the published rows' counts per snapshot
        completeness = _public_completeness(cities, directory.snapshots)
    else:
        own = {city.id for city in plan.cities if city.country_id == country.id}
        latest = {city_id: found for city_id, found in plan.latest.items() if city_id in own}
        completeness = _completeness(latest)
    scored = cities.dropna(subset=["score"])
    summary = {
        "cities": len(cities),
        "assessed": int(cities["year"].notna().sum()),
        "published": int((cities["status"] == "published").sum()),
        "mean_score": None if scored.empty else round(float(scored["score"].mean()), 1),
        "mean_reporting": None
        if completeness.empty
        else round(float(completeness["reported_share"].mean()), 0),
    }
    figures = {}
    if not scored.empty:
        bars = scored.assign(name=scored["name"])[["name", "score", "band"]]
        figures["cities"] = charts.score_bars_svg(
            bars,
            label_column="name",
            chart_id="country-bars",
            title=_("Overall score by city"),
            axis_title=_("Score (%)"),
            band_labels=translated_band_labels(),
            none_label=not_scored_label(),
        )
    return CountryView(country, cities, summary, completeness, figures)


COMPLETENESS_COLUMNS = [
    "city", "slug", "year", "reported", "items", "reported_share", "verified", "verified_share",
]  # fmt: skip


def _public_completeness(cities: pd.DataFrame, snapshot_of: dict[str, int]) -> pd.DataFrame:
    """The completeness table of the published cities listed, from their published-value
    counts (one grouped query): the same numbers as :func:`_completeness` reads from the
    snapshots."""
    total = len(current_catalogue().items())
    listed = cities[cities["year"].notna()]
    counts = published_values.counts([snapshot_of[s] for s in listed["slug"] if s in snapshot_of])
    rows = []
    for slug, name, year in zip(listed["slug"], listed["name"], listed["year"], strict=True):
        found = counts.get(snapshot_of.get(slug, -1), published_values.Counts())
        rows.append(
            {
                "city": name,
                "slug": slug,
                "year": int(year),
                "reported": found.reported,
                "items": total,
                "reported_share": round(100 * found.reported / total, 0),
                "verified": found.verified,
                "verified_share": round(100 * found.verified / total, 0),
            }
        )
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)


def _completeness(latest: dict[int, tuple[Assessment, scores.Source]]) -> pd.DataFrame:
    """Reported, scored and verified shares of each city's latest visible assessment."""
    total = len(current_catalogue().items())
    counts = _reported_and_verified(latest)
    rows = []
    for assessment, _source in latest.values():
        reported, verified = counts.get(assessment.id, (0, 0))
        rows.append(
            {
                "city": assessment.city.name,
                "slug": assessment.city.slug,
                "year": assessment.year,
                "reported": reported,
                "items": total,
                "reported_share": round(100 * reported / total, 0),
                "verified": verified,
                "verified_share": round(100 * verified / total, 0),
            }
        )
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)


def _reported_and_verified(
    latest: dict[int, tuple[Assessment, scores.Source]],
) -> dict[int, tuple[int, int]]:
    """Per assessment id: its number of reported values and of verified items, read for all
    cities at once (one snapshot query for the published ones, two grouped queries for the
    live ones) instead of twice per city. Same counts as ``values_frame`` and
    ``value_details`` give one assessment at a time."""
    published = [a for a, source in latest.values() if source == "published"]
    live = [a for a, source in latest.values() if source == "live"]
    counts: dict[int, tuple[int, int]] = {}
    for assessment_id, snapshot in scores.latest_snapshots(a.id for a in published).items():
        entries = snapshot.content.get("values", [])
        reported = sum(1 for e in entries if e.get("reported") and e.get("value") is not None)
        counts[assessment_id] = (reported, sum(1 for e in entries if e.get("verified")))
    if live:
        frame = scores.values_frame(live, "live")
        per_city_year = frame.groupby(["city", "year"]).size().to_dict() if len(frame) else {}
        verified = dict(
            db.session.execute(
                select(IndicatorValue.assessment_id, func.count(IndicatorValue.id))
                .where(
                    IndicatorValue.assessment_id.in_([a.id for a in live]),
                    IndicatorValue.verified.is_(True),
                )
                .group_by(IndicatorValue.assessment_id)
            ).all()
        )
        for a in live:
            counts[a.id] = (
                int(per_city_year.get((a.city.slug, a.year), 0)),
                int(verified.get(a.id, 0)),
            )
    return counts

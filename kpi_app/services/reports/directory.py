"""The cities map and list."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kpi_app import charts
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, City, Country
from kpi_app.models.city import population_class
from kpi_app.services import published_scores, scores
from kpi_app.services.cities import country_name
from kpi_app.services.reports import directory_sql
from kpi_app.services.reports.access import (
    choose_source,
    city_facts,
)
from kpi_app.services.reports.names import (
    as_number,
    locale,
    not_scored_label,
    translated_band_labels,
)


@dataclass
class CityFilters:
    country: str = ""
    region: str = ""
    size: str = ""
    status: str = ""
    page: int = 1  # of the table (the map shows every city that matches)


@dataclass
class CityDirectory:
    rows: pd.DataFrame
    countries: list[tuple[str, str]]
    regions: list[str]
    sizes: list[str]
    statuses: list[str]
    filters: CityFilters
    figures: dict[str, str]
    page: int = 1
    pages: int = 1
    #: The table's page when it was read in SQL (LIMIT/OFFSET), else sliced from ``rows``.
    table: pd.DataFrame | None = None
    #: Per city slug, the latest snapshot of its latest visible published assessment
    #: (public directories read in SQL; the country page counts its values).
    snapshots: dict[str, int] = field(default_factory=dict)

    @property
    def page_rows(self) -> pd.DataFrame:
        """The table's rows on this page (CITY_PAGE_SIZE at most)."""
        if self.table is not None:
            return self.table
        start = (self.page - 1) * CITY_PAGE_SIZE
        return self.rows.iloc[start : start + CITY_PAGE_SIZE]

    @property
    def first_shown(self) -> int:
        return min(len(self.rows), (self.page - 1) * CITY_PAGE_SIZE + 1)

    @property
    def last_shown(self) -> int:
        return min(len(self.rows), self.page * CITY_PAGE_SIZE)


ROW_COLUMNS = [
    "slug", "name", "country", "iso2", "region", "size", "population", "year", "status",
    "score", "band", "band_label", "latitude", "longitude", "fictional",
]  # fmt: skip
CITY_PAGE_SIZE = 50  # table rows per page of /cities: 1,000 cities made a 483 KB page
SIZES = ("small", "medium", "large", "metropolitan")


@dataclass(frozen=True)
class DirectoryPlan:
    """The cities, the latest assessment this user may see of each, and their score keys.

    For anonymous visitors (``public`` set) nothing is loaded: the list is filtered, sorted
    and paged in SQL from the stored published scores, and ``public`` is the one aggregate
    that changes with any city, country, publication or snapshot.
    """

    cities: list[City]
    latest: dict[int, tuple[Assessment, scores.Source]]
    requests: dict[scores.Source, scores.ScoreRequest]
    filters: CityFilters
    public: list[Any] | None = None

    def key_parts(self) -> dict[str, Any]:
        if self.public is not None:
            return {"filters": asdict(self.filters), "public": self.public}
        return {
            "filters": asdict(self.filters),
            "cities": [city_facts(c) for c in self.cities],
            "latest": sorted((a.id, a.city_id, a.year, src) for a, src in self.latest.values()),
            "scores": {source: r.key for source, r in sorted(self.requests.items())},
        }


def plan_directory(user: Any, filters: CityFilters) -> DirectoryPlan:
    """Resolve what the city list shows this user (no scoring, one fingerprint per source).

    Anonymous visitors see published results only: their list is read in SQL (see
    :class:`DirectoryPlan`). Signed-in users keep the per-assessment permission check; the
    scores of their published assessments are the stored ones, their live ones are scored
    (keyed on every visible city, so all filters share one cached score result).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return DirectoryPlan([], {}, {}, filters, public=directory_sql.fingerprint())
    cities = list(
        db.session.scalars(
            select(City).join(Country).options(joinedload(City.country)).order_by(City.name)
        )
    )
    latest = _latest_visible(user, cities)
    by_source: dict[scores.Source, list[Assessment]] = {"published": [], "live": []}
    for visible, visible_source in latest.values():
        by_source[visible_source].append(visible)
    requests = {
        source: scores.score_request(assessments, source=source)
        for source, assessments in by_source.items()
        if assessments
    }
    return DirectoryPlan(cities, latest, requests, filters)


def build_directory(plan: DirectoryPlan) -> CityDirectory:
    """The directory a plan describes (scores read through the score cache)."""
    if plan.public is not None:
        return _public_directory(plan.filters)
    cities, latest, filters = plan.cities, plan.latest, plan.filters
    overall = _overall_scores(plan.requests)
    labels = translated_band_labels()
    rows = []
    for city in cities:
        found = latest.get(city.id)
        assessment = found[0] if found else None
        source = found[1] if found else None
        status = _status_of(assessment, source)
        if not _matches(city, status, filters):
            continue
        score_row = overall.get((city.slug, assessment.year)) if assessment else None
        band = charts.palette.as_points(score_row["band"]) if score_row is not None else 0
        score = as_number(score_row["score"]) if score_row is not None else None
        rows.append(
            {
                "slug": city.slug,
                "name": city.name,
                "country": country_name(city.country.iso2, locale()) or city.country.name,
                "iso2": city.country.iso2,
                "region": city.country.region or "",
                "size": city.population_class,
                "population": city.population,
                "year": assessment.year if assessment else None,
                "status": status,
                "score": None if score is None else round(score, 1),
                "band": band,
                "band_label": labels[band - 1] if band else not_scored_label(),
                "latitude": city.latitude,
                "longitude": city.longitude,
                "fictional": city.fictional,
            }
        )
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    pages = max(1, -(-len(frame) // CITY_PAGE_SIZE))
    return CityDirectory(
        page=min(max(1, filters.page), pages),
        pages=pages,
        rows=frame,
        countries=sorted(
            {
                (c.country.iso2, country_name(c.country.iso2, locale()) or c.country.name)
                for c in cities
            },
            key=lambda x: x[1],
        ),
        regions=sorted({c.country.region for c in cities if c.country.region}),
        sizes=list(SIZES),
        statuses=["published", "in progress", "not started"],
        filters=filters,
        figures={"map": _map_svg(frame, labels)} if not frame.empty else {},
    )


def _latest_visible(
    user: Any, cities: Sequence[City]
) -> dict[int, tuple[Assessment, scores.Source]]:
    """Per city of ``cities``, its latest assessment the signed-in user may see and its data
    source (the per-assessment permission check, ``choose_source``, so every role sees
    exactly what its rules allow; anonymous visitors' lists are read in SQL instead)."""
    ids = [city.id for city in cities]
    assessments = db.session.scalars(
        select(Assessment).where(Assessment.city_id.in_(ids)).order_by(Assessment.year)
    )
    latest: dict[int, tuple[Assessment, scores.Source]] = {}
    for assessment in assessments:
        source = choose_source(user, assessment, None)
        if source is not None:
            latest[assessment.city_id] = (assessment, source)
    return latest


def _overall_scores(
    requests: Mapping[scores.Source, scores.ScoreRequest],
) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (slug, year): overall score and band; published ones as stored at publication
    (the default method's published result), live ones scored through the cache."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for source, score_request in requests.items():
        if source == "published":
            stored = published_scores.latest_overall(a.id for a in score_request.assessments)
            for a in score_request.assessments:
                score, band = stored.get(a.id, (None, None))
                found[(a.city.slug, a.year)] = {"score": score, "band": band}
            continue
        overall = scores.scores_for(score_request).overall
        for row in overall[["city", "year", "score", "band"]].to_dict("records"):
            found[(str(row["city"]), int(row["year"]))] = {str(k): v for k, v in row.items()}
    return found


def _public_directory(filters: CityFilters) -> CityDirectory:
    """The anonymous visitor's directory, filtered, sorted and paged in SQL: every matching
    city (map, count), the table's page and the filter choices, four statements."""
    labels = translated_band_labels()
    every = directory_sql.rows(filters)
    total = len(every)
    pages = max(1, -(-total // CITY_PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    table = directory_sql.rows(filters, limit=CITY_PAGE_SIZE, offset=(page - 1) * CITY_PAGE_SIZE)
    frame, shown = _public_frame(every, labels), _public_frame(table, labels)
    countries, regions = directory_sql.choices()
    return CityDirectory(
        page=page,
        pages=pages,
        rows=frame,
        table=shown,
        snapshots={r.slug: r.snapshot_id for r in every if r.snapshot_id is not None},
        countries=sorted(
            {(iso2, country_name(iso2, locale()) or name) for iso2, name in countries},
            key=lambda x: x[1],
        ),
        regions=regions,
        sizes=list(SIZES),
        statuses=["published", "in progress", "not started"],
        filters=filters,
        figures={"map": _map_svg(frame, labels)} if not frame.empty else {},
    )


def _public_frame(found: Sequence[Any], labels: list[str]) -> pd.DataFrame:
    rows = []
    for r in found:
        band = charts.palette.as_points(r.band) if r.year is not None else 0
        score = as_number(r.score) if r.year is not None else None
        rows.append(
            {
                "slug": r.slug,
                "name": r.name,
                "country": country_name(r.iso2, locale()) or r.country_name,
                "iso2": r.iso2,
                "region": r.region or "",
                "size": population_class(r.population),
                "population": r.population,
                "year": r.year,
                "status": "published" if r.year is not None else "not started",
                "score": None if score is None else round(score, 1),
                "band": band,
                "band_label": labels[band - 1] if band else not_scored_label(),
                "latitude": r.latitude,
                "longitude": r.longitude,
                "fictional": r.fictional,
            }
        )
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _status_of(assessment: Assessment | None, source: str | None) -> str:
    if assessment is None:
        return "not started"
    return "published" if source == "published" else "in progress"


def _matches(city: City, status: str, filters: CityFilters) -> bool:
    return (
        (not filters.country or city.country.iso2 == filters.country.upper())
        and (not filters.region or city.country.region == filters.region)
        and (not filters.size or city.population_class == filters.size)
        and (not filters.status or status == filters.status)
    )


def _score_text(score: Any) -> str:
    number = as_number(score)
    return "–" if number is None else f"{number:.1f} %"


_world_topology: dict[str, Any] = {}


def world_topology() -> dict[str, Any]:
    """The vendored Natural Earth 1:110m topology (read once per process)."""
    if not _world_topology:
        path = Path(current_app.root_path) / "static" / "vendor" / "topojson" / "world_110m.json"
        _world_topology.update(json.loads(path.read_text(encoding="utf-8")))
    return _world_topology


def _map_svg(frame: pd.DataFrame, labels: list[str]) -> str:
    """The city map as inline SVG (coastlines and band-coloured dots, no JavaScript)."""
    return charts.city_map_svg(
        frame.assign(score_text=[_score_text(s) for s in frame["score"]]),
        world_topology(),
        chart_id="city-map",
        title=_("Map of the cities"),
        band_labels=labels,
        none_label=not_scored_label(),
    )

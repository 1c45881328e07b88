"""The open data read model: what the public may know of published assessments.

Published assessments and their summaries, the cities with published results (paged in
SQL), and the published values as exchange observations, read from the published-value
rows (never from drafts). :mod:`kpi_app.services.interop` builds the exchange formats on
these and re-exports them (its callers keep their names).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kpi_app.catalogue import Item, normalise_code
from kpi_app.extensions import db
from kpi_app.interop import Observation
from kpi_app.models import Assessment, City, Country, PublishedValue, Snapshot
from kpi_app.services import published_values, scores
from kpi_app.services.cache import get_cache, page_key
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import NotFound
from kpi_app.services.reports import directory_sql


class NotFoundError(NotFound):
    """Nothing published (or visible to this user) answers the request."""


@dataclass(frozen=True)
class PublishedAssessment:
    """What the public may know about one published assessment."""

    city: str
    city_name: str
    country: str
    year: int
    catalogue_version: str
    benchmark_set: str
    published_at: datetime | None
    snapshot_id: int
    content_hash: str
    items: int
    reported: int
    verified: int
    reported_verified: int = 0  # reported values verified (the share the public pages state)

    @property
    def verified_share(self) -> str:
        return f"{self.reported_verified} of {self.reported} reported values verified"


# --- published assessments and values ----------------------------------------------------


def _published(
    *, country: str | None = None, year: int | None = None, city: str | None = None
) -> list[Assessment]:
    """Published assessments (anonymous view: published only, whatever the caller's role).

    A city is chosen in SQL: one city's assessment never loads every published one."""
    if city is None:
        return scores.published_assessments(
            None, country=country, years=None if year is None else [year]
        )
    query = (
        select(Assessment)
        .join(City, Assessment.city_id == City.id)
        .options(joinedload(Assessment.city).joinedload(City.country))
        .where(
            City.slug == city,
            Assessment.published_at.is_not(None),
            Assessment.id.in_(select(Snapshot.assessment_id)),
        )
        .order_by(Assessment.year)
    )
    if year is not None:
        query = query.where(Assessment.year == year)
    if country:
        query = query.join(Country, City.country_id == Country.id).where(
            Country.iso2 == country.upper()
        )
    return list(db.session.scalars(query).unique())


def published_assessments(
    *, country: str | None = None, year: int | None = None, city: str | None = None
) -> list[PublishedAssessment]:
    """Summaries of the published assessments: their latest snapshot's columns (not its
    JSON) and the counts of its published-value rows, in two queries (issue 20)."""
    assessments = _published(country=country, year=year, city=city)
    if not assessments:
        return []
    latest = published_values.latest_snapshot_ids().where(
        Snapshot.assessment_id.in_([a.id for a in assessments])
    )
    snapshots = {
        row.assessment_id: row
        for row in db.session.execute(
            select(
                Snapshot.id,
                Snapshot.assessment_id,
                Snapshot.catalogue_version,
                Snapshot.benchmark_set,
                Snapshot.content_hash,
            ).where(Snapshot.id.in_(latest))
        )
    }
    counts = published_values.counts([row.id for row in snapshots.values()])
    return [
        _summary(assessment, snapshots[assessment.id], counts.get(snapshots[assessment.id].id))
        for assessment in assessments
        if assessment.id in snapshots
    ]


def published_assessment(city: str, year: int) -> PublishedAssessment:
    found = published_assessments(city=city, year=year)
    if not found:
        raise NotFoundError(f"no published {year} assessment for city {city!r}")
    return found[0]


def has_published(year: int) -> bool:
    """Whether anything is published for ``year`` (one aggregate query, no objects)."""
    return published_values.fingerprint(year=year)[0] > 0


def _summary(
    assessment: Assessment, snapshot: Any, counts: published_values.Counts | None
) -> PublishedAssessment:
    counts = counts or published_values.Counts()
    return PublishedAssessment(
        city=assessment.city.slug,
        city_name=assessment.city.name,
        country=assessment.city.country.iso2,
        year=assessment.year,
        catalogue_version=snapshot.catalogue_version,
        benchmark_set=snapshot.benchmark_set,
        published_at=_aware(assessment.published_at),
        snapshot_id=snapshot.id,
        content_hash=snapshot.content_hash,
        items=counts.items,
        reported=counts.reported,
        verified=counts.verified,
        reported_verified=counts.reported_verified,
    )


def public_cities(country: str | None = None) -> list[tuple[City, list[int]]]:
    """Cities with at least one published assessment, each with its published years.

    Two queries whatever the number of cities: the published (city, year) pairs as plain
    rows, then the cities themselves; no assessment is loaded as an object (issue 20).
    """
    years: dict[int, list[int]] = {}
    for row in scores.published_rows(country=country):
        years.setdefault(row.city_id, []).append(row.year)
    if not years:
        return []
    found = db.session.scalars(
        select(City).options(joinedload(City.country)).where(City.id.in_(list(years)))
    )
    ordered = sorted(found, key=lambda c: c.slug)
    return [(city, sorted(years[city.id])) for city in ordered]


def public_cities_page(
    country: str | None = None, *, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[City, list[int]]], int]:
    """One page of :func:`public_cities` (ordered by slug) and the number of all of them.

    Three queries whatever the number of cities: the count, the page of cities, and the
    published years of those cities only (issue 20).
    """
    published = select(Assessment.city_id).where(
        Assessment.published_at.is_not(None),
        Assessment.id.in_(select(Snapshot.assessment_id)),
    )
    cities = select(City).where(City.id.in_(published))
    if country:
        cities = cities.join(Country, City.country_id == Country.id).where(
            Country.iso2 == country.upper()
        )
    total = int(db.session.scalar(select(func.count()).select_from(cities.subquery())) or 0)
    page = list(
        db.session.scalars(
            cities.options(joinedload(City.country))
            .order_by(published_values.bytewise(City.slug))
            .offset(offset)
            .limit(limit)
        )
    )
    if not page:
        return [], total
    years: dict[int, list[int]] = {}
    for city_id, year in db.session.execute(
        published.add_columns(Assessment.year).where(Assessment.city_id.in_([c.id for c in page]))
    ):
        years.setdefault(city_id, []).append(year)
    return [(city, sorted(years.get(city.id, []))) for city in page], total


def public_city_records_page(
    country: str | None = None, *, offset: int = 0, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """:func:`public_cities_page` as the records the API sends, and the number of cities.

    The same for every reader until a city, a country or a publication changes, so it is
    kept in the app cache under the directory's fingerprint (one aggregate statement):
    the page's own three statements ran over 10,000 assessments on every call (~30 ms)."""
    key = page_key(
        "api-cities",
        {
            "published": directory_sql.fingerprint(),
            "country": (country or "").upper(),
            "offset": offset,
            "limit": limit,
        },
    )

    def records() -> tuple[list[dict[str, Any]], int]:
        found, total = public_cities_page(country, offset=offset, limit=limit)
        return [city_record(city, years) for city, years in found], total

    return get_cache().get_or_compute(key, records)


def city_record(city: City, years: list[int]) -> dict[str, Any]:
    """A published city as the API's ``City`` schema has it."""
    return {
        "slug": city.slug,
        "name": city.name,
        "country": city.country.iso2,
        "population": city.population,
        "latitude": city.latitude,
        "longitude": city.longitude,
        "published_years": years,
    }


def public_city(slug: str) -> tuple[City, list[int]]:
    """One city with published results and its published years (two queries)."""
    city = db.session.scalar(
        select(City).options(joinedload(City.country)).where(City.slug == slug)
    )
    years = (
        sorted(
            db.session.scalars(
                select(Assessment.year).where(
                    Assessment.city_id == city.id,
                    Assessment.published_at.is_not(None),
                    Assessment.id.in_(select(Snapshot.assessment_id)),
                )
            )
        )
        if city is not None
        else []
    )
    if city is None or not years:
        raise NotFoundError(f"no city {slug!r} with published results")
    return city, years


def published_observations(
    *,
    year: int | None = None,
    city: str | None = None,
    country: str | None = None,
    code: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Observation]:
    """Every published value matching the filters, in city, year, catalogue order.

    Read from the published-value rows (one query, paged in SQL with ``offset``/``limit``),
    not by decoding every snapshot: the target and direction are those frozen at
    publication (issue 20).
    """
    return list(
        iter_observations(
            year=year, city=city, country=country, code=code, offset=offset, limit=limit
        )
    )


def iter_observations(
    *,
    year: int | None = None,
    city: str | None = None,
    country: str | None = None,
    code: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Iterator[Observation]:
    """As :func:`published_observations`, fetched in batches (exports of a whole year)."""
    wanted = [normalise_code(code)] if code else None
    items = {item.key: item for item in current_catalogue().items()}
    query = published_values.latest_rows(year=year, city=city, country=country, codes=wanted)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = db.session.execute(query.execution_options(yield_per=2000))
    for row in rows:
        yield _observation(row, items.get((row.PublishedValue.code, row.PublishedValue.data_point)))


def _observation(row: Any, item: Item | None) -> Observation:
    value: PublishedValue = row.PublishedValue
    return Observation(
        city=row.city_slug,
        city_name=row.city_name,
        country=row.iso2,
        year=value.year,
        code=value.code,
        data_point=value.data_point,
        kpi_name=item.label() if item else value.code,
        unit=value.unit or (item.unit if item else None),
        value=value.value,
        reported=value.reported,
        verified=value.verified,
        quality=value.quality,
        source=value.source,
        data_year=value.data_year,
        target=value.target,
        direction=value.direction,
        value_type=item.value_type if item else None,
        published_at=_aware(row.published_at),
        catalogue_version=row.catalogue_version,
        benchmark_set=row.benchmark_set,
        latitude=row.latitude,
        longitude=row.longitude,
        not_reported_reason=value.not_reported_reason,
    )


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the database stores UTC, so say so."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)

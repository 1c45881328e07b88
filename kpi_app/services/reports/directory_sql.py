"""The public city list in SQL: each city with its latest published year and the overall
score stored at publication, filtered, sorted and paged by the database (issue 20).

What an anonymous visitor may see is the published results only, so no permission check
per assessment is needed: the latest published year per city is a grouped sub-query, its
latest snapshot another, and the score is the ``published_score`` row of that snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, false, func, select

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Country, PublishedScore, Snapshot


def _size(population: Any) -> Any:
    """``population_class`` as SQL (the same bounds, a missing population is small)."""
    pop = func.coalesce(population, 0)
    return case(
        (pop < 50_000, "small"),
        (pop < 200_000, "medium"),
        (pop < 1_500_000, "large"),
        else_="metropolitan",
    )


def _query(filters: Any) -> Any:
    """``filters``: a ``directory.CityFilters`` (country, region, size, status)."""
    latest_year = (
        select(Assessment.city_id, func.max(Assessment.year).label("year"))
        .where(Assessment.published_at.is_not(None))
        .group_by(Assessment.city_id)
        .subquery()
    )
    latest_snapshot = (
        select(Snapshot.assessment_id, func.max(Snapshot.id).label("snapshot_id"))
        .group_by(Snapshot.assessment_id)
        .subquery()
    )
    query = (
        select(
            City.slug,
            City.name,
            City.population,
            City.latitude,
            City.longitude,
            City.fictional,
            Country.iso2,
            Country.name.label("country_name"),
            Country.region,
            latest_year.c.year,
            latest_snapshot.c.snapshot_id,
            PublishedScore.score,
            PublishedScore.band,
        )
        .join(Country, City.country_id == Country.id)
        .outerjoin(latest_year, latest_year.c.city_id == City.id)
        .outerjoin(
            Assessment,
            (Assessment.city_id == City.id) & (Assessment.year == latest_year.c.year),
        )
        .outerjoin(latest_snapshot, latest_snapshot.c.assessment_id == Assessment.id)
        .outerjoin(
            PublishedScore,
            (PublishedScore.snapshot_id == latest_snapshot.c.snapshot_id)
            & (PublishedScore.level == "overall")
            & (PublishedScore.group_id == ""),
        )
    )
    if filters.country:
        query = query.where(Country.iso2 == filters.country.upper())
    if filters.region:
        query = query.where(Country.region == filters.region)
    if filters.size:
        query = query.where(_size(City.population) == filters.size)
    if filters.status == "published":
        query = query.where(latest_year.c.year.is_not(None))
    elif filters.status == "not started":
        query = query.where(latest_year.c.year.is_(None))
    elif filters.status:  # "in progress" (or unknown): nothing an anonymous visitor sees
        query = query.where(false())
    return query.order_by(City.name, City.id)


def rows(filters: Any, *, limit: int | None = None, offset: int = 0) -> Sequence[Any]:
    """The matching cities ordered by name (one statement; a page with ``limit``)."""
    query = _query(filters)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return db.session.execute(query).all()


def choices() -> tuple[list[tuple[str, str]], list[str]]:
    """The filters' choices: (ISO2, name) of every country with a city, and their regions."""
    found = db.session.execute(
        select(Country.iso2, Country.name, Country.region)
        .where(Country.id.in_(select(City.country_id)))
        .order_by(Country.iso2)
    ).all()
    countries = [(iso2, name) for iso2, name, _region in found]
    return countries, sorted({region for _i, _n, region in found if region})


def fingerprint() -> list[Any]:
    """What the public list depends on, in one statement: the cities (count, last change),
    the countries, the last publication and the newest snapshot.

    A publication always moves the last ``published_at`` and adds a snapshot of a higher id,
    and nothing is ever unpublished or deleted, so counting the published assessments and
    the snapshots (two scans of 10,000 rows: 4 of 6 ms at 1,000 cities × 10 years) adds
    nothing to the key."""
    parts = (
        select(func.count(City.id)).scalar_subquery(),
        select(func.max(City.updated_at)).scalar_subquery(),
        select(func.count(Country.id)).scalar_subquery(),
        select(func.max(Assessment.published_at)).scalar_subquery(),
        select(func.max(Snapshot.id)).scalar_subquery(),
    )
    return [str(part) for part in db.session.execute(select(*parts)).one()]

"""Published local KPI values as exchange observations (NGSI-LD, SDMX-CSV of their own).

Read only from the ``local_kpi_snapshot`` rows frozen with the *latest* snapshot of each
published assessment (the same rule as the U4SSC published values): a draft, or a local
value changed after publication, is never exported. Each value keeps its own code
``LOCAL:<city>:<CODE>`` and the definition as it was published (docs/local-kpis.md).

Local KPIs are few (tens per city and year), so one query reads the frozen copies a filter
covers and the page is cut in Python: the number of statements never grows with the data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from kpi_app.extensions import db
from kpi_app.interop import Observation
from kpi_app.models import Assessment, City, Country, LocalKpiSnapshot
from kpi_app.services import published_values
from kpi_app.services.local_kpis import items_of, text_in


def _latest(query: Any, *, year: int | None, city: str | None) -> Any:
    query = query.where(LocalKpiSnapshot.snapshot_id.in_(published_values.latest_snapshot_ids()))
    if year is not None:
        query = query.where(Assessment.year == year)
    if city is not None:
        query = query.where(City.slug == city)
    return query


def _rows(*, year: int | None, city: str | None) -> list[Any]:
    """The frozen local copies of the latest publications (city slug, year order)."""
    query = (
        select(
            LocalKpiSnapshot.content,
            City.slug,
            City.name,
            City.latitude,
            City.longitude,
            Country.iso2,
            Assessment.year,
            Assessment.published_at,
        )
        .join(Assessment, LocalKpiSnapshot.assessment_id == Assessment.id)
        .join(City, Assessment.city_id == City.id)
        .join(Country, City.country_id == Country.id)
    )
    query = _latest(query, year=year, city=city)
    return list(
        db.session.execute(
            query.order_by(published_values.bytewise(City.slug), Assessment.year)
        ).all()
    )


def observations(*, year: int | None = None, city: str | None = None) -> list[Observation]:
    """Every published local value matching the filters (one query), in city, year and
    definition order."""
    return [obs for row in _rows(year=year, city=city) for obs in _of(row)]


def _of(row: Any) -> Iterator[Observation]:
    content: Mapping[str, Any] = row.content or {}
    values = {
        (str(v["code"]), str(v.get("data_point") or "")): v for v in content.get("values", [])
    }
    for record in content.get("kpis", []):
        name = text_in(record.get("name") or {}, "en")
        for item in items_of(record):
            value = values.get((str(record["full_code"]), item["data_point"]))
            if value is None:
                continue  # defined, never entered: nothing was published for it
            label = f"{name}: {text_in(item['label'], 'en')}" if item["data_point"] else name
            reported = bool(value.get("reported"))
            yield Observation(
                city=row.slug,
                city_name=row.name,
                country=row.iso2,
                year=int(row.year),
                code=str(record["full_code"]),
                data_point=item["data_point"],
                kpi_name=label,
                unit=record.get("unit") or None,
                value=None if not reported or value.get("value") is None else float(value["value"]),
                reported=reported,
                verified=value.get("verified"),
                quality=value.get("quality"),
                source=value.get("source"),
                data_year=value.get("data_year"),
                target=None if item["target"] is None else float(item["target"]),
                direction=record.get("direction"),
                value_type=record.get("value_type"),
                published_at=_aware(row.published_at),
                latitude=row.latitude,
                longitude=row.longitude,
                not_reported_reason=value.get("not_reported_reason"),
                benchmark_source=record.get("benchmark_source"),
            )


def definitions() -> list[tuple[dict[str, Any], str]]:
    """(definition record, English name) of every published local KPI, the latest
    publication's first (one query): what the local SDMX code lists are built from."""
    rows = _rows(year=None, city=None)
    rows.sort(key=lambda row: row.year, reverse=True)
    return [
        (record, text_in(record.get("name") or {}, "en"))
        for row in rows
        for record in (row.content or {}).get("kpis", [])
    ]


def fingerprint(*, year: int | None = None, city: str | None = None) -> list[int]:
    """The published local copies an export covers (count, sum and highest id), in one
    aggregate query: a publication with local KPIs changes it."""
    query = (
        select(
            func.count(LocalKpiSnapshot.id),
            func.sum(LocalKpiSnapshot.id),
            func.max(LocalKpiSnapshot.id),
        )
        .join(Assessment, LocalKpiSnapshot.assessment_id == Assessment.id)
        .join(City, Assessment.city_id == City.id)
    )
    row = db.session.execute(_latest(query, year=year, city=city)).one()
    return [int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)

"""Published values in bulk (``published_value`` rows), written when a snapshot is frozen.

:func:`write` lays out one snapshot's values as rows, with the target and direction it froze
and the U4SSC rule's % of target and band on that target; :func:`freeze` in
:mod:`kpi_app.services.snapshots` calls it in the publishing transaction. Readers ask for
the rows of the *latest* snapshot of each published assessment (:func:`latest_rows`), with
whatever filters the page has, so that the work follows the page, not the database.

Snapshots published before this table existed get their rows from :func:`backfill`, which
``kpi-app init-db`` runs after the migrations (automatic and idempotent: only snapshots
without rows are written).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, delete, func, literal_column, select, update

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Country, PublishedValue, Snapshot
from kpi_app.services.catalogue import benchmark_sets, current_catalogue

BENCHMARK_FRAME = ["code", "data_point", "target", "direction", "source"]


def write(snapshot: Snapshot, assessment: Assessment) -> int:
    """Add the rows of ``snapshot`` (the caller commits). Returns how many."""
    return write_many([(snapshot, assessment)])


def write_many(pairs: Sequence[tuple[Snapshot, Assessment]]) -> int:
    """Add the rows of several snapshots (the caller commits); snapshots that froze the
    same context are scored in one engine call. Returns how many rows."""
    rows = value_rows(pairs)
    for start in range(0, len(rows), 5000):
        db.session.execute(db.insert(PublishedValue), rows[start : start + 5000])
    mark_latest({assessment.id for _snapshot, assessment in pairs})
    return len(rows)


def mark_latest(assessment_ids: Iterable[int] | None) -> None:
    """Keep ``is_latest`` true only on the rows of each assessment's newest snapshot (rows
    are written true; a republication supersedes the rows of the snapshot before it).
    ``None``: every assessment (a restored archive made before the column existed)."""
    newest = (
        select(func.max(Snapshot.id))
        .where(Snapshot.assessment_id == PublishedValue.assessment_id)
        .scalar_subquery()
    )
    superseded = (PublishedValue.is_latest.is_(True), PublishedValue.snapshot_id < newest)
    if assessment_ids is None:
        batches: list[tuple[Any, ...]] = [()]
    else:
        ids = sorted(assessment_ids)
        batches = [
            (PublishedValue.assessment_id.in_(ids[start : start + 500]),)
            for start in range(0, len(ids), 500)
        ]
    for batch in batches:
        db.session.execute(
            update(PublishedValue)
            .where(*batch, *superseded)
            .values(is_latest=False)
            .execution_options(synchronize_session=False)
        )


def value_rows(pairs: Sequence[tuple[Snapshot, Assessment]]) -> list[dict[str, Any]]:
    """The rows of several snapshots, not written (bulk loaders copy them themselves)."""
    groups: dict[str, list[tuple[Snapshot, Assessment]]] = {}
    keys: dict[int, str] = {}  # per frozen block object: snapshots built alike share one
    for snapshot, assessment in pairs:
        block = (snapshot.content or {}).get("frozen")
        if id(block) not in keys:
            keys[id(block)] = _context_key(snapshot)
        groups.setdefault(keys[id(block)], []).append((snapshot, assessment))
    return [row for members in groups.values() for row in _rows(members)]


def _context_key(snapshot: Snapshot) -> str:
    block = (snapshot.content or {}).get("frozen")
    if not isinstance(block, dict):
        return f"installed:{snapshot.benchmark_set}"
    text = json.dumps(
        [block["catalogue"]["items"], block["benchmarks"]["entries"]], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows(members: Sequence[tuple[Snapshot, Assessment]]) -> list[dict[str, Any]]:
    """The rows of snapshots that froze one context."""
    catalogue_frame, bench = _frozen_frames(members[0][0])
    order = {
        (str(code), str(point or "")): position
        for position, (code, point) in enumerate(
            zip(catalogue_frame["code"], catalogue_frame["data_point"], strict=True)
        )
    }
    directions = {
        (str(c), str(p or "")): (None if pd.isna(d) else str(d))
        for c, p, d in zip(
            catalogue_frame["code"],
            catalogue_frame["data_point"],
            catalogue_frame["direction"],
            strict=True,
        )
    }
    terms = {
        (str(c), str(p or "")): (None if pd.isna(t) else float(t), d)
        for c, p, t, d in zip(
            bench["code"], bench["data_point"], bench["target"], bench["direction"], strict=True
        )
    }
    scored = _scored(members, catalogue_frame, bench)
    rows = []
    for snapshot, assessment in members:
        for record in (snapshot.content or {}).get("values", []):
            key = (str(record["code"]), str(record.get("data_point") or ""))
            target, direction = terms.get(key, (None, None))
            percent, points = scored.get((str(snapshot.id), *key), (None, 0))
            value = record.get("value")
            rows.append(
                {
                    "snapshot_id": snapshot.id,
                    "assessment_id": assessment.id,
                    "city_id": assessment.city_id,
                    "year": assessment.year,
                    "code": key[0],
                    "data_point": key[1],
                    "item_order": order.get(key, -1),
                    "value": None if value is None else float(value),
                    "unit": record.get("unit"),
                    "data_year": record.get("data_year"),
                    "source": record.get("source"),
                    "quality": record.get("quality"),
                    "reported": bool(record.get("reported", True)),
                    "not_reported_reason": record.get("not_reported_reason"),
                    "verified": record.get("verified"),
                    "target": target,
                    "direction": (str(direction) if direction else None) or directions.get(key),
                    "percent_of_target": percent,
                    "points": points,
                    "is_latest": True,  # until a newer snapshot of the assessment (write_many)
                }
            )
    return rows


def _frozen_frames(snapshot: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The catalogue items and benchmark entries the snapshot froze; before freezing, the
    catalogue as installed and the set it names (no targets when that set is gone)."""
    block = (snapshot.content or {}).get("frozen")
    if isinstance(block, dict):
        items = pd.DataFrame(block["catalogue"]["items"])
        bench = pd.DataFrame(block["benchmarks"]["entries"], columns=BENCHMARK_FRAME)
    else:
        items = current_catalogue().to_frame()
        found = benchmark_sets().get(snapshot.benchmark_set)
        bench = found.to_frame() if found is not None else pd.DataFrame(columns=BENCHMARK_FRAME)
        bench = bench.reindex(columns=BENCHMARK_FRAME)
    items = items.assign(data_point=items["data_point"].fillna(""))
    bench = bench.assign(data_point=bench["data_point"].fillna(""))
    return items, bench


def _scored(
    members: Sequence[tuple[Snapshot, Assessment]],
    catalogue_frame: pd.DataFrame,
    bench: pd.DataFrame,
) -> dict[tuple[str, str, str], tuple[float | None, int]]:
    """Per (snapshot id, code, data point): (% of target, points) by the U4SSC rule on the
    frozen targets. Each snapshot is one "city" of the engine's frame, so one call scores
    them all."""
    from kpi_app.scoring import score_u4ssc
    from kpi_app.scoring.frame import build_items

    reported = [
        {
            "city": str(snapshot.id),
            "year": int(assessment.year),
            "code": str(r["code"]),
            "data_point": str(r.get("data_point") or ""),
            "value": float(r["value"]),
        }
        for snapshot, assessment in members
        for r in (snapshot.content or {}).get("values", [])
        if r.get("reported") and r.get("value") is not None
    ]
    if not reported:
        return {}
    values = pd.DataFrame(reported)
    known = pd.MultiIndex.from_frame(catalogue_frame[["code", "data_point"]])
    values = values.loc[pd.MultiIndex.from_frame(values[["code", "data_point"]]).isin(known)]
    bench_known = pd.MultiIndex.from_frame(bench[["code", "data_point"]]).isin(known)
    if values.empty:
        return {}
    items = score_u4ssc(build_items(catalogue_frame, bench.loc[bench_known], values)).items
    items = items[items["value"].notna()]
    scored: dict[tuple[str, str, str], tuple[float | None, int]] = {}
    for city, code, point, percent, points in zip(
        items["city"].astype(str),
        items["code"].astype(str),
        items["data_point"].astype(str),
        items["percent_of_target"],
        items["points"],
        strict=True,
    ):
        pct = None if pd.isna(percent) or not np.isfinite(percent) else float(percent)
        scored[(city, code, point)] = (pct, 0 if pd.isna(points) else int(points))
    return scored


def rewrite(snapshot: Snapshot, assessment: Assessment) -> int:
    """Replace a snapshot's rows (only after ``freeze-snapshots`` completed its content)."""
    db.session.execute(delete(PublishedValue).where(PublishedValue.snapshot_id == snapshot.id))
    return write(snapshot, assessment)


def backfill() -> int:
    """Write the rows of every snapshot that has none (the caller commits). Returns how
    many snapshots were written; running it again writes nothing."""
    has_rows = select(PublishedValue.snapshot_id).distinct()
    missing = db.session.scalars(
        select(Snapshot).where(Snapshot.id.not_in(has_rows)).order_by(Snapshot.id)
    ).all()
    pairs = [(snapshot, snapshot.assessment) for snapshot in missing if snapshot.content]
    write_many(pairs)
    return len([pair for pair in pairs if pair[0].content.get("values")])


# --- reading ------------------------------------------------------------------------------


#: The rows of the latest snapshots (what is published now). The bare column, so that
#: PostgreSQL and SQLite match it to the partial index ``ix_published_value_latest_code``.
LATEST: Any = PublishedValue.is_latest.expression


def latest_snapshot_ids() -> Any:
    """Sub-query: the latest snapshot of every published assessment. Published-value rows
    carry it as ``PublishedValue.is_latest`` (:data:`LATEST`), which needs no join."""
    return (
        select(func.max(Snapshot.id))
        .join(Assessment, Snapshot.assessment_id == Assessment.id)
        .where(Assessment.published_at.is_not(None))
        .group_by(Snapshot.assessment_id)
    )


def latest_rows(
    *,
    year: int | None = None,
    city: str | None = None,
    country: str | None = None,
    codes: Iterable[str] | None = None,
) -> Any:
    """A query of the published rows (latest snapshots) with their city and country,
    ordered by city slug, year and catalogue order; callers add paging or columns."""
    query = (
        select(
            PublishedValue,
            City.slug.label("city_slug"),
            City.name.label("city_name"),
            City.latitude,
            City.longitude,
            Country.iso2,
            Snapshot.catalogue_version,
            Snapshot.benchmark_set,
            Assessment.published_at,
        )
        .join(City, PublishedValue.city_id == City.id)
        .join(Country, City.country_id == Country.id)
        .join(Snapshot, PublishedValue.snapshot_id == Snapshot.id)
        .join(Assessment, PublishedValue.assessment_id == Assessment.id)
        .where(LATEST)
    )
    query = _for(query, PublishedValue.year, year=year, city=city)
    if country is not None:
        query = query.where(Country.iso2 == country.upper())
    if codes is not None:
        query = query.where(PublishedValue.code.in_(list(codes)))
    return query.order_by(
        bytewise(City.slug),
        PublishedValue.year,
        PublishedValue.item_order,
        bytewise(PublishedValue.code),
        bytewise(PublishedValue.data_point),
    )


def _for(query: Any, year_column: Any, *, year: int | None, city: str | None) -> Any:
    """The year and city filters every reader of the published rows takes (City joined)."""
    if year is not None:
        query = query.where(year_column == year)
    if city is not None:
        query = query.where(City.slug == city)
    return query


def bytewise(column: Any) -> Any:
    """Order by the bytes, as Python sorts ASCII slugs and codes: PostgreSQL's locale
    collations ignore hyphens, which would page "town-1x" before "town1" differently."""
    if db.engine.dialect.name == "postgresql":
        return column.collate("C")
    return column


def count_rows(*, year: int | None = None, city: str | None = None) -> int:
    query = (
        select(func.count(PublishedValue.id))
        .join(City, PublishedValue.city_id == City.id)
        .where(LATEST)
    )
    query = _for(query, PublishedValue.year, year=year, city=city)
    return int(db.session.scalar(query) or 0)


def fingerprint(*, year: int | None = None, city: str | None = None) -> list[Any]:
    """What an export of these published rows depends on, in one aggregate query: the
    snapshots of the published assessments (count, sum and highest id: a publication or a
    republication adds one, and none is ever deleted) and the cities' last change (a name
    or a position is exported too). A publication or a renamed city changes it.

    Every snapshot is a publication (only publishing freezes one), so without a year or a
    city the snapshot table alone is read (an index-only scan: 1.5 ms at 10,000 snapshots,
    against 10 ms joined to the assessments and cities)."""
    snapshots = (func.count(Snapshot.id), func.sum(Snapshot.id), func.max(Snapshot.id))
    if year is None and city is None:
        query = select(*snapshots, select(func.max(City.updated_at)).scalar_subquery())
    else:
        query = (
            select(*snapshots, func.max(City.updated_at))
            .join(Assessment, Snapshot.assessment_id == Assessment.id)
            .join(City, Assessment.city_id == City.id)
            .where(Assessment.published_at.is_not(None))
        )
        query = _for(query, Assessment.year, year=year, city=city)
    row = db.session.execute(query).one()
    return [int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), str(row[3])]


VALUE_COLUMNS = ["city", "year", "code", "data_point", "value", "quality"]


def values_frame(codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Reported published values (latest snapshots) of ``codes``, as the scoring engine's
    tidy frame: city (slug), year, code, data_point, value, quality. One query."""
    query = (
        select(
            City.slug,
            PublishedValue.year,
            PublishedValue.code,
            PublishedValue.data_point,
            PublishedValue.value,
            PublishedValue.quality,
        )
        .join(City, PublishedValue.city_id == City.id)
        .where(
            LATEST,
            PublishedValue.reported.is_(True),
            PublishedValue.value.is_not(None),
        )
    )
    if codes is not None:
        query = query.where(PublishedValue.code.in_(list(codes)))
    frame = pd.DataFrame(db.session.execute(query).all(), columns=VALUE_COLUMNS)
    frame = frame.astype({"year": "int64", "value": "float64", "quality": "float64"})
    return frame.sort_values(["city", "year", "code", "data_point"]).reset_index(drop=True)


def series_targets(codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Per (city, code, data_point): the target and direction frozen with the series'
    latest published row (columns city, code, data_point, target, direction). One query.

    This is the target of the city's latest publication, as the SDG page measures
    progress against, except for an item that publication does not carry at all: its
    series keeps the target frozen with its own latest value.
    """
    query = (
        select(
            City.slug,
            PublishedValue.year,
            PublishedValue.code,
            PublishedValue.data_point,
            PublishedValue.target,
            PublishedValue.direction,
        )
        .join(City, PublishedValue.city_id == City.id)
        .where(LATEST)
    )
    if codes is not None:
        query = query.where(PublishedValue.code.in_(list(codes)))
    columns = ["city", "year", "code", "data_point", "target", "direction"]
    frame = pd.DataFrame(db.session.execute(query).all(), columns=columns)
    latest = frame.sort_values("year").drop_duplicates(["city", "code", "data_point"], keep="last")
    latest = latest.astype({"target": "float64"})
    return latest[["city", "code", "data_point", "target", "direction"]].reset_index(drop=True)


def city_names(codes: Iterable[str] | None = None) -> dict[str, tuple[str, str, str]]:
    """Slug → (name, country ISO2, country name) of every city with a published value of
    ``codes``."""
    query = (
        select(City.slug, City.name, Country.iso2, Country.name)
        .join(Country, City.country_id == Country.id)
        .where(
            City.id.in_(
                select(PublishedValue.city_id).where(
                    LATEST,
                    *(() if codes is None else (PublishedValue.code.in_(list(codes)),)),
                )
            )
        )
    )
    return {slug: (name, iso2, country) for slug, name, iso2, country in db.session.execute(query)}


@dataclass(frozen=True)
class Counts:
    """A snapshot's values: all, reported (with a value), verified, and reported verified."""

    items: int = 0
    reported: int = 0
    verified: int = 0
    reported_verified: int = 0


def counts(snapshot_ids: Sequence[int]) -> dict[int, Counts]:
    """Per snapshot, its :class:`Counts` (one grouped query)."""
    if not snapshot_ids:
        return {}
    reported = PublishedValue.reported.is_(True) & PublishedValue.value.is_not(None)
    verified = PublishedValue.verified.is_(True)
    query = (
        select(
            PublishedValue.snapshot_id,
            func.count(PublishedValue.id),
            func.sum(case((reported, 1), else_=0)),
            func.sum(case((verified, 1), else_=0)),
            func.sum(case((reported & verified, 1), else_=0)),
        )
        .where(PublishedValue.snapshot_id.in_(list(snapshot_ids)))
        .group_by(PublishedValue.snapshot_id)
    )
    return {
        row[0]: Counts(int(row[1]), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0))
        for row in db.session.execute(query)
    }


SERIES_END_COLUMNS = [
    "city", "city_name", "code", "data_point", "target", "direction",
    "base_year", "base_value", "latest_year", "latest_value",
]  # fmt: skip


def series_ends(codes: Iterable[str], earliest_base: int) -> pd.DataFrame:
    """Per (city, code, data point) with a reported published value of ``codes``: the
    target and direction frozen with the series' latest row (reported or not), the base
    (first reported year at or after ``earliest_base``, None when there is none) and the
    latest reported year with their values. One statement, one row per series: what a
    progress assessment needs, grouped in the database instead of read value by value."""
    reported = PublishedValue.reported.is_(True) & PublishedValue.value.is_not(None)
    rows = (
        select(
            PublishedValue.city_id,
            PublishedValue.code,
            PublishedValue.data_point,
            PublishedValue.year,
            PublishedValue.value,
            PublishedValue.target,
            PublishedValue.direction,
            case((reported, literal_column("1")), else_=literal_column("0")).label("rep"),
        )
        .where(
            LATEST,
            PublishedValue.code.in_(list(codes)),
        )
        .cte("series_rows")
    )
    keys = (rows.c.city_id, rows.c.code, rows.c.data_point)
    one: Any = literal_column("1")
    base_year: Any = literal_column(str(int(earliest_base)))
    ends = (
        select(
            *keys,
            func.max(rows.c.year).label("last_any"),
            func.max(case((rows.c.rep == one, rows.c.year))).label("last_rep"),
            func.min(case(((rows.c.rep == one) & (rows.c.year >= base_year), rows.c.year))).label(
                "base"
            ),
        )
        .group_by(*keys)
        .having(func.max(rows.c.rep) == one)
        .subquery("series_ends")
    )
    at_latest = rows.c.year == ends.c.last_any
    at_base = (rows.c.rep == one) & (rows.c.year == ends.c.base)
    at_reported = (rows.c.rep == one) & (rows.c.year == ends.c.last_rep)
    query = (
        select(
            ends.c.city_id,
            ends.c.code,
            ends.c.data_point,
            func.max(case((at_latest, rows.c.target))),
            func.max(case((at_latest, rows.c.direction))),
            ends.c.base,
            func.max(case((at_base, rows.c.value))),
            ends.c.last_rep,
            func.max(case((at_reported, rows.c.value))),
        )
        .select_from(rows)
        .join(
            ends,
            (rows.c.city_id == ends.c.city_id)
            & (rows.c.code == ends.c.code)
            & (rows.c.data_point == ends.c.data_point),
        )
        .where(at_latest | at_base | at_reported)
        .group_by(*(ends.c[key] for key in ("city_id", "code", "data_point", "base", "last_rep")))
    )
    found = [tuple(row) for row in db.session.execute(query)]
    frame = pd.DataFrame.from_records(found, columns=["city_id", *SERIES_END_COLUMNS[2:]])
    # Names apart (a join in the grouped statement made PostgreSQL loop over every city).
    cities = {
        city_id: (slug, name)
        for city_id, slug, name in db.session.execute(
            select(City.id, City.slug, City.name).where(
                City.id.in_([int(i) for i in frame["city_id"].unique()])
            )
        )
    }
    frame.insert(0, "city", [cities[i][0] for i in frame["city_id"]])
    frame.insert(1, "city_name", [cities[i][1] for i in frame["city_id"]])
    frame = frame.drop(columns=["city_id"])
    return frame.astype(
        {"target": "float64", "base_value": "float64", "latest_value": "float64"}
    ).assign(data_point=frame["data_point"].fillna(""))

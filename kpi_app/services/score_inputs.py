"""What scores are computed from: which assessments, their values, and a fingerprint of both.

Two data sources:

* ``"published"`` reads the latest :class:`~kpi_app.models.Snapshot` of each assessment, i.e.
  what the public may see; a reopened assessment keeps showing what was published.
* ``"live"`` reads the current :class:`~kpi_app.models.IndicatorValue` rows (for users with
  permission: editors, verifiers, coordinators). A value counts when it is reported; the
  verifier's ``reported_override``, when set, decides that (as it does in snapshots).

:func:`data_fingerprint` and :func:`benchmark_fingerprint` are the inputs' part of the score
cache key (:func:`kpi_app.services.scores.cache_key`) and of the dashboard page keys.
:mod:`kpi_app.services.scores` re-exports every public name here, so callers may keep
``scores.values_frame`` and the like.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kpi_app.catalogue import BenchmarkSet
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Country, IndicatorValue, PublishedValue, Snapshot
from kpi_app.services import permissions

Source = Literal["published", "live"]
SOURCES: tuple[Source, ...] = ("published", "live")
VALUE_COLUMNS = ["city", "year", "code", "data_point", "value", "quality"]


class ScoresError(LookupError):
    """A user-facing problem: unknown city, year, method or data source."""


# --- reading values -----------------------------------------------------------------------


def values_frame(assessments: Sequence[Assessment], source: Source) -> pd.DataFrame:
    """Reported values: columns city (slug), year, code, data_point, value, quality.

    Not-reported items are absent (the engine reads a missing row as "not reported").
    """
    check_source(source)
    if not assessments:
        return _empty_values()
    if source == "live":
        return _live_values(assessments)
    return _published_values(assessments)


def _empty_values() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in VALUE_COLUMNS})
    return frame.astype({"year": "int64", "value": "float64", "quality": "float64"})


def _live_values(assessments: Sequence[Assessment]) -> pd.DataFrame:
    query = (
        select(
            City.slug,
            Assessment.year,
            IndicatorValue.code,
            IndicatorValue.data_point,
            IndicatorValue.override_value,
            IndicatorValue.computed_value,
            IndicatorValue.reported,
            IndicatorValue.reported_override,
            IndicatorValue.quality,
        )
        .join(Assessment, IndicatorValue.assessment_id == Assessment.id)
        .join(City, Assessment.city_id == City.id)
        .where(IndicatorValue.assessment_id.in_([a.id for a in assessments]))
    )
    rows = db.session.execute(query).all()
    if not rows:
        return _empty_values()
    raw = pd.DataFrame(
        rows,
        columns=[
            "city",
            "year",
            "code",
            "data_point",
            "override",
            "computed",
            "reported",
            "reported_override",
            "quality",
        ],
    )
    reported = raw["reported_override"].where(raw["reported_override"].notna(), raw["reported"])
    value = raw["override"].astype("float64").fillna(raw["computed"].astype("float64"))
    keep = reported.astype(bool) & value.notna()
    frame = raw.loc[keep, ["city", "year", "code", "data_point"]].assign(
        value=value[keep], quality=raw["quality"][keep]
    )
    return typed_values(frame)


def _published_values(assessments: Sequence[Assessment]) -> pd.DataFrame:
    return snapshot_values(latest_snapshots([a.id for a in assessments]).values())


def snapshot_values(snapshots: Iterable[Snapshot]) -> pd.DataFrame:
    """The reported values of these snapshots as a values frame (no query)."""
    records: list[dict[str, Any]] = []
    for snapshot in snapshots:
        content = snapshot.content
        for entry in content.get("values", []):
            if entry.get("reported") and entry.get("value") is not None:
                records.append(
                    {
                        "city": content["city"],
                        "year": int(content["year"]),
                        "code": entry["code"],
                        "data_point": entry.get("data_point") or "",
                        "value": float(entry["value"]),
                        "quality": entry.get("quality"),
                    }
                )
    return (
        typed_values(pd.DataFrame(records, columns=VALUE_COLUMNS)) if records else _empty_values()
    )


def typed_values(frame: pd.DataFrame) -> pd.DataFrame:
    """A values frame with its dtypes (int year, float value and quality, "" data point)."""
    if "quality" not in frame.columns:
        frame = frame.assign(quality=np.nan)
    frame = frame.astype({"year": "int64", "value": "float64", "quality": "float64"})
    frame["data_point"] = frame["data_point"].fillna("")
    return frame.reset_index(drop=True)


def scoring_part(block: Any) -> dict[str, Any] | None:
    """What published scoring reads of a snapshot's frozen block: the catalogue's items and
    version, the benchmark set's entries and id, and the method (None when the snapshot
    froze none, or its block lacks one of them)."""
    if not isinstance(block, dict):
        return None
    try:
        return {
            "catalogue": {
                "items": block["catalogue"]["items"],
                "version": block["catalogue"]["version"],
            },
            "benchmarks": {
                "entries": block["benchmarks"]["entries"],
                "id": block["benchmarks"]["id"],
            },
            "method": block.get("method"),
        }
    except (KeyError, TypeError):
        return None


def scoring_digest(content: Any) -> str | None:
    """SHA-256 of :func:`scoring_part` of a snapshot's content (canonical JSON), stored as
    ``snapshot.frozen_digest`` at publication. Snapshots frozen alike share it, so scoring
    reads one frozen block per digest instead of every snapshot's content (71 KB of JSON
    each: 4 ms to read and decode; issue 20). None when there is nothing frozen to name."""
    part = scoring_part(content.get("frozen") if isinstance(content, dict) else None)
    return None if part is None else canonical_hash(part)


def canonical_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys, compact, not ASCII-only):
    how a snapshot's content is hashed (``snapshot.content_hash``) and its frozen digest."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest_digests(assessment_ids: Iterable[int]) -> dict[int, tuple[int, str | None]]:
    """(snapshot id, frozen digest) of the latest snapshot of each assessment that has one
    (one query, no content)."""
    ids = list(assessment_ids)
    if not ids:
        return {}
    query = select(Snapshot.assessment_id, Snapshot.id, Snapshot.frozen_digest).where(
        Snapshot.id.in_(_newest(ids))
    )
    return {int(a): (int(s), d) for a, s, d in db.session.execute(query)}


def stored_values(slugs: dict[int, str]) -> pd.DataFrame:
    """:func:`snapshot_values` of these snapshots (id -> city slug) from their
    ``published_value`` rows, written from the same values at publication (one query)."""
    if not slugs:
        return _empty_values()
    query = (
        select(
            PublishedValue.snapshot_id,
            PublishedValue.year,
            PublishedValue.code,
            PublishedValue.data_point,
            PublishedValue.value,
            PublishedValue.quality,
        )
        .where(
            PublishedValue.snapshot_id.in_(list(slugs)),
            PublishedValue.reported.is_(True),
            PublishedValue.value.is_not(None),
        )
        .order_by(PublishedValue.id)
    )
    records = [
        (slugs[snapshot], int(year), code, point or "", value, quality)  # value: not null
        for snapshot, year, code, point, value, quality in db.session.execute(query)
    ]
    if not records:
        return _empty_values()
    return typed_values(pd.DataFrame.from_records(records, columns=VALUE_COLUMNS))


def latest_snapshots(assessment_ids: Iterable[int]) -> dict[int, Snapshot]:
    """The latest snapshot of each assessment that has one (one query)."""
    ids = list(assessment_ids)
    if not ids:
        return {}
    snapshots = db.session.scalars(select(Snapshot).where(Snapshot.id.in_(_newest(ids))))
    return {snapshot.assessment_id: snapshot for snapshot in snapshots}


def _newest(assessment_ids: list[int]) -> Any:
    """Sub-query: the id of the latest snapshot of each of these assessments."""
    return (
        select(func.max(Snapshot.id))
        .where(Snapshot.assessment_id.in_(assessment_ids))
        .group_by(Snapshot.assessment_id)
    )


def check_source(source: str) -> None:
    """ScoresError unless ``source`` is "published" or "live"."""
    if source not in SOURCES:
        raise ScoresError(f"unknown data source {source!r}; choose from {', '.join(SOURCES)}")


# --- which assessments ----------------------------------------------------------------------


def published_assessments(
    user: Any = None, country: str | None = None, years: Iterable[int] | None = None
) -> list[Assessment]:
    """Published assessments (with a snapshot), optionally of one country (ISO2) and years."""
    query = permissions.published_or_visible(user).where(
        Assessment.published_at.is_not(None),
        Assessment.id.in_(select(Snapshot.assessment_id)),
    )
    return _filtered(query, country, years)


def published_rows(country: str | None = None, slugs: Sequence[str] | None = None) -> list[Any]:
    """Published assessments (with a snapshot) as plain rows, no ORM objects, in one query.

    Each row has the assessment's ``id``, ``year`` and ``city_id`` and what pages show of its
    city (``slug``, ``name``, ``population``, ``latitude``, ``longitude``, ``fictional``,
    ``iso2``, ``country_name``, ``region``), ordered by city slug and year. Published results
    are public, so this is the same for every user (as ``published_assessments``). Pages that
    list every published city use it to build their cache keys and pickers without loading
    thousands of assessments as objects (issue 20). ``slugs`` keeps those cities only.
    """
    query = (
        select(Assessment.id, Assessment.year, Assessment.city_id, *_city_columns())
        .join(City, Assessment.city_id == City.id)
        .join(Country, City.country_id == Country.id)
        .where(*_published_with_snapshot())
        .order_by(City.slug, Assessment.year)
    )
    if country:
        query = query.where(Country.iso2 == country.upper())
    if slugs is not None:
        query = query.where(City.slug.in_(list(slugs)))
    # Sorted here, not only in SQL: database collations may order slugs differently.
    return sorted(db.session.execute(query).all(), key=lambda r: (r.slug, r.year))


def published_cities() -> list[Any]:
    """The cities with a published assessment (with a snapshot), one plain row each, in one
    query: ``city_id`` and the city columns of :func:`published_rows`, ordered by slug.

    A picker or peer list of every published city reads these (1,000 rows for 1,000
    cities), not every published year (10,000 rows for ten years each).
    """
    published = select(Assessment.city_id).where(*_published_with_snapshot())
    query = (
        select(City.id.label("city_id"), *_city_columns())
        .join(Country, City.country_id == Country.id)
        .where(City.id.in_(published))
    )
    # Sorted here, not only in SQL: database collations may order slugs differently.
    return sorted(db.session.execute(query).all(), key=lambda r: r.slug)


def _city_columns() -> tuple[Any, ...]:
    """What pages show of a published city (:func:`published_rows`, :func:`published_cities`)."""
    return (
        City.slug,
        City.name,
        City.population,
        City.latitude,
        City.longitude,
        City.fictional,
        Country.iso2,
        Country.name.label("country_name"),
        Country.region,
    )


def _published_with_snapshot() -> tuple[Any, ...]:
    """Conditions on an assessment whose published result can be shown: published, with a
    snapshot."""
    return (
        Assessment.published_at.is_not(None),
        Assessment.id.in_(select(Snapshot.assessment_id)),
    )


def assessments_by_id(ids: Sequence[int]) -> list[Assessment]:
    """The assessments of ``ids`` in that order, with their city and country loaded."""
    if not ids:
        return []
    with_city = selectinload(Assessment.city).selectinload(City.country)
    found = {
        a.id: a
        for a in db.session.scalars(
            select(Assessment).where(Assessment.id.in_(list(ids))).options(with_city)
        )
    }
    return [found[i] for i in ids if i in found]


def live_assessments(
    user: Any, country: str | None = None, years: Iterable[int] | None = None
) -> list[Assessment]:
    """Assessments whose current values the user may see (none for anonymous users)."""
    return _filtered(permissions.visible_assessments(user), country, years)


def _filtered(query: Any, country: str | None, years: Iterable[int] | None) -> list[Assessment]:
    # Filter by sub-queries: the permission queries may already join City, and joining it
    # twice would be ambiguous.
    if country:
        in_country = (
            select(City.id)
            .join(Country, City.country_id == Country.id)
            .where(Country.iso2 == country.upper())
        )
        query = query.where(Assessment.city_id.in_(in_country))
    if years is not None:
        query = query.where(Assessment.year.in_(list(years)))
    # Pages show each city's name and country (and key their cache on them): load both here.
    with_city = selectinload(Assessment.city).selectinload(City.country)
    found = db.session.scalars(query.options(with_city)).unique()
    return sorted(found, key=lambda a: (a.city.slug, a.year))


# --- fingerprints of the inputs ----------------------------------------------------------


def data_fingerprint(assessment_ids: Sequence[int], source: Source) -> list[list[Any]]:
    """Per assessment: its latest snapshot id (published), or its year, city, value count,
    sum of value versions and highest value id (live). One aggregate query.

    Published scores depend only on the snapshot: the value aggregates are skipped for them,
    as every public page asks for this fingerprint on every view.
    """
    if not assessment_ids:
        return []
    if source == "published":
        return snapshot_fingerprint(assessment_ids)
    values = (
        select(
            IndicatorValue.assessment_id.label("assessment_id"),
            func.count(IndicatorValue.id).label("n"),
            func.sum(IndicatorValue.version).label("versions"),
            func.max(IndicatorValue.id).label("max_id"),
        )
        .where(IndicatorValue.assessment_id.in_(assessment_ids))
        .group_by(IndicatorValue.assessment_id)
        .subquery()
    )
    query = (
        select(
            Assessment.id,
            Assessment.year,
            Assessment.city_id,
            values.c.n,
            values.c.versions,
            values.c.max_id,
        )
        .outerjoin(values, values.c.assessment_id == Assessment.id)
        .where(Assessment.id.in_(assessment_ids))
        .order_by(Assessment.id)
    )
    rows = db.session.execute(query).all()
    return [[row.id, row.year, row.city_id, row.n, row.versions, row.max_id] for row in rows]


def snapshot_fingerprint(assessment_ids: Sequence[int]) -> list[list[Any]]:
    """Per assessment id (sorted): [id, its latest snapshot id or None]. One query."""
    rows = db.session.execute(
        select(Snapshot.assessment_id, func.max(Snapshot.id))
        .where(Snapshot.assessment_id.in_(assessment_ids))
        .group_by(Snapshot.assessment_id)
    ).all()
    latest = dict(rows)  # (assessment id, latest snapshot id) pairs
    return [
        [assessment_id, latest.get(assessment_id)] for assessment_id in sorted(set(assessment_ids))
    ]


#: Fingerprints of the (immutable) parsed benchmark sets, computed once per set object.
_benchmark_fingerprints: weakref.WeakKeyDictionary[BenchmarkSet, str] = weakref.WeakKeyDictionary()


def benchmark_fingerprint(benchmarks: BenchmarkSet) -> str:
    """Hash of the targets and direction overrides, so editing a file without bumping its
    version still changes every score key.

    A parsed set never changes (a changed file is parsed into a new object), so the hash is
    memoised per object: it sits on every page's key path and cost ~1 ms to recompute.
    """
    known = _benchmark_fingerprints.get(benchmarks)
    if known is None:
        content = [
            [b.code, b.data_point, b.target, None if b.direction is None else str(b.direction)]
            for b in benchmarks.benchmarks
        ]
        known = hashlib.sha256(json.dumps(content).encode("utf-8")).hexdigest()[:16]
        _benchmark_fingerprints[benchmarks] = known
    return known

"""Published scores (``published_score`` rows): a snapshot's group scores, stored at publication.

:func:`write_many` scores snapshots by the default method (U4SSC) on what they froze — the
very computation :func:`kpi_app.services.scores.scores_for` runs for a published score
without a chosen benchmark set — and stores every group level (overall, dimensions,
sub-dimensions, categories). :func:`kpi_app.services.snapshots.freeze` calls it in the
publishing transaction, after the snapshot's ``published_value`` rows. Pages listing many
cities (``/cities``, the country pages) read these rows in SQL instead of scoring each
city; any other method or a chosen benchmark set still scores live.

Snapshots published before this table existed get their rows from :func:`backfill`, which
``kpi-app init-db`` runs after the migrations (idempotent: only snapshots without rows).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from kpi_app.extensions import db
from kpi_app.models import Assessment, PublishedScore, Snapshot
from kpi_app.scoring.result import LEVEL_ID_COLUMNS
from kpi_app.services import scores

#: The method whose result is stored (the pages' default).
DEFAULT_METHOD = "u4ssc"
LEVELS = tuple(LEVEL_ID_COLUMNS)  # categories, sub_dimensions, dimensions, overall
SCORE_COLUMNS = (
    "score", "band", "band_label", "points", "max_points", "scored_items", "total_items",
    "coverage", "coverage_core", "coverage_advanced",
)  # fmt: skip


def write(snapshot: Snapshot, assessment: Assessment) -> int:
    """Add the score rows of ``snapshot`` (the caller commits). Returns how many."""
    return write_many([(snapshot, assessment)])


def write_many(pairs: Sequence[tuple[Snapshot, Assessment]]) -> int:
    """Add the score rows of several snapshots (the caller commits). Returns how many."""
    rows = score_rows(pairs)
    for start in range(0, len(rows), 5000):
        db.session.execute(db.insert(PublishedScore), rows[start : start + 5000])
    return len(rows)


def score_rows(pairs: Sequence[tuple[Snapshot, Assessment]]) -> list[dict[str, Any]]:
    """The rows of these snapshots (no statement: bulk loaders write them themselves).

    Each assessment needs its ``city`` (slug) and ``benchmark_set``. Snapshots are scored
    in groups that resolve alike (same recorded set, same frozen method), so each gets the
    score it would get alone; the default method scores every city against its own targets.
    """
    groups: dict[tuple[str, str], list[tuple[Snapshot, Assessment]]] = {}
    for snapshot, assessment in pairs:
        if not (snapshot.content or {}).get("values"):
            continue
        frozen = (snapshot.content or {}).get("frozen")
        method = frozen.get("method") if isinstance(frozen, dict) else None
        key = (str(assessment.benchmark_set), json.dumps(method, sort_keys=True, default=str))
        groups.setdefault(key, []).append((snapshot, assessment))
    rows: list[dict[str, Any]] = []
    for members in groups.values():
        result = scores.score_snapshots(members, method=DEFAULT_METHOD)
        of = {(a.city.slug, int(a.year)): (s, a) for s, a in members}
        for level, id_column in LEVEL_ID_COLUMNS.items():
            frame = getattr(result, level)
            for record in frame.to_dict("records"):
                snapshot, assessment = of[(str(record["city"]), int(record["year"]))]
                rows.append(
                    {
                        "snapshot_id": snapshot.id,
                        "assessment_id": assessment.id,
                        "city_id": assessment.city_id,
                        "year": int(assessment.year),
                        "level": level,
                        "group_id": "" if id_column is None else str(record[id_column]),
                        "method": result.method,
                        **{column: _plain(record.get(column)) for column in SCORE_COLUMNS},
                    }
                )
    return rows


def _plain(value: Any) -> Any:
    """A frame cell as the database stores it (NA and NaN as NULL, numpy as Python)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value.item() if hasattr(value, "item") else value


def rewrite(snapshot: Snapshot, assessment: Assessment) -> int:
    """Replace a snapshot's rows (``freeze-snapshots`` completed its frozen context)."""
    db.session.execute(delete(PublishedScore).where(PublishedScore.snapshot_id == snapshot.id))
    return write(snapshot, assessment)


def backfill() -> int:
    """Write the rows of every snapshot that has none (the caller commits). Returns how
    many snapshots were written; running it again writes nothing."""
    has_rows = select(PublishedScore.snapshot_id).distinct()
    missing = db.session.scalars(
        select(Snapshot)
        .where(Snapshot.id.not_in(has_rows))
        .options(selectinload(Snapshot.assessment).selectinload(Assessment.city))
        .order_by(Snapshot.id)
    ).all()
    pairs = [(s, s.assessment) for s in missing if (s.content or {}).get("values")]
    for start in range(0, len(pairs), 500):
        write_many(pairs[start : start + 500])
    return len(pairs)


# --- reading ------------------------------------------------------------------------------


def latest_overall(assessment_ids: Iterable[int]) -> dict[int, tuple[float | None, int | None]]:
    """Per assessment: (score, band) of its latest snapshot's stored overall score."""
    ids = list(assessment_ids)
    if not ids:
        return {}
    query = select(PublishedScore.assessment_id, PublishedScore.score, PublishedScore.band).where(
        PublishedScore.level == "overall",
        PublishedScore.group_id == "",
        PublishedScore.snapshot_id.in_(_latest_of(ids)),
    )
    return {row[0]: (row[1], row[2]) for row in db.session.execute(query)}


def latest_trend(assessment_ids: Iterable[int]) -> list[tuple[int, str, str, float | None]]:
    """(year, level, group id, score) of the overall and dimension scores stored with the
    latest snapshot of each assessment (one query), ordered by year."""
    ids = list(assessment_ids)
    if not ids:
        return []
    query = (
        select(PublishedScore.year, PublishedScore.level, PublishedScore.group_id,
               PublishedScore.score)
        .where(
            PublishedScore.level.in_(["overall", "dimensions"]),
            PublishedScore.snapshot_id.in_(_latest_of(ids)),
        )
        .order_by(PublishedScore.year, PublishedScore.id)
    )  # fmt: skip
    return [(int(y), str(lv), str(g), s) for y, lv, g, s in db.session.execute(query)]


def _latest_of(assessment_ids: list[int]) -> Any:
    """Sub-query: the latest snapshot of each of these (published) assessments."""
    return (
        select(func.max(Snapshot.id))
        .join(Assessment, Snapshot.assessment_id == Assessment.id)
        .where(Assessment.id.in_(assessment_ids), Assessment.published_at.is_not(None))
        .group_by(Snapshot.assessment_id)
    )

"""Local KPIs scored apart: each item banded against its own benchmark, never mixed in.

A city's local KPIs (docs/local-kpis.md) are not part of the U4SSC catalogue, so they never
enter :func:`kpi_app.scoring.score`: this module is their only scorer. It reuses the U4SSC
arithmetic so thresholds stay exact and identical: :func:`percent_of_target` (exact band
edges, lower-better and two-sided rules, yes/no items) and :func:`band_of` (inclusive lower
bounds 33 / 66 / 95). The block score is the U4SSC group rule applied to the local items
only: ``sum(points) / (4 × scored items) × 100``, each item weighing the same.

An item without a benchmark (no target), with direction ``other`` or not reported is listed
with band 0 ("not scored") and does not count in the block score, like a U4SSC KPI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpi_app.scoring.bands import MAX_POINTS, NO_BAND, band_of
from kpi_app.scoring.u4ssc import percent_of_target

#: Columns the input frame must have (one row per local KPI item).
INPUT_COLUMNS: tuple[str, ...] = ("code", "data_point", "value", "target", "direction")


@dataclass(frozen=True)
class LocalScores:
    """Per-item % of target and band, and the block's score over the scored items."""

    items: pd.DataFrame
    score: float | None
    band: int
    scored_items: int
    total_items: int


def score_local(items: pd.DataFrame) -> LocalScores:
    """Band every local item by its own target; score the block (None when nothing scored).

    ``items`` has :data:`INPUT_COLUMNS` and optionally ``value_type`` ("boolean" items score
    100 % when they equal their target, 0 % otherwise, as U4SSC yes/no KPIs do).
    """
    missing = set(INPUT_COLUMNS) - set(items.columns)
    if missing:
        raise ValueError(f"local items lack column(s) {sorted(missing)}")
    frame = items.copy()
    if frame.empty:
        frame["percent_of_target"] = pd.Series(dtype="float64")
        frame["band"] = pd.Series(dtype="int64")
        return LocalScores(frame, None, NO_BAND, 0, 0)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    targets = pd.to_numeric(frame["target"], errors="coerce").to_numpy(dtype=np.float64)
    value_type = frame["value_type"].to_numpy(dtype=object) if "value_type" in frame else None
    percent = percent_of_target(
        values, targets, frame["direction"].astype(str).to_numpy(dtype=object), value_type
    )
    points = band_of(percent)
    frame["percent_of_target"] = percent
    frame["band"] = points.astype(np.int64)
    scored = points != NO_BAND
    count = int(scored.sum())
    if count == 0:
        return LocalScores(frame, None, NO_BAND, 0, len(frame))
    score = float(points[scored].sum()) / (MAX_POINTS * count) * 100.0
    return LocalScores(frame, score, int(band_of(score)), count, len(frame))

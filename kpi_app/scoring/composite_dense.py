"""Composite aggregation on the U4SSC engine's dense layout: every level a sum of row runs.

Validation (:func:`~kpi_app.scoring.u4ssc.validated_inputs`) already lays the items out as a
dense (item × city-year) matrix whose items are sorted by dimension, sub-dimension and
category, so that every group at every level is a contiguous run of rows. Composite scoring
aggregates on that matrix: the item scores, weights and flags are scattered into it once,
each category is a sum over its run of item rows, and every level above sums runs of the
(group × city-year) matrices of the level below — tens of whole-row sums per level instead of
a group-by over every item row, and no join: the coverage counts roll up along the same runs.

The rules are those of :func:`~kpi_app.scoring.aggregate.aggregate_groups` applied level by
level (missing children left out with their weights, the minimum-coverage rule, children that
can never be scored counted neither way, ``forward``/``inverse`` of the level's mean), which
:func:`~kpi_app.scoring.composite.aggregate_levels` still computes on frames;
``tests/unit/scoring/test_composite_dense.py`` checks that both give the same frames. The
sums run in the layout's item order rather than in row order, so a score may differ from the
frame version in the last bit of a float (docs/scoring.md §4.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.aggregate import aggregator, check_weights, finish_totals
from kpi_app.scoring.bands import NO_BAND, band_of, score_band_labels
from kpi_app.scoring.confidence import GRADE_DTYPE, grade_codes, reliable_rows
from kpi_app.scoring.layout import Layout, counts_by_tier
from kpi_app.scoring.spec import ScoringSpec
from kpi_app.scoring.u4ssc import ValidatedItems, sum_runs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A group score is a float sum whose last bits depend on the order of its terms; its band
#: is read from the score rounded to this many decimals, so that no summation order moves a
#: score that is on a band edge (66 within 10⁻⁹ points) off it (docs/scoring.md, Hierarchy).
GROUP_BAND_DECIMALS: Final = 9


@dataclass(frozen=True)
class ItemCells:
    """What normalising laid out in the dense (item × city-year) matrix, for the levels."""

    #: Each cell's row flags (:data:`ASSESSABLE` and the bits composite normalising adds).
    flags: npt.NDArray[np.uint8]
    #: Each cell's item score when normalising scored in the matrix (NaN where no row or
    #: no score), else None: the scores are then read from the rows.
    scores: FloatArray | None


#: The flag bit of an assessable row (:attr:`ItemCells.flags`).
ASSESSABLE: Final = np.uint8(1)


def dense_cells(layout: Layout, column: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
    """A row column scattered into the dense (item × city-year) matrix, ``fill`` elsewhere."""
    matrix = np.full(layout.n_items * layout.n_entities, fill, dtype=column.dtype)
    matrix[layout.row_cell] = column
    return matrix.reshape(layout.n_items, layout.n_entities)


@dataclass(frozen=True)
class _Children:
    """One level's children as (child × city-year) matrices, in layout order."""

    score: FloatArray  # NaN = not reported, withheld or never scorable
    #: (child × city-year), or (child × 1) when constant per child; None: all 1.
    weight: FloatArray | None
    assessable: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Group:
    """One level's groups: the finished score columns over every (group, city-year) cell."""

    score: FloatArray  # (group × city-year)
    weight_share: FloatArray
    withheld_reason: npt.NDArray[np.int16]  # codes of ``reason_texts``
    reason_texts: pd.Index


def level_frames(
    scored_items: pd.DataFrame, spec: ScoringSpec, checked: ValidatedItems, cells: ItemCells
) -> dict[str, pd.DataFrame]:
    """The four level frames of a composite result (categories, sub-dimensions, dimensions,
    overall), each ordered by city, year and group id, with U4SSC-style columns.

    ``cells`` is what normalising the items laid out in the dense matrix."""
    layout = checked.layout
    children, counts = _item_children(scored_items, checked, cells)
    # Category c's items start at the first item of its first tier segment.
    starts = layout.segment_starts[layout.levels[0].starts]
    frames: dict[str, pd.DataFrame] = {}
    for position, (level, above) in enumerate(
        zip(layout.levels, (*layout.levels[1:], None), strict=True)
    ):
        group = _aggregate_runs(children, starts, spec, level.id_name)
        if position:  # the counts come per category; every level above sums them
            counts = {key: sum_runs(matrix, level.starts) for key, matrix in counts.items()}
        frames[level.name] = _frame(group, counts, checked, level)
        if above is None:
            break
        children = _Children(
            score=group.score,
            weight=_group_weights(spec, level)[:, np.newaxis],
            # A group with nothing assessable inside is not a missing answer one level up.
            assessable=~np.isnan(group.weight_share),
        )
        starts = above.starts
    return frames


def _item_children(
    scored_items: pd.DataFrame, checked: ValidatedItems, cells: ItemCells
) -> tuple[_Children, dict[str, npt.NDArray[np.int32]]]:
    """The item scores, weights and flags in the dense (item × city-year) matrix, and the
    coverage counts per (category × city-year), which roll up along the levels' runs."""
    layout = checked.layout
    weights = scored_items["item_weight"].to_numpy(dtype=np.float64)
    check_weights(weights)
    # Scattering costs a random write per row: only what normalising has not laid out
    # already, and weights only when they are not all 1 (the presets' default).
    score = (
        dense_cells(layout, scored_items["score"].to_numpy(dtype=np.float64), np.nan)
        if cells.scores is None
        else cells.scores
    )
    scored = ~np.isnan(score)
    segments = layout.segment_starts
    scored_count = sum_runs(scored, segments)
    total_count = sum_runs(checked.occupied, segments)
    categories = layout.levels[0].starts
    reliable_rows_ = reliable_rows(scored_items)
    if reliable_rows_.any():
        reliable = dense_cells(layout, reliable_rows_, False)
        reliable &= scored
        reliable_count = sum_runs(sum_runs(reliable, segments), categories)
    else:  # no quality levels (or none reliable): nothing to count
        reliable_count = np.zeros((categories.size, scored_count.shape[1]), dtype=np.int32)
    counts = {**counts_by_tier(layout, scored_count, total_count), "reliable": reliable_count}
    uniform = bool((weights == 1.0).all())
    children = _Children(
        score=score,
        weight=None if uniform else dense_cells(layout, weights, 0.0),
        assessable=(cells.flags & ASSESSABLE).astype(np.bool_),
    )
    return children, counts


def _aggregate_runs(
    children: _Children, starts: IntArray, spec: ScoringSpec, id_name: str | None
) -> _Group:
    """Each run of children (from ``starts``) into one group per city-year."""
    agg = aggregator(spec.aggregation_for(id_name or "overall"))
    weight = children.weight
    counted = children.assessable if weight is None else children.assessable & (weight > 0)
    reported = counted & ~np.isnan(children.score)
    # The level's transform of every reported score (0 elsewhere, which the weight 0 cancels).
    transformed = agg.forward(np.where(reported, children.score, 0.0))
    if weight is None:  # all weights 1: weight sums are counts
        assessable_weight = sum_runs(counted, starts).astype(np.float64)
        reported_weight = sum_runs(reported, starts).astype(np.float64)
        weighted_sum = sum_runs(transformed, starts)
    else:
        assessable_weight = sum_runs(np.where(counted, weight, 0.0), starts)
        reported_matrix = np.where(reported, weight, 0.0)
        reported_weight = sum_runs(reported_matrix, starts)
        weighted_sum = sum_runs(reported_matrix * transformed, starts)
    score, share, reasons = finish_totals(
        assessable_weight.ravel(),
        reported_weight.ravel(),
        weighted_sum.ravel(),
        agg,
        spec.min_coverage,
    )
    shape = assessable_weight.shape
    return _Group(
        score.reshape(shape),
        share.reshape(shape),
        np.asarray(reasons.codes).reshape(shape),
        reasons.categories,
    )


def _group_weights(spec: ScoringSpec, level: Any) -> FloatArray:
    """The spec's weight of each group of the level, as a child of the level above."""
    if level.id_column is None:
        return np.ones(level.group_codes.size)
    labels = level.id_column.labels
    return np.array(
        [spec.weight(level.id_name, str(labels[code])) for code in level.group_codes],
        dtype=np.float64,
    )


def _frame(
    group: _Group, counts: dict[str, npt.NDArray[Any]], checked: ValidatedItems, level: Any
) -> pd.DataFrame:
    """One row per (city-year, group) with at least one item row, ordered by city, year and
    group id (the order a sorted group-by gives), in the U4SSC frames' column layout."""
    layout = checked.layout
    # Groups in id-code order within each city-year (layout order follows the hierarchy).
    order = np.argsort(level.group_codes, kind="stable")
    in_order = bool((order == np.arange(order.size)).all())  # the usual case: no reordering

    def by_code(matrix: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return matrix if in_order else matrix[order]

    counts = {
        key: np.ascontiguousarray(by_code(matrix).T).ravel() for key, matrix in counts.items()
    }
    total = counts["total_core"] + counts["total_advanced"]
    observed = total > 0
    everything = bool(observed.all())

    def cells(matrix: npt.NDArray[Any]) -> npt.NDArray[Any]:
        flat = np.ascontiguousarray(by_code(matrix).T).ravel()
        return flat if everything else flat[observed]

    counts = {key: column if everything else column[observed] for key, column in counts.items()}
    n_groups = order.size
    per_entity = (
        np.full(layout.n_entities, n_groups)
        if everything
        else observed.reshape(-1, n_groups).sum(axis=1)
    )
    columns: dict[str, Any] = {
        "city": checked.city.take(np.repeat(layout.entity_city, per_entity)),
        "year": np.repeat(layout.entity_year, per_entity),
    }
    if level.id_name is not None:
        ids = np.tile(level.group_codes[order], layout.n_entities)
        columns[level.id_name] = level.id_column.take(ids if everything else ids[observed])
    return _with_scores(
        columns,
        cells(group.score),
        counts,
        cells(group.weight_share),
        pd.Categorical.from_codes(cells(group.withheld_reason), group.reason_texts),
    )


def _with_scores(
    keys: Mapping[str, Any],
    score: FloatArray,
    counts: Mapping[str, npt.NDArray[Any]],
    weight_share: FloatArray,
    withheld_reason: pd.Categorical,
) -> pd.DataFrame:
    scored_core, total_core = counts["scored_core"], counts["total_core"]
    scored_advanced, total_advanced = counts["scored_advanced"], counts["total_advanced"]
    scored = scored_core + scored_advanced
    total = total_core + total_advanced
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = scored / total
        coverage_core = scored_core / np.where(total_core == 0, np.nan, total_core)
        coverage_advanced = scored_advanced / np.where(total_advanced == 0, np.nan, total_advanced)
    grades = grade_codes(scored_core, total_core, scored, total, counts["reliable"])
    grades[np.isnan(score)] = -1  # a withheld group has no score, hence no confidence either
    band = band_of(np.round(score, GROUP_BAND_DECIMALS))
    columns = {
        **keys,
        "score": score,
        "band": pd.arrays.IntegerArray(band, band == NO_BAND),
        "band_label": score_band_labels(band),
        "points": np.full(score.size, np.nan),
        "max_points": np.full(score.size, np.nan),
        "scored_items": scored,
        "total_items": total,
        "coverage": coverage,
        "coverage_core": coverage_core,
        "coverage_advanced": coverage_advanced,
        "confidence": pd.Categorical.from_codes(grades, dtype=GRADE_DTYPE),
        "weight_share": weight_share,
        "withheld_reason": withheld_reason,
    }
    return pd.DataFrame(columns, copy=False)

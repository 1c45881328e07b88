"""The U4SSC benchmarking method: % of target per item, four bands, points rolled up to groups.

Input is the tidy *items* frame (one row per city × year × KPI item, see ``docs/scoring.md``);
output is a :class:`~kpi_app.scoring.result.ScoreResult`. The engine is pure pandas/numpy.

The rule, with the project's decisions where the U4SSC publications are silent:

* % of target: higher-better ``value / target × 100``; lower-better ``target / value × 100``
  where a value of 0 meets any target and is recorded as ``+inf``; two-sided (``target_value``)
  ``100 × (1 − |value − target| / target)`` floored at 0; yes/no items (``value_type`` =
  "boolean") score 100 when the answer equals the target and 0 otherwise; direction "other" is
  never scored.
* Bands: lower bounds 0 / 33 / 66 / 95 are inclusive (a value on an edge takes the upper band).
* A group scores ``Σ w·points ÷ (4 · Σ w) × 100`` over its scored items (weights default to 1,
  which is exactly the published points ÷ (4 × scored items)). Not reported (NaN value) and
  no-benchmark (NaN target) items are left out of numerator and denominator; a group with
  nothing scored has a NaN score and no band.
* Coverage = scored items ÷ all items of the group, also for core and advanced items apart.
* A % of target above 100 is kept as measured on the item; the points only see the band, so the
  cap at 100 matters where percentages are averaged (``percent_capped`` helper).

Speed: keys are turned into small integer codes once and every row is scattered into a dense
item × city-year matrix (``scoring/layout.py``); every group level is then a sum over runs of
that matrix's rows. No Python loop runs over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import BANDS, MAX_POINTS, NO_BAND, band_labels, band_of
from kpi_app.scoring.confidence import GRADE_DTYPE, grade_codes, reliable_rows
from kpi_app.scoring.frame import code_dtype, fresh_floats, uncopied_columns
from kpi_app.scoring.layout import KEY_COLUMNS as KEY_COLUMNS
from kpi_app.scoring.layout import TIERS as TIERS
from kpi_app.scoring.layout import (
    Encoded,
    Layout,
    Level,
    build_layout,
    counts_by_tier,
    encode_column,
)
from kpi_app.scoring.layout import occupied_cells as occupied_cells

# % of target lives in its own module; its names stay importable from here.
from kpi_app.scoring.percent import BOOLEAN_VALUE_TYPE as BOOLEAN_VALUE_TYPE
from kpi_app.scoring.percent import DIRECTIONS as DIRECTIONS
from kpi_app.scoring.percent import EDGE_WINDOW as EDGE_WINDOW
from kpi_app.scoring.percent import HIGHER_BETTER as HIGHER_BETTER
from kpi_app.scoring.percent import LOWER_BETTER as LOWER_BETTER
from kpi_app.scoring.percent import OTHER as OTHER
from kpi_app.scoring.percent import PERCENT_CAP as PERCENT_CAP
from kpi_app.scoring.percent import TARGET_VALUE as TARGET_VALUE
from kpi_app.scoring.percent import ScoringInputError as ScoringInputError
from kpi_app.scoring.percent import check_values, percent_and_points
from kpi_app.scoring.percent import encode_directions as encode_directions
from kpi_app.scoring.percent import exact_percent as exact_percent
from kpi_app.scoring.percent import percent_capped as percent_capped
from kpi_app.scoring.percent import percent_from_codes as percent_from_codes
from kpi_app.scoring.percent import percent_of_target as percent_of_target
from kpi_app.scoring.percent import value_at_percent as value_at_percent
from kpi_app.scoring.result import ScoreResult

METHOD_NAME: Final[str] = "u4ssc"


REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    *KEY_COLUMNS,
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "direction",
    "value",
    "target",
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------------
# Input encoding and validation
# --------------------------------------------------------------------------------------------

#: Group levels in roll-up order, with the items-frame column that names each group.
GROUP_LEVELS: Final[tuple[tuple[str, str | None], ...]] = (
    ("categories", "category"),
    ("sub_dimensions", "sub_dimension"),
    ("dimensions", "dimension"),
    ("overall", None),
)


@dataclass(frozen=True)
class _Inputs:
    """The validated input reduced to numpy arrays and small lookup tables."""

    values: FloatArray
    targets: FloatArray
    directions: npt.NDArray[np.int8]
    boolean: BoolArray
    #: The yes/no rows (``flatnonzero(boolean)``), found once.
    boolean_rows: npt.NDArray[np.intp]
    weights: FloatArray | None
    city: Encoded
    layout: Layout


def validate_items(items: pd.DataFrame) -> None:
    """Check the items frame against the contract; raise :class:`ScoringInputError` if broken."""
    validated_inputs(items)


@dataclass(frozen=True)
class ValidatedItems:
    """What validating an items frame found out, for callers that go on to score it.

    ``percent`` is each row's % of target (``percent_of_target`` of the frame) and
    ``entities`` the distinct (city label, year) pairs, in no particular order.
    """

    percent: FloatArray
    entity_cities: pd.Index | pd.Categorical[Any]
    entity_years: IntArray
    #: The dense (item × city-year) layout, its occupied cells and the city codes, which
    #: composite scoring aggregates on (``composite_dense``).
    layout: Layout
    occupied: BoolArray
    city: Encoded
    #: The rows' values, targets, direction codes and yes/no marks as validated (row order).
    values: FloatArray
    targets: FloatArray
    directions: npt.NDArray[np.int8]
    boolean: BoolArray


def validated_inputs(items: pd.DataFrame) -> ValidatedItems:
    """:func:`validate_items`, returning what it computes on the way (% of target, layout)."""
    inputs, percent, _, marks = _checked(items)
    layout = inputs.layout
    return ValidatedItems(
        percent,
        inputs.city.take(layout.entity_city),
        layout.entity_year,
        layout,
        marks != 0,
        inputs.city,
        inputs.values,
        inputs.targets,
        inputs.directions,
        inputs.boolean,
    )


def _checked(
    items: pd.DataFrame,
) -> tuple[_Inputs, FloatArray, npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """The validated inputs with their final layout, each row's % of target and points, and
    the dense matrix of :func:`_occupied` (what validation and scoring both start from)."""
    inputs = _prepare(items)
    percent, points = percent_and_points(
        inputs.values,
        inputs.targets,
        inputs.directions,
        inputs.boolean,
        boolean_rows=inputs.boolean_rows,
    )
    layout, marks = _occupied(items, inputs.layout, points)
    return replace(inputs, layout=layout), percent, points, marks


def _occupied(
    items: pd.DataFrame, layout: Layout, points: npt.NDArray[np.int8]
) -> tuple[Layout, npt.NDArray[np.int8]]:
    """The final layout and the dense (item × entity) matrix of ``points + 1`` per row.

    An empty cell holds 0, an unscored row 1 and a scored one its points + 1: one scatter
    gives the occupied cells, the scored cells and the points together.
    """
    points += 1  # in place and back: no fresh array of millions of rows
    try:
        return occupied_cells(items, layout, points)
    finally:
        points -= 1


def _prepare(items: pd.DataFrame) -> _Inputs:
    _check_columns(items)
    values = _float_column(items, "value")
    targets = _float_column(items, "target")
    directions = encode_directions(items["direction"])
    boolean = _boolean_mask(items)
    boolean_rows = np.flatnonzero(boolean)
    check_values(values, targets, directions, boolean, boolean_rows=boolean_rows)
    city = encode_column(items, "city")
    return _Inputs(
        values=values,
        targets=targets,
        directions=directions,
        boolean=boolean,
        boolean_rows=boolean_rows,
        weights=_weights(items),
        city=city,
        layout=build_layout(items, city),
    )


def _check_columns(items: pd.DataFrame) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in items.columns]
    if missing:
        raise ScoringInputError(f"items frame lacks required column(s): {missing}")
    if not pd.api.types.is_integer_dtype(items["year"].dtype):
        raise ScoringInputError(f"column 'year' must hold integers, not {items['year'].dtype}")


def _float_column(items: pd.DataFrame, name: str) -> FloatArray:
    column = items[name]
    if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise ScoringInputError(f"column {name!r} must be numeric, not {column.dtype}")
    # Zero-copy for a float64 column; nullable Float64 turns its NA into NaN here.
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _boolean_mask(items: pd.DataFrame) -> BoolArray:
    if "value_type" not in items.columns:
        return np.zeros(len(items), dtype=np.bool_)
    return np.asarray(items["value_type"] == BOOLEAN_VALUE_TYPE, dtype=np.bool_)


def _weights(items: pd.DataFrame) -> FloatArray | None:
    """The weight column, or None when absent or all 1 (the published, unweighted rule)."""
    if "weight" not in items.columns:
        return None
    weights = _float_column(items, "weight")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ScoringInputError("weights must be finite and non-negative")
    return None if (weights == 1.0).all() else weights


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Totals:
    """Additive measures of each group, shaped (group, entity)."""

    points: npt.NDArray[Any]
    scored_weight: npt.NDArray[Any]
    scored_core: npt.NDArray[Any]
    scored_advanced: npt.NDArray[Any]
    total_core: npt.NDArray[Any]
    total_advanced: npt.NDArray[Any]
    #: Scored items with a reliable data-quality level (1–3), for the confidence grade.
    reliable: npt.NDArray[Any]

    def roll_up(self, starts: IntArray) -> _Totals:
        """Sum runs of consecutive groups (children of one parent) into the parent."""
        return _Totals(*(sum_runs(getattr(self, name), starts) for name in _TOTAL_FIELDS))


_TOTAL_FIELDS: Final[tuple[str, ...]] = (
    "points",
    "scored_weight",
    "scored_core",
    "scored_advanced",
    "total_core",
    "total_advanced",
    "reliable",
)


def sum_runs(rows: npt.NDArray[Any], starts: IntArray) -> npt.NDArray[Any]:
    """Sum consecutive runs of rows; ``starts`` gives each run's first row.

    A loop over runs (tens of them, never over cities or items) calling a whole-row sum is
    about ten times faster than ``np.add.reduceat(axis=0)``, which does not vectorise across
    the entity axis.
    """
    dtype = np.float64 if rows.dtype.kind == "f" else np.int32
    ends = np.r_[starts[1:], rows.shape[0]] if starts.size else starts
    sums = np.empty((starts.size, rows.shape[1]), dtype=dtype)
    for run, (start, end) in enumerate(zip(starts, ends, strict=True)):
        np.sum(rows[start:end], axis=0, dtype=dtype, out=sums[run])
    return sums


def _category_totals(inputs: _Inputs, marks: npt.NDArray[np.int8], reliable: BoolArray) -> _Totals:
    """Totals per (category, entity) from the dense item × entity matrix, summed per
    category × tier segment first.

    ``marks`` is that matrix as :func:`_occupied` makes it (0 empty, points + 1 filled);
    ``reliable`` marks the rows whose data-quality level is 1–3 (counted where scored)."""
    layout = inputs.layout
    scored = marks > NO_BAND + 1
    starts = layout.segment_starts
    scored_count = sum_runs(scored, starts)
    total_count = sum_runs(marks != 0, starts)
    if reliable.any():
        dense_reliable = np.zeros(marks.shape, dtype=np.bool_)
        dense_reliable.ravel()[layout.row_cell] = reliable
        dense_reliable &= scored
        reliable_count = sum_runs(dense_reliable, starts)
    else:  # no quality levels (or none reliable): nothing to scatter
        reliable_count = np.zeros_like(scored_count)
    if inputs.weights is None:
        # Each filled cell holds its points + 1: the sum less the filled cells is the points.
        point_sum = sum_runs(marks, starts)
        point_sum -= total_count
        scored_weight = scored_count
    else:
        dense_points = np.subtract(marks, 1, dtype=np.int8)
        np.maximum(dense_points, NO_BAND, out=dense_points)  # empty cells: no points
        dense_weights = np.zeros(marks.shape, dtype=np.float64)
        dense_weights.ravel()[layout.row_cell] = inputs.weights
        dense_weights *= scored
        scored_weight = sum_runs(dense_weights, starts)
        dense_weights *= dense_points
        point_sum = sum_runs(dense_weights, starts)
    categories = layout.levels[0].starts
    return _Totals(
        points=sum_runs(point_sum, categories),
        scored_weight=sum_runs(scored_weight, categories),
        reliable=sum_runs(reliable_count, categories),
        **counts_by_tier(layout, scored_count, total_count),
    )


def _group_frame(inputs: _Inputs, totals: _Totals, level: Level) -> pd.DataFrame:
    """One row per (entity, group) with at least one item, ordered by entity then group."""
    # Entity-major rows: every (group, entity) measure is transposed to (entity, group) (a
    # fast copy, converting to float where the frame wants floats), and only when some
    # groups have no item in some entity are the occupied cells then picked out.
    n_groups, n_entities = totals.points.shape
    total_matrix = totals.total_core + totals.total_advanced
    occupied = np.ascontiguousarray((total_matrix > 0).T).ravel()
    dense = bool(occupied.all())

    def cells(matrix: npt.NDArray[Any], dtype: Any = None) -> npt.NDArray[Any]:
        """The measure per frame row (may be a view of ``matrix``: never change it)."""
        flat = np.ascontiguousarray(matrix.T, dtype=dtype).ravel()
        return flat if dense else flat[occupied]

    per_entity = np.full(n_entities, n_groups) if dense else occupied.reshape(-1, n_groups).sum(1)
    group = np.tile(np.arange(n_groups, dtype=np.int32), n_entities)
    if not dense:
        group = group[occupied]
    scored_core, scored_adv = cells(totals.scored_core), cells(totals.scored_advanced)
    total_core, total_adv = cells(totals.total_core), cells(totals.total_advanced)
    scored = scored_core + scored_adv
    total = total_core + total_adv
    # Fresh float copies (never views of the totals, which roll up further), then in place:
    # each new column of millions of rows costs the kernel fresh pages, so no temporaries.
    points = fresh_floats(cells(totals.points, np.float64), totals.points)
    max_points = fresh_floats(cells(totals.scored_weight, np.float64), totals.scored_weight)
    max_points *= MAX_POINTS
    with np.errstate(divide="ignore", invalid="ignore"):
        score = points * 100.0
        score /= max_points
        coverage_core = scored_core / total_core
        coverage_adv = scored_adv / total_adv
        coverage = scored / total
    band = band_of(score)
    grades = grade_codes(scored_core, total_core, scored, total, cells(totals.reliable))
    unscored = np.isnan(score)
    if unscored.any():
        grades[unscored] = -1  # no score (all weights 0), no confidence
    city_codes = inputs.layout.entity_city.astype(code_dtype(len(inputs.city.labels)))
    columns: dict[str, Any] = {
        "city": inputs.city.take(np.repeat(city_codes, per_entity)),
        "year": np.repeat(inputs.layout.entity_year, per_entity),
    }
    if level.id_name is not None and level.id_column is not None:
        id_codes = level.group_codes.astype(code_dtype(len(level.id_column.labels)))
        columns[level.id_name] = level.id_column.take(id_codes[group])
    columns |= {
        "score": score,
        "band": pd.arrays.IntegerArray(band, band == NO_BAND),
        "band_label": band_labels(band),
        "points": points,
        "max_points": max_points,
        "scored_items": scored,
        "total_items": total,
        "coverage": coverage,
        "coverage_core": coverage_core,
        "coverage_advanced": coverage_adv,
        "confidence": pd.Categorical.from_codes(grades, dtype=GRADE_DTYPE),
    }
    # copy=False keeps one block per column: consolidating millions of rows into a 2-D
    # float block would copy every column once more for nothing.
    return pd.DataFrame(columns, copy=False)


def _scored_items_frame(
    items: pd.DataFrame, percent: FloatArray, points: npt.NDArray[np.int8]
) -> pd.DataFrame:
    unscored = points == NO_BAND
    # assign() is a shallow copy: the caller's columns and the new ones are not copied.
    return items.assign(
        **uncopied_columns(
            items.index,
            percent_of_target=percent,
            points=pd.arrays.IntegerArray(points, unscored),
            band_label=band_labels(points),
            scored=~unscored,
        )
    )


def u4ssc_spec() -> dict[str, Any]:
    """The method's parameters as a JSON-ready dict, stored with every result."""
    return {
        "method": METHOD_NAME,
        "bands": [
            {"points": band.points, "lower_bound": band.lower_bound, "label": band.label}
            for band in BANDS
        ],
        "band_edge": "inclusive lower bound (a value on an edge takes the upper band)",
        "group_score": "sum(weight*points) / (4 * sum(weight)) * 100 over scored items",
        "lower_better_zero_value": "meets target (+inf % of target)",
        "two_sided": "100 * (1 - |value - target| / target), floored at 0",
        "boolean": "100 if value == target else 0",
        "percent_cap": PERCENT_CAP,
        "excluded": ["value missing", "target missing", "direction other"],
    }


def score_u4ssc(
    items: pd.DataFrame,
    *,
    catalogue_version: str | None = None,
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score every (city, year) in ``items`` by the U4SSC rule at item and all group levels.

    Raises :class:`ScoringInputError` when the frame breaks the contract (missing columns,
    unknown direction or tier, duplicate keys, negative values, inconsistent hierarchy).
    """
    inputs, percent, points, marks = _checked(items)
    totals = _category_totals(inputs, marks, reliable_rows(items))
    del marks  # the dense matrix is as large as a column; free it before building frames
    frames: dict[str, pd.DataFrame] = {}
    for position, level in enumerate(inputs.layout.levels):
        if position:  # the category totals come as they are; every level above sums them
            totals = totals.roll_up(level.starts)
        frames[level.name] = _group_frame(inputs, totals, level)
    return ScoreResult(
        items=_scored_items_frame(items, percent, points),
        categories=frames["categories"],
        sub_dimensions=frames["sub_dimensions"],
        dimensions=frames["dimensions"],
        overall=frames["overall"],
        method=METHOD_NAME,
        spec=u4ssc_spec(),
        catalogue_version=catalogue_version,
        benchmark_set=benchmark_set,
    )

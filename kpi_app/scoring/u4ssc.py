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

Speed: keys are turned into small integer codes once, items are scattered into a dense
(city-year × item) matrix, and every group level is a segment sum on that matrix followed by
tiny matrix products. No Python loop runs over rows.
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

TIERS: Final[tuple[str, ...]] = ("core", "advanced")

KEY_COLUMNS: Final[tuple[str, ...]] = ("city", "year", "code", "data_point")
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

#: Integer codes of any width (int32 where it fits, to halve memory traffic on big frames).
Codes = npt.NDArray[np.signedinteger[Any]]
#: Group levels in roll-up order, with the items-frame column that names each group.
GROUP_LEVELS: Final[tuple[tuple[str, str | None], ...]] = (
    ("categories", "category"),
    ("sub_dimensions", "sub_dimension"),
    ("dimensions", "dimension"),
    ("overall", None),
)


@dataclass(frozen=True)
class _Encoded:
    """A key column as integer codes per row plus the label of each code."""

    codes: npt.NDArray[np.integer[Any]]
    labels: pd.Index
    categorical: bool

    def take(self, codes: npt.NDArray[np.integer[Any]]) -> pd.Categorical[Any] | pd.Index:
        """Labels for the given codes, as a Categorical when the input column was one."""
        if self.categorical:
            categorical: pd.Categorical[Any] = pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(self.labels)
            )
            return categorical
        return self.labels.take(codes)


def _encode_column(items: pd.DataFrame, name: str) -> _Encoded:
    column = items[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Categorical keys (what build_items produces) are already integer-coded: free.
        categorical = column.array
        assert isinstance(categorical, pd.Categorical)
        codes = np.asarray(categorical.codes)
        if codes.size and codes.min() < 0:
            raise ScoringInputError(f"column {name!r} has missing values")
        return _Encoded(codes, categorical.categories, categorical=True)
    if column.isna().any():
        raise ScoringInputError(f"column {name!r} has missing values")
    codes, labels = pd.factorize(column, sort=True)
    return _Encoded(codes, pd.Index(labels), categorical=False)


@dataclass(frozen=True)
class _Level:
    """One group level: the label code of each group and where its children start.

    ``starts`` indexes the rows of the level below (segments for categories, categories for
    sub-dimensions, ...), which are contiguous because items are sorted hierarchically.
    """

    name: str
    id_name: str | None
    id_column: _Encoded | None
    group_codes: IntArray
    starts: IntArray


@dataclass(frozen=True)
class _Layout:
    """Dense layout of the scored cells: which (item, entity) cell each input row fills.

    Items get dense ids sorted by (dimension, sub-dimension, category, core first), so every
    group at every level is a contiguous run of rows of the (item × entity) matrix.
    """

    row_cell: Codes
    n_items: int
    entity_city: IntArray
    entity_year: IntArray
    segment_starts: IntArray
    segment_core: BoolArray
    levels: tuple[_Level, ...]
    #: (code, data point) of each item, in the layout's item order.
    item_keys: tuple[tuple[str, str], ...]

    @property
    def n_entities(self) -> int:
        return int(self.entity_city.size)


@dataclass(frozen=True)
class _Inputs:
    """The validated input reduced to numpy arrays and small lookup tables."""

    values: FloatArray
    targets: FloatArray
    directions: npt.NDArray[np.int8]
    boolean: BoolArray
    weights: FloatArray | None
    city: _Encoded
    layout: _Layout


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
    layout: _Layout
    occupied: BoolArray
    city: _Encoded


def validated_inputs(items: pd.DataFrame) -> ValidatedItems:
    """:func:`validate_items`, returning what it computes on the way (% of target, layout)."""
    inputs = _prepare(items)
    occupied = _occupied_cells(items, inputs.layout)
    percent, _ = percent_and_points(
        inputs.values, inputs.targets, inputs.directions, inputs.boolean
    )
    layout = inputs.layout
    return ValidatedItems(
        percent,
        inputs.city.take(layout.entity_city),
        layout.entity_year,
        layout,
        occupied,
        inputs.city,
    )


def _prepare(items: pd.DataFrame) -> _Inputs:
    _check_columns(items)
    values = _float_column(items, "value")
    targets = _float_column(items, "target")
    directions = encode_directions(items["direction"])
    boolean = _boolean_mask(items)
    check_values(values, targets, directions, boolean)
    city = _encode_column(items, "city")
    return _Inputs(
        values=values,
        targets=targets,
        directions=directions,
        boolean=boolean,
        weights=_weights(items),
        city=city,
        layout=_build_layout(items, city),
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


def _build_layout(items: pd.DataFrame, city: _Encoded) -> _Layout:
    """Dense (item, entity) cell of every row, plus the hierarchy as contiguous runs."""
    entity_of_row, entity_city, entity_year = _encode_entities(items, city)
    # Item-major cells: each item is one contiguous row of the dense matrix, so group sums
    # are sums of whole rows (fast, vectorised over all entities at once).
    row_cell, items_meta = _encode_items(items, int(entity_city.size))
    np.add(row_cell, entity_of_row, out=row_cell)
    return _Layout(
        row_cell=row_cell,
        n_items=items_meta.n_items,
        entity_city=entity_city,
        entity_year=entity_year,
        segment_starts=items_meta.segment_starts,
        segment_core=items_meta.segment_core,
        levels=items_meta.levels,
        item_keys=items_meta.keys,
    )


def _encode_entities(items: pd.DataFrame, city: _Encoded) -> tuple[Codes, IntArray, IntArray]:
    """Dense (city, year) id per row, ordered by city code then year; and each id's parts."""
    years = items["year"].to_numpy()
    n_rows = years.size
    first_year = int(years.min()) if n_rows else 0
    span = int(years.max()) - first_year + 1 if n_rows else 1
    n_city = len(city.labels)
    if n_city * span <= 4 * n_rows + 1_000_000:
        raw = city.codes.astype(np.int32)
        raw *= np.int32(span)
        np.add(raw, years, out=raw, casting="unsafe")
        raw -= np.int32(first_year)
        # Dense enough: a presence table over all (city, year) pairs costs one cheap pass.
        seen = np.zeros(n_city * span, dtype=np.bool_)
        seen[raw] = True
        present = np.flatnonzero(seen)
        if present.size == seen.size:
            entity_of_row: Codes = raw  # every pair present: the raw key is the dense id
        else:
            dense = (np.cumsum(seen, dtype=np.int32) - 1).astype(np.int32)
            entity_of_row = dense[raw]
    else:
        # Years far apart: a hash factorisation of the combined key instead.
        raw64 = city.codes.astype(np.int64) * span + (years - first_year)
        entity_of_row, uniques = pd.factorize(raw64, sort=True)
        present = np.asarray(uniques, dtype=np.int64)
    return entity_of_row, present // span, present % span + first_year


@dataclass(frozen=True)
class _ItemsMeta:
    n_items: int
    segment_starts: IntArray
    segment_core: BoolArray
    levels: tuple[_Level, ...]
    keys: tuple[tuple[str, str], ...] = ()


def _encode_items(items: pd.DataFrame, n_entities: int) -> tuple[Codes, _ItemsMeta]:
    """First cell of each row's item (dense item id × ``n_entities``), and the hierarchy.

    Each row's group path (category, sub-dimension, dimension, tier) is packed into one
    integer. An item whose rows disagree on it (a code filed under two categories, say) would
    make the roll-up ambiguous and is rejected; everything else is checked on the small table
    of distinct items rather than on millions of rows.
    """
    code, data_point = _encode_column(items, "code"), _encode_column(items, "data_point")
    parts = [
        _encode_column(items, name) for name in ("category", "sub_dimension", "dimension", "tier")
    ]
    radix = [len(part.labels) for part in parts]
    wide = int(np.prod(radix, dtype=np.int64)) >= 2**31
    path: Codes = parts[0].codes.astype(np.dtype(np.int64 if wide else np.int32))
    for part, size in zip(parts[1:], radix[1:], strict=True):
        np.multiply(path, size, out=path)
        np.add(path, part.codes, out=path)
    raw_item = code.codes.astype(np.int32)
    raw_item *= np.int32(len(data_point.labels))
    raw_item += data_point.codes
    raw_path = np.full(len(code.labels) * len(data_point.labels), -1, dtype=path.dtype)
    raw_path[raw_item] = path
    if not np.array_equal(raw_path[raw_item], path):
        raise ScoringInputError(
            "each (code, data_point) must have one category, sub_dimension, dimension and tier"
        )
    present = np.flatnonzero(raw_path >= 0)
    unpacked = _unpack(raw_path[present].astype(np.int64), radix)
    category, sub_dimension, dimension, tier = unpacked
    core = _core_of_tier(parts[3], tier)
    _check_single_parent(category, sub_dimension, "category", "sub_dimension")
    _check_single_parent(sub_dimension, dimension, "sub_dimension", "dimension")
    order = np.lexsort((~core, category, sub_dimension, dimension))
    wide_cells = present.size * n_entities >= 2**31
    cell_of_raw: Codes = np.zeros(raw_path.size, dtype=np.int64 if wide_cells else np.int32)
    cell_of_raw[present[order]] = np.arange(present.size, dtype=cell_of_raw.dtype) * n_entities
    meta = _hierarchy(
        category[order], sub_dimension[order], dimension[order], core[order], parts[:3]
    )
    raw_keys = present[order]
    n_points = len(data_point.labels)
    keys = tuple(
        zip(
            map(str, code.labels[raw_keys // n_points]),
            map(str, data_point.labels[raw_keys % n_points]),
            strict=True,
        )
    )
    item_cell: Codes = cell_of_raw[raw_item]
    return item_cell, replace(meta, keys=keys)


def _unpack(packed: IntArray, radix: list[int]) -> list[IntArray]:
    """Inverse of the mixed-radix packing in :func:`_encode_items`."""
    digits = []
    for size in reversed(radix[1:]):
        packed, digit = np.divmod(packed, size)
        digits.append(digit)
    digits.append(packed)
    return digits[::-1]


def _core_of_tier(tier: _Encoded, tier_codes: IntArray) -> BoolArray:
    labels = tier.labels[tier_codes]
    unknown = sorted({str(label) for label in labels if label not in TIERS})
    if unknown:
        raise ScoringInputError(f"unknown tier(s) {unknown}; expected one of {list(TIERS)}")
    return np.asarray(labels == "core", dtype=np.bool_)


def _check_single_parent(
    child: IntArray, parent: IntArray, child_name: str, parent_name: str
) -> None:
    parents = np.full(int(child.max(initial=-1)) + 1, -1, dtype=np.int64)
    parents[child] = parent
    if not np.array_equal(parents[child], parent):
        raise ScoringInputError(f"each {child_name} must belong to exactly one {parent_name}")


def _run_starts(*keys: IntArray) -> IntArray:
    """Start index of each run of equal consecutive key tuples."""
    changed = np.zeros(keys[0].size, dtype=np.bool_)
    if keys[0].size:
        changed[0] = True
    for key in keys:
        changed[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(changed)


def _hierarchy(
    category: IntArray,
    sub_dimension: IntArray,
    dimension: IntArray,
    core: BoolArray,
    encoded: list[_Encoded],
) -> _ItemsMeta:
    """Runs of the hierarchically sorted items: segments, then each level over the one below."""
    segment_starts = _run_starts(category, core.astype(np.int64))
    segments = (category[segment_starts], sub_dimension[segment_starts], dimension[segment_starts])
    category_starts = _run_starts(segments[0])
    categories = (
        segments[0][category_starts],
        segments[1][category_starts],
        segments[2][category_starts],
    )
    sub_starts = _run_starts(categories[1])
    dimension_of_sub = categories[2][sub_starts]
    dimension_starts = _run_starts(dimension_of_sub)
    levels = (
        _Level("categories", "category", encoded[0], categories[0], category_starts),
        _Level(
            "sub_dimensions", "sub_dimension", encoded[1], categories[1][sub_starts], sub_starts
        ),
        _Level(
            "dimensions",
            "dimension",
            encoded[2],
            dimension_of_sub[dimension_starts],
            dimension_starts,
        ),
        _Level("overall", None, None, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)),
    )
    return _ItemsMeta(int(category.size), segment_starts, core[segment_starts], levels)


def _occupied_cells(items: pd.DataFrame, layout: _Layout) -> BoolArray:
    """Dense presence matrix (item × entity); raises if two rows claim the same cell."""
    occupied = np.zeros(layout.n_items * layout.n_entities, dtype=np.bool_)
    occupied[layout.row_cell] = True
    # Duplicated keys land on the same cell, so fewer occupied cells than rows means duplicates.
    if int(np.count_nonzero(occupied)) != len(items):
        duplicated = pd.Series(layout.row_cell).duplicated(keep=False).to_numpy()
        example = items.loc[duplicated, list(KEY_COLUMNS)].head(6).to_string()
        raise ScoringInputError(f"duplicate (city, year, code, data_point) rows, e.g.:\n{example}")
    return occupied.reshape(layout.n_items, layout.n_entities)


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
    ends = np.r_[starts[1:], rows.shape[0]]
    sums = np.empty((starts.size, rows.shape[1]), dtype=dtype)
    for run, (start, end) in enumerate(zip(starts, ends, strict=True)):
        np.sum(rows[start:end], axis=0, dtype=dtype, out=sums[run])
    return sums


def _segment_totals(
    inputs: _Inputs, occupied: BoolArray, points: npt.NDArray[np.int8], reliable: BoolArray
) -> _Totals:
    """Totals per (category × tier segment, entity) from the dense item × entity matrix.

    ``reliable`` marks the rows whose data-quality level is 1–3 (counted where scored)."""
    layout = inputs.layout
    dense_points = np.zeros(occupied.shape, dtype=np.int8)
    dense_points.ravel()[layout.row_cell] = points
    scored = dense_points > NO_BAND
    starts = layout.segment_starts
    scored_count = sum_runs(scored, starts)
    total_count = sum_runs(occupied, starts)
    if reliable.any():
        dense_reliable = np.zeros(occupied.shape, dtype=np.bool_)
        dense_reliable.ravel()[layout.row_cell] = reliable
        dense_reliable &= scored
        reliable_count = sum_runs(dense_reliable, starts)
    else:  # no quality levels (or none reliable): nothing to scatter
        reliable_count = np.zeros_like(scored_count)
    if inputs.weights is None:
        point_sum = sum_runs(dense_points, starts)
        scored_weight = scored_count
    else:
        dense_weights = np.zeros(occupied.shape, dtype=np.float64)
        dense_weights.ravel()[layout.row_cell] = inputs.weights
        dense_weights *= scored
        scored_weight = sum_runs(dense_weights, starts)
        dense_weights *= dense_points
        point_sum = sum_runs(dense_weights, starts)
    core = layout.segment_core[:, np.newaxis]
    return _Totals(
        points=point_sum,
        scored_weight=scored_weight,
        scored_core=scored_count * core,
        scored_advanced=scored_count * ~core,
        total_core=total_count * core,
        total_advanced=total_count * ~core,
        reliable=reliable_count,
    )


def _group_frame(inputs: _Inputs, totals: _Totals, level: _Level) -> pd.DataFrame:
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
    points = fresh_floats(cells(totals.points), totals.points)
    max_points = fresh_floats(cells(totals.scored_weight), totals.scored_weight)
    max_points *= MAX_POINTS
    with np.errstate(divide="ignore", invalid="ignore"):
        score = points * 100.0
        score /= max_points
        coverage_core = scored_core / total_core
        coverage_adv = scored_adv / total_adv
        coverage = scored / total
    band = band_of(score)
    grades = grade_codes(scored_core, total_core, scored, total, cells(totals.reliable))
    grades[np.isnan(score)] = -1  # no score (all weights 0), no confidence
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
    inputs = _prepare(items)
    occupied = _occupied_cells(items, inputs.layout)
    percent, points = percent_and_points(
        inputs.values, inputs.targets, inputs.directions, inputs.boolean
    )
    totals = _segment_totals(inputs, occupied, points, reliable_rows(items))
    del occupied  # the dense matrix is as large as a column; free it before building frames
    frames: dict[str, pd.DataFrame] = {}
    for level in inputs.layout.levels:
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

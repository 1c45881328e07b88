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

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import BAND_EDGES, BANDS, MAX_POINTS, NO_BAND, band_labels, band_of
from kpi_app.scoring.confidence import add_confidence
from kpi_app.scoring.result import ScoreResult

METHOD_NAME: Final[str] = "u4ssc"

#: Direction names in code order; the integer code of a direction is its index here.
DIRECTIONS: Final[tuple[str, ...]] = ("higher_better", "lower_better", "target_value", "other")
HIGHER_BETTER: Final[int] = 0
LOWER_BETTER: Final[int] = 1
TARGET_VALUE: Final[int] = 2
OTHER: Final[int] = 3

TIERS: Final[tuple[str, ...]] = ("core", "advanced")
BOOLEAN_VALUE_TYPE: Final[str] = "boolean"

#: Where a % of target enters an average it is capped here (a city cannot bank over-achievement).
PERCENT_CAP: Final[float] = 100.0

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


class ScoringInputError(ValueError):
    """The items frame breaks the input contract; the message says which rows and why."""


# --------------------------------------------------------------------------------------------
# % of target
# --------------------------------------------------------------------------------------------


def percent_of_target(
    value: npt.ArrayLike | pd.Series,
    target: npt.ArrayLike | pd.Series,
    direction: npt.ArrayLike | pd.Series | str,
    value_type: npt.ArrayLike | pd.Series | str | None = None,
) -> FloatArray:
    """Return each item's % of target as measured (uncapped), NaN where it cannot be scored.

    All arguments broadcast like numpy arrays; ``direction`` and ``value_type`` may be a single
    string. NaN comes out for a missing value, a missing target or direction "other".
    Raises :class:`ScoringInputError` for an unknown direction.
    """
    values = np.asarray(value, dtype=np.float64)
    targets = np.asarray(target, dtype=np.float64)
    values, targets = np.broadcast_arrays(values, targets)
    directions = np.broadcast_to(encode_directions(direction), values.shape)
    if value_type is None:
        boolean = np.zeros(values.shape, dtype=np.bool_)
    else:
        boolean = np.broadcast_to(
            np.asarray(value_type, dtype=object) == BOOLEAN_VALUE_TYPE, values.shape
        )
    return percent_from_codes(
        np.ascontiguousarray(values).ravel(),
        np.ascontiguousarray(targets).ravel(),
        np.ascontiguousarray(directions).ravel(),
        np.ascontiguousarray(boolean).ravel(),
    ).reshape(values.shape)


def encode_directions(direction: npt.ArrayLike | pd.Series | str) -> npt.NDArray[np.int8]:
    """Map direction names to their integer codes (index in :data:`DIRECTIONS`)."""
    if isinstance(direction, pd.Series) and isinstance(direction.dtype, pd.CategoricalDtype):
        return _encode_categorical_directions(direction)
    names = np.asarray(direction, dtype=object)
    codes, uniques = pd.factorize(names.ravel())
    lookup = _direction_lookup(pd.Index(uniques))
    return lookup[codes].reshape(names.shape)


def _encode_categorical_directions(direction: pd.Series) -> npt.NDArray[np.int8]:
    categorical = direction.array
    assert isinstance(categorical, pd.Categorical)
    codes = np.asarray(categorical.codes)
    if (codes < 0).any():
        raise ScoringInputError("direction is missing on some rows")
    categories = categorical.categories
    used = None
    if not categories.isin(DIRECTIONS).all():
        # Only categories actually used must be known; an unused stale category is harmless.
        # Counting usage costs a pass over all rows, so it is done only when it matters.
        used = np.bincount(codes, minlength=len(categories)) > 0
    lookup = _direction_lookup(categories, used)
    return lookup[codes]


def _direction_lookup(
    names: Sequence[Any] | pd.Index, used: BoolArray | None = None
) -> npt.NDArray[np.int8]:
    """Direction code for each distinct name; raises on names that are used but unknown."""
    lookup = np.full(len(names), OTHER, dtype=np.int8)
    unknown = []
    for position, name in enumerate(names):
        if name in DIRECTIONS:
            lookup[position] = DIRECTIONS.index(name)
        elif used is None or used[position]:
            unknown.append(name)
    if unknown:
        raise ScoringInputError(
            f"unknown direction(s) {sorted(map(str, unknown))}; expected one of {list(DIRECTIONS)}"
        )
    return lookup


def percent_from_codes(
    values: FloatArray,
    targets: FloatArray,
    directions: npt.NDArray[np.int8],
    boolean: BoolArray,
) -> FloatArray:
    """Core of :func:`percent_of_target` on 1-D arrays with integer direction codes.

    Works in a few whole-array passes: higher-better ``value × 100 / target`` and lower-better
    ``target × 100 / value`` (one rounding each), two-sided from the higher-better ratio. Rows
    that land within :data:`EDGE_WINDOW` of a band edge are then recomputed exactly (see
    :func:`_settle_band_edges`), so the band of every percentage is the band of the exact
    decimal ratio: ``percent_of_target(6.6, 10)`` is exactly 66.
    """
    # Overflow (a tiny value or target) just means "far beyond": +inf or 0, as the maths says.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        percent = values / targets  # higher-better, as a fraction of the target
        lower_better = directions == LOWER_BETTER
        # Lower-better: target / value directly (never 1 / (value / target), which rounds
        # twice); a value of 0 gives +inf: it meets any target.
        np.divide(targets, values, out=percent, where=lower_better)
        _fix_lower_better_zero_target(percent, values, targets, lower_better)
        rows = np.flatnonzero(directions == TARGET_VALUE)
        if rows.size:
            # 1 − |value/target − 1| (= 1 − |value − target| / target), floored at 0.
            percent[rows] = np.maximum(0.0, 1.0 - np.abs(percent[rows] - 1.0))
        percent *= 100.0
    _settle_band_edges(percent, values, targets, directions)
    _apply_boolean(percent, values, targets, boolean, directions)
    percent[directions == OTHER] = np.nan
    return percent


#: Half-width (in percentage points) of the band around each edge where the float result is
#: replaced by the exact one. Float error on a % of target is below 1e-12 points; reportable
#: precision is 0.01 points; anything in between is safe.
EDGE_WINDOW: Final[float] = 1e-9

_EDGE_FRACTIONS: Final[tuple[Fraction, ...]] = tuple(
    Fraction(str(band.lower_bound)) for band in BANDS[1:]
)


def _settle_band_edges(
    percent: FloatArray, values: FloatArray, targets: FloatArray, directions: npt.NDArray[np.int8]
) -> None:
    """Make every percentage near a band edge fall on the side the exact arithmetic says.

    Inputs are read as the decimals they were typed as (the shortest repr of the float, so
    6.6 is 66/10, not the binary 6.5999999999999996447...). For the few rows whose float %
    of target lies within :data:`EDGE_WINDOW` of 33, 66 or 95, the % is recomputed with
    :class:`fractions.Fraction`: exactly on an edge it becomes the edge itself (upper band,
    as documented); just below an edge it stays strictly below it, even where the float
    rounding would have reached the edge. Every other row is left as computed.
    """
    # Two comparisons over all rows keep the candidates between the lowest and the highest
    # edge; the per-edge distances are then taken on those candidates only.
    low, high = BAND_EDGES[0] - EDGE_WINDOW, BAND_EDGES[-1] + EDGE_WINDOW
    candidates = np.flatnonzero((percent >= low) & (percent <= high))
    inside = percent[candidates]
    close = np.zeros(candidates.size, dtype=np.bool_)
    for edge in BAND_EDGES:
        close |= np.abs(inside - edge) <= EDGE_WINDOW
    near = candidates[close]
    if not near.size:
        return
    # Real panels repeat the same (value, target) pairs (33 of 100, …): settle each distinct
    # triple once, so the exact arithmetic costs per distinct input, not per row.
    triples = np.column_stack((values[near], targets[near], directions[near].astype(np.float64)))
    distinct, inverse = np.unique(triples, axis=0, return_inverse=True)
    settled = np.array(
        [_settled_percent(float(v), float(t), int(d)) for v, t, d in distinct], dtype=np.float64
    )
    keep = ~np.isnan(settled)
    inverse = np.asarray(inverse).ravel()
    percent[near[keep[inverse]]] = settled[inverse][keep[inverse]]


def _settled_percent(value: float, target: float, direction: int) -> float:
    """The float % of target whose band is the band of the exact decimal ratio (NaN: none)."""
    exact = exact_percent(value, target, direction)
    if exact is None:
        return float("nan")
    settled = float(exact)
    for edge_fraction in _EDGE_FRACTIONS:
        edge = float(edge_fraction)
        if exact < edge_fraction and settled >= edge:
            settled = float(np.nextafter(edge, -np.inf))
    return settled


def exact_percent(value: float, target: float, direction: int) -> Fraction | None:
    """The % of target as an exact fraction of the decimal inputs, None if not a ratio.

    ``value`` and ``target`` are read through their shortest repr (the decimal a user typed);
    ``direction`` is a code from :data:`DIRECTIONS`. This is the reference the vectorised
    path is checked against, and what decides the band at an edge.
    """
    if not (np.isfinite(value) and np.isfinite(target)):
        return None
    v, t = Fraction(repr(value)), Fraction(repr(target))
    if direction == HIGHER_BETTER:
        return v * 100 / t if t != 0 else None
    if direction == LOWER_BETTER:
        return t * 100 / v if v != 0 else None
    if direction == TARGET_VALUE:
        return max(Fraction(0), 100 * (1 - abs(v - t) / t)) if t != 0 else None
    return None


def _fix_lower_better_zero_target(
    percent: FloatArray, values: FloatArray, targets: FloatArray, lower_better: BoolArray
) -> None:
    """A lower-better value of 0 against a target of 0 is 0/0 above; it meets the target."""
    zero_target = np.flatnonzero(targets == 0.0)
    if zero_target.size:
        meets = zero_target[lower_better[zero_target] & (values[zero_target] == 0.0)]
        percent[meets] = np.inf


def _apply_boolean(
    percent: FloatArray,
    values: FloatArray,
    targets: FloatArray,
    boolean: BoolArray,
    directions: npt.NDArray[np.int8],
) -> None:
    """Yes/no: 100 when the answer is the wanted one (the target, normally 1 = yes), else 0."""
    rows = np.flatnonzero(boolean)
    if rows.size:
        value, target = values[rows], targets[rows]
        answer = np.where(value == target, 100.0, 0.0)
        answer[np.isnan(value) | np.isnan(target)] = np.nan
        percent[rows] = answer


def value_at_percent(percent: float, value: float, target: float, direction: str) -> float:
    """The value at which an item reaches exactly ``percent`` % of its target.

    The inverse of :func:`percent_of_target`, computed on the decimal target (its shortest
    repr) so that 66 % of 10 is 6.6, not 6.6000000000000005: higher-better ``t·p/100``;
    lower-better ``t·100/p`` (nearest float; callers check the band with
    :func:`percent_of_target`); two-sided ``t·p/100`` approaching from below, ``t·(2 − p/100)``
    from above (the side the value is on). Raises ValueError for direction "other".
    """
    share = Fraction(repr(float(percent))) / 100
    exact_target = Fraction(repr(float(target)))
    code = DIRECTIONS.index(direction) if direction in DIRECTIONS else OTHER
    if code == HIGHER_BETTER:
        return float(exact_target * share)
    if code == LOWER_BETTER:
        return float(exact_target / share) if share > 0 else float("inf")
    if code == TARGET_VALUE:
        below = np.isnan(value) or value <= target
        return float(exact_target * share if below else exact_target * (2 - share))
    raise ValueError(f"items with direction {direction!r} are not scored")


def percent_capped(percent: npt.ArrayLike | pd.Series) -> FloatArray:
    """% of target capped at :data:`PERCENT_CAP`, for use wherever percentages are averaged."""
    return np.minimum(np.asarray(percent, dtype=np.float64), PERCENT_CAP)


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
    inputs = _prepare(items)
    _occupied_cells(items, inputs.layout)


def _prepare(items: pd.DataFrame) -> _Inputs:
    _check_columns(items)
    values = _float_column(items, "value")
    targets = _float_column(items, "target")
    directions = encode_directions(items["direction"])
    boolean = _boolean_mask(items)
    _check_values(values, targets, directions, boolean)
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


def _check_values(
    values: FloatArray, targets: FloatArray, directions: npt.NDArray[np.int8], boolean: BoolArray
) -> None:
    """Every U4SSC quantity is non-negative and finite; ratio benchmarks must be positive."""
    if values.size == 0:
        return
    # fmin/fmax skip NaN (= not reported / no benchmark) in one pass each.
    if np.fmin.reduce(values) < 0 or np.fmax.reduce(values) == np.inf:
        raise ScoringInputError("values must be finite and non-negative (NaN = not reported)")
    if np.fmax.reduce(targets) == np.inf:
        raise ScoringInputError("targets must be finite (NaN = no benchmark)")
    if np.fmin.reduce(targets) <= 0:
        ratio_rows = ((directions == HIGHER_BETTER) | (directions == TARGET_VALUE)) & ~boolean
        bad = int(np.count_nonzero((targets < 0) | ((targets == 0) & ratio_rows)))
        if bad:
            raise ScoringInputError(
                "targets must be positive for higher_better and target_value items and "
                f"non-negative otherwise ({bad} row(s) break this)"
            )
    rows = np.flatnonzero(boolean)
    if rows.size:
        answers = np.concatenate([values[rows], targets[rows]])
        if not np.isin(answers[~np.isnan(answers)], (0.0, 1.0)).all():
            raise ScoringInputError("yes/no items take value and target 1 (yes) or 0 (no)")


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
    item_of_row, items_meta = _encode_items(items)
    n_entities = int(entity_city.size)
    cell_dtype = np.dtype(np.int32 if items_meta.n_items * n_entities < 2**31 else np.int64)
    # Item-major cells: each item is one contiguous row of the dense matrix, so group sums
    # are sums of whole rows (fast, vectorised over all entities at once).
    row_cell: Codes = item_of_row.astype(cell_dtype)
    np.multiply(row_cell, n_entities, out=row_cell)
    np.add(row_cell, entity_of_row, out=row_cell)
    return _Layout(
        row_cell=row_cell,
        n_items=items_meta.n_items,
        entity_city=entity_city,
        entity_year=entity_year,
        segment_starts=items_meta.segment_starts,
        segment_core=items_meta.segment_core,
        levels=items_meta.levels,
    )


def _encode_entities(items: pd.DataFrame, city: _Encoded) -> tuple[Codes, IntArray, IntArray]:
    """Dense (city, year) id per row, ordered by city code then year; and each id's parts."""
    years = items["year"].to_numpy()
    n_rows = years.size
    first_year = int(years.min()) if n_rows else 0
    span = int(years.max()) - first_year + 1 if n_rows else 1
    n_city = len(city.labels)
    if n_city * span <= 4 * n_rows + 1_000_000:
        raw = np.subtract(years, first_year, dtype=np.int32, casting="unsafe")
        raw += city.codes.astype(np.int32) * np.int32(span)
        # Dense enough: a presence table over all (city, year) pairs costs one cheap pass.
        seen = np.zeros(n_city * span, dtype=np.bool_)
        seen[raw] = True
        present = np.flatnonzero(seen)
        dense = (np.cumsum(seen, dtype=np.int32) - 1).astype(np.int32)
        entity_of_row: Codes = dense[raw]
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


def _encode_items(items: pd.DataFrame) -> tuple[Codes, _ItemsMeta]:
    """Dense item id per row, and the hierarchy the items fall in.

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
    raw_item = code.codes.astype(np.int32) * np.int32(len(data_point.labels))
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
    dense_of_raw = np.zeros(raw_path.size, dtype=np.int32)
    dense_of_raw[present[order]] = np.arange(present.size, dtype=np.int32)
    meta = _hierarchy(
        category[order], sub_dimension[order], dimension[order], core[order], parts[:3]
    )
    item_of_row: Codes = dense_of_raw[raw_item]
    return item_of_row, meta


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

    def roll_up(self, starts: IntArray) -> _Totals:
        """Sum runs of consecutive groups (children of one parent) into the parent."""
        return _Totals(*(_sum_runs(getattr(self, name), starts) for name in _TOTAL_FIELDS))


_TOTAL_FIELDS: Final[tuple[str, ...]] = (
    "points",
    "scored_weight",
    "scored_core",
    "scored_advanced",
    "total_core",
    "total_advanced",
)


def _sum_runs(rows: npt.NDArray[Any], starts: IntArray) -> npt.NDArray[Any]:
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


def _segment_totals(inputs: _Inputs, occupied: BoolArray, points: npt.NDArray[np.int8]) -> _Totals:
    """Totals per (category × tier segment, entity) from the dense item × entity matrix."""
    layout = inputs.layout
    dense_points = np.zeros(occupied.shape, dtype=np.int8)
    dense_points.ravel()[layout.row_cell] = points
    scored = dense_points > NO_BAND
    starts = layout.segment_starts
    scored_count = _sum_runs(scored, starts)
    total_count = _sum_runs(occupied, starts)
    if inputs.weights is None:
        point_sum = _sum_runs(dense_points, starts)
        scored_weight = scored_count
    else:
        dense_weights = np.zeros(occupied.shape, dtype=np.float64)
        dense_weights.ravel()[layout.row_cell] = inputs.weights
        dense_weights *= scored
        scored_weight = _sum_runs(dense_weights, starts)
        dense_weights *= dense_points
        point_sum = _sum_runs(dense_weights, starts)
    core = layout.segment_core[:, np.newaxis]
    return _Totals(
        points=point_sum,
        scored_weight=scored_weight,
        scored_core=scored_count * core,
        scored_advanced=scored_count * ~core,
        total_core=total_count * core,
        total_advanced=total_count * ~core,
    )


def _group_frame(inputs: _Inputs, totals: _Totals, level: _Level) -> pd.DataFrame:
    """One row per (entity, group) with at least one item, ordered by entity then group."""
    # Entity-major rows: transpose the (group, entity) arrays before flattening.
    flat = {name: np.ascontiguousarray(getattr(totals, name).T).ravel() for name in _TOTAL_FIELDS}
    total = flat["total_core"] + flat["total_advanced"]
    keep = np.flatnonzero(total > 0)
    entity, group = np.divmod(keep, totals.points.shape[0])
    total = total[keep]
    scored_core, scored_adv = flat["scored_core"][keep], flat["scored_advanced"][keep]
    scored = scored_core + scored_adv
    points = flat["points"][keep].astype(np.float64)
    max_points = MAX_POINTS * flat["scored_weight"][keep].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = points * 100.0 / max_points
        coverage_core = scored_core / flat["total_core"][keep]
        coverage_adv = scored_adv / flat["total_advanced"][keep]
    band = band_of(score)
    columns: dict[str, Any] = {
        "city": inputs.city.take(inputs.layout.entity_city[entity]),
        "year": inputs.layout.entity_year[entity],
    }
    if level.id_name is not None and level.id_column is not None:
        columns[level.id_name] = level.id_column.take(level.group_codes[group])
    columns |= {
        "score": score,
        "band": pd.arrays.IntegerArray(band, band == NO_BAND),
        "band_label": band_labels(band),
        "points": points,
        "max_points": max_points,
        "scored_items": scored.astype(np.int64),
        "total_items": total.astype(np.int64),
        "coverage": scored / total,
        "coverage_core": coverage_core,
        "coverage_advanced": coverage_adv,
    }
    # copy=False keeps one block per column: consolidating millions of rows into a 2-D
    # float block would copy every column once more for nothing.
    return pd.DataFrame(columns, copy=False)


def _scored_items_frame(
    items: pd.DataFrame, percent: FloatArray, points: npt.NDArray[np.int8]
) -> pd.DataFrame:
    unscored = points == NO_BAND
    # assign() is a shallow copy under copy-on-write: the caller's columns are shared, not copied.
    return items.assign(
        percent_of_target=percent,
        points=pd.arrays.IntegerArray(points, unscored),
        band_label=band_labels(points),
        scored=~unscored,
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
    percent = percent_from_codes(inputs.values, inputs.targets, inputs.directions, inputs.boolean)
    points = band_of(percent)
    totals = _segment_totals(inputs, occupied, points)
    del occupied  # the dense matrix is as large as a column; free it before building frames
    frames: dict[str, pd.DataFrame] = {}
    for level in inputs.layout.levels:
        totals = totals.roll_up(level.starts)
        frames[level.name] = _group_frame(inputs, totals, level)
    frames = add_confidence(items, points != NO_BAND, frames)
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

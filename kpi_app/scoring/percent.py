"""% of target, the U4SSC item rule: how far a value is from its target, and the inverse.

* higher-better ``value / target × 100``; lower-better ``target / value × 100``, where a value
  of 0 meets any target and is recorded as ``+inf``; two-sided (``target_value``)
  ``100 × (1 − |value − target| / target)`` floored at 0; yes/no items (``value_type`` =
  "boolean") score 100 when the answer equals the target and 0 otherwise; direction "other" is
  never scored.
* The float result is exact where it matters: a percentage within :data:`EDGE_WINDOW` of a
  band edge is recomputed from the decimal inputs, so ``percent_of_target(6.6, 10)`` is 66.
* A % of target above 100 is kept as measured; :func:`percent_capped` caps it where
  percentages are averaged.

Used by the U4SSC engine (:mod:`kpi_app.scoring.u4ssc`, which re-exports these names), the
composite methods' normalisation and the digital twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import BAND_EDGES, BANDS, band_of

#: Direction names in code order; the integer code of a direction is its index here.
DIRECTIONS: Final[tuple[str, ...]] = ("higher_better", "lower_better", "target_value", "other")
HIGHER_BETTER: Final[int] = 0
LOWER_BETTER: Final[int] = 1
TARGET_VALUE: Final[int] = 2
OTHER: Final[int] = 3

BOOLEAN_VALUE_TYPE: Final[str] = "boolean"

#: Where a % of target enters an average it is capped here (a city cannot bank over-achievement).
PERCENT_CAP: Final[float] = 100.0

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ScoringInputError(ValueError):
    """The items frame breaks the input contract; the message says which rows and why."""


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
    return _relabel(codes, _direction_lookup(categories, used))


def _relabel(codes: npt.NDArray[Any], lookup: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """``lookup[codes]`` for the codes of a categorical with a few categories.

    Categories already in :data:`DIRECTIONS` order need nothing (a read-only view of the
    codes). Otherwise each category whose code changes costs one comparison and one add on
    int8: a gather would first convert every code to a 64-bit index, which costs more.
    """
    if codes.dtype != np.int8 or lookup.size > 8:
        gathered: npt.NDArray[np.int8] = lookup[codes]
        return gathered
    if np.array_equal(lookup, np.arange(lookup.size)):
        same = codes.view()
        same.flags.writeable = False
        return same
    out = codes.copy()
    hit = np.empty(codes.shape, dtype=np.bool_)
    step = np.empty(codes.shape, dtype=np.int8)
    for code, direction in enumerate(lookup.tolist()):
        if direction != code:
            np.equal(codes, code, out=hit)
            np.multiply(hit.view(np.int8), np.int8(direction - code), out=step)
            out += step
    return out


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
    return percent_and_points(values, targets, directions, boolean)[0]


def percent_and_points(
    values: FloatArray,
    targets: FloatArray,
    directions: npt.NDArray[np.int8],
    boolean: BoolArray,
    *,
    boolean_rows: npt.NDArray[np.intp] | None = None,
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """:func:`percent_from_codes` and the band points of each row (``band_of`` of it), together.

    The band count that finds the rows near an edge also gives every other row its points,
    so the U4SSC engine does not band 11 M percentages a second time.
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
    # Yes/no answers (0 or 100) and direction "other" (NaN) are never near an edge, so they
    # can be set before the edges are settled (the result is the same as setting them after).
    rows = np.flatnonzero(boolean) if boolean_rows is None else boolean_rows
    _apply_boolean(percent, values, targets, rows)
    percent[directions == OTHER] = np.nan
    points = _settle_band_edges(percent, values, targets, directions)
    return percent, points


#: Half-width (in percentage points) of the band around each edge where the float result is
#: replaced by the exact one. Float error on a % of target is below 1e-12 points; reportable
#: precision is 0.01 points; anything in between is safe.
EDGE_WINDOW: Final[float] = 1e-9

_EDGE_FRACTIONS: Final[tuple[Fraction, ...]] = tuple(
    Fraction(str(band.lower_bound)) for band in BANDS[1:]
)


def _settle_band_edges(
    percent: FloatArray, values: FloatArray, targets: FloatArray, directions: npt.NDArray[np.int8]
) -> npt.NDArray[np.int8]:
    """Make every percentage near a band edge fall on the side the exact arithmetic says.

    Inputs are read as the decimals they were typed as (the shortest repr of the float, so
    6.6 is 66/10, not the binary 6.5999999999999996447...). For the few rows whose float %
    of target lies within :data:`EDGE_WINDOW` of 33, 66 or 95, the % is recomputed with
    :class:`fractions.Fraction`: exactly on an edge it becomes the edge itself (upper band,
    as documented); just below an edge it stays strictly below it, even where the float
    rounding would have reached the edge. Every other row is left as computed.

    Returns the band points of every row (``band_of`` of the settled percentages).
    """
    # Band points counted against the edges lowered by twice the window, and the edges
    # passed by more than twice the window: the two counts differ exactly on the rows within
    # two windows of an edge (the candidates). Every other row already has its final band
    # (at or above ``edge − 2·window`` and no candidate means above the edge). Candidates
    # (a handful) are checked with the exact window test, settled where near, and banded
    # again: the doubled window only makes sure no row near an edge is missed. One boolean
    # buffer serves every comparison (no float temporary the size of the input).
    margin = 2 * EDGE_WINDOW
    points = np.ones(percent.shape, dtype=np.int8)
    beyond = np.zeros(percent.shape, dtype=np.int8)
    flag = np.empty(percent.shape, dtype=np.bool_)
    for edge in BAND_EDGES:
        np.greater_equal(percent, edge - margin, out=flag)
        points += flag
        np.greater(percent, edge + margin, out=flag)
        beyond += flag
    beyond += 1
    np.not_equal(points, beyond, out=flag)
    candidates = np.flatnonzero(flag)
    del beyond
    if candidates.size:
        inside = percent[candidates]
        close = np.zeros(candidates.size, dtype=np.bool_)
        for edge in BAND_EDGES:
            close |= np.abs(inside - edge) <= EDGE_WINDOW
        near = candidates[close]
        if near.size:
            _settle_rows(percent, values, targets, directions, near)
        points[candidates] = band_of(percent[candidates])
    # NaN compares False with every edge, so it has 1 point here: take that one away
    # (leaving 0, which is NO_BAND).
    np.isnan(percent, out=flag)
    points -= flag.view(np.int8)
    return points


def _settle_rows(
    percent: FloatArray,
    values: FloatArray,
    targets: FloatArray,
    directions: npt.NDArray[np.int8],
    near: npt.NDArray[np.intp],
) -> None:
    """Replace the percentages of the ``near`` rows by their settled values (where a ratio)."""
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
    percent: FloatArray, values: FloatArray, targets: FloatArray, rows: npt.NDArray[np.intp]
) -> None:
    """Yes/no rows (``rows``): 100 when the answer is the wanted one (the target, normally
    1 = yes), else 0."""
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


def check_values(
    values: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
    directions: npt.NDArray[np.int8],
    boolean: npt.NDArray[np.bool_],
    *,
    boolean_rows: npt.NDArray[np.intp] | None = None,
) -> None:
    """Every U4SSC quantity is non-negative and finite; ratio benchmarks must be positive.

    ``boolean_rows`` are the yes/no rows (``flatnonzero(boolean)``) when the caller has them."""
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
    rows = np.flatnonzero(boolean) if boolean_rows is None else boolean_rows
    for answers in (values[rows], targets[rows]):
        if not ((answers == 0.0) | (answers == 1.0) | np.isnan(answers)).all():
            raise ScoringInputError("yes/no items take value and target 1 (yes) or 0 (no)")

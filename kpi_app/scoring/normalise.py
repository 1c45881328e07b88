"""Normalisation methods: put raw KPI values on a common 0-100 "higher is better" scale.

Every method is a plain vector → vector function, as COINr's ``n_*`` functions are: it takes
the values of one indicator (a Series or a numpy array) and returns the same shape, with NaN
wherever the value is missing or cannot be scored. Directions are handled inside each method:

* ``higher_better``: larger values score higher;
* ``lower_better``: smaller values score higher (the method flips the scale);
* ``target_value``: the closer to the target, the better (two-sided, e.g. a ratio that should be 1);
* ``other``: not scored (all NaN).

Two families exist:

* **absolute** methods (``distance_to_target``, ``goalposts``, ``u4ssc_points``) compare each
  value with fixed reference points, so a city's score does not depend on the other cities;
* **peer-group** methods (``min_max``, ``z_score``, ``percentile_rank``) compare each value with
  all the values passed in. Passing every city *and* year together is COINr's "global"
  normalisation: a score then means the same thing in every year, at the price that adding a
  year or a city moves everybody's scores.

``NORMALISERS`` maps a method name to its function so that a
:class:`~kpi_app.scoring.spec.ScoringSpec` can name it. All registered functions accept
``direction=`` and ``target=`` keywords (peer-group methods only use the target for two-sided
indicators) plus their own numeric parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import MAX_POINTS, band_of
from kpi_app.scoring.percent import percent_of_target

FloatArray = npt.NDArray[np.float64]

HIGHER_BETTER: Final = "higher_better"
LOWER_BETTER: Final = "lower_better"
TARGET_VALUE: Final = "target_value"
OTHER: Final = "other"
DIRECTIONS: Final[frozenset[str]] = frozenset({HIGHER_BETTER, LOWER_BETTER, TARGET_VALUE, OTHER})

#: Score given to every city when a peer group shows no spread at all (all values equal):
#: no city is better or worse than another, so all sit in the middle of the scale.
TIED_PEER_SCORE: Final = 50.0

#: Share of the target within which a two-sided value counts as meeting it. It equals the
#: U4SSC "95%+ Target" band: 100 × (1 − |x − t| / t) ≥ 95  ⇔  |x − t| ≤ 0.05 t.
TWO_SIDED_TOLERANCE: Final = 0.05

Vector = TypeVar("Vector", "pd.Series[float]", FloatArray)
DirectionLike = str | npt.ArrayLike
TargetLike = float | npt.ArrayLike | None


@overload
def _restore(template: pd.Series[float], scores: FloatArray) -> pd.Series[float]: ...
@overload
def _restore(template: FloatArray, scores: FloatArray) -> FloatArray: ...
def _restore(
    template: pd.Series[float] | FloatArray, scores: FloatArray
) -> pd.Series[float] | FloatArray:
    """Give the scores the container type of the input (a Series keeps its index and name)."""
    if isinstance(template, pd.Series):
        return pd.Series(scores, index=template.index, name=template.name, dtype=np.float64)
    return scores


def _as_floats(values: npt.ArrayLike, size: int | None = None) -> FloatArray:
    """Convert to a float array, broadcasting a scalar to ``size`` elements when given."""
    array = np.asarray(values, dtype=np.float64)
    if size is not None and array.ndim == 0:
        return np.full(size, float(array), dtype=np.float64)
    return array


def _as_directions(direction: DirectionLike, size: int) -> npt.NDArray[np.str_]:
    """Return one direction per value, rejecting names outside the shared contract."""
    if isinstance(direction, str):
        # One name for every value: check it once, then broadcast (no per-row strings).
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction(s) {[direction]}; expected {sorted(DIRECTIONS)}")
        return np.full(size, direction)
    else:
        directions = np.asarray(direction, dtype=object)
    unknown = set(np.unique(directions.astype(str))) - DIRECTIONS
    if unknown:
        raise ValueError(f"unknown direction(s) {sorted(unknown)}; expected {sorted(DIRECTIONS)}")
    return directions.astype(str)


def _require_target(target: TargetLike, size: int, method: str) -> FloatArray:
    if target is None:
        raise ValueError(f"{method} needs a target for every value")
    return _as_floats(target, size)


def _single_direction(direction: DirectionLike, method: str) -> str:
    """Peer-group methods rank one indicator, so all its values share one direction."""
    if isinstance(direction, str):
        return str(_as_directions(direction, 1)[0])
    directions = np.unique(_as_directions(direction, 0))
    if directions.size != 1:
        raise ValueError(f"{method} normalises one indicator at a time; got {list(directions)}")
    return str(directions[0])


def _clip_to_scale(scores: FloatArray) -> FloatArray:
    # np.clip keeps NaN as NaN, which is what "not scored" must stay.
    return np.clip(scores, 0.0, 100.0)


# --- absolute methods -------------------------------------------------------------------


def _share_of_target(
    values: FloatArray, targets: FloatArray, directions: npt.NDArray[np.str_]
) -> FloatArray:
    """% of target following the U4SSC decisions, already capped at 100 (see docs/scoring.md)."""
    # The one % of target of the engine (exact at band edges), so u4ssc_points and the
    # U4SSC rule can never band an item differently.
    # One item (the composite engine's case) has one direction: pass it as a single name so
    # the engine does not re-encode a string per row.
    uniform = directions.size > 0 and bool((directions == directions[0]).all())
    direction_arg: str | npt.NDArray[np.str_] = str(directions[0]) if uniform else directions
    share = np.asarray(percent_of_target(values, targets, direction_arg), dtype=np.float64)
    return capped_share(share, values, targets, directions)


def capped_share(
    share: FloatArray,
    values: FloatArray,
    targets: FloatArray,
    directions: npt.NDArray[np.str_] | str,
) -> FloatArray:
    """:func:`distance_to_target` from the items' % of target (``share``, changed in place).

    For callers that have the % of target already (the composite engine computes it once for
    every row); ``directions`` may be one name for all values.
    """
    return capped_share_by_mask(
        share,
        values,
        targets,
        directions == HIGHER_BETTER,
        directions == LOWER_BETTER,
        directions == TARGET_VALUE,
    )


def capped_share_by_mask(
    share: FloatArray,
    values: FloatArray,
    targets: FloatArray,
    higher: npt.NDArray[np.bool_] | bool,
    lower: npt.NDArray[np.bool_] | bool,
    two_sided: npt.NDArray[np.bool_] | bool,
) -> FloatArray:
    """:func:`capped_share` with the directions given as masks (or one flag each).

    ``share`` is changed in place and returned. Each rule is one mask written with
    ``np.copyto`` (no index arrays): on a million rows that is half the time of masked
    assignment, and the result is the same because the rules are applied in the same order.
    """
    # Meeting or beating the target scores 100. Setting it explicitly also covers the
    # divisions above that a target or value of 0 makes undefined (0/0, x/0).
    meets = values >= targets
    meets &= higher
    for rule, mask in ((values <= targets, lower), (values == targets, two_sided)):
        rule &= mask
        meets |= rule
    np.copyto(share, 100.0, where=meets)
    # Missing value or missing target: not scored, whatever the arithmetic above produced.
    missing = np.isnan(values)
    missing |= np.isnan(targets)
    np.copyto(share, np.nan, where=missing)
    # np.clip keeps NaN as NaN, which is what "not scored" must stay.
    return np.clip(share, 0.0, 100.0, out=share)


def distance_to_target(
    values: Vector, *, target: TargetLike, direction: DirectionLike = HIGHER_BETTER
) -> Vector:
    """Score the share of the target reached: the U4SSC % of target, capped at 100.

    This is the project's absolute method (not COINr's ``n_dist2targ``, which measures from
    the peer group's minimum and so depends on the other cities).

    higher_better: ``100 × value / target``; lower_better: ``100 × target / value`` (a value at
    or under the target scores 100, so 0 never divides); target_value:
    ``100 × (1 − |value − target| / target)``. All results are clipped to 0..100, so beating the
    target earns nothing extra. ``target`` and ``direction`` may be scalars or one per value.
    """
    raw = _as_floats(values)
    targets = _require_target(target, raw.size, "distance_to_target")
    directions = _as_directions(direction, raw.size)
    return _restore(values, _share_of_target(raw, targets, directions))


def goalposts(
    values: Vector,
    *,
    target: TargetLike,
    direction: DirectionLike = HIGHER_BETTER,
    worst: TargetLike = None,
) -> Vector:
    """Min-max between two fixed, documented bounds: the worst value scores 0, the target 100.

    This is the Human Development Index way: the bounds do not move with the data, so a score
    is comparable across cities and years. ``worst`` is the plausible floor for higher_better
    indicators (default 0), the plausible ceiling for lower_better ones (required: no neutral
    default exists), and for target_value the deviation that scores 0 is ``|worst − target|``
    (default ``|target|``, the same zero point as the U4SSC two-sided rule). Clipped to 0..100.
    """
    raw = _as_floats(values)
    targets = _require_target(target, raw.size, "goalposts")
    directions = _as_directions(direction, raw.size)
    worsts = np.full(raw.size, np.nan) if worst is None else _as_floats(worst, raw.size)
    higher, lower, two_sided = (
        directions == d for d in (HIGHER_BETTER, LOWER_BETTER, TARGET_VALUE)
    )
    worsts = np.where(higher & np.isnan(worsts), 0.0, worsts)
    worsts = np.where(two_sided & np.isnan(worsts), 0.0, worsts)
    if np.any(lower & np.isnan(worsts) & ~np.isnan(raw)):
        raise ValueError("goalposts needs a worst value (plausible ceiling) for lower_better items")
    span = np.where(two_sided, np.abs(worsts - targets), targets - worsts)
    span = np.where(lower, worsts - targets, span)
    if np.any((span <= 0.0) & ~np.isnan(raw) & ~np.isnan(targets) & (directions != OTHER)):
        raise ValueError("goalposts needs the target strictly better than the worst value")
    scores = np.full(raw.size, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores[higher] = (raw[higher] - worsts[higher]) / span[higher] * 100.0
        scores[lower] = (worsts[lower] - raw[lower]) / span[lower] * 100.0
        gap = np.abs(raw[two_sided] - targets[two_sided])
        scores[two_sided] = (1.0 - gap / span[two_sided]) * 100.0
    scores[np.isnan(targets)] = np.nan
    return _restore(values, _clip_to_scale(scores))


def u4ssc_points(
    values: Vector, *, target: TargetLike, direction: DirectionLike = HIGHER_BETTER
) -> Vector:
    """The U4SSC band points of each value, as a 0-100 score (1 point = 25 … 4 points = 100).

    The arithmetic mean of these scores over a group equals the U4SSC group score
    ``points / (4 × items) × 100``, so U4SSC can be compared with composite methods item by item.
    Capping the % of target at 100 cannot change a band (95 % and above is already band 4).
    """
    share = distance_to_target(_as_floats(values), target=target, direction=direction)
    return _restore(values, points_score(share))


def points_score(share: FloatArray) -> FloatArray:
    """:func:`u4ssc_points` from the :func:`distance_to_target` scores."""
    points = band_of(share).astype(np.float64)
    np.copyto(points, np.nan, where=np.isnan(share))
    points /= MAX_POINTS  # in place, the same two roundings as points / MAX_POINTS * 100
    points *= 100.0
    return points


# --- peer-group methods -----------------------------------------------------------------


def _oriented(values: FloatArray, direction: str, target: TargetLike) -> FloatArray:
    """Turn values into "higher is better" numbers so that one formula serves every direction."""
    if direction == HIGHER_BETTER:
        return values
    if direction == LOWER_BETTER:
        return -values
    if direction == TARGET_VALUE:
        # The closer to the target the better: rank by minus the distance to it.
        return -np.abs(values - _require_target(target, values.size, "a two-sided indicator"))
    return np.full(values.shape, np.nan)


def min_max(
    values: Vector, *, direction: DirectionLike = HIGHER_BETTER, target: TargetLike = None
) -> Vector:
    """Rescale so that the worst value in the peer group scores 0 and the best 100.

    ``(x − min) / (max − min) × 100`` on the oriented values (COINr ``n_minmax`` on 0..100).
    A group without spread (one city, or all equal) scores :data:`TIED_PEER_SCORE` everywhere
    (project decision; COINr returns NaN there).
    """
    raw = _as_floats(values)
    oriented = _oriented(raw, _single_direction(direction, "min_max"), target)
    scores = np.full(raw.size, np.nan)
    present = ~np.isnan(oriented)
    reported = oriented[present]
    if reported.size:
        low, high = reported.min(), reported.max()
        spread = high - low
        scores[present] = (reported - low) / spread * 100.0 if spread > 0 else TIED_PEER_SCORE
    return _restore(values, scores)


def z_score(
    values: Vector,
    *,
    direction: DirectionLike = HIGHER_BETTER,
    target: TargetLike = None,
    mean: float = 50.0,
    sd: float = 10.0,
) -> Vector:
    """Standardise within the peer group and map to ``mean + sd × z``, clipped to 0..100.

    The sample standard deviation (``ddof=1``, as R's ``sd`` used by COINr) is used. With the
    defaults 50 ± 10 a city five standard deviations away reaches an end of the scale, so the
    clip almost never bites but keeps the geometric mean well defined. A group without spread
    scores ``mean`` everywhere (project decisions: the 50 ± 10 scale, the clip and the no-spread
    value; COINr ``n_zscore`` defaults to 0 ± 1 and returns NaN without spread).
    """
    raw = _as_floats(values)
    oriented = _oriented(raw, _single_direction(direction, "z_score"), target)
    scores = np.full(raw.size, np.nan)
    present = ~np.isnan(oriented)
    reported = oriented[present]
    if reported.size:
        spread = float(np.std(reported, ddof=1)) if reported.size > 1 else 0.0
        centre = float(np.mean(reported))
        scores[present] = mean + sd * (reported - centre) / spread if spread > 0 else mean
    return _restore(values, _clip_to_scale(scores))


def percentile_rank(
    values: Vector, *, direction: DirectionLike = HIGHER_BETTER, target: TargetLike = None
) -> Vector:
    """Percentile rank in the peer group, as COINr's ``n_prank`` computes it.

    ``(rank − 1) / (n − 1) × 100`` with "min" ties (R's ``rank(ties.method = "min")``:
    tied values all get the lowest rank of their run) and ``n`` the number of reported
    values. The best city scores 100 and the worst 0; all values equal give 0 to everyone
    (every rank is 1); a single reported value has no peer to rank against and gives NaN
    (0 / 0 in COINr). Only the order of the values matters.
    """
    raw = _as_floats(values)
    oriented = _oriented(raw, _single_direction(direction, "percentile_rank"), target)
    present = ~np.isnan(oriented)
    reported = int(np.count_nonzero(present))
    scores = np.full(raw.size, np.nan)
    if reported > 1:
        ranks = min_ranks(oriented[present])
        scores[present] = (ranks - 1.0) / (reported - 1) * 100.0
    return _restore(values, scores)


def min_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks with ties at the lowest rank of their run (``rank(method="min")``).

    ``values`` holds no NaN. One sort: each value's rank is one plus the sorted position
    where its run of equal values starts.
    """
    order = np.argsort(values)
    ordered = values[order]
    ranks = np.empty(ordered.size, dtype=np.float64)
    run_start = np.ones(ordered.size, dtype=np.bool_)
    np.not_equal(ordered[1:], ordered[:-1], out=run_start[1:])
    if run_start.all():  # no ties (the usual case for measured values): rank = position + 1
        ranks[order] = np.arange(1.0, ordered.size + 1.0)
        return ranks
    positions = np.arange(ordered.size)
    first = np.maximum.accumulate(np.where(run_start, positions, 0))
    ranks[order] = first + 1.0
    return ranks


#: Methods a spec can name. Each accepts ``values, direction=, target=`` and its own keywords.
NORMALISERS: Final[dict[str, Callable[..., FloatArray]]] = {
    "distance_to_target": distance_to_target,
    "goalposts": goalposts,
    "u4ssc_points": u4ssc_points,
    "min_max": min_max,
    "z_score": z_score,
    "percentile_rank": percentile_rank,
}

#: Methods whose score depends on the other members of the peer group.
PEER_GROUP_NORMALISERS: Final[frozenset[str]] = frozenset({"min_max", "z_score", "percentile_rank"})


def normaliser(name: str) -> Callable[..., FloatArray]:
    """Look a method up by name, with an error that lists the names that exist."""
    try:
        return NORMALISERS[name]
    except KeyError:
        raise ValueError(
            f"unknown normaliser {name!r}; choose from {sorted(NORMALISERS)}"
        ) from None

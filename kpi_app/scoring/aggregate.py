"""Aggregation methods: combine child scores (0-100) into one group score, with weights.

Both methods are quasi-arithmetic means: transform each score with ``forward``, take the
weighted arithmetic mean, and map back with ``inverse``. The arithmetic mean uses the identity;
the geometric mean uses a logarithm, which makes a weak score harder to compensate with a
strong one. The arithmetic mean is COINr's ``a_amean``; the geometric mean is COINr's
``a_gmean`` only for positive scores: the shift below is the project's own zero handling
(COINr's ``a_gmean`` refuses zeros and negatives).

Rules shared by every method:

* a missing child score (NaN) is left out and the remaining weights are renormalised, so a
  gap never counts as zero;
* a group is **withheld** (NaN, with a reason) when the weight share of its reported children
  is below ``min_coverage``; children that can never be scored (no benchmark, direction
  "other") are not counted in that share at all;
* weights must be finite and non-negative; a weight of 0 removes a child.

Geometric mean and zeros (project decision): ``log(0)`` is undefined and a single 0 would
force the whole group to 0. We shift every score by :data:`GEOMETRIC_SHIFT` = 1 point before
the logarithm and shift back afterwards: ``G = exp(Σ wᵢ ln(xᵢ + 1) / Σ wᵢ) − 1``. Equal
scores are unchanged (G of (x, x) is x), results stay in 0..100, and a 0 now pulls the group
down hard but not to 0:
(0, 100) gives √(1 × 101) − 1 ≈ 9.05 where the arithmetic mean gives 50.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

#: Shift (in points on the 0..100 scale) applied before the geometric mean's logarithm.
GEOMETRIC_SHIFT: Final = 1.0

#: Default minimum weight share of reported children for composite methods.
DEFAULT_MIN_COVERAGE: Final = 0.5

REASON_NO_ASSESSABLE: Final = "no assessable items"
REASON_NOTHING_REPORTED: Final = "nothing reported"


def _log_shifted(scores: FloatArray) -> FloatArray:
    if np.any(scores + GEOMETRIC_SHIFT <= 0.0):
        raise ValueError("the geometric mean needs scores on the 0..100 scale (none below 0)")
    return np.log(scores + GEOMETRIC_SHIFT)


def _exp_unshifted(means: FloatArray) -> FloatArray:
    return np.exp(means) - GEOMETRIC_SHIFT


def _identity(scores: FloatArray) -> FloatArray:
    return scores


@dataclass(frozen=True, slots=True)
class Aggregator:
    """A quasi-arithmetic mean: ``inverse(Σ w·forward(x) / Σ w)`` over the reported children."""

    name: str
    forward: Callable[[FloatArray], FloatArray]
    inverse: Callable[[FloatArray], FloatArray]

    def mean(self, scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
        """Weighted mean of one group's scores; NaN scores are skipped, weights renormalised."""
        values, shares = _paired(scores, weights)
        reported = ~np.isnan(values) & (shares > 0)
        if not reported.any():
            return float("nan")
        transformed = self.forward(values[reported])
        centre = np.sum(shares[reported] * transformed) / np.sum(shares[reported])
        return float(self.inverse(np.array([centre]))[0])


def _paired(scores: npt.ArrayLike, weights: npt.ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    values = np.asarray(scores, dtype=np.float64).ravel()
    shares = (
        np.ones(values.size) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    )
    if shares.shape != values.shape:
        raise ValueError(f"{values.size} scores but {shares.size} weights")
    check_weights(shares)
    return values, shares


def check_weights(weights: FloatArray) -> None:
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative")


ARITHMETIC: Final = Aggregator("arithmetic", _identity, _identity)
GEOMETRIC: Final = Aggregator("geometric", _log_shifted, _exp_unshifted)

#: Methods a spec can name.
AGGREGATORS: Final[dict[str, Aggregator]] = {agg.name: agg for agg in (ARITHMETIC, GEOMETRIC)}


def aggregator(name: str) -> Aggregator:
    """Look a method up by name, with an error that lists the names that exist."""
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown aggregation {name!r}; choose from {sorted(AGGREGATORS)}"
        ) from None


def weighted_arithmetic_mean(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """``Σ wᵢ xᵢ / Σ wᵢ`` over the reported scores (NaN left out, weights renormalised)."""
    return ARITHMETIC.mean(scores, weights)


def weighted_geometric_mean(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """``exp(Σ wᵢ ln(xᵢ + 1) / Σ wᵢ) − 1`` over the reported scores; see the module docstring."""
    return GEOMETRIC.mean(scores, weights)


def reported_weight_share(scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Share of the total weight carried by children that have a score (NaN if no weight)."""
    values, shares = _paired(scores, weights)
    total = shares.sum()
    return float(shares[~np.isnan(values)].sum() / total) if total > 0 else float("nan")


def aggregate_groups(
    children: pd.DataFrame,
    by: Sequence[str],
    *,
    method: str = "arithmetic",
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    score: str = "score",
    weight: str = "weight",
    assessable: str = "assessable",
    groups: tuple[npt.NDArray[np.int64], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Aggregate child rows into one row per ``by`` group, vectorised over all groups at once.

    ``children`` has the group keys, a ``score`` column (NaN = not reported or withheld), a
    ``weight`` column and a boolean ``assessable`` column (False for children that could never
    be scored; they count neither as reported nor as missing). Returns the keys plus ``score``,
    ``weight_share`` (reported weight / assessable weight) and ``withheld_reason`` ("" when the
    score stands).
    """
    agg = aggregator(method)
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage must lie in [0, 1], got {min_coverage}")
    weights = children[weight].to_numpy(dtype=np.float64)
    check_weights(weights)
    values = children[score].to_numpy(dtype=np.float64)
    counted = children[assessable].to_numpy(dtype=bool) & (weights > 0)
    reported = counted & ~np.isnan(values)
    transformed = np.zeros(values.size)
    transformed[reported] = agg.forward(values[reported])
    # ``groups`` is ``group_codes(children, by)`` when the caller has it already.
    group, keys = group_codes(children, by) if groups is None else groups
    size = len(keys)
    sums = {
        "assessable_weight": np.where(counted, weights, 0.0),
        "reported_weight": np.where(reported, weights, 0.0),
        "weighted_sum": np.where(reported, weights * transformed, 0.0),
    }
    totals = pd.DataFrame(
        {name: np.bincount(group, weights=column, minlength=size) for name, column in sums.items()}
    )
    finished = finish_groups(totals, agg, min_coverage).reset_index(drop=True)
    return pd.concat([keys, finished], axis=1)


def sorted_codes(series: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Codes in sorted label order; a small integer range (years) needs no hashing."""
    values = series.to_numpy()
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low <= max(4 * values.size, 1024):
            return (values - low).astype(np.int64), np.arange(low, high + 1)
    raw_codes, labels = pd.factorize(series, sort=True)
    return np.asarray(raw_codes, dtype=np.int64), np.asarray(labels)


def _dense_factorize(
    combined: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Sorted factorisation of non-negative codes; a dense range uses a bincount, no hash."""
    if combined.size and int(combined.max()) <= 4 * combined.size:
        present = np.bincount(combined) > 0
        number = np.cumsum(present) - 1
        return number[combined].astype(np.int64), np.flatnonzero(present).astype(np.int64)
    group, unique = pd.factorize(combined, sort=True)
    return np.asarray(group, dtype=np.int64), np.asarray(unique, dtype=np.int64)


def group_codes(
    children: pd.DataFrame, by: Sequence[str]
) -> tuple[npt.NDArray[np.int64], pd.DataFrame]:
    """A group number per row for the ``by`` groups, numbered as a sorted group-by orders them.

    Each key becomes integer codes (a categorical's own codes, which a pandas group-by sorts
    by; else a sorted factorisation); the codes combine in mixed radix, so one integer
    factorisation and ``bincount`` replace a group-by on several columns. Returns the group
    numbers and a frame of the key values of each group (observed groups only).
    """
    combined = np.zeros(len(children), dtype=np.int64)
    decoders: list[tuple[str, Any, bool | None]] = []
    for column in by:
        series = children[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = np.asarray(series.cat.codes, dtype=np.int64)
            decoders.append((column, series.cat.categories, bool(series.cat.ordered)))
            radix = len(series.cat.categories)
        else:
            codes, labels = sorted_codes(series)
            decoders.append((column, labels, None))
            radix = len(labels)
        combined = combined * max(radix, 1) + codes
    group, unique = _dense_factorize(combined)
    remainder = np.asarray(unique, dtype=np.int64)
    columns: dict[str, Any] = {}
    for column, labels, ordered in reversed(decoders):
        radix = max(len(labels), 1)
        codes = remainder % radix
        remainder = remainder // radix
        columns[column] = (
            labels[codes]
            if ordered is None
            else pd.Categorical.from_codes(codes, labels, ordered=ordered)
        )
    keys = pd.DataFrame({column: columns[column] for column in by})
    return np.asarray(group, dtype=np.int64), keys


def finish_groups(totals: pd.DataFrame, agg: Aggregator, min_coverage: float) -> pd.DataFrame:
    """Turn per-group weight sums into scores, applying the minimum-coverage rule."""
    scores, share, reasons = finish_totals(
        totals["assessable_weight"].to_numpy(dtype=np.float64),
        totals["reported_weight"].to_numpy(dtype=np.float64),
        totals["weighted_sum"].to_numpy(dtype=np.float64),
        agg,
        min_coverage,
    )
    return pd.DataFrame(
        {"score": scores, "weight_share": share, "withheld_reason": reasons},
        index=totals.index,
    )


def finish_totals(
    assessable: FloatArray,
    reported: FloatArray,
    weighted_sum: FloatArray,
    agg: Aggregator,
    min_coverage: float,
) -> tuple[FloatArray, FloatArray, pd.Categorical]:
    """Score, weight share and withheld reason ("" when the score stands) of each group from
    its weight sums; the reasons as a categorical (a few distinct texts over many groups)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(assessable > 0, reported / assessable, np.nan)
        centre = np.where(reported > 0, weighted_sum / reported, np.nan)
    scores = agg.inverse(centre)
    # Rounding noise can make a full share 0.9999999; compare with a small tolerance.
    short = share < min_coverage - 1e-12
    reasons = np.zeros(share.size, dtype=np.int16)
    # One text per distinct whole percentage, formatted once (formatting a string per
    # withheld group was the slowest step of composite scoring); np.round and "%.0f" both
    # round half to even on the same float.
    withheld = np.flatnonzero(short & (assessable > 0) & (reported > 0))
    percents, which = np.unique(np.round(share[withheld] * 100), return_inverse=True)
    below = f"% below minimum {min_coverage:.0%}"
    texts = [
        "",
        REASON_NOTHING_REPORTED,
        REASON_NO_ASSESSABLE,
        *(f"weight coverage {percent:.0f}{below}" for percent in percents),
    ]
    reasons[withheld] = 3 + which
    nothing_reported = reported <= 0
    no_assessable = assessable <= 0
    reasons[nothing_reported] = 1
    reasons[no_assessable] = 2
    # The groups given a reason above (comparing the reason texts would cost more).
    stands = reasons == 0
    return (
        np.where(stands, scores, np.nan),
        share,
        pd.Categorical.from_codes(reasons, categories=pd.Index(texts, dtype=object)),
    )

"""The four U4SSC benchmark bands: lookup table, vectorised band assignment and labels.

A "% of target" (or a group score, which is also a percentage) falls in one of four bands
worth 1 to 4 points. The lower bound of each band is inclusive, so a value sitting exactly on
33, 66 or 95 belongs to the upper band (project decision; the publications leave it open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd


@dataclass(frozen=True, slots=True)
class Band:
    """One benchmark band: the points it is worth, its inclusive lower bound and its label."""

    points: int
    lower_bound: float
    label: str


BANDS: Final[tuple[Band, ...]] = (
    Band(1, 0.0, "Less than 33% of Target"),
    Band(2, 33.0, "33-66% of Target"),
    Band(3, 66.0, "66–95% of Target"),
    Band(4, 95.0, "95%+ Target"),
)

#: Highest number of points an item can earn; a group's maximum is this times its item count.
MAX_POINTS: Final[int] = BANDS[-1].points

#: Inner edges (33, 66, 95): a value at or above an edge is in the band that starts there.
BAND_EDGES: Final[npt.NDArray[np.float64]] = np.array(
    [band.lower_bound for band in BANDS[1:]], dtype=np.float64
)

#: Labels in points order; index ``points - 1`` gives the label.
BAND_LABELS: Final[tuple[str, ...]] = tuple(band.label for band in BANDS)

#: Ordered categorical dtype of band labels, shared by every frame so they compare equal.
BAND_LABEL_DTYPE: Final[pd.CategoricalDtype] = pd.CategoricalDtype(list(BAND_LABELS), ordered=True)

#: Labels of the same four bands on a composite score (0..100): a composite score is not a
#: percentage of the target (min-max, z-score and percentile scores are relative to peers), so
#: its band says where the score lies, nothing more.
SCORE_BAND_LABELS: Final[tuple[str, ...]] = (
    "Score below 33 of 100",
    "Score 33–66 of 100",
    "Score 66–95 of 100",
    "Score 95–100 of 100",
)
SCORE_BAND_LABEL_DTYPE: Final[pd.CategoricalDtype] = pd.CategoricalDtype(
    list(SCORE_BAND_LABELS), ordered=True
)

#: Points value meaning "no band" (item not scored, or group with nothing scored).
NO_BAND: Final[int] = 0


def band_of(percent: npt.ArrayLike | pd.Series) -> npt.NDArray[np.int8]:
    """Return the band points (1-4) for each percentage, or 0 where the percentage is NaN.

    Works on scalars, lists, numpy arrays and Series in one vectorised pass. Negative
    percentages land in band 1 and ``+inf`` (a lower-is-better value of 0) in band 4.
    """
    values = np.asarray(percent, dtype=np.float64)
    # Counting the edges at or below each value is the same as
    # ``searchsorted(BAND_EDGES, values, side="right") + 1`` but about ten times faster on
    # millions of rows: three branch-free comparisons instead of a binary search per element.
    # ``>=`` puts a value equal to an edge in the upper band, as the project decided.
    # One comparison buffer serves every edge (no fresh boolean array per comparison).
    points = np.ones(values.shape, dtype=np.int8)
    flag = np.empty(values.shape, dtype=np.bool_)
    for edge in BAND_EDGES:
        np.greater_equal(values, edge, out=flag)
        points += flag.view(np.int8)
    # NaN compares False with every edge, so it has 1 point here: take that one away.
    np.isnan(values, out=flag)
    points -= flag.view(np.int8)
    return points


def band_label(points: int) -> str | None:
    """Return the wheel label of a band (1-4), or None for "no band" (0 or NA)."""
    if pd.isna(points) or int(points) == NO_BAND:
        return None
    if not 1 <= int(points) <= MAX_POINTS:
        raise ValueError(f"band points must be 1-{MAX_POINTS} (or 0 for none), got {points!r}")
    return BAND_LABELS[int(points) - 1]


def band_labels(points: npt.ArrayLike) -> pd.Categorical:
    """Vectorised :func:`band_label`: a Categorical of labels, missing where points are 0.

    A Categorical stores one small integer per row, so labelling millions of items costs one
    byte each instead of one Python string reference each.
    """
    codes = np.asarray(points, dtype=np.int8) - 1  # 0 ("no band") becomes -1, i.e. missing
    return pd.Categorical.from_codes(codes, dtype=BAND_LABEL_DTYPE)


def score_band_labels(points: npt.ArrayLike) -> pd.Categorical:
    """:func:`band_labels` for composite scores (:data:`SCORE_BAND_LABELS`)."""
    codes = np.asarray(points, dtype=np.int8) - 1
    return pd.Categorical.from_codes(codes, dtype=SCORE_BAND_LABEL_DTYPE)

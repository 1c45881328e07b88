"""Progress towards a target year (SDG style): is a city moving fast enough to reach its target?

The method follows the Eurostat / UN ESCAP SDG progress assessment for indicators with a
quantified target. For one item of one city:

* **needed rate**: the compound annual growth rate (CAGR) that takes the base-year value to
  the target by the target year: ``(target / base) ^ (1 / (target_year − base_year)) − 1``;
* **achieved rate**: the CAGR actually observed from the base year to the latest year:
  ``(latest / base) ^ (1 / (latest_year − base_year)) − 1``;
* **ratio** = achieved ÷ needed. Both rates are negative for a lower-is-better item that must
  fall, so the ratio is positive whenever the city moves the right way, in either direction.

Classes (thresholds on the ratio, as the brief and ESCAP's "on track" convention set them):

=====================================  ==================================================
``target met``                         the latest value already meets the target
``on track``                           ratio ≥ 0.95
``progress but needs acceleration``    0.5 ≤ ratio < 0.95
``limited progress``                   0 ≤ ratio < 0.5 (no change at all is ratio 0)
``deterioration``                      ratio < 0, or the target was met in the base year
                                       and is no longer met
``insufficient data``                  fewer than two reported years
``not assessed``                       no target, or direction "other"
=====================================  ==================================================

Decisions:

* **Zeros.** A CAGR needs positive numbers. When the base value, the latest value or the
  target is 0 or negative (e.g. a target of zero road deaths), linear annual changes replace
  the compound rates: ``(target − base) / years`` and ``(latest − base) / years``. The column
  ``rate_kind`` says which was used.
* **Two-sided targets** (``target_value``) are assessed on the distance ``|value − target|``,
  which should fall to the tolerance ``0.05 × |target|`` (the U4SSC "95%+" band), with linear
  rates because a distance is often 0.
* **Base year** defaults to the first reported year; the latest year is the last reported one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.normalise import (
    HIGHER_BETTER,
    LOWER_BETTER,
    TARGET_VALUE,
    TWO_SIDED_TOLERANCE,
)
from kpi_app.scoring.spec import DEFAULT_TARGET_YEAR

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TARGET_MET: Final = "target met"
ON_TRACK: Final = "on track"
NEEDS_ACCELERATION: Final = "progress but needs acceleration"
LIMITED_PROGRESS: Final = "limited progress"
DETERIORATION: Final = "deterioration"
INSUFFICIENT_DATA: Final = "insufficient data"
NOT_ASSESSED: Final = "not assessed"

#: Progress classes from best to worst, for ordering tables and legends.
PROGRESS_CLASSES: Final[tuple[str, ...]] = (
    TARGET_MET,
    ON_TRACK,
    NEEDS_ACCELERATION,
    LIMITED_PROGRESS,
    DETERIORATION,
    INSUFFICIENT_DATA,
    NOT_ASSESSED,
)

#: Lower bounds of the achieved/needed ratio for the classes that depend on it.
ON_TRACK_RATIO: Final = 0.95
ACCELERATION_RATIO: Final = 0.5

COMPOUND: Final = "compound"
LINEAR: Final = "linear"


@dataclass(frozen=True, slots=True)
class Progress:
    """The progress assessment of one item's time series."""

    status: str
    base_year: int | None
    base_value: float
    latest_year: int | None
    latest_value: float
    target: float
    target_year: int
    needed_rate: float
    achieved_rate: float
    ratio: float
    rate_kind: str


def assess_progress(
    years: Sequence[int] | npt.ArrayLike,
    values: Sequence[float] | npt.ArrayLike,
    target: float,
    direction: str,
    base_year: int | None = None,
    target_year: int = DEFAULT_TARGET_YEAR,
) -> Progress:
    """Assess one time series (years and values of one item of one city) against its target.

    NaN values are ignored. Raises ValueError when ``base_year`` is given but not reported or
    when the target year is not after the base year.
    """
    series = pd.DataFrame(
        {
            "year": np.asarray(years, dtype=np.int64),
            "value": np.asarray(values, dtype=np.float64),
            "target": float(target),
            "direction": direction,
        }
    )
    row = progress_table(series, base_year=base_year, target_year=target_year).iloc[0]
    return Progress(
        status=str(row["status"]),
        base_year=None if pd.isna(row["base_year"]) else int(row["base_year"]),
        base_value=float(row["base_value"]),
        latest_year=None if pd.isna(row["latest_year"]) else int(row["latest_year"]),
        latest_value=float(row["latest_value"]),
        target=float(row["target"]),
        target_year=int(row["target_year"]),
        needed_rate=float(row["needed_rate"]),
        achieved_rate=float(row["achieved_rate"]),
        ratio=float(row["ratio"]),
        rate_kind=str(row["rate_kind"]),
    )


def progress_table(
    values_long: pd.DataFrame,
    targets: pd.DataFrame | None = None,
    *,
    base_year: int | None = None,
    target_year: int = DEFAULT_TARGET_YEAR,
) -> pd.DataFrame:
    """Assess every series in a long frame at once (no loop over series).

    ``values_long`` has ``year`` and ``value`` plus whichever of ``city``, ``code`` and
    ``data_point`` identify a series (the items frame itself qualifies). ``target`` and
    ``direction`` come from ``values_long`` or from ``targets`` (joined on ``code`` and
    ``data_point``); the first row of a series supplies them. One row per series is returned
    with the keys and the :class:`Progress` fields.
    """
    frame = _with_targets(values_long, targets)
    keys = [key for key in ("city", "code", "data_point") if key in frame.columns]
    ends = _series_ends(frame, keys, base_year)
    if base_year is not None and ends["base_year"].isna().any():
        raise ValueError(f"base year {base_year} is not reported for every series")
    if (ends["base_year"].dropna() >= target_year).any():
        raise ValueError(f"target year {target_year} must come after the base year")
    return _classify(ends, target_year)


def _with_targets(values_long: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    if targets is None:
        missing = {"target", "direction"} - set(values_long.columns)
        if missing:
            raise ValueError(f"give targets: values lack column(s) {sorted(missing)}")
        return values_long
    joined = values_long.drop(columns=["target", "direction"], errors="ignore").merge(
        targets[["code", "data_point", "target", "direction"]],
        on=["code", "data_point"],
        how="left",
        validate="many_to_one",
    )
    return joined


def _series_ends(frame: pd.DataFrame, keys: list[str], base_year: int | None) -> pd.DataFrame:
    """Per series: target, direction, the base observation and the latest observation."""
    if not keys:
        # A single unnamed series: give it a constant key so every path below is the same.
        frame, keys = frame.assign(_series=0), ["_series"]
    reported = frame.loc[frame["value"].notna().to_numpy()].sort_values("year", kind="stable")
    firsts = frame.groupby(keys, sort=True, observed=True)[["target", "direction"]].first()
    at_base = (
        reported if base_year is None else reported.loc[(reported["year"] == base_year).to_numpy()]
    )
    base = at_base.groupby(keys, sort=True, observed=True)[["year", "value"]].first()
    latest = reported.groupby(keys, sort=True, observed=True)[["year", "value"]].last()
    ends = firsts.join(base.rename(columns={"year": "base_year", "value": "base_value"}))
    ends = ends.join(latest.rename(columns={"year": "latest_year", "value": "latest_value"}))
    ends = ends.reset_index()
    return ends.drop(columns=["_series"], errors="ignore")


def _classify(ends: pd.DataFrame, target_year: int) -> pd.DataFrame:
    direction = np.asarray(ends["direction"].astype(str).to_numpy(), dtype=np.str_)
    target = ends["target"].to_numpy(dtype=np.float64, na_value=np.nan)
    base = ends["base_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    latest = ends["latest_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    base_year = ends["base_year"].to_numpy(dtype=np.float64, na_value=np.nan)
    latest_year = ends["latest_year"].to_numpy(dtype=np.float64, na_value=np.nan)
    two_sided = direction == TARGET_VALUE
    # Two-sided items: follow the distance to the target, which should shrink to the tolerance.
    tolerance = TWO_SIDED_TOLERANCE * np.abs(target)
    start = np.where(two_sided, np.abs(base - target), base)
    end = np.where(two_sided, np.abs(latest - target), latest)
    goal = np.where(two_sided, tolerance, target)
    compound = ~two_sided & (start > 0) & (end > 0) & (goal > 0)
    needed = _rate(start, goal, target_year - base_year, compound)
    achieved = _rate(start, end, latest_year - base_year, compound)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = achieved / needed
    assessable = np.isin(direction, (HIGHER_BETTER, LOWER_BETTER, TARGET_VALUE)) & ~np.isnan(target)
    # Conditions in priority order: the first that holds decides the class.
    rules: list[tuple[BoolArray, str]] = [
        (~assessable, NOT_ASSESSED),
        (np.isnan(latest), INSUFFICIENT_DATA),
        (_meets(end, goal, direction), TARGET_MET),
        (np.isnan(base) | ~(latest_year > base_year), INSUFFICIENT_DATA),
        (_meets(start, goal, direction), DETERIORATION),  # met in the base year, not any more
        (ratio >= ON_TRACK_RATIO, ON_TRACK),
        (ratio >= ACCELERATION_RATIO, NEEDS_ACCELERATION),
        (ratio >= 0, LIMITED_PROGRESS),
    ]
    status = np.full(len(ends), DETERIORATION, dtype=object)
    decided = np.zeros(len(ends), dtype=np.bool_)
    for condition, label in rules:
        status[condition & ~decided] = label
        decided |= condition
    return ends.assign(
        target_year=target_year,
        needed_rate=needed,
        achieved_rate=achieved,
        ratio=ratio,
        rate_kind=np.where(compound, COMPOUND, LINEAR),
        status=status,
    )


def _rate(start: FloatArray, end: FloatArray, years: FloatArray, compound: BoolArray) -> FloatArray:
    """Annual rate from ``start`` to ``end`` over ``years``: CAGR where allowed, else linear."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cagr = np.power(end / start, 1.0 / years) - 1.0
        linear = (end - start) / years
    rate = np.where(compound, cagr, linear)
    return np.where(years > 0, rate, np.nan)


def _meets(value: FloatArray, goal: FloatArray, direction: npt.NDArray[np.str_]) -> BoolArray:
    """Whether a value (a distance for two-sided items) has reached its goal."""
    higher = (direction == HIGHER_BETTER) & (value >= goal)
    # For two-sided items ``value`` is already the distance, which must fall to the tolerance.
    lower = np.isin(direction, (LOWER_BETTER, TARGET_VALUE)) & (value <= goal)
    return np.asarray(higher | lower, dtype=np.bool_)

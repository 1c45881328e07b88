"""Progress towards a target year (SDG style): is a city moving fast enough to reach its target?

The default method is the Open SDG progress measure for indicators with a quantitative target
(Statistics Canada's method, built on Eurostat's; open-sdg ``docs/progress-methodology.md``).
For one item of one city:

* **needed rate**: the compound annual growth rate (CAGR) that takes the base-year value to
  the target by the target year: ``(target / base) ^ (1 / (target_year − base_year)) − 1``;
* **achieved rate**: the CAGR actually observed from the base year to the latest year:
  ``(latest / base) ^ (1 / (latest_year − base_year)) − 1``;
* **ratio** = achieved ÷ needed. Both rates are negative for a lower-is-better item that must
  fall, so the ratio is positive whenever the city moves the right way, in either direction.

Classes (Open SDG thresholds on the ratio):

=====================================  ==================================================
``target met``                         the latest value already meets the target
``on track``                           ratio ≥ 0.95
``progress but needs acceleration``    0.6 ≤ ratio < 0.95
``limited progress``                   0 ≤ ratio < 0.6 (no change at all is ratio 0)
``deterioration``                      ratio < 0, or the target was met in the base year
                                       and is no longer met (project rule)
``insufficient data``                  no base year, or no later year to compare with
``not assessed``                       no target, or direction "other"
=====================================  ==================================================

Open SDG decisions followed by default (:data:`OPEN_SDG`):

* **Base year** 2015, or the first reported year after it when 2015 is not reported; a series
  with nothing reported from 2015 on cannot be assessed.
* **Zeros.** A CAGR needs positive numbers: a target of 0 and a base value of 0 are replaced
  by 0.001 (``ZERO_SUBSTITUTE``) and the compound rates are kept, so a target of 0 is
  *harder* to be on track for than a target of 0.1, never easier.

Project decisions (no Open SDG counterpart): two-sided targets (``target_value``) are assessed
on the distance ``|value − target|``, which should fall to ``0.05 × |target|`` (the U4SSC
"95%+" band), with linear rates because a distance is often 0; and a target met in the base
year and lost since is a deterioration.

Other choices are named methods in :data:`PROGRESS_METHODS` (a :class:`ProgressMethod` each):
``first-year-linear`` is the rule this module used before following Open SDG (thresholds
0.95 / 0.5, base = first reported year, linear rates whenever a value or the target is 0).
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

#: Lower bounds of the achieved/needed ratio for the classes that depend on it (Open SDG).
ON_TRACK_RATIO: Final = 0.95
ACCELERATION_RATIO: Final = 0.6
#: Open SDG's default base year: the year the 2030 Agenda was adopted.
OPEN_SDG_BASE_YEAR: Final = 2015
#: What Open SDG puts in place of a target or base value of 0 so that the CAGR exists.
ZERO_SUBSTITUTE: Final = 0.001

COMPOUND: Final = "compound"
LINEAR: Final = "linear"


@dataclass(frozen=True, slots=True)
class ProgressMethod:
    """The choices of a progress assessment.

    ``base_year``: the earliest year a series' base may be (the base is the first reported
    year at or after it); None takes the first reported year whatever it is.
    ``zero_substitute``: value put in place of a target or base value of 0 (or below) so the
    compound rates exist; None switches to linear annual changes for such series instead.
    """

    name: str
    on_track: float = ON_TRACK_RATIO
    acceleration: float = ACCELERATION_RATIO
    base_year: int | None = OPEN_SDG_BASE_YEAR
    zero_substitute: float | None = ZERO_SUBSTITUTE


#: The default: Open SDG's measure for indicators with a quantitative target.
OPEN_SDG: Final = ProgressMethod("open-sdg")
#: The rule used before (project's own): 0.95 / 0.5, first reported year, linear for zeros.
FIRST_YEAR_LINEAR: Final = ProgressMethod(
    "first-year-linear", acceleration=0.5, base_year=None, zero_substitute=None
)
PROGRESS_METHODS: Final[dict[str, ProgressMethod]] = {
    method.name: method for method in (OPEN_SDG, FIRST_YEAR_LINEAR)
}


def progress_method(method: str | ProgressMethod) -> ProgressMethod:
    """A method, or the named one; ValueError lists the names that exist."""
    if isinstance(method, ProgressMethod):
        return method
    try:
        return PROGRESS_METHODS[method]
    except KeyError:
        raise ValueError(
            f"unknown progress method {method!r}; choose from {sorted(PROGRESS_METHODS)}"
        ) from None


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
    method: str | ProgressMethod = OPEN_SDG,
) -> Progress:
    """Assess one time series (years and values of one item of one city) against its target.

    NaN values are ignored. ``base_year`` forces the base (it must be reported); otherwise the
    method's base-year rule applies. Raises ValueError when a forced base year is not reported
    or when the target year is not after the base year.
    """
    series = pd.DataFrame(
        {
            "year": np.asarray(years, dtype=np.int64),
            "value": np.asarray(values, dtype=np.float64),
            "target": float(target),
            "direction": direction,
        }
    )
    row = progress_table(series, base_year=base_year, target_year=target_year, method=method).iloc[
        0
    ]
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
    method: str | ProgressMethod = OPEN_SDG,
) -> pd.DataFrame:
    """Assess every series in a long frame at once (no loop over series).

    ``values_long`` has ``year`` and ``value`` plus whichever of ``city``, ``code`` and
    ``data_point`` identify a series (the items frame itself qualifies). ``target`` and
    ``direction`` come from ``values_long`` or from ``targets`` (joined on ``code`` and
    ``data_point``); the first row of a series supplies them. One row per series is returned
    with the keys and the :class:`Progress` fields.
    """
    chosen = progress_method(method)
    frame = _with_targets(values_long, targets)
    keys = [key for key in ("city", "code", "data_point") if key in frame.columns]
    ends = _series_ends(frame, keys, base_year, chosen.base_year)
    if base_year is not None and ends["base_year"].isna().any():
        raise ValueError(f"base year {base_year} is not reported for every series")
    if (ends["base_year"].dropna() >= target_year).any():
        raise ValueError(f"target year {target_year} must come after the base year")
    return _classify(ends, target_year, chosen)


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


def _series_ends(
    frame: pd.DataFrame, keys: list[str], base_year: int | None, earliest_base: int | None
) -> pd.DataFrame:
    """Per series: target, direction, the base observation and the latest observation.

    ``base_year`` forces the base year; otherwise the base is the first reported year at or
    after ``earliest_base`` (any year when that is None).
    """
    if not keys:
        # A single unnamed series: give it a constant key so every path below is the same.
        frame, keys = frame.assign(_series=0), ["_series"]
    reported = frame.loc[frame["value"].notna().to_numpy()].sort_values("year", kind="stable")
    firsts = frame.groupby(keys, sort=True, observed=True)[["target", "direction"]].first()
    if base_year is not None:
        at_base = reported.loc[(reported["year"] == base_year).to_numpy()]
    elif earliest_base is not None:
        at_base = reported.loc[(reported["year"] >= earliest_base).to_numpy()]
    else:
        at_base = reported
    base = at_base.groupby(keys, sort=True, observed=True)[["year", "value"]].first()
    latest = reported.groupby(keys, sort=True, observed=True)[["year", "value"]].last()
    ends = firsts.join(base.rename(columns={"year": "base_year", "value": "base_value"}))
    ends = ends.join(latest.rename(columns={"year": "latest_year", "value": "latest_value"}))
    ends = ends.reset_index()
    return ends.drop(columns=["_series"], errors="ignore")


def _classify(ends: pd.DataFrame, target_year: int, method: ProgressMethod) -> pd.DataFrame:
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
    # Met or not is decided on the real numbers; the substitutes only feed the rates.
    rate_start, rate_goal = start, goal
    if method.zero_substitute is None:
        compound = ~two_sided & (start > 0) & (end > 0) & (goal > 0)
    else:
        substitute = method.zero_substitute
        rate_start = np.where(~two_sided & (start <= 0), substitute, start)
        rate_goal = np.where(~two_sided & (goal <= 0), substitute, goal)
        compound = ~two_sided
    needed = _rate(rate_start, rate_goal, target_year - base_year, compound)
    achieved = _rate(rate_start, end, latest_year - base_year, compound)
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
        (ratio >= method.on_track, ON_TRACK),
        (ratio >= method.acceleration, NEEDS_ACCELERATION),
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

"""Trend projections of a KPI's time series to a target year (2030 by default).

Two methods are offered side by side, each named in the result so no reader has to guess:

* **linear**: ordinary least squares of value on year; the projection follows the fitted line.
  ``annual_change`` is the slope in the KPI's unit per year.
* **compound**: OLS of ``ln(value)`` on year, i.e. a constant growth rate; the projection is
  ``exp(fit)``, which is the *median* projection on the original scale. ``annual_change`` is
  the growth rate per year (0.05 = +5 %/year). It needs every value above zero.

Uncertainty: with three or more points a 95 % OLS **prediction interval** is given,
``ŷ₀ ± t(0.975, n−2) · s · √(1 + 1/n + (x₀ − x̄)² / Sxx)`` (for the compound method on the log
scale, then exponentiated, so it is asymmetric). With two points the line is exact and no
honest interval exists, so none is shown; with one point there is no trend at all.

Projected values (and interval ends) are clipped to the KPI's plausible range and never go
below zero, because a KPI value cannot leave that range whatever a straight line says; the
``note`` says when that happened. The projected value is then placed in a U4SSC band, and the
observed series gets its SDG progress class from :mod:`kpi_app.scoring.progress`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import band_labels, band_of
from kpi_app.scoring.percent import percent_of_target
from kpi_app.scoring.progress import progress_table
from kpi_app.scoring.spec import DEFAULT_TARGET_YEAR
from kpi_app.twin.stats import t_critical_95

Method = Literal["linear", "compound"]
METHODS: Final[tuple[Method, ...]] = ("linear", "compound")
#: Fewest points for a prediction interval (two are needed for the line, one more for spread).
MIN_POINTS_FOR_INTERVAL: Final[int] = 3
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Trend:
    """One method's projection of one series. NaN marks what could not be computed."""

    method: Method
    n_points: int
    first_year: int | None
    last_year: int | None
    target_year: int
    value: float
    lower: float
    upper: float
    annual_change: float
    note: str

    @property
    def has_interval(self) -> bool:
        return not math.isnan(self.lower)


@dataclass(frozen=True, slots=True)
class _Fit:
    """An OLS line y = intercept + slope·(x − x̄) with what a prediction interval needs."""

    intercept: float
    slope: float
    x_mean: float
    sxx: float
    residual_sd: float
    n: int

    def predict(self, x: float) -> float:
        return self.intercept + self.slope * (x - self.x_mean)

    def half_width(self, x: float) -> float:
        """Half the 95 % prediction interval at x; NaN below three points."""
        if self.n < MIN_POINTS_FOR_INTERVAL:
            return math.nan
        spread = math.sqrt(1.0 + 1.0 / self.n + (x - self.x_mean) ** 2 / self.sxx)
        return t_critical_95(self.n - 2) * self.residual_sd * spread


def _clean(
    years: Sequence[int] | npt.ArrayLike, values: Sequence[float] | npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Drop not-reported years and sort by year."""
    x = np.asarray(years, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], y[keep][order]


def _ols(x: FloatArray, y: FloatArray) -> _Fit:
    x_mean = float(x.mean())
    centred = x - x_mean
    sxx = float(centred @ centred)
    slope = float(centred @ (y - y.mean())) / sxx
    intercept = float(y.mean())
    residuals = y - (intercept + slope * centred)
    dof = x.size - 2
    residual_sd = math.sqrt(float(residuals @ residuals) / dof) if dof > 0 else math.nan
    return _Fit(intercept, slope, x_mean, sxx, residual_sd, int(x.size))


def _clip(value: float, low: float, high: float) -> float:
    return value if math.isnan(value) else min(max(value, low), high)


def _bounds(plausible_min: float | None, plausible_max: float | None) -> tuple[float, float]:
    low = 0.0 if plausible_min is None or math.isnan(plausible_min) else max(0.0, plausible_min)
    high = math.inf if plausible_max is None or math.isnan(plausible_max) else plausible_max
    return low, high


def _missing(method: Method, x: FloatArray, target_year: int, note: str) -> Trend:
    return Trend(
        method=method,
        n_points=int(x.size),
        first_year=int(x[0]) if x.size else None,
        last_year=int(x[-1]) if x.size else None,
        target_year=target_year,
        value=math.nan,
        lower=math.nan,
        upper=math.nan,
        annual_change=math.nan,
        note=note,
    )


def project(
    years: Sequence[int] | npt.ArrayLike,
    values: Sequence[float] | npt.ArrayLike,
    method: Method = "linear",
    *,
    target_year: int = DEFAULT_TARGET_YEAR,
    plausible_min: float | None = None,
    plausible_max: float | None = None,
) -> Trend:
    """Project one series to ``target_year`` by the named method (see module docstring)."""
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; expected one of {METHODS}")
    x, y = _clean(years, values)
    if x.size < 2:
        return _missing(method, x, target_year, "fewer than two reported years: no trend")
    if np.unique(x).size < x.size:
        raise ValueError("a series may hold only one value per year")
    if method == "compound" and (y <= 0).any():
        return _missing(method, x, target_year, "compound growth needs every value above zero")
    fit = _ols(x, np.log(y) if method == "compound" else y)
    centre = fit.predict(target_year)
    half = fit.half_width(target_year)
    lower, upper = centre - half, centre + half
    if method == "compound":
        centre, lower, upper = math.exp(centre), math.exp(lower), math.exp(upper)
        change = math.exp(fit.slope) - 1.0
    else:
        change = fit.slope
    low, high = _bounds(plausible_min, plausible_max)
    clipped = [_clip(v, low, high) for v in (centre, lower, upper)]
    notes = []
    if x.size < MIN_POINTS_FOR_INTERVAL:
        notes.append("two points only: no uncertainty band")
    if clipped[0] != centre:
        notes.append("projection clipped to the plausible range")
    return Trend(
        method=method,
        n_points=int(x.size),
        first_year=int(x[0]),
        last_year=int(x[-1]),
        target_year=target_year,
        value=clipped[0],
        lower=clipped[1],
        upper=clipped[2],
        annual_change=change,
        note="; ".join(notes),
    )


SERIES_KEYS: Final[list[str]] = ["code", "data_point"]
META_COLUMNS: Final[tuple[str, ...]] = ("code", "data_point", "target", "direction")


def projection_table(
    series: pd.DataFrame,
    meta: pd.DataFrame,
    *,
    target_year: int = DEFAULT_TARGET_YEAR,
) -> pd.DataFrame:
    """Project every item's series by both methods, with band and SDG progress class.

    ``series`` has one city's values: code, data_point, year, value. ``meta`` gives per item
    target, direction and optionally value_type, plausible_min, plausible_max. The result has
    one row per item and method: code, data_point, method, n_points, first_year, last_year,
    latest_value, projected, lower, upper, annual_change, note, percent_of_target, band,
    band_label, progress.
    """
    missing = [name for name in META_COLUMNS if name not in meta.columns]
    if missing:
        raise ValueError(f"projection meta lacks column(s) {missing}")
    info = _item_info(meta)
    rows = []
    for (code, data_point), group in series.groupby(SERIES_KEYS, sort=True, observed=True):
        item = info.get((str(code), str(data_point)))
        if item is None:
            continue  # a value for an item the catalogue no longer holds is not projected
        latest = group.dropna(subset=["value"]).sort_values("year")["value"]
        for method in METHODS:
            trend = project(
                group["year"],
                group["value"],
                method,
                target_year=target_year,
                plausible_min=item["plausible_min"],
                plausible_max=item["plausible_max"],
            )
            rows.append(
                {
                    "code": code,
                    "data_point": data_point,
                    "method": method,
                    "n_points": trend.n_points,
                    "first_year": trend.first_year,
                    "last_year": trend.last_year,
                    "latest_value": float(latest.iloc[-1]) if len(latest) else math.nan,
                    "projected": trend.value,
                    "lower": trend.lower,
                    "upper": trend.upper,
                    "annual_change": trend.annual_change,
                    "note": trend.note,
                }
            )
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS[:12])
    if table.empty:
        return pd.DataFrame(columns=_TABLE_COLUMNS)
    return _with_band_and_progress(table, series, meta, target_year)


_TABLE_COLUMNS: Final[list[str]] = [
    "code",
    "data_point",
    "method",
    "n_points",
    "first_year",
    "last_year",
    "latest_value",
    "projected",
    "lower",
    "upper",
    "annual_change",
    "note",
    "percent_of_target",
    "band",
    "band_label",
    "progress",
]


def _item_info(meta: pd.DataFrame) -> dict[tuple[str, str], dict[str, float | None]]:
    info: dict[tuple[str, str], dict[str, float | None]] = {}
    for record in meta.to_dict("records"):
        info[(str(record["code"]), str(record["data_point"]))] = {
            "plausible_min": _optional_float(record.get("plausible_min")),
            "plausible_max": _optional_float(record.get("plausible_max")),
        }
    return info


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _with_band_and_progress(
    table: pd.DataFrame, series: pd.DataFrame, meta: pd.DataFrame, target_year: int
) -> pd.DataFrame:
    keyed = table.merge(
        meta.drop_duplicates(SERIES_KEYS), on=SERIES_KEYS, how="left", validate="many_to_one"
    )
    value_type = keyed["value_type"] if "value_type" in keyed.columns else None
    percent = percent_of_target(
        keyed["projected"].to_numpy(dtype=np.float64),
        keyed["target"].to_numpy(dtype=np.float64, na_value=np.nan),
        keyed["direction"].astype(str).to_numpy(),
        None if value_type is None else value_type.astype(str).to_numpy(),
    )
    points = band_of(percent)
    table = table.assign(
        percent_of_target=percent,
        band=points.astype(np.int64),
        band_label=np.asarray(band_labels(points).astype(object)),
    )
    progress = progress_table(
        series[[*SERIES_KEYS, "year", "value"]],
        meta[[*SERIES_KEYS, "target", "direction"]].drop_duplicates(SERIES_KEYS),
        target_year=target_year,
    )[[*SERIES_KEYS, "status"]].rename(columns={"status": "progress"})
    merged = table.merge(progress, on=SERIES_KEYS, how="left")
    return merged[_TABLE_COLUMNS]

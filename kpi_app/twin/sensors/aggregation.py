"""Coverage rules and annual values, following the usual air-quality reporting rules.

1. readings within one clock hour are averaged into an hourly value;
2. a **day is valid** when it has at least 18 of its 24 hourly values; its daily mean is the
   mean of those hourly values (uploads of daily values can say so and skip this step);
3. a **station counts** when at least 75 % of the days of the year are valid;
4. a station's annual mean is the mean of its valid daily means; the **city value** is the
   arithmetic mean of the annual means of the stations that count.

Sound levels (dB) are never averaged arithmetically: every mean above is an energy mean,
10·log10(mean(10^(L/10))). ``lden`` is derived from hourly ``LAeq`` with the Environmental
Noise Directive's penalties (+5 dB 19–23 h, +10 dB 23–07 h, local time) under the same
coverage rules. Day boundaries follow the chosen time zone (UTC by default). What each
parameter may say about a KPI is declared in :mod:`~kpi_app.twin.sensors.derivations`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from kpi_app.twin.sensors.derivations import EVIDENCE, PARAMETER_ITEMS, Derivation
from kpi_app.twin.sensors.parameters import (
    CANONICAL_UNIT,
    LDEN,
    MODEL_PARAMETERS,
    Scale,
    parameter_scale,
    parameter_unit,
)

Resolution = Literal["hourly", "daily"]
MIN_HOURS_PER_DAY: Final[int] = 18
MIN_DAY_SHARE: Final[float] = 0.75
LDEN_PENALTIES: Final[tuple[tuple[int, int, float], ...]] = ((7, 19, 0.0), (19, 23, 5.0))
NIGHT_PENALTY: Final[float] = 10.0


@dataclass(frozen=True, slots=True)
class StationYear:
    """One station's year for one parameter: coverage and annual mean.

    ``days_outside`` (parameters with a declared limit only): days of the year on which any
    reading fell outside the limit, valid days or not.
    """

    station: str
    observations: int
    valid_days: int
    days_in_year: int
    annual_mean: float
    days_outside: int | None = None

    @property
    def coverage(self) -> float:
        return self.valid_days / self.days_in_year

    @property
    def counts(self) -> bool:
        return self.coverage >= MIN_DAY_SHARE


@dataclass(frozen=True, slots=True)
class Evidence:
    """A derivation of kind ``evidence`` applied to one year: what was counted, among what."""

    derivation: Derivation
    matching: tuple[str, ...]
    counted: tuple[str, ...]

    def statement(self) -> str:
        return f"{self.derivation.label}: {len(self.matching)} of {len(self.counted)}"

    def to_dict(self) -> dict[str, Any]:
        d = self.derivation
        return {
            "code": d.code,
            "rule": d.rule,
            "label": d.label,
            "limits": d.limits,
            "reference": d.reference,
            "lower": d.lower,
            "upper": d.upper,
            "stations": len(self.counted),
            "matching": len(self.matching),
            "matching_stations": list(self.matching),
            "statement": self.statement(),
        }


@dataclass(frozen=True)
class SensorValue:
    """The annual statistic computed for one parameter, with its provenance."""

    parameter: str
    code: str | None
    data_point: str
    year: int
    resolution: Resolution
    stations: tuple[StationYear, ...] = field(default_factory=tuple)
    unit: str = CANONICAL_UNIT

    @property
    def scale(self) -> Scale:
        return parameter_scale(self.parameter)

    @property
    def label(self) -> str:
        """How the parameter is written: the model's attribute (LAeq, pH, NO3…), Lden, PM25…"""
        spec = MODEL_PARAMETERS.get(self.parameter)
        if spec is not None:
            return spec.label
        return "Lden" if self.parameter == LDEN else self.parameter.upper()

    @property
    def used(self) -> tuple[StationYear, ...]:
        return tuple(s for s in self.stations if s.counts)

    @property
    def value(self) -> float | None:
        """Mean of the annual means of the stations meeting coverage; None if none does.

        Sound levels have no city value: levels of different places do not average into
        anything a KPI asks for.
        """
        used = self.used
        if self.scale == "decibel" or not used:
            return None
        return sum(s.annual_mean for s in used) / len(used)

    @property
    def evidence(self) -> Evidence | None:
        """The declared evidence for a KPI, from the stations that meet coverage."""
        derivation = EVIDENCE.get(self.parameter)
        if derivation is None:
            return None
        used = self.used
        if derivation.rule == "stations_above":
            limit = derivation.upper if derivation.upper is not None else math.inf
            matching = [s.station for s in used if s.annual_mean > limit]
        else:
            matching = [s.station for s in used if s.days_outside == 0]
        return Evidence(derivation, tuple(matching), tuple(s.station for s in used))

    @property
    def method(self) -> str:
        daily = (
            f"daily means need {MIN_HOURS_PER_DAY} of 24 hourly values"
            if self.resolution == "hourly"
            else "daily values as uploaded"
        )
        coverage = f"a station counts with at least {MIN_DAY_SHARE:.0%} of days valid"
        if self.parameter == LDEN:
            return (
                f"Lden per day = energy mean of the hourly LAeq with +5 dB from 19 to 23 h and "
                f"+{NIGHT_PENALTY:.0f} dB from 23 to 7 h ({daily}); annual Lden = energy mean "
                f"of the valid days; {coverage}; levels are per station (no city mean)"
            )
        if self.scale == "decibel":
            return (
                f"annual energy mean (10·log10 of the mean of 10^(L/10)) of valid daily energy "
                f"means ({daily}); {coverage}; levels are per station (no city mean)"
            )
        return (
            f"annual mean of valid daily means ({daily}); {coverage}; "
            "city value = mean of counted stations"
        )

    def provenance(self, origin: str) -> str:
        """One line for the value's source field: origin, stations, days covered, method."""
        stations = ", ".join(
            f"{s.station} ({s.valid_days}/{s.days_in_year} days{'' if s.counts else ', excluded'})"
            for s in self.stations
        )
        return f"Sensor data {origin}, {self.year}: stations {stations}. Method: {self.method}."

    def to_dict(self) -> dict[str, Any]:
        evidence = self.evidence
        return {
            "parameter": self.parameter,
            "code": self.code,
            "data_point": self.data_point,
            "year": self.year,
            "resolution": self.resolution,
            "value": self.value,
            "unit": self.unit,
            "scale": self.scale,
            "method": self.method,
            "evidence": evidence.to_dict() if evidence is not None else None,
            "stations": [
                {
                    "station": s.station,
                    "observations": s.observations,
                    "valid_days": s.valid_days,
                    "days_in_year": s.days_in_year,
                    "coverage": round(s.coverage, 4),
                    "counts": s.counts,
                    "annual_mean": None if math.isnan(s.annual_mean) else s.annual_mean,
                    "days_outside": s.days_outside,
                }
                for s in self.stations
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensorValue:
        return cls(
            parameter=str(data["parameter"]),
            code=data.get("code"),
            data_point=str(data.get("data_point") or ""),
            year=int(data["year"]),
            resolution=data.get("resolution", "hourly"),
            stations=tuple(
                StationYear(
                    station=str(s["station"]),
                    observations=int(s["observations"]),
                    valid_days=int(s["valid_days"]),
                    days_in_year=int(s["days_in_year"]),
                    annual_mean=math.nan if s["annual_mean"] is None else float(s["annual_mean"]),
                    days_outside=s.get("days_outside"),
                )
                for s in data.get("stations", [])
            ),
            unit=str(data.get("unit") or CANONICAL_UNIT),
        )


def days_in_year(year: int) -> int:
    return 366 if pd.Timestamp(year=year, month=12, day=31).day_of_year == 366 else 365


def daily_means(
    observations: pd.DataFrame, *, resolution: Resolution = "hourly", timezone: str = "UTC"
) -> pd.DataFrame:
    """Daily means per station and parameter with the hours behind each and a validity flag.

    ``low`` and ``high`` are the day's smallest and largest reading (for declared limits).
    """
    local = observations["timestamp"].dt.tz_convert(timezone)
    frame = observations.assign(day=local.dt.tz_localize(None).dt.normalize())
    if resolution == "daily":
        daily = frame.groupby(["station", "parameter", "day"], observed=True)["value"].agg(
            ["mean", "size", "min", "max"]
        )
        daily = daily.rename(columns={"size": "readings", "min": "low", "max": "high"})
        return daily.assign(hours=24, valid=True).reset_index()
    frame = frame.assign(hour=local.dt.tz_localize(None).dt.floor("h"))
    hourly = frame.groupby(["station", "parameter", "day", "hour"], observed=True)["value"].agg(
        ["mean", "size", "min", "max"]
    )
    daily = hourly.groupby(level=["station", "parameter", "day"], observed=True).agg(
        mean=("mean", "mean"),
        hours=("mean", "size"),
        readings=("size", "sum"),
        low=("min", "min"),
        high=("max", "max"),
    )
    return daily.assign(valid=daily["hours"] >= MIN_HOURS_PER_DAY).reset_index()


def _to_energy(levels: pd.Series) -> pd.Series:
    return 10.0 ** (levels / 10.0)


def _to_level(energy: float) -> float:
    return 10.0 * math.log10(energy) if energy > 0 else math.nan


def _aggregation_frame(observations: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The readings that are aggregated, sound levels as energies, plus derived Lden rows."""
    parameters = observations["parameter"]
    skipped = {p for p, spec in MODEL_PARAMETERS.items() if not spec.aggregated}
    frame = observations.loc[~parameters.isin(skipped).to_numpy()]
    decibel = frame["parameter"].map(parameter_scale) == "decibel"
    if not decibel.any():
        return frame
    frame = frame.assign(value=frame["value"].where(~decibel, _to_energy(frame["value"])))
    laeq = frame.loc[(frame["parameter"] == "laeq").to_numpy()]
    if laeq.empty:
        return frame
    hours = laeq["timestamp"].dt.tz_convert(timezone).dt.hour
    penalty = pd.Series(NIGHT_PENALTY, index=laeq.index)
    for first, last, extra in LDEN_PENALTIES:
        penalty[(hours >= first) & (hours < last)] = extra
    lden = laeq.assign(
        parameter=LDEN, unit="dB", value=laeq["value"] * np.power(10.0, penalty / 10)
    )
    return pd.concat([frame, lden], ignore_index=True)


def annual_values(
    observations: pd.DataFrame,
    year: int,
    *,
    resolution: Resolution = "hourly",
    timezone: str = "UTC",
) -> list[SensorValue]:
    """One :class:`SensorValue` per aggregated parameter observed in ``year`` (module docstring)."""
    frame = _aggregation_frame(observations, timezone)
    daily = daily_means(frame, resolution=resolution, timezone=timezone)
    daily = daily.loc[(daily["day"].dt.year == year).to_numpy()]
    total_days = days_in_year(year)
    results = []
    for parameter, group in daily.groupby("parameter", sort=True):
        name = str(parameter)
        stations = tuple(
            _station_year(str(station), rows, total_days, name)
            for station, rows in group.groupby("station", sort=True)
        )
        # ``code`` names the KPI item the value *is*; evidence keeps its KPI in ``evidence``.
        code, data_point = PARAMETER_ITEMS.get(name, (None, ""))
        results.append(
            SensorValue(name, code, data_point, year, resolution, stations, parameter_unit(name))
        )
    return results


def _station_year(station: str, rows: pd.DataFrame, total_days: int, parameter: str) -> StationYear:
    valid = rows.loc[rows["valid"].to_numpy(dtype=bool)]
    mean = float(valid["mean"].mean()) if len(valid) else math.nan
    if parameter_scale(parameter) == "decibel":
        mean = _to_level(mean) if len(valid) else math.nan
    derivation = EVIDENCE.get(parameter)
    outside = None
    if derivation is not None and derivation.rule == "stations_within":
        beyond = pd.Series(False, index=rows.index)
        if derivation.lower is not None:
            beyond |= rows["low"] < derivation.lower
        if derivation.upper is not None:
            beyond |= rows["high"] > derivation.upper
        outside = int(beyond.sum())
    return StationYear(
        station=station,
        observations=int(rows["readings"].sum()),
        valid_days=len(valid),
        days_in_year=total_days,
        annual_mean=mean,
        days_outside=outside,
    )


def kpi_values(results: Iterable[SensorValue]) -> list[SensorValue]:
    """Only the results that are a KPI item's value and have one (evidence never is)."""
    return [
        r
        for r in results
        if r.code is not None and r.value is not None and r.parameter in PARAMETER_ITEMS
    ]

"""Sensor-fed KPIs: parse observation uploads, check coverage, compute the annual KPI value.

Two upload shapes are read into one tidy *observations* frame (timestamp in UTC, station,
parameter, value, unit), values converted to µg/m³:

* CSV with the columns timestamp, station, parameter (or pollutant), value, unit;
* NGSI-LD entities of type ``AirQualityObserved`` (FIWARE smart data model), normalised or
  key-value form; a pollutant property may carry ``unitCode`` (UN/CEFACT: GQ = µg/m³,
  GP = mg/m³, 61 = ppb, 59 = ppm) and ``observedAt``, or be a list of such instances.

Gas concentrations given in ppb/ppm are converted with the EU reference conditions
(20 °C, 101.3 kPa): 1 ppb NO2 = 1.91 µg/m³, SO2 = 2.66 µg/m³, O3 = 2.00 µg/m³, CO = 1.16 µg/m³.

Annual value, following the usual air-quality reporting rules:

1. readings within one clock hour are averaged into an hourly value;
2. a **day is valid** when it has at least 18 of its 24 hourly values; its daily mean is the
   mean of those hourly values (uploads of daily values can say so and skip this step);
3. a **station counts** when at least 75 % of the days of the year are valid;
4. a station's annual mean is the mean of its valid daily means; the **city value** is the
   arithmetic mean of the annual means of the stations that count.

Day boundaries follow the chosen time zone (UTC by default); timestamps without an offset are
read as local time in that zone. Negative readings are rejected as sensor faults.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

CANONICAL_UNIT: Final[str] = "µg/m³"
Resolution = Literal["hourly", "daily"]
MIN_HOURS_PER_DAY: Final[int] = 18
MIN_DAY_SHARE: Final[float] = 0.75
MAX_PROBLEMS_LISTED: Final[int] = 20

#: Parameter spellings (lower case, without spaces, dots and underscores) to parameter ids.
PARAMETER_ALIASES: Final[dict[str, str]] = {
    "pm25": "pm25",
    "pm2,5": "pm25",
    "pm10": "pm10",
    "no2": "no2",
    "nitrogendioxide": "no2",
    "so2": "so2",
    "sulphurdioxide": "so2",
    "sulfurdioxide": "so2",
    "o3": "o3",
    "ozone": "o3",
    "co": "co",
}
#: Parameters that feed a KPI item: the U4SSC air pollution KPI and its data points.
PARAMETER_ITEMS: Final[dict[str, tuple[str, str]]] = {
    "pm25": ("EN: EN: AQ: 1C", "pm25"),
    "pm10": ("EN: EN: AQ: 1C", "pm10"),
    "no2": ("EN: EN: AQ: 1C", "no2"),
    "so2": ("EN: EN: AQ: 1C", "so2"),
    "o3": ("EN: EN: AQ: 1C", "o3"),
}
#: µg/m³ per ppb at 20 °C and 101.3 kPa (EU air-quality reference conditions).
PPB_TO_UG: Final[dict[str, float]] = {"no2": 1.91, "so2": 2.66, "o3": 2.00, "co": 1.16}
#: Unit spellings (lower case, no spaces) to the factor that turns them into µg/m³, or the
#: marker "ppb" when a molecular conversion is needed.
UNIT_FACTORS: Final[dict[str, float | str]] = {
    "µg/m³": 1.0,
    "µg/m3": 1.0,
    "μg/m³": 1.0,
    "μg/m3": 1.0,
    "ug/m³": 1.0,
    "ug/m3": 1.0,
    "gq": 1.0,
    "mg/m³": 1000.0,
    "mg/m3": 1000.0,
    "gp": 1000.0,
    "ppb": "ppb",
    "61": "ppb",
    "ppm": "ppm",
    "59": "ppm",
}
CSV_ALIASES: Final[dict[str, str]] = {
    "timestamp": "timestamp",
    "time": "timestamp",
    "datetime": "timestamp",
    "dateobserved": "timestamp",
    "station": "station",
    "stationid": "station",
    "site": "station",
    "parameter": "parameter",
    "pollutant": "parameter",
    "value": "value",
    "concentration": "value",
    "unit": "unit",
    "units": "unit",
}
OBSERVATION_COLUMNS: Final[list[str]] = ["timestamp", "station", "parameter", "value", "unit"]
NGSI_TYPE: Final[str] = "AirQualityObserved"


@dataclass(frozen=True)
class Observations:
    """Parsed observations plus every problem found (row-numbered for CSV uploads)."""

    frame: pd.DataFrame
    problems: tuple[str, ...] = ()
    rejected: int = 0


def _squash(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " ._-")


def normalise_parameter(name: str) -> str | None:
    return PARAMETER_ALIASES.get(_squash(name).replace("pm2,5", "pm25"))


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "station": pd.Series([], dtype=object),
            "parameter": pd.Series([], dtype=object),
            "value": pd.Series([], dtype=np.float64),
            "unit": pd.Series([], dtype=object),
        }
    )


def parse_csv(text: str, *, timezone: str = "UTC") -> Observations:
    """Read a CSV upload (see module docstring); rows that fail are listed, not fatal."""
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return Observations(_empty_frame(), (f"the file is not readable as CSV: {error}",), 0)
    renamed = {column: CSV_ALIASES.get(_squash(column), column) for column in raw.columns}
    raw = raw.rename(columns=renamed)
    missing = [c for c in OBSERVATION_COLUMNS if c not in raw.columns]
    if missing:
        return Observations(_empty_frame(), (f"missing column(s): {', '.join(missing)}",), len(raw))
    # Row numbers as a spreadsheet shows them: the header is row 1.
    rows = pd.Series(np.arange(2, len(raw) + 2), index=raw.index)
    return _validated(raw[OBSERVATION_COLUMNS], rows.astype(str).radd("row "), timezone)


def _validated(raw: pd.DataFrame, where: pd.Series, timezone: str) -> Observations:
    """Turn string columns into typed observations; collect a problem per rejected row."""
    timestamps = _timestamps(raw["timestamp"].astype(str), timezone)
    parameters = raw["parameter"].astype(str).map(lambda p: normalise_parameter(p) or "")
    values = pd.to_numeric(raw["value"], errors="coerce").astype(np.float64)
    factors = _unit_factors(parameters, raw["unit"].astype(str))
    stations = raw["station"].astype(str).str.strip()
    checks = [
        (timestamps.isna(), "timestamp is not a date and time"),
        (stations == "", "station is empty"),
        (parameters == "", "parameter is not one of PM2.5, PM10, NO2, SO2, O3, CO"),
        (values.isna(), "value is not a number"),
        (values < 0, "value is negative (sensor fault)"),
        (factors.isna() & (parameters != ""), "unit is not a known concentration unit"),
    ]
    problems: list[str] = []
    bad = pd.Series(False, index=raw.index)
    for mask, message in checks:
        fresh = mask.fillna(False) & ~bad
        problems += [f"{w}: {message}" for w in where[fresh]]
        bad |= mask.fillna(False)
    listed = problems[:MAX_PROBLEMS_LISTED]
    if len(problems) > MAX_PROBLEMS_LISTED:
        listed.append(f"… and {len(problems) - MAX_PROBLEMS_LISTED} more rejected rows")
    good = ~bad
    frame = pd.DataFrame(
        {
            "timestamp": timestamps[good],
            "station": stations[good],
            "parameter": parameters[good],
            "value": (values * factors)[good],
            "unit": CANONICAL_UNIT,
        }
    ).reset_index(drop=True)
    return Observations(frame, tuple(listed), int(bad.sum()))


def _timestamps(text: pd.Series, timezone: str) -> pd.Series:
    """UTC timestamps; strings without an offset are local time in ``timezone``."""
    text = text.str.strip()
    aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
        result[aware] = parsed.astype("datetime64[ns, UTC]")
    naive = ~aware
    if naive.any():
        parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        local = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        result[naive] = local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return result


def _unit_factors(parameters: pd.Series, units: pd.Series) -> pd.Series:
    """µg/m³ per unit of the given value, NaN where the unit is unknown or unusable."""
    keys = units.str.strip().str.lower().str.replace(" ", "", regex=False)
    factors = np.full(len(keys), np.nan)
    for position, (parameter, unit) in enumerate(zip(parameters, keys, strict=True)):
        factors[position] = _factor(parameter, unit)
    return pd.Series(factors, index=units.index)


def _factor(parameter: str, unit: str) -> float:
    factor = UNIT_FACTORS.get(unit)
    if isinstance(factor, float):
        return factor
    if factor in ("ppb", "ppm") and parameter in PPB_TO_UG:
        return PPB_TO_UG[parameter] * (1000.0 if factor == "ppm" else 1.0)
    return math.nan  # unknown unit, or ppb for particles (which have no molar mass)


def parse_ngsi_ld(payload: str | bytes, *, timezone: str = "UTC") -> Observations:
    """Read NGSI-LD ``AirQualityObserved`` entities (a list, one entity, or {"entities": []})."""
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Observations(_empty_frame(), (f"the file is not valid JSON: {error}",), 0)
    entities = data.get("entities", [data]) if isinstance(data, dict) else data
    if not isinstance(entities, list):
        return Observations(_empty_frame(), ("expected a list of NGSI-LD entities",), 0)
    records: list[dict[str, str]] = []
    problems: list[str] = []
    for position, entity in enumerate(entities, start=1):
        records += _entity_records(entity, f"entity {position}", problems)
    if not records:
        return Observations(_empty_frame(), tuple(problems or ["no observations found"]), 0)
    raw = pd.DataFrame(records)
    checked = _validated(raw[OBSERVATION_COLUMNS], raw["where"], timezone)
    return Observations(
        checked.frame, tuple(problems) + checked.problems, checked.rejected + len(problems)
    )


def _entity_records(entity: Any, where: str, problems: list[str]) -> list[dict[str, str]]:
    if not isinstance(entity, Mapping):
        problems.append(f"{where}: not a JSON object")
        return []
    entity_type = str(entity.get("type", ""))
    if entity_type.rsplit("/", 1)[-1].rsplit("#", 1)[-1] != NGSI_TYPE:
        problems.append(f"{where}: type {entity_type!r} is not {NGSI_TYPE}")
        return []
    station = _station(entity)
    observed = _plain(entity.get("dateObserved"))
    records = []
    for key, prop in entity.items():
        if normalise_parameter(key) is None:
            continue
        for instance in prop if isinstance(prop, list) else [prop]:
            value, unit, at = _measurement(instance)
            records.append(
                {
                    "timestamp": str(at or observed or ""),
                    "station": station,
                    "parameter": key,
                    "value": str(value),
                    "unit": unit or CANONICAL_UNIT,
                    "where": f"{where} ({key})",
                }
            )
    return records


def _plain(prop: Any) -> Any:
    """The value of a Property, accepting key-value form and typed DateTime values."""
    if isinstance(prop, Mapping):
        inner = prop.get("value", prop.get("object"))
        if isinstance(inner, Mapping):
            return inner.get("@value")
        return inner
    return prop


def _station(entity: Mapping[str, Any]) -> str:
    for key in ("refDevice", "refPointOfInterest", "name"):
        found = _plain(entity.get(key))
        if found:
            return str(found)
    return str(entity.get("id", ""))


def _measurement(instance: Any) -> tuple[Any, str | None, str | None]:
    if isinstance(instance, Mapping):
        return instance.get("value"), instance.get("unitCode"), instance.get("observedAt")
    return instance, None, None


# --------------------------------------------------------------------------------------------
# Coverage and annual values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationYear:
    """One station's year for one parameter: coverage and annual mean."""

    station: str
    observations: int
    valid_days: int
    days_in_year: int
    annual_mean: float

    @property
    def coverage(self) -> float:
        return self.valid_days / self.days_in_year

    @property
    def counts(self) -> bool:
        return self.coverage >= MIN_DAY_SHARE


@dataclass(frozen=True)
class SensorValue:
    """The annual KPI value computed for one parameter, with its provenance."""

    parameter: str
    code: str | None
    data_point: str
    year: int
    resolution: Resolution
    stations: tuple[StationYear, ...] = field(default_factory=tuple)

    @property
    def used(self) -> tuple[StationYear, ...]:
        return tuple(s for s in self.stations if s.counts)

    @property
    def value(self) -> float | None:
        """Mean of the annual means of the stations meeting coverage; None if none does."""
        used = self.used
        return sum(s.annual_mean for s in used) / len(used) if used else None

    @property
    def unit(self) -> str:
        return CANONICAL_UNIT

    @property
    def method(self) -> str:
        daily = (
            f"daily means need {MIN_HOURS_PER_DAY} of 24 hourly values"
            if self.resolution == "hourly"
            else "daily values as uploaded"
        )
        return (
            f"annual mean of valid daily means ({daily}); a station counts with at least "
            f"{MIN_DAY_SHARE:.0%} of days valid; city value = mean of counted stations"
        )

    def provenance(self, origin: str) -> str:
        """One line for the value's source field: origin, stations, days covered, method."""
        stations = ", ".join(
            f"{s.station} ({s.valid_days}/{s.days_in_year} days{'' if s.counts else ', excluded'})"
            for s in self.stations
        )
        return f"Sensor data {origin}, {self.year}: stations {stations}. Method: {self.method}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "code": self.code,
            "data_point": self.data_point,
            "year": self.year,
            "resolution": self.resolution,
            "value": self.value,
            "unit": self.unit,
            "method": self.method,
            "stations": [
                {
                    "station": s.station,
                    "observations": s.observations,
                    "valid_days": s.valid_days,
                    "days_in_year": s.days_in_year,
                    "coverage": round(s.coverage, 4),
                    "counts": s.counts,
                    "annual_mean": None if math.isnan(s.annual_mean) else s.annual_mean,
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
                )
                for s in data.get("stations", [])
            ),
        )


def days_in_year(year: int) -> int:
    return 366 if pd.Timestamp(year=year, month=12, day=31).day_of_year == 366 else 365


def daily_means(
    observations: pd.DataFrame, *, resolution: Resolution = "hourly", timezone: str = "UTC"
) -> pd.DataFrame:
    """Daily means per station and parameter with the hours behind each and a validity flag."""
    local = observations["timestamp"].dt.tz_convert(timezone)
    frame = observations.assign(day=local.dt.tz_localize(None).dt.normalize())
    if resolution == "daily":
        daily = frame.groupby(["station", "parameter", "day"], observed=True)["value"].agg(
            ["mean", "size"]
        )
        return daily.rename(columns={"size": "readings"}).assign(hours=24, valid=True).reset_index()
    frame = frame.assign(hour=local.dt.tz_localize(None).dt.floor("h"))
    hourly = frame.groupby(["station", "parameter", "day", "hour"], observed=True)["value"].agg(
        ["mean", "size"]
    )
    daily = hourly.groupby(level=["station", "parameter", "day"], observed=True).agg(
        mean=("mean", "mean"), hours=("mean", "size"), readings=("size", "sum")
    )
    return daily.assign(valid=daily["hours"] >= MIN_HOURS_PER_DAY).reset_index()


def annual_values(
    observations: pd.DataFrame,
    year: int,
    *,
    resolution: Resolution = "hourly",
    timezone: str = "UTC",
) -> list[SensorValue]:
    """One :class:`SensorValue` per parameter observed in ``year`` (see module docstring)."""
    daily = daily_means(observations, resolution=resolution, timezone=timezone)
    daily = daily.loc[(daily["day"].dt.year == year).to_numpy()]
    total_days = days_in_year(year)
    results = []
    for parameter, group in daily.groupby("parameter", sort=True):
        stations = tuple(
            _station_year(str(station), rows, total_days)
            for station, rows in group.groupby("station", sort=True)
        )
        code, data_point = PARAMETER_ITEMS.get(str(parameter), (None, ""))
        results.append(SensorValue(str(parameter), code, data_point, year, resolution, stations))
    return results


def _station_year(station: str, rows: pd.DataFrame, total_days: int) -> StationYear:
    valid = rows.loc[rows["valid"].to_numpy(dtype=bool)]
    return StationYear(
        station=station,
        observations=int(rows["readings"].sum()),
        valid_days=len(valid),
        days_in_year=total_days,
        annual_mean=float(valid["mean"].mean()) if len(valid) else math.nan,
    )


# --------------------------------------------------------------------------------------------
# Context-broker notifications (NGSI-LD): strict, per entity, all or nothing
# --------------------------------------------------------------------------------------------

NOTIFICATION_TYPE: Final[str] = "Notification"


@dataclass(frozen=True)
class EntityProblem:
    """Why one entity of a notification was refused (position from 1, its id if it has one)."""

    index: int
    entity_id: str | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.entity_id, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Notification:
    """A parsed broker notification: its ids, observations (with entity ids) and problems.

    ``frame`` has the observation columns plus ``entity_id`` and ``entity_type``; it is only
    meaningful when ``problems`` and ``entity_problems`` are both empty (all or nothing).
    """

    notification_id: str
    subscription_id: str
    notified_at: str | None
    frame: pd.DataFrame
    problems: tuple[str, ...] = ()
    entity_problems: tuple[EntityProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.entity_problems


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_notification(payload: Any, *, timezone: str = "UTC") -> Notification:
    """Check an NGSI-LD notification of ``AirQualityObserved`` entities, entity by entity.

    Every reading needs a number (not negative), a known unit and a time (``observedAt`` of
    the property or the entity's ``dateObserved``). A notification with any problem yields
    its reasons and is meant to be refused as a whole.
    """
    if not isinstance(payload, Mapping):
        return Notification("", "", None, _empty_frame(), ("the body is not a JSON object",))
    problems: list[str] = []
    notification_id = _text(payload.get("id"))
    subscription_id = _text(payload.get("subscriptionId"))
    if payload.get("type") != NOTIFICATION_TYPE:
        problems.append(f"type must be {NOTIFICATION_TYPE!r}")
    if notification_id is None:
        problems.append("id (the notification's id) is missing")
    if subscription_id is None:
        problems.append("subscriptionId is missing")
    data = payload.get("data")
    if not isinstance(data, list) or not data:
        problems.append("data must be a non-empty list of entities")
        data = []
    frames: list[pd.DataFrame] = []
    refused: list[EntityProblem] = []
    for index, entity in enumerate(data, start=1):
        entity_id = _text(entity.get("id")) if isinstance(entity, Mapping) else None
        reasons: list[str] = []
        if isinstance(entity, Mapping) and entity_id is None:
            reasons.append("id is missing")
        records = _entity_records(entity, "entity", reasons)
        reasons = [r.removeprefix("entity: ") for r in reasons]
        if not records and not reasons:
            reasons.append("no pollutant property (PM2.5, PM10, NO2, SO2, O3, CO)")
        if records:
            raw = pd.DataFrame(records)
            raw["where"] = raw["where"].str.replace("entity (", "", regex=False).str.rstrip(")")
            checked = _validated(raw[OBSERVATION_COLUMNS], raw["where"], timezone)
            reasons += list(checked.problems)
            if not reasons:
                frames.append(
                    checked.frame.assign(
                        entity_id=entity_id, entity_type=NGSI_TYPE, station=_station(entity)
                    )
                )
        if reasons:
            refused.append(EntityProblem(index, entity_id, tuple(reasons)))
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else _empty_frame().assign(entity_id=pd.Series([], dtype=object), entity_type="")
    )
    return Notification(
        notification_id or "",
        subscription_id or "",
        _text(payload.get("notifiedAt")),
        frame,
        tuple(problems),
        tuple(refused),
    )

"""Read observation uploads into one tidy frame (timestamp in UTC, station, parameter, value, unit).

Two upload shapes are read, each value converted to its parameter's unit (see
:mod:`~kpi_app.twin.sensors.parameters`):

* CSV with the columns timestamp, station, parameter (or pollutant), value, unit;
* NGSI-LD entities of the Smart Data Models types ``AirQualityObserved``,
  ``NoiseLevelObserved`` (dataModel.Environment) and ``WaterQualityObserved``
  (dataModel.WaterQuality), normalised or key-value form, with the models' own attribute
  names; a measured property may carry ``unitCode`` (UN/CEFACT: GQ = µg/m³, GP = mg/m³,
  61 = ppb, 59 = ppm, 2N = dB, M1 = mg/l, G42 = µS/cm, D10 = S/m, …) and ``observedAt``, or
  be a list of such instances. Without ``unitCode`` a reading is in the model's default unit.

Timestamps without an offset are read as local time in the chosen zone (UTC by default).
Negative readings, and readings above a parameter's largest possible one, are rejected as
sensor faults; every rejected row is listed (up to :data:`MAX_PROBLEMS_LISTED`), not fatal.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from kpi_app.twin.sensors.parameters import (
    AIR_PARAMETERS,
    CANONICAL_UNIT,
    MODEL_PARAMETERS,
    NGSI_TYPES,
    NOISE_TYPE,
    PPB_TO_UG,
    TYPE_PARAMETERS,
    UNIT_FACTORS,
    _short_type,
    _squash,
    normalise_parameter,
    parameter_unit,
)

MAX_PROBLEMS_LISTED: Final[int] = 20
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


@dataclass(frozen=True)
class Observations:
    """Parsed observations plus every problem found (row-numbered for CSV uploads)."""

    frame: pd.DataFrame
    problems: tuple[str, ...] = ()
    rejected: int = 0


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


def _checked(raw: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, pd.Series, list[Any]]:
    """Type every row; the rejected rows and one (row label, message) per rejected row."""
    timestamps = _timestamps(raw["timestamp"].astype(str), timezone)
    parameters = raw["parameter"].astype(str).map(lambda p: normalise_parameter(p) or "")
    values = pd.to_numeric(raw["value"], errors="coerce").astype(np.float64)
    factors = _unit_factors(parameters, raw["unit"].astype(str))
    stations = raw["station"].astype(str).str.strip()
    maxima = parameters.map(
        lambda p: MODEL_PARAMETERS[p].maximum if p in MODEL_PARAMETERS else None
    ).astype(np.float64)
    converted = values * factors
    checks = [
        (timestamps.isna(), "timestamp is not a date and time"),
        (stations == "", "station is empty"),
        (
            parameters == "",
            "parameter is not one of PM2.5, PM10, NO2, SO2, O3, CO (air), LAeq, LAeq_d, LAmax, "
            "LAS (noise), pH, conductivity, turbidity, O2, NO3, escherichiaColi (water)",
        ),
        (values.isna() | np.isinf(values), "value is not a number"),
        (values < 0, "value is negative (sensor fault)"),
        (factors.isna() & (parameters != ""), "unit is not a known unit for this parameter"),
        (converted > maxima, "value is above the largest possible reading (sensor fault)"),
    ]
    problems: list[Any] = []
    bad = pd.Series(False, index=raw.index)
    for mask, message in checks:
        fresh = mask.fillna(False) & ~bad
        problems += [(label, message) for label in raw.index[fresh.to_numpy(dtype=bool)]]
        bad |= mask.fillna(False)
    frame = pd.DataFrame(
        {
            "timestamp": timestamps,
            "station": stations,
            "parameter": parameters,
            "value": converted,
            "unit": parameters.map(parameter_unit),
        }
    )
    return frame, bad, problems


def _listed(problems: list[str]) -> list[str]:
    listed = problems[:MAX_PROBLEMS_LISTED]
    if len(problems) > MAX_PROBLEMS_LISTED:
        listed.append(f"… and {len(problems) - MAX_PROBLEMS_LISTED} more rejected rows")
    return listed


def _validated(raw: pd.DataFrame, where: pd.Series, timezone: str) -> Observations:
    """Turn string columns into typed observations; collect a problem per rejected row."""
    frame, bad, problems = _checked(raw, timezone)
    listed = _listed([f"{where[label]}: {message}" for label, message in problems])
    good = frame.loc[~bad.to_numpy(dtype=bool)].reset_index(drop=True)
    return Observations(good, tuple(listed), int(bad.sum()))


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
    spec = MODEL_PARAMETERS.get(parameter)
    if spec is not None:
        return spec.units.get(unit, math.nan)
    if parameter not in AIR_PARAMETERS:
        return math.nan
    factor = UNIT_FACTORS.get(unit)
    if isinstance(factor, float):
        return factor
    if factor in ("ppb", "ppm") and parameter in PPB_TO_UG:
        return PPB_TO_UG[parameter] * (1000.0 if factor == "ppm" else 1.0)
    return math.nan  # unknown unit, or ppb for particles (which have no molar mass)


def parse_ngsi_ld(payload: str | bytes, *, timezone: str = "UTC") -> Observations:
    """Read NGSI-LD entities of the :data:`NGSI_TYPES` (a list, one entity, or {"entities": []})."""
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


def _entity_records(entity: Any, where: str, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(entity, Mapping):
        problems.append(f"{where}: not a JSON object")
        return []
    entity_type = str(entity.get("type", ""))
    short = _short_type(entity_type)
    if short not in NGSI_TYPES:
        problems.append(
            f"{where}: type {entity_type!r} is not {', '.join(NGSI_TYPES[:-1])} or {NGSI_TYPES[-1]}"
        )
        return []
    station = _station(entity)
    observed = _observed(entity, short)
    records = []
    for key, prop in entity.items():
        parameter = normalise_parameter(key)
        if parameter is None or parameter not in TYPE_PARAMETERS[short]:
            continue
        spec = MODEL_PARAMETERS.get(parameter)
        default = spec.default_unit if spec is not None else CANONICAL_UNIT
        for instance in prop if isinstance(prop, list) else [prop]:
            value, unit, at = _measurement(instance)
            records.append(
                {
                    "timestamp": str(at or observed or ""),
                    "station": station,
                    "parameter": key,
                    "value": str(value),
                    "unit": str(unit) if unit else default,
                    "where": f"{where} ({key})",
                }
            )
    return records


def _observed(entity: Mapping[str, Any], entity_type: str) -> Any:
    """The entity's own time: a noise level's period start, else ``dateObserved``.

    ``dateObserved`` may be an ISO 8601 interval (``start/end``); its start is used, so that
    a level measured from 11:00 to 12:00 falls in the 11 o'clock hour.
    """
    keys = ("dateObservedFrom", "dateObserved") if entity_type == NOISE_TYPE else ("dateObserved",)
    for key in keys:
        found = _plain(entity.get(key))
        if isinstance(found, str) and found.strip():
            return found.split("/", 1)[0]
    return None


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

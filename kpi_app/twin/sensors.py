"""Sensor-fed KPIs: parse observation uploads, check coverage, compute the annual KPI value.

Two upload shapes are read into one tidy *observations* frame (timestamp in UTC, station,
parameter, value, unit), each value converted to its parameter's unit (µg/m³ for air
pollutants, dB for sound levels, the units of :data:`MODEL_PARAMETERS` for water quality):

* CSV with the columns timestamp, station, parameter (or pollutant), value, unit;
* NGSI-LD entities of the Smart Data Models types ``AirQualityObserved``,
  ``NoiseLevelObserved`` (dataModel.Environment) and ``WaterQualityObserved``
  (dataModel.WaterQuality), normalised or key-value form, with the models' own attribute
  names; a measured property may carry ``unitCode`` (UN/CEFACT: GQ = µg/m³, GP = mg/m³,
  61 = ppb, 59 = ppm, 2N = dB, M1 = mg/l, G42 = µS/cm, D10 = S/m, …) and ``observedAt``, or
  be a list of such instances. Without ``unitCode`` a reading is in the model's default unit.

Gas concentrations given in ppb/ppm are converted with the EU reference conditions
(20 °C, 101.3 kPa): 1 ppb NO2 = 1.91 µg/m³, SO2 = 2.66 µg/m³, O3 = 2.00 µg/m³, CO = 1.16 µg/m³.

Annual value, following the usual air-quality reporting rules:

1. readings within one clock hour are averaged into an hourly value;
2. a **day is valid** when it has at least 18 of its 24 hourly values; its daily mean is the
   mean of those hourly values (uploads of daily values can say so and skip this step);
3. a **station counts** when at least 75 % of the days of the year are valid;
4. a station's annual mean is the mean of its valid daily means; the **city value** is the
   arithmetic mean of the annual means of the stations that count.

Sound levels (dB) are never averaged arithmetically: every mean above is an energy mean,
10·log10(mean(10^(L/10))). ``lden`` is derived from hourly ``LAeq`` with the Environmental
Noise Directive's penalties (+5 dB 19–23 h, +10 dB 23–07 h, local time) under the same
coverage rules. What each parameter may say about a KPI is declared in :data:`DERIVATIONS`.

Day boundaries follow the chosen time zone (UTC by default); timestamps without an offset are
read as local time in that zone. Negative readings are rejected as sensor faults.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping
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
NOISE_TYPE: Final[str] = "NoiseLevelObserved"
WATER_TYPE: Final[str] = "WaterQualityObserved"
#: The Smart Data Models entity types read, in the order the messages name them.
NGSI_TYPES: Final[tuple[str, ...]] = (NGSI_TYPE, NOISE_TYPE, WATER_TYPE)
AIR_PARAMETERS: Final[frozenset[str]] = frozenset(PARAMETER_ALIASES.values())
Scale = Literal["linear", "decibel"]


@dataclass(frozen=True, slots=True)
class ModelParameter:
    """A measured attribute of NoiseLevelObserved or WaterQualityObserved, as the model names it.

    ``units`` maps accepted unit spellings and UN/CEFACT codes (lower case, no spaces) to the
    factor turning a reading into ``unit``; ``default_unit`` is the model's unit, assumed when
    a reading names none. ``aggregated`` is False for attributes that are stored with their
    provenance but have no defensible annual statistic (maxima, levels of undefined period).
    """

    id: str
    entity_type: str
    attribute: str
    label: str
    unit: str
    units: Mapping[str, float]
    default_unit: str
    scale: Scale = "linear"
    aggregated: bool = True
    maximum: float | None = None


_DB: Final[dict[str, float]] = {"db": 1.0, "db(a)": 1.0, "dba": 1.0, "2n": 1.0}
_MG_L: Final[dict[str, float]] = {"mg/l": 1.0, "m1": 1.0, "g/m³": 1.0, "g/m3": 1.0}
_PER_100ML: Final[dict[str, float]] = {
    "/100ml": 1.0,
    "cfu/100ml": 1.0,
    "mpn/100ml": 1.0,
    "count/100ml": 1.0,
}
#: NoiseLevelObserved (dataModel.Environment) and WaterQualityObserved (dataModel.WaterQuality)
#: attributes read, keyed by parameter id. Default units are the models' documented ones
#: (conductivity S/m, turbidity FTU, concentrations mg/l, bacteria per 100 ml).
MODEL_PARAMETERS: Final[dict[str, ModelParameter]] = {
    p.id: p
    for p in (
        ModelParameter("laeq", NOISE_TYPE, "LAeq", "LAeq", "dB", _DB, "db", "decibel", True, 200),
        ModelParameter(
            "laeq_d", NOISE_TYPE, "LAeq_d", "LAeq,d", "dB", _DB, "db", "decibel", False, 200
        ),
        ModelParameter(
            "lamax", NOISE_TYPE, "LAmax", "LAmax", "dB", _DB, "db", "decibel", False, 200
        ),
        ModelParameter("las", NOISE_TYPE, "LAS", "LAS", "dB", _DB, "db", "decibel", False, 200),
        ModelParameter(
            "ph", WATER_TYPE, "pH", "pH", "pH", {"": 1.0, "ph": 1.0, "c62": 1.0}, "", maximum=14
        ),
        ModelParameter(
            "conductivity",
            WATER_TYPE,
            "conductivity",
            "conductivity",
            "µS/cm",
            {
                "µs/cm": 1.0,
                "μs/cm": 1.0,
                "us/cm": 1.0,
                "g42": 1.0,
                "ms/cm": 1000.0,
                "h61": 1000.0,
                "s/m": 10000.0,
                "d10": 10000.0,
            },
            "s/m",
        ),
        ModelParameter(
            "turbidity",
            WATER_TYPE,
            "turbidity",
            "turbidity",
            "NTU",
            {"ntu": 1.0, "ftu": 1.0, "fnu": 1.0},
            "ftu",
        ),
        ModelParameter("o2", WATER_TYPE, "O2", "dissolved oxygen (O2)", "mg/l", _MG_L, "mg/l"),
        ModelParameter("no3", WATER_TYPE, "NO3", "nitrate (NO3)", "mg/l", _MG_L, "mg/l"),
        ModelParameter(
            "ecoli",
            WATER_TYPE,
            "escherichiaColi",
            "E. coli",
            "per 100 ml",
            _PER_100ML,
            "/100ml",
        ),
    )
}
#: Spellings (squashed as by :func:`_squash`) of the model parameters, attribute names first.
MODEL_ALIASES: Final[dict[str, str]] = {
    **{
        "".join(ch for ch in p.attribute.lower() if ch not in " ._-"): p.id
        for p in MODEL_PARAMETERS.values()
    },
    **{p.id.replace("_", ""): p.id for p in MODEL_PARAMETERS.values()},
    "dissolvedoxygen": "o2",
    "nitrate": "no3",
    "nitrates": "no3",
}
#: Each entity type's parameter ids.
TYPE_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    NGSI_TYPE: AIR_PARAMETERS,
    NOISE_TYPE: frozenset(p.id for p in MODEL_PARAMETERS.values() if p.entity_type == NOISE_TYPE),
    WATER_TYPE: frozenset(p.id for p in MODEL_PARAMETERS.values() if p.entity_type == WATER_TYPE),
}
#: Derived, not received: the day-evening-night level from hourly LAeq.
LDEN: Final[str] = "lden"
LDEN_PENALTIES: Final[tuple[tuple[int, int, float], ...]] = ((7, 19, 0.0), (19, 23, 5.0))
NIGHT_PENALTY: Final[float] = 10.0


@dataclass(frozen=True, slots=True)
class Derivation:
    """What an annual sensor statistic may say about a U4SSC KPI (declared here, as data).

    ``kind="value"``: the city value *is* the KPI item's value and the editor may accept it.
    ``kind="evidence"``: the statistic is not the KPI (the KPI counts inhabitants or
    households, which a sensor network cannot see); it is shown beside the KPI as evidence,
    with ``label`` saying exactly what was counted and ``limits`` why it is not the value.
    ``rule``: ``annual_mean`` (mean of the counted stations' annual means),
    ``stations_above`` (counted stations whose annual level exceeds ``upper``) or
    ``stations_within`` (counted stations with no reading outside [``lower``, ``upper``]
    on any day of the year).
    """

    parameter: str
    code: str
    data_point: str
    kind: Literal["value", "evidence"]
    rule: Literal["annual_mean", "stations_above", "stations_within"]
    label: str = ""
    limits: str = ""
    reference: str = ""
    lower: float | None = None
    upper: float | None = None


_AQ: Final[str] = "EN: EN: AQ: 1C"
_NOISE_KPI: Final[str] = "EN: EN: EQ: 2A"
_POTABLE_KPI: Final[str] = "EC: I: WS: 2C"
_WATER_LIMITS: Final[str] = (
    "Not the KPI: the KPI is the share of households served by safely managed drinking "
    "water, which needs the population served by each monitoring point and the service's "
    "availability; the sensors only show whether the water they sample met the limit."
)
_DWD: Final[str] = "Directive (EU) 2020/2184, Annex I; WHO Guidelines for drinking-water quality"
DERIVATIONS: Final[tuple[Derivation, ...]] = (
    *(Derivation(p, _AQ, p, "value", "annual_mean") for p in ("pm25", "pm10", "no2", "so2", "o3")),
    Derivation(
        LDEN,
        _NOISE_KPI,
        "",
        "evidence",
        "stations_above",
        label="Noise monitoring stations with an annual Lden above 55 dB",
        limits=(
            "Not the KPI: the KPI is the share of inhabitants exposed to excessive noise, "
            "which needs a strategic noise map and the population living at each level; a "
            "station measures one place. Use the count as evidence for the map, not as the "
            "value."
        ),
        reference="Directive 2002/49/EC (Lden, 55 dB reporting threshold)",
        upper=55.0,
    ),
    Derivation(
        "ecoli",
        _POTABLE_KPI,
        "",
        "evidence",
        "stations_within",
        label="Water monitoring points with no E. coli detected on any day",
        limits=_WATER_LIMITS,
        reference=_DWD + " (0 per 100 ml)",
        upper=0.0,
    ),
    Derivation(
        "no3",
        _POTABLE_KPI,
        "",
        "evidence",
        "stations_within",
        label="Water monitoring points with nitrate at most 50 mg/l on every day",
        limits=_WATER_LIMITS,
        reference=_DWD + " (50 mg/l)",
        upper=50.0,
    ),
    Derivation(
        "ph",
        _POTABLE_KPI,
        "",
        "evidence",
        "stations_within",
        label="Water monitoring points with pH between 6.5 and 9.5 on every day",
        limits=_WATER_LIMITS,
        reference=_DWD + " (indicator parameter, 6.5 to 9.5)",
        lower=6.5,
        upper=9.5,
    ),
    Derivation(
        "conductivity",
        _POTABLE_KPI,
        "",
        "evidence",
        "stations_within",
        label="Water monitoring points with conductivity at most 2500 µS/cm on every day",
        limits=_WATER_LIMITS,
        reference=_DWD + " (indicator parameter, 2500 µS/cm at 20 °C)",
        upper=2500.0,
    ),
)
#: Parameters whose city value is a KPI item's value: the air pollution KPI's data points.
PARAMETER_ITEMS: Final[dict[str, tuple[str, str]]] = {
    d.parameter: (d.code, d.data_point) for d in DERIVATIONS if d.kind == "value"
}
#: Parameters that are evidence for a KPI (never its value).
EVIDENCE: Final[dict[str, Derivation]] = {
    d.parameter: d for d in DERIVATIONS if d.kind == "evidence"
}


def parameter_unit(parameter: str) -> str:
    """The unit a parameter's values are kept in."""
    if parameter == LDEN:
        return "dB"
    spec = MODEL_PARAMETERS.get(parameter)
    return spec.unit if spec is not None else CANONICAL_UNIT


def parameter_scale(parameter: str) -> Scale:
    spec = MODEL_PARAMETERS.get(parameter)
    return "decibel" if parameter == LDEN or (spec and spec.scale == "decibel") else "linear"


def _short_type(entity_type: str) -> str:
    return entity_type.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


@dataclass(frozen=True)
class Observations:
    """Parsed observations plus every problem found (row-numbered for CSV uploads)."""

    frame: pd.DataFrame
    problems: tuple[str, ...] = ()
    rejected: int = 0


def _squash(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " ._-")


def normalise_parameter(name: str) -> str | None:
    squashed = _squash(name).replace("pm2,5", "pm25")
    return PARAMETER_ALIASES.get(squashed) or MODEL_ALIASES.get(squashed)


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


# --------------------------------------------------------------------------------------------
# Coverage and annual values
# --------------------------------------------------------------------------------------------


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
    """Check an NGSI-LD notification of the :data:`NGSI_TYPES` entities, entity by entity.

    Every reading needs a number (not negative, not above the parameter's largest possible
    reading), a unit known for its parameter (the model's default unit when it names none)
    and a time (``observedAt`` of the property, else the entity's ``dateObserved`` or, for
    noise, ``dateObservedFrom``). A notification with any problem yields
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
    # All entities' readings are checked in one pass (a per-entity pass costs ~10 ms each).
    records: list[dict[str, Any]] = []
    reasons: dict[int, list[str]] = {}
    ids: dict[int, str | None] = {}
    for index, entity in enumerate(data, start=1):
        entity_id = _text(entity.get("id")) if isinstance(entity, Mapping) else None
        ids[index] = entity_id
        found: list[str] = []
        if isinstance(entity, Mapping) and entity_id is None:
            found.append("id is missing")
        own = _entity_records(entity, "entity", found)
        found = [r.removeprefix("entity: ") for r in found]
        if not own and not found:
            found.append(_no_measurement(entity))
        for record in own:
            record["where"] = record["where"].removeprefix("entity (").removesuffix(")")
            record["index"] = index
            record["entity_id"] = entity_id
            record["entity_type"] = _short_type(str(entity.get("type", "")))
        records += own
        reasons[index] = found
    frame = _empty_frame().assign(entity_id=pd.Series([], dtype=object), entity_type="")
    if records:
        raw = pd.DataFrame(records)
        checked, bad, rejected = _checked(raw[OBSERVATION_COLUMNS], timezone)
        per_entity: dict[int, list[str]] = {}
        for label, message in rejected:  # labels are positions in ``records``
            record = records[label]
            per_entity.setdefault(record["index"], []).append(f"{record['where']}: {message}")
        for index, messages in per_entity.items():
            reasons[index] += _listed(messages)
        good = ~bad.to_numpy(dtype=bool)
        frame = checked.loc[good].assign(
            entity_id=raw["entity_id"].loc[good], entity_type=raw["entity_type"].loc[good]
        )
        frame = frame.reset_index(drop=True)
    refused = [
        EntityProblem(index, ids[index], tuple(found)) for index, found in reasons.items() if found
    ]
    return Notification(
        notification_id or "",
        subscription_id or "",
        _text(payload.get("notifiedAt")),
        frame,
        tuple(problems),
        tuple(refused),
    )


#: What each entity type measures, for the "nothing measured" reason.
MEASURED: Final[dict[str, str]] = {
    NGSI_TYPE: "no pollutant property (PM2.5, PM10, NO2, SO2, O3, CO)",
    NOISE_TYPE: "no sound level property (LAeq, LAeq_d, LAmax, LAS)",
    WATER_TYPE: (
        "no water-quality property (pH, conductivity, turbidity, O2, NO3, escherichiaColi)"
    ),
}


def _no_measurement(entity: Any) -> str:
    kind = _short_type(str(entity.get("type", ""))) if isinstance(entity, Mapping) else ""
    return MEASURED.get(kind, MEASURED[NGSI_TYPE])

"""What the sensors measure: parameter ids, spellings, units and the Smart Data Models types.

Air pollutants are kept in µg/m³ (:data:`CANONICAL_UNIT`), sound levels in dB and water
quality in the units of :data:`MODEL_PARAMETERS`. Gas concentrations given in ppb/ppm are
converted with the EU reference conditions (20 °C, 101.3 kPa): 1 ppb NO2 = 1.91 µg/m³,
SO2 = 2.66 µg/m³, O3 = 2.00 µg/m³, CO = 1.16 µg/m³ (:data:`PPB_TO_UG`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

CANONICAL_UNIT: Final[str] = "µg/m³"

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


def _squash(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch not in " ._-")


def normalise_parameter(name: str) -> str | None:
    squashed = _squash(name).replace("pm2,5", "pm25")
    return PARAMETER_ALIASES.get(squashed) or MODEL_ALIASES.get(squashed)

"""What each annual sensor statistic may say about a U4SSC KPI, declared as data.

:data:`DERIVATIONS` lists them: the air pollutants' annual means *are* the air-quality KPI's
values; Lden and the drinking-water parameters are only *evidence* beside a KPI (with the
reason why they are not its value). Adding a derivation is adding a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from kpi_app.twin.sensors.parameters import LDEN


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

"""Sensor-fed KPIs: read observation uploads and broker notifications, check coverage, compute
the annual statistics and say what each may tell about a U4SSC KPI.

* :mod:`~kpi_app.twin.sensors.parameters`: what is measured (air pollutants, sound levels,
  water quality), its spellings, units and conversions, and the Smart Data Models types;
* :mod:`~kpi_app.twin.sensors.parsing`: CSV and NGSI-LD uploads into one observations frame,
  every rejected row listed;
* :mod:`~kpi_app.twin.sensors.notifications`: context-broker notifications, all or nothing;
* :mod:`~kpi_app.twin.sensors.aggregation`: hourly, daily and annual means (energy means for
  decibels, Lden), coverage rules, :class:`SensorValue` with its provenance;
* :mod:`~kpi_app.twin.sensors.derivations`: :data:`DERIVATIONS`, as data: which statistic is
  a KPI's value and which is only evidence beside it.

The names callers use are importable from here (``from kpi_app.twin.sensors import ...``).
"""

from __future__ import annotations

from kpi_app.twin.sensors.aggregation import (
    LDEN_PENALTIES,
    MIN_DAY_SHARE,
    MIN_HOURS_PER_DAY,
    NIGHT_PENALTY,
    Evidence,
    Resolution,
    SensorValue,
    StationYear,
    annual_values,
    daily_means,
    days_in_year,
    kpi_values,
)
from kpi_app.twin.sensors.derivations import (
    DERIVATIONS,
    EVIDENCE,
    PARAMETER_ITEMS,
    Derivation,
)
from kpi_app.twin.sensors.notifications import (
    MEASURED,
    NOTIFICATION_TYPE,
    EntityProblem,
    Notification,
    parse_notification,
)
from kpi_app.twin.sensors.parameters import (
    AIR_PARAMETERS,
    CANONICAL_UNIT,
    LDEN,
    MODEL_ALIASES,
    MODEL_PARAMETERS,
    NGSI_TYPE,
    NGSI_TYPES,
    NOISE_TYPE,
    PARAMETER_ALIASES,
    PPB_TO_UG,
    TYPE_PARAMETERS,
    UNIT_FACTORS,
    WATER_TYPE,
    ModelParameter,
    Scale,
    normalise_parameter,
    parameter_scale,
    parameter_unit,
)
from kpi_app.twin.sensors.parsing import (
    CSV_ALIASES,
    MAX_PROBLEMS_LISTED,
    OBSERVATION_COLUMNS,
    Observations,
    parse_csv,
    parse_ngsi_ld,
)

__all__ = [
    "AIR_PARAMETERS",
    "CANONICAL_UNIT",
    "CSV_ALIASES",
    "DERIVATIONS",
    "EVIDENCE",
    "LDEN",
    "LDEN_PENALTIES",
    "MAX_PROBLEMS_LISTED",
    "MEASURED",
    "MIN_DAY_SHARE",
    "MIN_HOURS_PER_DAY",
    "MODEL_ALIASES",
    "MODEL_PARAMETERS",
    "NGSI_TYPE",
    "NGSI_TYPES",
    "NIGHT_PENALTY",
    "NOISE_TYPE",
    "NOTIFICATION_TYPE",
    "OBSERVATION_COLUMNS",
    "PARAMETER_ALIASES",
    "PARAMETER_ITEMS",
    "PPB_TO_UG",
    "TYPE_PARAMETERS",
    "UNIT_FACTORS",
    "WATER_TYPE",
    "Derivation",
    "EntityProblem",
    "Evidence",
    "ModelParameter",
    "Notification",
    "Observations",
    "Resolution",
    "Scale",
    "SensorValue",
    "StationYear",
    "annual_values",
    "daily_means",
    "days_in_year",
    "kpi_values",
    "normalise_parameter",
    "parameter_scale",
    "parameter_unit",
    "parse_csv",
    "parse_ngsi_ld",
    "parse_notification",
]

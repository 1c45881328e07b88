"""Digital twin for strategy: scenarios, projections, KPI relationships and sensor-fed KPIs.

Pure: pandas and numpy only, on top of the pure scoring engine; no Flask, no SQLAlchemy. The
services layer (``services.scenarios``, ``services.sensors``) reads the database, calls these
functions and stores what users decide.

* :mod:`~kpi_app.twin.adjust`: scenario definitions (direct changes and rules) and applying them;
* :mod:`~kpi_app.twin.compare`: scoring baseline and scenario side by side;
* :mod:`~kpi_app.twin.needle`: what moves the needle, and the fewest changes to reach a band;
* :mod:`~kpi_app.twin.projections`: linear and compound trends to 2030 with uncertainty;
* :mod:`~kpi_app.twin.correlations`: Spearman correlations between KPIs, modestly reported;
* :mod:`~kpi_app.twin.stats`: Student's t critical values for the projections' intervals;
* :mod:`~kpi_app.twin.sensors` (a package): sensor-fed KPIs —

  * ``sensors.parameters``: what is measured (air, noise, water), units and conversions;
  * ``sensors.parsing``: CSV and NGSI-LD uploads into one observations frame;
  * ``sensors.notifications``: context-broker notifications, checked all or nothing;
  * ``sensors.aggregation``: daily and annual coverage, energy means for decibels, Lden,
    :class:`~kpi_app.twin.sensors.SensorValue` with its provenance;
  * ``sensors.derivations``: ``DERIVATIONS``, as data: which statistic is a KPI's value and
    which only evidence beside it.

Where to start: a scenario's what-if page is ``adjust`` then ``compare``; a sensor upload is
``sensors.parsing`` then ``sensors.aggregation``.
"""

from kpi_app.twin.adjust import (
    KINDS,
    Adjustment,
    ScenarioDefinition,
    ScenarioError,
    apply_definition,
)
from kpi_app.twin.compare import (
    BASELINE,
    SCENARIO,
    PairTemplate,
    compare_items,
    compare_level,
    entity_items,
    score_pair,
)
from kpi_app.twin.correlations import MIN_OBSERVATIONS, kpi_correlations
from kpi_app.twin.needle import Plan, Step, cheapest_path, needle_table, points_needed
from kpi_app.twin.projections import Trend, project, projection_table
from kpi_app.twin.sensors import (
    Observations,
    SensorValue,
    StationYear,
    annual_values,
    parse_csv,
    parse_ngsi_ld,
)

__all__ = [
    "BASELINE",
    "KINDS",
    "MIN_OBSERVATIONS",
    "SCENARIO",
    "Adjustment",
    "Observations",
    "PairTemplate",
    "Plan",
    "ScenarioDefinition",
    "ScenarioError",
    "SensorValue",
    "StationYear",
    "Step",
    "Trend",
    "annual_values",
    "apply_definition",
    "cheapest_path",
    "compare_items",
    "compare_level",
    "entity_items",
    "kpi_correlations",
    "needle_table",
    "parse_csv",
    "parse_ngsi_ld",
    "points_needed",
    "project",
    "projection_table",
    "score_pair",
]

"""Pure scoring core: the U4SSC benchmarking method, composite-indicator methods, sensitivity,
SDG-style progress, explanations and the input frame builder.

Nothing here imports Flask or SQLAlchemy; functions take and return pandas frames and frozen
dataclasses. `score(items, spec)` is the one entry point; docs/scoring.md describes every method.
"""

from kpi_app.scoring.aggregate import (
    AGGREGATORS,
    weighted_arithmetic_mean,
    weighted_geometric_mean,
)
from kpi_app.scoring.bands import BANDS, MAX_POINTS, Band, band_label, band_labels, band_of
from kpi_app.scoring.composite import score, score_composite
from kpi_app.scoring.explain import Explanation, ItemExplanation, explain, next_band_moves
from kpi_app.scoring.frame import build_items, catalogue_items
from kpi_app.scoring.normalise import NORMALISERS
from kpi_app.scoring.percent import (
    DIRECTIONS,
    PERCENT_CAP,
    ScoringInputError,
    percent_capped,
    percent_of_target,
)
from kpi_app.scoring.progress import PROGRESS_CLASSES, Progress, assess_progress, progress_table
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.sensitivity import leave_one_out, monte_carlo_ranks, rank_drivers
from kpi_app.scoring.spec import PRESETS, U4SSC_SPEC, ScoringSpec, ScoringSpecError, resolve_spec
from kpi_app.scoring.u4ssc import score_u4ssc, u4ssc_spec, validate_items

__all__ = [
    "AGGREGATORS",
    "BANDS",
    "DIRECTIONS",
    "MAX_POINTS",
    "NORMALISERS",
    "PERCENT_CAP",
    "PRESETS",
    "PROGRESS_CLASSES",
    "U4SSC_SPEC",
    "Band",
    "Explanation",
    "ItemExplanation",
    "Progress",
    "ScoreResult",
    "ScoringInputError",
    "ScoringSpec",
    "ScoringSpecError",
    "assess_progress",
    "band_label",
    "band_labels",
    "band_of",
    "build_items",
    "catalogue_items",
    "explain",
    "leave_one_out",
    "monte_carlo_ranks",
    "next_band_moves",
    "percent_capped",
    "percent_of_target",
    "progress_table",
    "rank_drivers",
    "resolve_spec",
    "score",
    "score_composite",
    "score_u4ssc",
    "u4ssc_spec",
    "validate_items",
    "weighted_arithmetic_mean",
    "weighted_geometric_mean",
]

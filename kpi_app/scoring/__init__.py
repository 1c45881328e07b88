"""Pure scoring core: the U4SSC benchmarking method, its explanations and input frame builder.

Nothing here imports Flask or SQLAlchemy; functions take and return pandas frames and frozen
dataclasses. The composite-indicator methods live in sibling modules of this package.
"""

from kpi_app.scoring.bands import BANDS, MAX_POINTS, Band, band_label, band_labels, band_of
from kpi_app.scoring.explain import Explanation, ItemExplanation, explain, next_band_moves
from kpi_app.scoring.frame import build_items, catalogue_items
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.u4ssc import (
    DIRECTIONS,
    PERCENT_CAP,
    ScoringInputError,
    percent_capped,
    percent_of_target,
    score_u4ssc,
    u4ssc_spec,
    validate_items,
)

__all__ = [
    "BANDS",
    "DIRECTIONS",
    "MAX_POINTS",
    "PERCENT_CAP",
    "Band",
    "Explanation",
    "ItemExplanation",
    "ScoreResult",
    "ScoringInputError",
    "band_label",
    "band_labels",
    "band_of",
    "build_items",
    "catalogue_items",
    "explain",
    "next_band_moves",
    "percent_capped",
    "percent_of_target",
    "score_u4ssc",
    "u4ssc_spec",
    "validate_items",
]

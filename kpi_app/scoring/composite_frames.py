"""The level frames of a composite result: scores next to the U4SSC coverage counts.

:func:`level_counts` counts scored and total items (core and advanced apart) and the scored
items of a reliable data-quality level once per (city, year, category), then adds them up
the hierarchy along the groups the aggregation itself formed, so every level's counts come
out row for row in the order of that level's score frame: no join of scores and counts.
:func:`level_frame` lays a level out with the same columns, in the same order, as the
U4SSC frames (docs/scoring_methods.md).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.bands import NO_BAND, band_of, score_band_labels
from kpi_app.scoring.confidence import GRADE_DTYPE, core_rows, grade_codes, reliable_rows

IntArray = npt.NDArray[np.int64]

COUNT_COLUMNS: Final = ("scored_core", "total_core", "scored_advanced", "total_advanced")
#: The counts added up the hierarchy: the coverage counts plus the scored items of a reliable
#: data-quality level, which the confidence grade needs (docs/scoring.md §3.5).
ROLLED_COLUMNS: Final = (*COUNT_COLUMNS, "scored_reliable")
#: Levels above the categories, in roll-up order.
UPPER_LEVELS: Final = ("sub_dimensions", "dimensions", "overall")


def category_counts(
    scored_items: pd.DataFrame, category_groups: tuple[IntArray, pd.DataFrame]
) -> dict[str, IntArray]:
    """The rolled counts per (city, year, category) group of ``category_groups``.

    ``category_groups`` is ``group_codes(scored_items, ["city", "year", "category"])``; an
    item is scored when it has a score. The only count over every item row.
    """
    core = core_rows(scored_items["tier"])
    scored = scored_items["score"].notna().to_numpy()
    reliable = reliable_rows(scored_items) & scored
    group, keys = category_groups
    # One unweighted bincount of (group, flags): flag 1 = scored, 2 = core, 4 = reliable
    # (a reliable row is scored, so flags 4 and 6 never occur).
    flags = scored.view(np.uint8) | (core.view(np.uint8) << 1) | (reliable.view(np.uint8) << 2)
    tally = np.bincount(group * 8 + flags, minlength=8 * len(keys)).reshape(len(keys), 8)
    tally = np.ascontiguousarray(tally.T, dtype=np.int64)
    scored_core = tally[3] + tally[7]
    scored_advanced = tally[1] + tally[5]
    return {
        "scored_core": scored_core,
        "total_core": scored_core + tally[2] + tally[6],
        "scored_advanced": scored_advanced,
        "total_advanced": scored_advanced + tally[0] + tally[4],
        "scored_reliable": tally[5] + tally[7],
    }


def level_counts(
    categories: dict[str, IntArray],
    parent_rows: dict[str, IntArray],
    sizes: dict[str, int],
) -> dict[str, dict[str, IntArray]]:
    """The category counts and their sums at every level above.

    ``parent_rows[level]`` gives, for each group of the level below, the row of its parent
    group in ``level``'s frame; ``sizes[level]`` is that frame's length. Sums of integer
    counts are exact (a float ``bincount`` below 2**53, rounded back).
    """
    out = {"categories": categories}
    counts = categories
    for level in UPPER_LEVELS:
        parent = parent_rows[level]
        counts = {
            name: np.bincount(parent, weights=column, minlength=sizes[level])
            .round()
            .astype(np.int64)
            for name, column in counts.items()
        }
        out[level] = counts
    return out


def level_frame(
    groups: pd.DataFrame, counts: dict[str, IntArray], keys: list[str], items: pd.DataFrame
) -> pd.DataFrame:
    """A level's scores (:func:`~kpi_app.scoring.aggregate.aggregate_groups` output) with its
    counts (same rows, same order), laid out as the U4SSC frames.

    Key columns get back the dtype they had in the caller's items frame.
    """
    scored_core, total_core = counts["scored_core"], counts["total_core"]
    scored_advanced, total_advanced = counts["scored_advanced"], counts["total_advanced"]
    scored = scored_core + scored_advanced
    total = total_core + total_advanced
    score = groups["score"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = scored / total
        coverage_core = scored_core / np.where(total_core == 0, np.nan, total_core)
        coverage_advanced = scored_advanced / np.where(total_advanced == 0, np.nan, total_advanced)
    grades = grade_codes(scored_core, total_core, scored, total, counts["scored_reliable"])
    # A withheld group has no score, hence no confidence either.
    grades[np.isnan(score)] = -1
    band = band_of(score)
    frame = groups[keys].astype({key: items[key].dtype for key in keys})
    index = frame.index
    columns = {
        "score": score.copy(),
        "band": pd.arrays.IntegerArray(band, band == NO_BAND),
        "band_label": score_band_labels(band),
        "points": np.full(len(score), np.nan),
        "max_points": np.full(len(score), np.nan),
        "scored_items": scored,
        "total_items": total,
        "coverage": coverage,
        "coverage_core": coverage_core,
        "coverage_advanced": coverage_advanced,
        "confidence": pd.Categorical.from_codes(grades, dtype=GRADE_DTYPE),
        "weight_share": groups["weight_share"].to_numpy(copy=True),
        "withheld_reason": groups["withheld_reason"].to_numpy(copy=True),
    }
    # Fresh arrays wrapped in Series without a copy (pandas copies a bare array it is given).
    frame = frame.assign(
        **{name: pd.Series(array, index=index, copy=False) for name, array in columns.items()}
    )
    return frame.reset_index(drop=True)

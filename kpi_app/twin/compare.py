"""Scenario versus baseline: score both in one engine call and line the results up side by side.

The baseline and the scenario are two entities of one items frame (city "baseline" and city
"scenario", same year), so one :func:`~kpi_app.scoring.score_u4ssc` call scores both at every
level and the comparison is a join on the group id. Differences are given as numbers *and* as a
word (``up`` / ``down`` / ``same``), so a page never has to rely on colour to show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.frame import build_items
from kpi_app.scoring.result import LEVEL_ID_COLUMNS, ScoreResult
from kpi_app.scoring.u4ssc import score_u4ssc

BASELINE: Final[str] = "baseline"
SCENARIO: Final[str] = "scenario"
GROUP_LEVELS: Final[tuple[str, ...]] = ("categories", "sub_dimensions", "dimensions", "overall")
COMPARISON_COLUMNS: Final[list[str]] = [
    "id",
    "baseline_score",
    "baseline_band",
    "baseline_label",
    "scenario_score",
    "scenario_band",
    "scenario_label",
    "delta",
    "band_change",
    "change",
]


class PairTemplate:
    """A ready items frame for baseline and scenario of one catalogue and benchmark set.

    Building the items frame (joining catalogue and benchmarks, laying out categoricals) costs
    far more than scoring 2 × 117 items, and it only depends on the catalogue and the
    benchmark set. So it is built once; each recomputation only writes the two value columns
    into a copy and calls the engine. The services layer keeps one template per
    (catalogue version, benchmark set).
    """

    def __init__(
        self, catalogue_frame: pd.DataFrame, benchmark_frame: pd.DataFrame, year: int
    ) -> None:
        keys = catalogue_frame[["code", "data_point"]].astype(str)
        placeholder = pd.DataFrame(
            {
                "city": np.repeat([BASELINE, SCENARIO], len(keys)),
                "year": np.int64(year),
                "code": np.tile(keys["code"].to_numpy(), 2),
                "data_point": np.tile(keys["data_point"].to_numpy(), 2),
                "value": np.nan,
            }
        )
        self.year = year
        self.items = build_items(catalogue_frame, benchmark_frame, placeholder)
        item_keys = zip(
            self.items["code"].astype(str),
            self.items["data_point"].astype(str),
            strict=True,
        )
        cities = self.items["city"].astype(str).to_numpy()
        self._row: dict[tuple[str, str, str], int] = {
            (entity, code, point): row
            for row, (entity, (code, point)) in enumerate(zip(cities, item_keys, strict=True))
        }

    def rows(
        self, entity: str, codes: Sequence[str], points: Sequence[str]
    ) -> npt.NDArray[np.int64]:
        """Row of each (code, data_point) of ``entity``; -1 for items not in the catalogue."""
        return np.fromiter(
            (self._row.get((entity, c, p), -1) for c, p in zip(codes, points, strict=True)),
            dtype=np.int64,
            count=len(codes),
        )

    def score(self, applied: pd.DataFrame) -> ScoreResult:
        """Score an ``apply_definition`` frame: its baseline and value columns side by side."""
        codes = applied["code"].astype(str).tolist()
        points = applied["data_point"].astype(str).tolist()
        values = np.full(len(self.items), np.nan)
        for entity, column in ((BASELINE, "baseline"), (SCENARIO, "value")):
            rows = self.rows(entity, codes, points)
            known = rows >= 0  # items outside the catalogue (old data) are ignored
            values[rows[known]] = applied[column].to_numpy(dtype=np.float64)[known]
        return score_u4ssc(self.items.assign(value=values))


def score_pair(
    catalogue_frame: pd.DataFrame,
    benchmark_frame: pd.DataFrame,
    applied: pd.DataFrame,
    year: int,
) -> ScoreResult:
    """Score baseline and scenario values (an ``apply_definition`` frame) in one call.

    Items outside the catalogue are ignored (old data); both entities always appear, even
    with nothing reported. For repeated calls keep a :class:`PairTemplate` instead.
    """
    return PairTemplate(catalogue_frame, benchmark_frame, year).score(applied)


def compare_level(result: ScoreResult, level: str) -> pd.DataFrame:
    """One row per group of ``level``: both scores and bands, the difference, and its word.

    Works on numpy columns rather than merges: both entities have the same groups, so the
    baseline and scenario rows only need aligning by id (this runs on every recalculation).
    """
    id_column = LEVEL_ID_COLUMNS[level]
    frame = result.level(level)
    base, other = _rows_of(frame, BASELINE), _rows_of(frame, SCENARIO)
    if id_column is None:
        ids = np.array(["overall"] * len(base), dtype=object)
        order = np.arange(len(other))
    else:
        ids = _strings(frame[id_column])[base]
        other_ids = _strings(frame[id_column])[other]
        position = {group: i for i, group in enumerate(other_ids)}
        order = np.array([position[group] for group in ids], dtype=np.int64)
    other = other[order]
    score = frame["score"].to_numpy(dtype=np.float64, na_value=np.nan)
    band = _band_array(frame["band"])
    labels = frame["band_label"].astype(object).to_numpy()
    delta = score[other] - score[base]
    out = pd.DataFrame(
        {
            "id": ids,
            "baseline_score": score[base],
            "baseline_band": band[base],
            "baseline_label": labels[base],
            "scenario_score": score[other],
            "scenario_band": band[other],
            "scenario_label": labels[other],
            "delta": delta,
            "band_change": band[other] - band[base],
            "change": _change_words(delta),
        }
    )
    return out


def _rows_of(frame: pd.DataFrame, entity: str) -> npt.NDArray[np.int64]:
    return np.flatnonzero((frame["city"] == entity).to_numpy())


def _strings(column: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(column.astype(str).to_numpy(), dtype=object)


def _band_array(column: pd.Series) -> npt.NDArray[np.int64]:
    """Band points as plain ints, 0 for "no band" (nothing scored)."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bands: npt.NDArray[np.int64] = np.nan_to_num(values, nan=0.0).astype(np.int64)
    return bands


def _change_words(delta: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    # Scores are points ÷ (4n) × 100: a real change is at least 100/(4·117) ≈ 0.2, so a
    # tolerance of 1e-9 only absorbs float noise.
    return np.select([delta > 1e-9, delta < -1e-9], ["up", "down"], default="same")


ITEM_COMPARISON_COLUMNS: Final[list[str]] = [
    "code",
    "data_point",
    "dimension",
    "category",
    "baseline_value",
    "scenario_value",
    "target",
    "direction",
    "baseline_percent",
    "scenario_percent",
    "baseline_points",
    "scenario_points",
    "change",
]


def compare_items(result: ScoreResult) -> pd.DataFrame:
    """Item by item: both values, % of target and points, and whether the points moved."""
    items = result.items
    base, other = _rows_of(items, BASELINE), _rows_of(items, SCENARIO)
    codes, points_id = _strings(items["code"]), _strings(items["data_point"])
    keys = list(zip(codes[other], points_id[other], strict=True))
    position = {key: i for i, key in enumerate(keys)}
    other = other[[position[key] for key in zip(codes[base], points_id[base], strict=True)]]
    value = items["value"].to_numpy(dtype=np.float64)
    percent = items["percent_of_target"].to_numpy(dtype=np.float64)
    points = _band_array(items["points"])
    delta = (points[other] - points[base]).astype(np.float64)
    return pd.DataFrame(
        {
            "code": codes[base],
            "data_point": points_id[base],
            "dimension": _strings(items["dimension"])[base],
            "category": _strings(items["category"])[base],
            "baseline_value": value[base],
            "scenario_value": value[other],
            "target": items["target"].to_numpy(dtype=np.float64)[base],
            "direction": _strings(items["direction"])[base],
            "baseline_percent": percent[base],
            "scenario_percent": percent[other],
            "baseline_points": points[base],
            "scenario_points": points[other],
            "change": _change_words(delta),
        }
    )


def entity_items(result: ScoreResult, entity: str) -> pd.DataFrame:
    """The scored items of one entity (baseline or scenario), for the needle functions."""
    items = result.items
    return items.loc[(items["city"].astype(str) == entity).to_numpy()].reset_index(drop=True)

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
    """One row per group of ``level``: both scores and bands, the difference, and its word."""
    id_column = LEVEL_ID_COLUMNS[level]
    frame = result.level(level)
    keys = [id_column] if id_column else []
    columns = [*keys, "score", "band", "band_label"]
    base = frame.loc[(frame["city"].astype(str) == BASELINE).to_numpy(), columns]
    other = frame.loc[(frame["city"].astype(str) == SCENARIO).to_numpy(), columns]
    if id_column is None:
        base, other = base.assign(id="overall"), other.assign(id="overall")
    else:
        base, other = (
            base.rename(columns={id_column: "id"}),
            other.rename(columns={id_column: "id"}),
        )
    base["id"], other["id"] = base["id"].astype(str), other["id"].astype(str)
    merged = base.merge(other, on="id", how="outer", suffixes=("_b", "_s"))
    out = pd.DataFrame(
        {
            "id": merged["id"],
            "baseline_score": merged["score_b"].astype(float),
            "baseline_band": _bands(merged["band_b"]),
            "baseline_label": merged["band_label_b"].astype(object),
            "scenario_score": merged["score_s"].astype(float),
            "scenario_band": _bands(merged["band_s"]),
            "scenario_label": merged["band_label_s"].astype(object),
        }
    )
    out["delta"] = out["scenario_score"] - out["baseline_score"]
    out["band_change"] = out["scenario_band"] - out["baseline_band"]
    out["change"] = _change_words(out["delta"].to_numpy(dtype=np.float64))
    return out[COMPARISON_COLUMNS].reset_index(drop=True)


def _bands(column: pd.Series) -> pd.Series:
    """Band points as plain ints, 0 for "no band" (nothing scored)."""
    return pd.to_numeric(column, errors="coerce").fillna(0).astype(np.int64)


def _change_words(delta: np.ndarray) -> np.ndarray:
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
    keys = ["code", "data_point"]
    shared = [*keys, "dimension", "category", "target", "direction"]
    city = items["city"].astype(str)
    base = items.loc[(city == BASELINE).to_numpy()]
    other = items.loc[(city == SCENARIO).to_numpy()]
    merged = base[[*shared, "value", "percent_of_target", "points"]].merge(
        other[[*keys, "value", "percent_of_target", "points"]],
        on=keys,
        suffixes=("_b", "_s"),
        how="inner",
    )
    delta = _bands(merged["points_s"]) - _bands(merged["points_b"])
    out = pd.DataFrame(
        {
            "code": merged["code"].astype(str),
            "data_point": merged["data_point"].astype(str),
            "dimension": merged["dimension"].astype(str),
            "category": merged["category"].astype(str),
            "baseline_value": merged["value_b"].astype(float),
            "scenario_value": merged["value_s"].astype(float),
            "target": merged["target"].astype(float),
            "direction": merged["direction"].astype(str),
            "baseline_percent": merged["percent_of_target_b"].astype(float),
            "scenario_percent": merged["percent_of_target_s"].astype(float),
            "baseline_points": _bands(merged["points_b"]),
            "scenario_points": _bands(merged["points_s"]),
            "change": _change_words(delta.to_numpy(dtype=np.float64)),
        }
    )
    return out[ITEM_COMPARISON_COLUMNS]


def entity_items(result: ScoreResult, entity: str) -> pd.DataFrame:
    """The scored items of one entity (baseline or scenario), for the needle functions."""
    items = result.items
    return items.loc[(items["city"].astype(str) == entity).to_numpy()].reset_index(drop=True)

"""The methods lab's result rows: one spec beside the U4SSC rule, with Monte Carlo intervals.

Pure: takes two :class:`~kpi_app.scoring.result.ScoreResult` of the same peer group and the
frame of :func:`~kpi_app.scoring.sensitivity.monte_carlo_ranks`, returns flat rows (overall,
then per dimension, sub-dimension and category) with ranks within the group (1 = best, ties
share the best rank) and the confidence grade of each score. :func:`leave_one_out_rows` names
the KPIs that move one city's rank most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from kpi_app.scoring.result import ScoreResult, json_number
from kpi_app.scoring.sensitivity import leave_one_out, rank_drivers, rank_within_year
from kpi_app.scoring.spec import ScoringSpec

#: Columns of the results CSV, in this order.
CSV_COLUMNS: Final[tuple[str, ...]] = (
    "city",
    "year",
    "level",
    "group",
    "score",
    "rank",
    "coverage",
    "u4ssc_score",
    "u4ssc_rank",
    "mc_median_rank",
    "mc_rank_p05",
    "mc_rank_p95",
    "mc_scored_share",
    "confidence",
)

#: Group levels below overall: (level name, frame attribute, id column).
GROUP_LEVELS: Final[tuple[tuple[str, str, str], ...]] = (
    ("dimension", "dimensions", "dimension"),
    ("sub_dimension", "sub_dimensions", "sub_dimension"),
    ("category", "categories", "category"),
)


@dataclass(frozen=True)
class LabRow:
    """One city's score at one level under the lab spec and under the U4SSC rule."""

    city: str
    year: int
    level: str  # "overall" or "dimension"
    group: str  # "" for overall, else the dimension id
    score: float | None
    rank: int | None
    coverage: float | None
    u4ssc_score: float | None
    u4ssc_rank: int | None
    mc_median_rank: float | None = None
    mc_rank_p05: float | None = None
    mc_rank_p95: float | None = None
    mc_scored_share: float | None = None
    confidence: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CSV_COLUMNS}


def _ranked(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    frame["rank"] = frame.groupby(by, observed=True)["score"].rank(ascending=False, method="min")
    return frame


def lab_rows(lab: ScoreResult, rule: ScoreResult, mc: pd.DataFrame) -> list[LabRow]:
    """Pure: rows per city at overall and dimension level, ranks within the group (1 = best)."""
    rows: list[LabRow] = []
    mc_by = {(str(r["city"]), int(r["year"])): r for r in mc.to_dict("records")}
    overall = lab.overall.assign(rank=rank_within_year(lab.overall))
    rule_overall = rule.overall.assign(rank=rank_within_year(rule.overall))
    rule_by = {(str(r["city"]), int(r["year"])): r for r in rule_overall.to_dict("records")}
    for r in overall.sort_values(["rank", "city"], na_position="last").to_dict("records"):
        key = (str(r["city"]), int(r["year"]))
        m, u = mc_by.get(key), rule_by.get(key)
        rows.append(
            LabRow(
                city=key[0],
                year=key[1],
                level="overall",
                group="",
                score=_num(r["score"]),
                rank=_int(r["rank"]),
                coverage=_num(r["coverage"]),
                u4ssc_score=_num(u["score"]) if u else None,
                u4ssc_rank=_int(u["rank"]) if u else None,
                mc_median_rank=_num(m["median_rank"]) if m else None,
                mc_rank_p05=_num(m["rank_p05"]) if m else None,
                mc_rank_p95=_num(m["rank_p95"]) if m else None,
                mc_scored_share=_num(m["scored_share"]) if m else None,
                confidence=_grade(r.get("confidence")),
            )
        )
    for level, attribute, column in GROUP_LEVELS:
        rows += _level_rows(getattr(lab, attribute), getattr(rule, attribute), level, column)
    return rows


def _level_rows(
    frame: pd.DataFrame, rule_frame: pd.DataFrame, level: str, column: str
) -> list[LabRow]:
    groups = _ranked(frame, ["year", column])
    rule_groups = _ranked(rule_frame, ["year", column])
    rule_by = {
        (str(r["city"]), int(r["year"]), str(r[column])): r for r in rule_groups.to_dict("records")
    }
    order = groups.astype({column: str}).sort_values([column, "rank", "city"], na_position="last")
    rows = []
    for r in order.to_dict("records"):
        u = rule_by.get((str(r["city"]), int(r["year"]), str(r[column])))
        rows.append(
            LabRow(
                city=str(r["city"]),
                year=int(r["year"]),
                level=level,
                group=str(r[column]),
                score=_num(r["score"]),
                rank=_int(r["rank"]),
                coverage=_num(r["coverage"]),
                u4ssc_score=_num(u["score"]) if u else None,
                u4ssc_rank=_int(u["rank"]) if u else None,
                confidence=_grade(r.get("confidence")),
            )
        )
    return rows


def _grade(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


# --- leave one KPI out -------------------------------------------------------------------

#: Fields of a leave-one-KPI-out row, in this order (API, CSV sheet).
LOO_COLUMNS: Final[tuple[str, ...]] = (
    "code",
    "base_score",
    "base_rank",
    "score_without",
    "rank_without",
    "rank_change",
)


@dataclass(frozen=True)
class LooRow:
    """One KPI's effect on one city: its overall score and rank with and without the KPI.

    ``rank_change`` = rank without − rank with: positive, the KPI lifts the city (it falls
    without it); negative, the KPI holds the city back.
    """

    code: str
    base_score: float | None
    base_rank: int | None
    score_without: float | None
    rank_without: int | None
    rank_change: int | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LOO_COLUMNS}


#: Columns of a scored items frame that are outputs of scoring, not inputs.
_OUTPUT_COLUMNS: Final = ("score", "item_weight", "percent_of_target", "points", "band")
_OUTPUT_COLUMNS_MORE: Final = ("band_label", "scored")


def leave_one_out_rows(
    items: pd.DataFrame, spec: ScoringSpec, city: str, year: int, top: int = 10
) -> list[LooRow]:
    """The KPIs whose removal moves ``city``'s overall rank most under ``spec`` (COINr's
    leave-one-out on the peer group of ``items``); only KPIs that move the rank."""
    inputs = items.drop(
        columns=[c for c in (*_OUTPUT_COLUMNS, *_OUTPUT_COLUMNS_MORE) if c in items.columns]
    )
    drivers = rank_drivers(leave_one_out(inputs, spec), city, year, top)
    return [
        LooRow(
            code=str(r["code"]),
            base_score=_num(r["base_score"]),
            base_rank=_int(r["base_rank"]),
            score_without=_num(r["score_without"]),
            rank_without=_int(r["rank_without"]),
            rank_change=_int(r["rank_change"]),
        )
        for r in drivers.to_dict("records")
    ]


def _num(value: Any) -> float | None:
    number = json_number(value, 4)
    return None if number is None else float(number)


def _int(value: Any) -> int | None:
    number = json_number(value)
    return None if number is None else int(number)

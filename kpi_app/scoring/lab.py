"""The methods lab's result rows: one spec beside the U4SSC rule, with Monte Carlo intervals.

Pure: takes two :class:`~kpi_app.scoring.result.ScoreResult` of the same peer group and the
frame of :func:`~kpi_app.scoring.sensitivity.monte_carlo_ranks`, returns flat rows (overall,
then per dimension) with ranks within the group (1 = best, ties share the best rank).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from kpi_app.scoring.result import ScoreResult, json_number
from kpi_app.scoring.sensitivity import rank_within_year

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
            )
        )
    dims = _ranked(lab.dimensions, ["year", "dimension"])
    rule_dims = _ranked(rule.dimensions, ["year", "dimension"])
    rule_dim_by = {
        (str(r["city"]), int(r["year"]), str(r["dimension"])): r
        for r in rule_dims.to_dict("records")
    }
    order = dims.sort_values(["dimension", "rank", "city"], na_position="last")
    for r in order.to_dict("records"):
        u = rule_dim_by.get((str(r["city"]), int(r["year"]), str(r["dimension"])))
        rows.append(
            LabRow(
                city=str(r["city"]),
                year=int(r["year"]),
                level="dimension",
                group=str(r["dimension"]),
                score=_num(r["score"]),
                rank=_int(r["rank"]),
                coverage=_num(r["coverage"]),
                u4ssc_score=_num(u["score"]) if u else None,
                u4ssc_rank=_int(u["rank"]) if u else None,
            )
        )
    return rows


def _num(value: Any) -> float | None:
    number = json_number(value, 4)
    return None if number is None else float(number)


def _int(value: Any) -> int | None:
    number = json_number(value)
    return None if number is None else int(number)

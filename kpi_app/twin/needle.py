"""What moves the needle: which KPI changes lift a group's U4SSC score, and the cheapest path.

Everything here reads a *scored items* frame for one entity (``ScoreResult.items`` restricted
to one city and year): code, data_point, the group columns (dimension, sub_dimension,
category), direction, value, target, percent_of_target, points, scored and optionally
value_type.

Relative change. Moving an item from value ``v`` to ``v*`` is a relative change of
``|v* − v| / |v|`` (0.2 = a 20 % change of the KPI value, up or down as the direction wants).
From a value of 0 any change is infinitely large in relative terms; such moves are kept but
ranked last. A yes/no KPI switching from "no" to "yes" counts as a relative change of 1.

Only items that are already scored (reported, with a benchmark, direction not "other") are
candidates. Reporting a missing KPI is not an "improvement": it adds an item to the group's
denominator and can raise or lower the score, so it is left to the user to judge.

Gains. In a group with ``n`` scored items one extra point adds ``100 / (4n)`` percentage
points to the group score (the U4SSC rule: points ÷ (4 × scored items)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import pandas as pd

from kpi_app.scoring.bands import BANDS, MAX_POINTS, band_label, band_of
from kpi_app.scoring.percent import BOOLEAN_VALUE_TYPE, percent_of_target, value_at_percent

#: Lower bound (% of target) of each band, by its points.
BAND_FLOOR: Final[dict[int, float]] = {band.points: band.lower_bound for band in BANDS}
#: Group columns of the items frame, by the level name a user picks.
LEVEL_COLUMNS: Final[dict[str, str | None]] = {
    "category": "category",
    "sub_dimension": "sub_dimension",
    "dimension": "dimension",
    "overall": None,
}
#: A boolean answer switching to "yes" is counted as a 100 % relative change.
BOOLEAN_SWITCH_CHANGE: Final[float] = 1.0


def value_for_percent(
    percent: float, value: float, target: float, direction: str, *, boolean: bool = False
) -> float:
    """The value at which an item reaches exactly ``percent`` % of its target.

    Inverts the U4SSC % of target: higher-better ``t·p/100``; lower-better ``t·100/p``;
    two-sided ``t·p/100`` when approaching from below, ``t·(2 − p/100)`` from above (the value
    nearest to the current one); yes/no items need the wanted answer (the target).
    """
    if boolean:
        return target
    return value_at_percent(percent, value, target, direction)


def relative_change(from_value: float, to_value: float, *, boolean: bool = False) -> float:
    """``|to − from| / |from|``; infinite from 0; see the module docstring for yes/no items."""
    if to_value == from_value:
        return 0.0
    if boolean:
        return BOOLEAN_SWITCH_CHANGE
    if from_value == 0:
        return math.inf
    return abs(to_value - from_value) / abs(from_value)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A scored item that can still gain points, with what each higher band would take."""

    code: str
    data_point: str
    group: str
    value: float
    points: int
    to_value: dict[int, float]
    change: dict[int, float]

    @property
    def max_gain(self) -> int:
        return MAX_POINTS - self.points


def _candidates(items: pd.DataFrame, group_column: str | None) -> list[_Candidate]:
    scored = items.loc[items["scored"].astype(bool).to_numpy()]
    boolean = (
        (scored["value_type"].astype(str) == BOOLEAN_VALUE_TYPE).tolist()
        if "value_type" in scored.columns
        else [False] * len(scored)
    )
    found = []
    for (_, row), is_boolean in zip(scored.iterrows(), boolean, strict=True):
        points = int(row["points"])
        if points >= MAX_POINTS:
            continue
        value, target = float(row["value"]), float(row["target"])
        direction = str(row["direction"])
        to_value = {
            band: _settled(
                value_for_percent(
                    BAND_FLOOR[band], value, target, direction, boolean=bool(is_boolean)
                ),
                value,
                target,
                direction,
                band,
                boolean=bool(is_boolean),
            )
            for band in range(points + 1, MAX_POINTS + 1)
        }
        found.append(
            _Candidate(
                code=str(row["code"]),
                data_point=str(row["data_point"]),
                group="" if group_column is None else str(row[group_column]),
                value=value,
                points=points,
                to_value=to_value,
                change={
                    band: relative_change(value, v, boolean=bool(is_boolean))
                    for band, v in to_value.items()
                },
            )
        )
    return found


def _settled(
    candidate: float, value: float, target: float, direction: str, band: int, *, boolean: bool
) -> float:
    """Nudge a computed edge value by a few ulps until the engine really puts it in ``band``.

    ``t·0.66`` and friends are not exact in binary floating point, and the engine recomputes
    the % of target from the value; a suggestion landing a hair under an edge would promise a
    band the scenario then does not get.
    """
    towards = math.inf if candidate >= value else -math.inf
    if direction == "lower_better":
        towards = -math.inf
    for _ in range(8):
        percent = percent_of_target(
            candidate, target, direction, BOOLEAN_VALUE_TYPE if boolean else None
        )
        if int(band_of(percent)) >= band:
            return candidate
        candidate = float(np.nextafter(candidate, towards))
    return candidate


def _group_sizes(items: pd.DataFrame, group_column: str | None) -> dict[str, int]:
    scored = items.loc[items["scored"].astype(bool).to_numpy()]
    if group_column is None:
        return {"": len(scored)}
    return {str(k): int(v) for k, v in scored.groupby(group_column, observed=True).size().items()}


MOVE_COLUMNS: Final[list[str]] = [
    "code",
    "data_point",
    "group",
    "points",
    "value",
    "next_band",
    "value_for_next_band",
    "change_to_next_band",
    "best_band",
    "value_for_best_band",
    "change_to_best_band",
    "score_gain_best",
    "gain_per_percent_change",
]


def needle_table(items: pd.DataFrame, level: str = "dimension") -> pd.DataFrame:
    """Rank the items that can still gain points in their group at ``level``.

    For each candidate: the value and relative change for its **next band** (the distance to
    the next band), and the band that gives the most group score per unit of relative change
    (``gain_per_percent_change``: group-score percentage points gained per 1 % of change).
    Sorted by that efficiency, best first; sort by ``change_to_next_band`` for the other view.
    """
    group_column = _group_column(level)
    sizes = _group_sizes(items, group_column)
    rows = []
    for candidate in _candidates(items, group_column):
        point_value = 100.0 / (MAX_POINTS * sizes[candidate.group])
        efficiency = {
            band: (band - candidate.points) * point_value / (change * 100.0)
            if change > 0
            else math.inf
            for band, change in candidate.change.items()
        }
        best = max(efficiency, key=lambda band: (efficiency[band], band))
        next_band = candidate.points + 1
        rows.append(
            {
                "code": candidate.code,
                "data_point": candidate.data_point,
                "group": candidate.group,
                "points": candidate.points,
                "value": candidate.value,
                "next_band": next_band,
                "value_for_next_band": candidate.to_value[next_band],
                "change_to_next_band": candidate.change[next_band],
                "best_band": best,
                "value_for_best_band": candidate.to_value[best],
                "change_to_best_band": candidate.change[best],
                "score_gain_best": (best - candidate.points) * point_value,
                "gain_per_percent_change": efficiency[best],
            }
        )
    table = pd.DataFrame(rows, columns=MOVE_COLUMNS)
    return table.sort_values(
        ["gain_per_percent_change", "change_to_next_band", "code", "data_point"],
        ascending=[False, True, True, True],
        kind="stable",
        ignore_index=True,
    )


def _group_column(level: str) -> str | None:
    if level not in LEVEL_COLUMNS:
        raise ValueError(f"unknown level {level!r}; expected one of {list(LEVEL_COLUMNS)}")
    return LEVEL_COLUMNS[level]


@dataclass(frozen=True, slots=True)
class Step:
    """Change one item from its value to ``to_value``, moving it up to ``to_band``."""

    code: str
    data_point: str
    from_value: float
    to_value: float
    from_band: int
    to_band: int
    relative_change: float

    @property
    def points_gained(self) -> int:
        return self.to_band - self.from_band


@dataclass(frozen=True, slots=True)
class Plan:
    """The fewest item changes that lift one group to a band (empty when already there)."""

    level: str
    group: str
    target_band: int
    scored_items: int
    points: int
    points_needed: int
    steps: tuple[Step, ...]

    @property
    def score_before(self) -> float:
        return _score(self.points, self.scored_items)

    @property
    def score_after(self) -> float:
        return _score(self.points + sum(s.points_gained for s in self.steps), self.scored_items)

    @property
    def achievable(self) -> bool:
        return self.scored_items > 0

    @property
    def target_label(self) -> str | None:
        return band_label(self.target_band)


def _score(points: int, scored_items: int) -> float:
    return math.nan if scored_items == 0 else 100.0 * points / (MAX_POINTS * scored_items)


def points_needed(target_band: int, scored_items: int) -> int:
    """Fewest group points whose score reaches the band: ⌈floor · n / 25⌉, in exact arithmetic.

    score = 100·P / (4n) ≥ floor  ⇔  P ≥ floor·n / 25; fractions avoid a float landing a
    hair under an edge (the edge itself belongs to the upper band).
    """
    floor = Fraction(BAND_FLOOR[target_band]).limit_denominator(1000)
    return math.ceil(floor * scored_items / 25)


def cheapest_path(
    items: pd.DataFrame, group_id: str, target_band: int, *, level: str = "dimension"
) -> Plan:
    """The fewest KPI changes that lift group ``group_id`` at ``level`` to ``target_band``.

    Why this greedy is exact for the number of changes. The group's score is
    ``100·P / (4n)``: ``n``, the number of scored items, does not change (a changed item stays
    reported and keeps its benchmark), and each item's points depend only on its own value,
    so items contribute independently and a set ``S`` of changed items gains
    ``Σ_{i∈S} gain_i`` with ``gain_i ≤ 4 − p_i``, reached by moving item ``i`` into band 4.
    Any ``k`` changes therefore gain at most the sum of the ``k`` largest ``4 − p_i``; so the
    smallest ``k`` whose ``k`` largest headrooms cover the deficit is a lower bound for every
    plan, and taking items by largest headroom first attains it. (Ordering by points per
    relative change instead is *not* exact: a cheap one-point move can crowd out a single
    three-point move. Here it only breaks ties: among equal headroom the smaller relative
    change comes first.)

    Step sizes. The chosen items first aim at band 4; the surplus over the deficit is then at
    most 2 points (before the last pick the total was short, and one pick adds at most 3), and
    it is handed back where that saves the most relative change, by trying every way to spread
    it. The count is minimal; the total relative change is minimal for the chosen items, not
    over every plan of the same size.
    """
    if target_band not in BAND_FLOOR:
        raise ValueError(f"target band must be 1-{MAX_POINTS}, got {target_band}")
    group_column = _group_column(level)
    in_group = (
        items
        if group_column is None
        else items.loc[(items[group_column].astype(str) == group_id).to_numpy()]
    )
    scored = in_group.loc[in_group["scored"].astype(bool).to_numpy()]
    n, points = len(scored), int(scored["points"].sum())
    needed = points_needed(target_band, n)
    plan = Plan(level, group_id, target_band, n, points, needed, ())
    if n == 0 or points >= needed:
        return plan
    candidates = sorted(
        _candidates(in_group, group_column),
        key=lambda c: (-c.max_gain, c.change[MAX_POINTS], c.code, c.data_point),
    )
    chosen: list[_Candidate] = []
    for candidate in candidates:
        if points + sum(c.max_gain for c in chosen) >= needed:
            break
        chosen.append(candidate)
    surplus = points + sum(c.max_gain for c in chosen) - needed
    bands = _hand_back(chosen, surplus)
    steps = tuple(
        Step(
            code=c.code,
            data_point=c.data_point,
            from_value=c.value,
            to_value=c.to_value[band],
            from_band=c.points,
            to_band=band,
            relative_change=c.change[band],
        )
        for c, band in zip(chosen, bands, strict=True)
    )
    return Plan(level, group_id, target_band, n, points, needed, steps)


def _hand_back(chosen: list[_Candidate], surplus: int) -> list[int]:
    """Target band per chosen item after returning ``surplus`` points where it saves most."""
    best = [MAX_POINTS] * len(chosen)
    best_cost = _plan_cost(chosen, best)
    for bands in _spreads(chosen, surplus):
        cost = _plan_cost(chosen, bands)
        if cost < best_cost:
            best, best_cost = bands, cost
    return best


def _spreads(chosen: list[_Candidate], surplus: int) -> list[list[int]]:
    """Every way to lower chosen items by a total of ``surplus`` points (each keeps ≥ 1 gain)."""
    spreads: list[list[int]] = [[MAX_POINTS] * len(chosen)]
    for _ in range(surplus):
        spreads = [
            [*bands[:i], bands[i] - 1, *bands[i + 1 :]]
            for bands in spreads
            for i, candidate in enumerate(chosen)
            if bands[i] - 1 > candidate.points
        ]
    return spreads


def _plan_cost(chosen: list[_Candidate], bands: list[int]) -> tuple[float, float]:
    """Total relative change, finite parts first so an infinite move never hides the rest."""
    changes = [c.change[band] for c, band in zip(chosen, bands, strict=True)]
    infinite = sum(1 for change in changes if math.isinf(change))
    return (float(infinite), sum(change for change in changes if not math.isinf(change)))

"""Explain a U4SSC group score item by item, and find the improvements that lift a band soonest.

``explain`` opens one group (a category, sub-dimension, dimension or the overall score) of one
(city, year) down to its items. Each item's *contribution* is its share of the group score,
``weight × points ÷ (4 × Σ weight of scored items) × 100``, so the contributions of the items
(and of every child group) add up to the group score exactly.

``next_band_moves`` lists, for one dimension, the value each item would need to climb one
band, the points that would bring, and whether that single move lifts the dimension's band.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from kpi_app.scoring.bands import BANDS, MAX_POINTS, band_of
from kpi_app.scoring.percent import (
    BOOLEAN_VALUE_TYPE,
    DIRECTIONS,
    LOWER_BETTER,
    OTHER,
    TARGET_VALUE,
    percent_of_target,
    value_at_percent,
)
from kpi_app.scoring.result import LEVEL_ID_COLUMNS, ScoreResult, json_number, resolve_level
from kpi_app.scoring.spec import ScoringSpec

#: Why an item did or did not count, in the order the engine checks it.
STATUS_SCORED: Final[str] = "scored"
STATUS_NOT_SCORED: Final[str] = "not scored (direction other)"
STATUS_NO_BENCHMARK: Final[str] = "no benchmark"
STATUS_NOT_REPORTED: Final[str] = "not reported"

#: Display name of each level (the singular used in the items frame's columns).
LEVEL_SINGULAR: Final[dict[str, str]] = {
    "overall": "overall",
    "dimensions": "dimension",
    "sub_dimensions": "sub_dimension",
    "categories": "category",
}

#: Child level of each group level; categories hold items.
CHILD_LEVEL: Final[dict[str, str | None]] = {
    "overall": "dimensions",
    "dimensions": "sub_dimensions",
    "sub_dimensions": "categories",
    "categories": None,
}


@dataclass(frozen=True)
class ItemExplanation:
    """One KPI item inside an explained group."""

    code: str
    data_point: str
    category: str
    value: float
    target: float
    direction: str
    percent_of_target: float
    points: int | None
    band_label: str | None
    weight: float
    status: str
    contribution: float
    #: Composite results only: the item's normalised score (0-100) and its effective weight
    #: in the root score (product of its weight shares up the tree); contribution = both ×.
    normalised_score: float = float("nan")
    effective_weight: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "data_point": self.data_point,
            "category": self.category,
            "value": json_number(self.value),
            "target": json_number(self.target),
            "direction": self.direction,
            "percent_of_target": json_number(self.percent_of_target, 2),
            "points": self.points,
            "band_label": self.band_label,
            "weight": self.weight,
            "status": self.status,
            "contribution": json_number(self.contribution, 4),
            "normalised_score": json_number(self.normalised_score, 4),
            "effective_weight": json_number(self.effective_weight, 6),
        }


@dataclass(frozen=True)
class Explanation:
    """A group node: its own score, its share of the root score, and its children or items.

    Category nodes carry ``items``; higher nodes carry ``children``. ``contribution`` is the
    node's share of the *root* group's score (the root's own contribution is its score).
    """

    city: str
    year: int
    level: str
    id: str
    score: float
    band: int | None
    band_label: str | None
    points: float
    max_points: float
    scored_items: int
    total_items: int
    coverage: float
    contribution: float
    children: tuple[Explanation, ...] = field(default_factory=tuple)
    items: tuple[ItemExplanation, ...] = field(default_factory=tuple)
    #: "u4ssc" (contributions are shares of points) or "composite" (normalised × weight).
    method: str = "u4ssc"
    #: Composite results: why the group has no score ("" when it has one).
    withheld_reason: str = ""

    def all_items(self) -> Iterator[ItemExplanation]:
        """Every item under this node, depth first."""
        yield from self.items
        for child in self.children:
            yield from child.all_items()

    def to_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "year": self.year,
            "level": self.level,
            "id": self.id,
            "score": json_number(self.score, 2),
            "band": self.band,
            "band_label": self.band_label,
            "points": json_number(self.points),
            "max_points": json_number(self.max_points),
            "scored_items": self.scored_items,
            "total_items": self.total_items,
            "coverage": json_number(self.coverage, 4),
            "contribution": json_number(self.contribution, 4),
            "method": self.method,
            "withheld_reason": self.withheld_reason,
            "children": [child.to_dict() for child in self.children],
            "items": [item.to_dict() for item in self.items],
        }


def explain(result: ScoreResult, city: str, year: int, level: str, id: str) -> Explanation:
    """The tree from one group of one (city, year) down to each item, with contributions.

    ``level`` is "category", "sub_dimension", "dimension" or "overall" (plural forms too);
    ``id`` is the group id (ignored for "overall"). Raises KeyError for an unknown group.

    U4SSC results: an item contributes ``weight × points ÷ (4 × Σ weight) × 100``. Composite
    results with arithmetic aggregation: an item contributes its normalised score × its
    effective weight (the product of its weight shares among the reported children at every
    level up to the root). Either way the contributions add up to the root score. Composite
    results that cannot be explained so (geometric aggregation, a withheld root) raise
    :class:`NotExplainable` with the reason.
    """
    level_name = resolve_level(level)
    if level_name == "items":
        raise KeyError("explain works on groups; 'items' is not a group level")
    items = _entity_items(result, city, year)
    id_column = LEVEL_ID_COLUMNS[level_name]
    if id_column is not None:
        items = items.loc[(items[id_column].astype(str) == id).to_numpy()]
    group_id = "overall" if id_column is None else id
    root = _group_row(result, level_name, city, year, group_id)
    rule: _Rule
    if result.method == "u4ssc":
        # The root's max points is every node's denominator: shares of the root's points.
        rule, carry = _U4sscRule(), float(root["max_points"])
    else:
        rule, carry = _composite_rule(result, level_name, group_id, root), 1.0
    return _Walk(result, city, year, rule).node(level_name, group_id, items, carry)


def _entity_items(result: ScoreResult, city: str, year: int) -> pd.DataFrame:
    items = result.entity_rows("items", city, year)
    if items.empty:
        raise KeyError(f"no scored items for city {city!r} in {year}")
    return items


def _group_row(result: ScoreResult, level: str, city: str, year: int, group_id: str) -> pd.Series:
    rows = result.entity_rows(level, city, year)
    id_column = LEVEL_ID_COLUMNS[resolve_level(level)]
    if id_column is not None:
        rows = rows.loc[(rows[id_column].astype(str) == group_id).to_numpy()]
    if rows.empty:
        raise KeyError(f"no {level} {group_id!r} for city {city!r} in {year}")
    return rows.iloc[0]


class _Rule(Protocol):
    """What differs between methods while walking the tree; ``carry`` is passed down.

    U4SSC carries the root's max points (the denominator of every contribution); composite
    results carry the node's effective weight in the root score.
    """

    def child_carry(
        self, walk: _Walk, level: str, column: str, ids: list[str], carry: float
    ) -> dict[str, float]: ...

    def items(self, items: pd.DataFrame, carry: float) -> tuple[ItemExplanation, ...]: ...

    def node_fields(self, row: pd.Series, carry: float) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Walk:
    """One walk down the groups of one (city, year) of a result, by one method's rule."""

    result: ScoreResult
    city: str
    year: int
    rule: _Rule

    def row(self, level: str, group_id: str) -> pd.Series:
        return _group_row(self.result, level, self.city, self.year, group_id)

    def node(self, level: str, group_id: str, items: pd.DataFrame, carry: float) -> Explanation:
        row = self.row(level, group_id)
        child_level = CHILD_LEVEL[level]
        children: tuple[Explanation, ...] = ()
        leaf_items: tuple[ItemExplanation, ...] = ()
        if child_level is None:
            leaf_items = self.rule.items(items, carry)
        else:
            child_column = LEVEL_ID_COLUMNS[child_level]
            assert child_column is not None
            labels = items[child_column].astype(str)
            child_ids = [str(c) for c in pd.unique(labels)]
            carries = self.rule.child_carry(self, child_level, child_column, child_ids, carry)
            children = tuple(
                self.node(
                    child_level,
                    child_id,
                    items.loc[(labels == child_id).to_numpy()],
                    carries[child_id],
                )
                for child_id in child_ids
            )
        return Explanation(
            city=str(self.city),
            year=int(self.year),
            level=LEVEL_SINGULAR[level],
            id=group_id,
            score=float(row["score"]),
            band=None if pd.isna(row["band"]) else int(row["band"]),
            band_label=None if pd.isna(row["band_label"]) else str(row["band_label"]),
            scored_items=int(row["scored_items"]),
            total_items=int(row["total_items"]),
            coverage=float(row["coverage"]),
            children=children,
            items=leaf_items,
            **self.rule.node_fields(row, carry),
        )


def _share(points: float, denominator: float) -> float:
    """Points as a share of the root score: 0 when the root has nothing scored."""
    return points / denominator * 100.0 if denominator > 0 else 0.0


def _item_fields(item: pd.Series) -> dict[str, Any]:
    """What every method shows of an item row."""
    return {
        "code": str(item["code"]),
        "data_point": str(item["data_point"]),
        "category": str(item["category"]),
        "value": float(item["value"]),
        "target": float(item["target"]),
        "direction": str(item["direction"]),
        "percent_of_target": float(item["percent_of_target"]),
        "band_label": None if pd.isna(item["band_label"]) else str(item["band_label"]),
        "status": item_status(item),
    }


class _U4sscRule:
    """Contributions are points as a share of the root's max points."""

    def child_carry(
        self, walk: _Walk, level: str, column: str, ids: list[str], carry: float
    ) -> dict[str, float]:
        return dict.fromkeys(ids, carry)

    def items(self, items: pd.DataFrame, carry: float) -> tuple[ItemExplanation, ...]:
        return tuple(self._item(item, carry) for _, item in items.iterrows())

    @staticmethod
    def _item(item: pd.Series, denominator: float) -> ItemExplanation:
        weight = float(item["weight"]) if "weight" in item.index else 1.0
        points = None if pd.isna(item["points"]) else int(item["points"])
        weighted_points = weight * points if points is not None else 0.0
        return ItemExplanation(
            **_item_fields(item),
            points=points,
            weight=weight,
            contribution=_share(weighted_points, denominator),
        )

    def node_fields(self, row: pd.Series, carry: float) -> dict[str, Any]:
        return {
            "points": float(row["points"]),
            "max_points": float(row["max_points"]),
            "contribution": _share(float(row["points"]), carry),
        }


class NotExplainable(ValueError):
    """A result whose score is not a sum of item contributions; the message says why."""


def _composite_rule(
    result: ScoreResult, level: str, group_id: str, root: pd.Series
) -> _CompositeRule:
    """The rule of an arithmetic composite result with a scored root (else NotExplainable)."""
    spec = ScoringSpec.from_dict(result.spec)
    if spec.aggregation != "arithmetic":
        raise NotExplainable(
            f"a {spec.aggregation} mean is not a sum of item contributions, so this result "
            "cannot be explained item by item; explanations need arithmetic aggregation "
            "(e.g. distance-arith, minmax-arith, points-arith)"
        )
    if pd.isna(root["score"]):
        reason = str(root.get("withheld_reason") or "no score")
        raise NotExplainable(f"{LEVEL_SINGULAR[level]} {group_id!r} has no score ({reason})")
    return _CompositeRule(spec)


@dataclass(frozen=True)
class _CompositeRule:
    """Contributions are normalised scores × effective weights (shares among the reported)."""

    spec: ScoringSpec

    def child_carry(
        self, walk: _Walk, level: str, column: str, ids: list[str], carry: float
    ) -> dict[str, float]:
        rows = {c: walk.row(level, c) for c in ids}
        weights = {c: self.spec.weight(column, c) for c in ids}
        counted = {c: not pd.isna(rows[c]["score"]) and weights[c] > 0 for c in ids}
        total = sum(weights[c] for c in ids if counted[c])
        return {c: carry * weights[c] / total if counted[c] and total > 0 else 0.0 for c in ids}

    def items(self, items: pd.DataFrame, carry: float) -> tuple[ItemExplanation, ...]:
        item_scores = items["score"].to_numpy(dtype=np.float64)
        item_weights = items["item_weight"].to_numpy(dtype=np.float64)
        reported = (~np.isnan(item_scores) & (item_weights > 0)).tolist()
        item_total = float(item_weights[np.asarray(reported, dtype=bool)].sum())
        return tuple(
            self._item(item, carry * float(weight) / item_total if ok and item_total > 0 else 0.0)
            for (_, item), weight, ok in zip(items.iterrows(), item_weights, reported, strict=True)
        )

    @staticmethod
    def _item(item: pd.Series, share: float) -> ItemExplanation:
        normalised = float(item["score"])
        return ItemExplanation(
            **_item_fields(item),
            points=None,
            weight=float(item["item_weight"]),
            contribution=share * normalised if share > 0 else 0.0,
            normalised_score=normalised,
            effective_weight=share,
        )

    def node_fields(self, row: pd.Series, carry: float) -> dict[str, Any]:
        score = float(row["score"])
        return {
            "points": float("nan"),
            "max_points": float("nan"),
            "contribution": carry * score if carry > 0 else 0.0,
            "method": "composite",
            "withheld_reason": str(row.get("withheld_reason") or ""),
        }


def item_status(item: pd.Series) -> str:
    """Why an item row counts or not: scored, direction other, no benchmark, not reported."""
    if bool(item["scored"]):
        return STATUS_SCORED
    if str(item["direction"]) == DIRECTIONS[OTHER]:
        return STATUS_NOT_SCORED
    if pd.isna(item["target"]):
        return STATUS_NO_BENCHMARK
    return STATUS_NOT_REPORTED


# --------------------------------------------------------------------------------------------
# Next-band moves
# --------------------------------------------------------------------------------------------

#: Floating-point steps allowed when nudging a closed-form value onto its band edge.
_MAX_NUDGES: Final[int] = 16

MOVE_COLUMNS: Final[tuple[str, ...]] = (
    "code",
    "data_point",
    "category",
    "direction",
    "value",
    "target",
    "percent_of_target",
    "points",
    "next_points",
    "value_needed",
    "change",
    "relative_change",
    "points_gained",
    "dimension_score_after",
    "lifts_dimension_band",
)


def next_band_moves(result: ScoreResult, city: str, year: int, dimension_id: str) -> pd.DataFrame:
    """Items of one dimension whose improvement lifts the dimension's band soonest.

    For every scoreable item (it has a benchmark and a scored direction) below band 4: the
    value that reaches its next band (for a yes/no item: the wanted answer, i.e. band 4; for a
    not-reported item: reporting a value that meets the target), the resulting points gain,
    the dimension score after that single move, and whether it lifts the dimension's band.
    Sorted by the smallest relative change of the value (``|needed − value| ÷ value``); moves
    from a value of 0 and reporting moves have no finite relative change and come last.
    """
    items = _entity_items(result, city, year)
    items = items.loc[(items["dimension"].astype(str) == dimension_id).to_numpy()]
    dimension = _group_row(result, "dimensions", city, year, dimension_id)
    scoreable = items["target"].notna() & (items["direction"].astype(str) != DIRECTIONS[OTHER])
    below_top = items["points"].fillna(0).astype(int) < MAX_POINTS
    candidates = items.loc[(scoreable & below_top).to_numpy()]
    moves = pd.DataFrame([_move(item, dimension) for _, item in candidates.iterrows()])
    if moves.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in MOVE_COLUMNS})
    moves = moves.sort_values(
        ["relative_change", "points_gained"], ascending=[True, False], na_position="last"
    )
    return moves.reset_index(drop=True)[list(MOVE_COLUMNS)]


def _move(item: pd.Series, dimension: pd.Series) -> dict[str, Any]:
    value, target = float(item["value"]), float(item["target"])
    direction = str(item["direction"])
    boolean = str(item.get("value_type", "")) == BOOLEAN_VALUE_TYPE
    reported = not np.isnan(value)
    points = int(item["points"]) if reported and not pd.isna(item["points"]) else 0
    next_points = MAX_POINTS if (boolean or not reported) else points + 1
    needed = _value_for_band(value, target, direction, boolean, next_points)
    weight = float(item["weight"]) if "weight" in item.index else 1.0
    # A reported item only gains points; a newly reported one also joins the denominator.
    new_points = float(dimension["points"]) + weight * (next_points - points)
    new_max = float(dimension["max_points"]) + (0.0 if reported else MAX_POINTS * weight)
    score_after = new_points / new_max * 100.0
    current_band = 0 if pd.isna(dimension["band"]) else int(dimension["band"])
    change = needed - value if reported else np.nan
    return {
        "code": str(item["code"]),
        "data_point": str(item["data_point"]),
        "category": str(item["category"]),
        "direction": direction,
        "value": value,
        "target": target,
        "percent_of_target": float(item["percent_of_target"]),
        "points": points if reported else pd.NA,
        "next_points": next_points,
        "value_needed": needed,
        "change": change,
        "relative_change": _relative_change(change, value),
        "points_gained": next_points - points,
        "dimension_score_after": score_after,
        "lifts_dimension_band": bool(band_of(score_after) > current_band),
    }


def _relative_change(change: float, value: float) -> float:
    if np.isnan(change):
        return np.nan
    return abs(change) / value if value != 0 else np.inf


def _value_for_band(
    value: float, target: float, direction: str, boolean: bool, points: int
) -> float:
    """The value closest to the current one whose % of target reaches band ``points``.

    Closed forms of the inverse of :func:`percent_of_target`; the result is then nudged by one
    floating-point step at a time in the improving direction until it truly reaches the band,
    because e.g. 0.33 × target / target × 100 can land a hair below 33.
    """
    if boolean:
        return target
    threshold = BANDS[points - 1].lower_bound
    code = DIRECTIONS.index(direction)
    if code == OTHER:
        raise ValueError(f"direction {direction!r} is not scored")
    if code == LOWER_BETTER and threshold == 0:
        return np.inf  # any value meets band 1
    needed = value_at_percent(threshold, value, target, direction)
    above = code == TARGET_VALUE and not np.isnan(value) and value > target
    towards = -np.inf if code == LOWER_BETTER or above else np.inf
    for _ in range(_MAX_NUDGES):
        if int(band_of(percent_of_target(needed, target, direction))) >= points:
            return float(needed)
        needed = float(np.nextafter(needed, towards))
    raise ArithmeticError(f"no value reaches band {points} for target {target} ({direction})")

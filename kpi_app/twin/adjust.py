"""Scenario definitions: what a user changes, and how that turns baseline values into new ones.

A scenario never edits an assessment. It is a list of *adjustments* applied to a copy of the
baseline values, evaluated at a *horizon year* (2030 unless chosen otherwise):

========== ======================================= =========================================
kind       amount means                            value in year y (base value b, base year y₀)
========== ======================================= =========================================
set        the new value                           amount, from the base year on
growth     relative change per year (0.1 = +10 %)  b · (1 + amount)^(y − y₀)
change     change per year in the KPI's unit       b + amount · (y − y₀)
scale_by   factor reached by ``by_year`` (0.5 =    b + (b·amount − b) · progress(y)
           "halve")
reach_by   value reached by ``by_year``            b + (amount − b) · progress(y)
========== ======================================= =========================================

``progress(y) = clip((y − y₀) / (by_year − y₀), 0, 1)``: the change is spread evenly over the
years up to ``by_year`` and then holds ("halve water losses by 2028"). An item takes at most one
adjustment, so the result never depends on the order rules were written in. Every adjusted
value produced by a rule is clipped to the KPI's plausible range and to zero from below (a
share cannot pass 100 % because a rule said +10 % a year); the result says where clipping
happened. A value set directly is taken as typed and only flagged when implausible. Rules other than
``set`` need a reported baseline value to start from; where there is none they are skipped
with a note rather than guessed.

The JSON form stored on the Scenario row is
``{"horizon_year": 2030, "changes": [{"code", "data_point", "value"}],
"rules": [{"kind", "code", "data_point", "amount", "by_year"}]}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, cast

import numpy as np
import pandas as pd

from kpi_app.scoring.spec import DEFAULT_TARGET_YEAR

Kind = Literal["set", "growth", "change", "scale_by", "reach_by"]
KINDS: Final[tuple[Kind, ...]] = ("set", "growth", "change", "scale_by", "reach_by")
#: Kinds spread over the years up to ``by_year``.
DATED_KINDS: Final[frozenset[str]] = frozenset({"scale_by", "reach_by"})
#: Horizon years a scenario may look at; beyond this a straight rule says little.
LATEST_HORIZON: Final[int] = 2100

ItemKey = tuple[str, str]


class ScenarioError(ValueError):
    """A scenario definition is invalid; ``problems`` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One change to one KPI item."""

    code: str
    data_point: str
    kind: Kind
    amount: float
    by_year: int | None = None

    @property
    def key(self) -> ItemKey:
        return (self.code, self.data_point)

    def value_in(self, base_value: float, base_year: int, year: int) -> float:
        """The item's value in ``year`` under this adjustment (before clipping)."""
        elapsed = year - base_year
        match self.kind:
            case "set":
                return self.amount
            case "growth":
                return base_value * (1.0 + self.amount) ** elapsed
            case "change":
                return base_value + self.amount * elapsed
            case "scale_by":
                return base_value + (base_value * self.amount - base_value) * self._progress(
                    base_year, year
                )
            case "reach_by":
                return base_value + (self.amount - base_value) * self._progress(base_year, year)
        raise AssertionError(f"unhandled kind {self.kind}")  # pragma: no cover - Literal guards

    def _progress(self, base_year: int, year: int) -> float:
        assert self.by_year is not None
        span = self.by_year - base_year
        if span <= 0:
            return 1.0  # a deadline already passed means the change applies in full
        return min(max((year - base_year) / span, 0.0), 1.0)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "set":
            return {"code": self.code, "data_point": self.data_point, "value": self.amount}
        return {
            "kind": self.kind,
            "code": self.code,
            "data_point": self.data_point,
            "amount": self.amount,
            "by_year": self.by_year,
        }


@dataclass(frozen=True, slots=True)
class ScenarioDefinition:
    """The adjustments of one scenario and the year at which it is evaluated."""

    horizon_year: int = DEFAULT_TARGET_YEAR
    adjustments: tuple[Adjustment, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_year": self.horizon_year,
            "changes": [a.to_dict() for a in self.adjustments if a.kind == "set"],
            "rules": [a.to_dict() for a in self.adjustments if a.kind != "set"],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioDefinition:
        """Parse and validate the stored JSON form; raise :class:`ScenarioError` if broken."""
        problems: list[str] = []
        horizon = _horizon(data.get("horizon_year", DEFAULT_TARGET_YEAR), problems)
        adjustments = [
            adjustment
            for position, raw in enumerate(data.get("changes") or [], start=1)
            if (adjustment := _parse(dict(raw, kind="set"), f"change {position}", problems))
        ]
        adjustments += [
            adjustment
            for position, raw in enumerate(data.get("rules") or [], start=1)
            if (adjustment := _parse(raw, f"rule {position}", problems))
        ]
        definition = cls(horizon, tuple(adjustments))
        problems += _duplicates(definition.adjustments)
        if problems:
            raise ScenarioError(problems)
        return definition

    def with_adjustment(self, adjustment: Adjustment) -> ScenarioDefinition:
        """A copy where ``adjustment`` replaces whatever adjusted the same item before."""
        kept = tuple(a for a in self.adjustments if a.key != adjustment.key)
        return replace(self, adjustments=(*kept, adjustment))

    def without(self, key: ItemKey) -> ScenarioDefinition:
        return replace(self, adjustments=tuple(a for a in self.adjustments if a.key != key))

    def adjustment_for(self, key: ItemKey) -> Adjustment | None:
        return next((a for a in self.adjustments if a.key == key), None)


def _horizon(raw: Any, problems: list[str]) -> int:
    try:
        year = int(raw)
    except (TypeError, ValueError):
        problems.append(f"horizon_year: {raw!r} is not a year")
        return DEFAULT_TARGET_YEAR
    if not 1990 <= year <= LATEST_HORIZON:
        problems.append(f"horizon_year: {year} is outside 1990-{LATEST_HORIZON}")
    return year


def _parse(raw: Mapping[str, Any], where: str, problems: list[str]) -> Adjustment | None:
    """One adjustment from its JSON form, or None after recording why it is invalid."""
    kind = raw.get("kind")
    code = str(raw.get("code") or "").strip()
    data_point = str(raw.get("data_point") or "").strip()
    amount_raw = raw.get("value") if kind == "set" else raw.get("amount")
    found: list[str] = []
    if kind not in KINDS:
        found.append(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not code:
        found.append(f"{where}: code is missing")
    amount = _number(amount_raw)
    if amount is None:
        found.append(f"{where} ({code}): amount {amount_raw!r} is not a finite number")
    elif kind == "set" and amount < 0:
        found.append(f"{where} ({code}): a KPI value cannot be negative")
    elif kind == "growth" and amount <= -1:
        found.append(f"{where} ({code}): a yearly growth rate must be above -100 %")
    elif kind == "scale_by" and amount < 0:
        found.append(f"{where} ({code}): a scale factor cannot be negative")
    by_year = raw.get("by_year")
    if kind in DATED_KINDS:
        by_year = _number(by_year)
        if by_year is None or not 1990 <= by_year <= LATEST_HORIZON:
            found.append(f"{where} ({code}): by_year must be a year")
    if found:
        problems.extend(found)
        return None
    assert amount is not None
    return Adjustment(
        code=code,
        data_point=data_point,
        kind=cast(Kind, kind),
        amount=amount,
        by_year=int(by_year) if kind in DATED_KINDS and by_year is not None else None,
    )


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None or raw == "":
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _duplicates(adjustments: Iterable[Adjustment]) -> list[str]:
    seen: set[ItemKey] = set()
    problems = []
    for adjustment in adjustments:
        if adjustment.key in seen:
            label = adjustment.code + (
                f" / {adjustment.data_point}" if adjustment.data_point else ""
            )
            problems.append(f"{label}: an item can take only one change or rule")
        seen.add(adjustment.key)
    return problems


#: Columns of the frame :func:`apply_definition` returns.
APPLIED_COLUMNS: Final[list[str]] = [
    "code",
    "data_point",
    "baseline",
    "value",
    "adjusted",
    "clipped",
    "note",
]


def apply_definition(
    baseline: pd.DataFrame,
    definition: ScenarioDefinition,
    *,
    base_year: int,
    year: int | None = None,
    bounds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Apply a scenario to one entity's baseline values, evaluated in ``year`` (default horizon).

    ``baseline`` has code, data_point, value (NaN = not reported) and should list every item
    (missing items are added as not reported when an adjustment names them). ``bounds`` holds
    code, data_point, plausible_min, plausible_max. Returns :data:`APPLIED_COLUMNS`.
    """
    when = definition.horizon_year if year is None else year
    frame = _baseline_frame(baseline, definition)
    limits = _limits(bounds)
    values = frame["baseline"].to_numpy(dtype=np.float64, copy=True)
    adjusted = np.zeros(len(frame), dtype=np.bool_)
    clipped = np.zeros(len(frame), dtype=np.bool_)
    notes = np.full(len(frame), "", dtype=object)
    position = {
        key: i for i, key in enumerate(zip(frame["code"], frame["data_point"], strict=True))
    }
    for adjustment in definition.adjustments:
        row = position[adjustment.key]
        base_value = values[row]
        if adjustment.kind != "set" and math.isnan(base_value):
            notes[row] = "rule skipped: no baseline value to start from"
            continue
        raw = adjustment.value_in(float(base_value), base_year, when)
        low, high = limits.get(adjustment.key, (0.0, math.inf))
        adjusted[row] = True
        if adjustment.kind == "set":
            # A value typed by the user is taken as given (plausibility is a warning only).
            values[row] = raw
            if not low <= raw <= high:
                notes[row] = "outside the plausible range"
            continue
        values[row] = min(max(raw, low), high)
        if values[row] != raw:
            clipped[row] = True
            notes[row] = "clipped to the plausible range"
    return frame.assign(value=values, adjusted=adjusted, clipped=clipped, note=notes)[
        APPLIED_COLUMNS
    ]


def _baseline_frame(baseline: pd.DataFrame, definition: ScenarioDefinition) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "code": baseline["code"].astype(str).to_numpy(),
            "data_point": baseline["data_point"].fillna("").astype(str).to_numpy(),
            "baseline": baseline["value"].to_numpy(dtype=np.float64, na_value=np.nan),
        }
    )
    if frame.duplicated(["code", "data_point"]).any():
        raise ScenarioError(["baseline values hold an item twice"])
    known = set(zip(frame["code"], frame["data_point"], strict=True))
    extra = [a.key for a in definition.adjustments if a.key not in known]
    if extra:
        added = pd.DataFrame(
            {"code": [k[0] for k in extra], "data_point": [k[1] for k in extra]}
        ).assign(baseline=np.nan)
        frame = pd.concat([frame, added], ignore_index=True)
    return frame


def _limits(bounds: pd.DataFrame | None) -> dict[ItemKey, tuple[float, float]]:
    """Per item (low, high): the plausible range, never below zero."""
    if bounds is None:
        return {}
    limits = {}
    for record in bounds.to_dict("records"):
        low = _number(record.get("plausible_min"))
        high = _number(record.get("plausible_max"))
        limits[(str(record["code"]), str(record.get("data_point") or ""))] = (
            max(0.0, low if low is not None else 0.0),
            high if high is not None else math.inf,
        )
    return limits

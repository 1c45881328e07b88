"""Scenario definitions: parsing, validation and applying rules, with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.twin.adjust import Adjustment, ScenarioDefinition, ScenarioError, apply_definition

BASELINE = pd.DataFrame(
    {
        "code": ["RENEW", "LOSS", "PM", "NEW", "EMPTY"],
        "data_point": ["", "", "pm25", "", ""],
        "value": [50.0, 20.0, 12.0, 70.0, np.nan],
    }
)
BOUNDS = pd.DataFrame(
    {
        "code": ["RENEW", "LOSS", "PM", "NEW", "EMPTY"],
        "data_point": ["", "", "pm25", "", ""],
        "plausible_min": [0.0, 0.0, 0.0, 0.0, 0.0],
        "plausible_max": [100.0, 100.0, np.nan, 100.0, 100.0],
    }
)


def applied(definition: dict[str, object], year: int | None = None) -> pd.DataFrame:
    scenario = ScenarioDefinition.from_dict(definition)
    frame = apply_definition(BASELINE, scenario, base_year=2024, year=year, bounds=BOUNDS)
    return frame.set_index(["code", "data_point"])


def test_growth_rule_compounds_per_year() -> None:
    frame = applied({"rules": [{"kind": "growth", "code": "RENEW", "amount": 0.1}]})
    # +10 % a year from 2024 to the default horizon 2030: 50 × 1.1^6 = 88.578…
    assert frame.loc[("RENEW", ""), "value"] == pytest.approx(50 * 1.1**6)
    assert frame.loc[("RENEW", ""), "baseline"] == 50.0
    assert bool(frame.loc[("RENEW", ""), "adjusted"])


def test_rule_result_is_clipped_to_plausible_range() -> None:
    frame = applied({"rules": [{"kind": "growth", "code": "NEW", "amount": 0.1}]})
    # 70 × 1.1^6 = 124 would be an impossible share.
    assert frame.loc[("NEW", ""), "value"] == 100.0
    assert bool(frame.loc[("NEW", ""), "clipped"])
    assert "clipped" in frame.loc[("NEW", ""), "note"]


def test_halve_by_year_is_spread_evenly_then_holds() -> None:
    rule = {"kind": "scale_by", "code": "LOSS", "amount": 0.5, "by_year": 2028}
    # Halfway (2026): 20 → 15; at and after 2028: 10.
    assert applied({"rules": [rule]}, year=2026).loc[("LOSS", ""), "value"] == pytest.approx(15)
    assert applied({"rules": [rule]}, year=2028).loc[("LOSS", ""), "value"] == pytest.approx(10)
    assert applied({"rules": [rule]}).loc[("LOSS", ""), "value"] == pytest.approx(10)


def test_reach_by_and_linear_change() -> None:
    frame = applied(
        {
            "horizon_year": 2027,
            "rules": [
                {
                    "kind": "reach_by",
                    "code": "PM",
                    "data_point": "pm25",
                    "amount": 6,
                    "by_year": 2030,
                },
                {"kind": "change", "code": "RENEW", "amount": 2.5},
            ],
        }
    )
    # 12 → 6 over six years, evaluated after three: 9. 50 + 2.5 × 3 = 57.5.
    assert frame.loc[("PM", "pm25"), "value"] == pytest.approx(9.0)
    assert frame.loc[("RENEW", ""), "value"] == pytest.approx(57.5)


def test_set_value_is_kept_as_typed_and_flagged_when_implausible() -> None:
    frame = applied({"changes": [{"code": "RENEW", "value": 120}, {"code": "LOSS", "value": 5}]})
    assert frame.loc[("RENEW", ""), "value"] == 120.0
    assert frame.loc[("RENEW", ""), "note"] == "outside the plausible range"
    assert frame.loc[("LOSS", ""), "value"] == 5.0
    # Items without an adjustment keep their baseline.
    assert frame.loc[("PM", "pm25"), "value"] == 12.0
    assert not bool(frame.loc[("PM", "pm25"), "adjusted"])


def test_rule_on_not_reported_item_is_skipped_with_a_note() -> None:
    frame = applied({"rules": [{"kind": "growth", "code": "EMPTY", "amount": 0.1}]})
    assert math.isnan(frame.loc[("EMPTY", ""), "value"])
    assert "no baseline" in frame.loc[("EMPTY", ""), "note"]
    # A direct value does not need a baseline.
    assert applied({"changes": [{"code": "EMPTY", "value": 3}]}).loc[("EMPTY", ""), "value"] == 3


def test_definition_round_trips_through_json_form() -> None:
    raw = {
        "horizon_year": 2028,
        "changes": [{"code": "PM", "data_point": "pm25", "value": 5.0}],
        "rules": [
            {"kind": "scale_by", "code": "LOSS", "data_point": "", "amount": 0.5, "by_year": 2028}
        ],
    }
    definition = ScenarioDefinition.from_dict(raw)
    assert definition.to_dict() == raw
    assert ScenarioDefinition.from_dict(definition.to_dict()) == definition


def test_with_adjustment_replaces_the_items_previous_adjustment() -> None:
    definition = ScenarioDefinition(2030, (Adjustment("LOSS", "", "set", 4.0),))
    updated = definition.with_adjustment(Adjustment("LOSS", "", "growth", -0.1))
    assert len(updated.adjustments) == 1
    assert updated.adjustment_for(("LOSS", "")) == Adjustment("LOSS", "", "growth", -0.1)
    assert updated.without(("LOSS", "")).adjustments == ()


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as caught:
        ScenarioDefinition.from_dict(
            {
                "horizon_year": "soon",
                "changes": [{"code": "A", "value": -1}, {"code": "B", "value": "x"}],
                "rules": [
                    {"kind": "explode", "code": "C", "amount": 1},
                    {"kind": "growth", "code": "D", "amount": -1.5},
                    {"kind": "scale_by", "code": "E", "amount": 0.5},
                    {"kind": "growth", "code": "A", "amount": 0.1},
                ],
            }
        )
    problems = caught.value.problems
    assert any("horizon_year" in p for p in problems)
    assert any("cannot be negative" in p for p in problems)
    assert any("'x' is not a finite number" in p for p in problems)
    assert any("kind must be one of" in p for p in problems)
    assert any("above -100 %" in p for p in problems)
    assert any("by_year must be a year" in p for p in problems)
    # A is only reported as duplicate when both entries are valid; its set value is not.
    assert len(problems) == 6

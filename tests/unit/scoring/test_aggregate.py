"""Aggregators: weighted means by hand, geometric zero handling, and the minimum-coverage rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.aggregate import (
    AGGREGATORS,
    GEOMETRIC_SHIFT,
    REASON_NO_ASSESSABLE,
    REASON_NOTHING_REPORTED,
    aggregate_groups,
    aggregator,
    reported_weight_share,
    weighted_arithmetic_mean,
    weighted_geometric_mean,
)

NAN = np.nan


def test_weighted_arithmetic_mean_skips_nan_and_renormalises() -> None:
    # (1·10 + 3·40) / (1 + 3) = 130 / 4 = 32.5; the NaN child and its weight 5 drop out.
    assert weighted_arithmetic_mean([10.0, NAN, 40.0], [1.0, 5.0, 3.0]) == pytest.approx(32.5)
    assert weighted_arithmetic_mean([20.0, 60.0]) == pytest.approx(40.0)
    assert math.isnan(weighted_arithmetic_mean([NAN, NAN]))


def test_weighted_geometric_mean_by_hand() -> None:
    # exp((1·ln 10 + 1·ln 82) / 2) − 1 = √(10·82) − 1 = √820 − 1 ≈ 27.6356
    # (scores 9 and 81 shifted by 1 point).
    assert weighted_geometric_mean([9.0, 81.0]) == pytest.approx(math.sqrt(820.0) - 1.0)
    # weights 3:1 → exp((3 ln 10 + ln 82) / 4) − 1 = (10³ · 82)^(1/4) − 1
    assert weighted_geometric_mean([9.0, 81.0], [3.0, 1.0]) == pytest.approx(82_000**0.25 - 1)


def test_geometric_mean_zero_handling_uses_a_one_point_shift() -> None:
    assert GEOMETRIC_SHIFT == 1.0
    # (0, 100): √(1 · 101) − 1 ≈ 9.05, not 0 (plain geometric mean) and not 50 (arithmetic).
    assert weighted_geometric_mean([0.0, 100.0]) == pytest.approx(math.sqrt(101.0) - 1.0)
    # equal scores are unchanged, including 0 and 100.
    assert weighted_geometric_mean([0.0, 0.0]) == pytest.approx(0.0)
    assert weighted_geometric_mean([100.0, 100.0]) == pytest.approx(100.0)
    # the geometric mean never exceeds the arithmetic one.
    assert weighted_geometric_mean([20.0, 90.0]) < weighted_arithmetic_mean([20.0, 90.0])
    with pytest.raises(ValueError, match=r"0\.\.100"):
        weighted_geometric_mean([-5.0, 10.0])


def test_weights_must_be_non_negative_and_match() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        weighted_arithmetic_mean([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="weights"):
        weighted_arithmetic_mean([1.0, 2.0], [1.0])


def test_reported_weight_share() -> None:
    # weights 1, 3 reported out of 1 + 3 + 4 = 8 → 0.5.
    assert reported_weight_share([1.0, 2.0, NAN], [1.0, 3.0, 4.0]) == pytest.approx(0.5)


def test_registry() -> None:
    assert set(AGGREGATORS) == {"arithmetic", "geometric"}
    assert aggregator("geometric").mean([9.0, 81.0]) == pytest.approx(math.sqrt(820.0) - 1.0)
    with pytest.raises(ValueError, match="choose from"):
        aggregator("median")


def _children() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["a", "a", "b", "b", "c", "d", "e", "e"],
            "score": [10.0, NAN, 50.0, 60.0, NAN, 1.0, 40.0, NAN],
            "weight": [1.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "assessable": [True, True, True, True, True, False, True, True],
        }
    )


def test_aggregate_groups_withholds_below_min_coverage() -> None:
    result = aggregate_groups(_children(), ["group"], min_coverage=0.5).set_index("group")
    # a: reported weight 1 of 4 = 25 % < 50 % → withheld.
    assert math.isnan(result.loc["a", "score"])
    assert result.loc["a", "weight_share"] == pytest.approx(0.25)
    assert result.loc["a", "withheld_reason"] == "weight coverage 25% below minimum 50%"
    # b: both reported → (50 + 60) / 2 = 55.
    assert result.loc["b", "score"] == pytest.approx(55.0)
    assert result.loc["b", "withheld_reason"] == ""
    # c: nothing reported; d: nothing assessable (it is not counted as missing either).
    assert result.loc["c", "withheld_reason"] == REASON_NOTHING_REPORTED
    assert result.loc["d", "withheld_reason"] == REASON_NO_ASSESSABLE
    assert math.isnan(result.loc["d", "score"])
    # e: exactly half the weight reported → kept (the rule is "below", not "at").
    assert result.loc["e", "score"] == pytest.approx(40.0)


def test_aggregate_groups_with_zero_min_coverage_keeps_partial_groups() -> None:
    result = aggregate_groups(_children(), ["group"], min_coverage=0.0).set_index("group")
    assert result.loc["a", "score"] == pytest.approx(10.0)


def test_aggregate_groups_geometric_matches_the_scalar_function() -> None:
    children = pd.DataFrame(
        {"group": ["g", "g"], "score": [9.0, 81.0], "weight": [3.0, 1.0], "assessable": True}
    )
    result = aggregate_groups(children, ["group"], method="geometric")
    assert result["score"].iloc[0] == pytest.approx(
        weighted_geometric_mean([9.0, 81.0], [3.0, 1.0])
    )

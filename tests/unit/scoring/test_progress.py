"""SDG-style progress: every class with hand-computed growth rates, both directions, the table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.progress import (
    DETERIORATION,
    INSUFFICIENT_DATA,
    LIMITED_PROGRESS,
    NEEDS_ACCELERATION,
    NOT_ASSESSED,
    ON_TRACK,
    TARGET_MET,
    assess_progress,
    progress_table,
)


def test_on_track_higher_better() -> None:
    # base 2020: 50, target 100 by 2030 → needed (100/50)^(1/10) − 1 = 2^0.1 − 1 ≈ 7.177 %.
    # achieved 2020 → 2025: (75/50)^(1/5) − 1 = 1.5^0.2 − 1 ≈ 8.447 % → ratio ≈ 1.18.
    progress = assess_progress([2020, 2025], [50.0, 75.0], 100.0, "higher_better")
    assert progress.needed_rate == pytest.approx(2**0.1 - 1)
    assert progress.achieved_rate == pytest.approx(1.5**0.2 - 1)
    assert progress.ratio == pytest.approx((1.5**0.2 - 1) / (2**0.1 - 1))
    assert progress.status == ON_TRACK
    assert progress.rate_kind == "compound"


def test_needs_acceleration_higher_better() -> None:
    # base 2015: 50 → 60 in 2020; needed (100/50)^(1/15) − 1 ≈ 4.729 %;
    # achieved 1.2^(1/5) − 1 ≈ 3.714 % → ratio ≈ 0.785.
    progress = assess_progress([2015, 2018, 2020], [50.0, 55.0, 60.0], 100.0, "higher_better")
    assert progress.ratio == pytest.approx((1.2**0.2 - 1) / (2 ** (1 / 15) - 1))
    assert progress.status == NEEDS_ACCELERATION
    assert (progress.base_year, progress.latest_year) == (2015, 2020)


def test_limited_progress_and_stagnation() -> None:
    # 50 → 52 over 5 years: 1.04^0.2 − 1 ≈ 0.788 % vs needed 4.729 % → ratio ≈ 0.17.
    progress = assess_progress([2015, 2020], [50.0, 52.0], 100.0, "higher_better")
    assert progress.ratio == pytest.approx((1.04**0.2 - 1) / (2 ** (1 / 15) - 1))
    assert progress.status == LIMITED_PROGRESS
    # No change at all is ratio 0, still "limited progress".
    assert assess_progress([2015, 2020], [50.0, 50.0], 100.0, "higher_better").status == (
        LIMITED_PROGRESS
    )


def test_deterioration() -> None:
    # 50 → 40: achieved 0.8^0.2 − 1 ≈ −4.36 % against +4.73 % needed → ratio < 0.
    progress = assess_progress([2015, 2020], [50.0, 40.0], 100.0, "higher_better")
    assert progress.ratio < 0
    assert progress.status == DETERIORATION
    # Met in the base year but not any more: also deterioration.
    lost = assess_progress([2015, 2020], [110.0, 95.0], 100.0, "higher_better")
    assert lost.status == DETERIORATION


def test_target_met() -> None:
    assert assess_progress([2015, 2020], [50.0, 110.0], 100.0, "higher_better").status == (
        TARGET_MET
    )
    assert assess_progress([2015, 2020], [20.0, 4.0], 5.0, "lower_better").status == TARGET_MET
    # A single observation that already meets the target needs no trend.
    assert assess_progress([2020], [100.0], 100.0, "higher_better").status == TARGET_MET


def test_lower_better_uses_negative_rates() -> None:
    # PM2.5 20 → 15 (2015 → 2020), target 5 in 2030: needed (5/20)^(1/15) − 1 ≈ −8.83 %,
    # achieved 0.75^0.2 − 1 ≈ −5.59 % → ratio ≈ 0.633: moving the right way, too slowly.
    progress = assess_progress([2015, 2020], [20.0, 15.0], 5.0, "lower_better")
    assert progress.needed_rate == pytest.approx(0.25 ** (1 / 15) - 1)
    assert progress.achieved_rate == pytest.approx(0.75**0.2 - 1)
    assert progress.status == NEEDS_ACCELERATION
    # Rising pollution is deterioration.
    assert assess_progress([2015, 2020], [20.0, 25.0], 5.0, "lower_better").status == (
        DETERIORATION
    )


def test_first_year_linear_method_falls_back_to_linear_rates_for_a_zero_target() -> None:
    # The named alternative method: target 0 (e.g. no road deaths): linear needed
    # (0 − 10)/15 ≈ −0.667 per year; achieved (7 − 10)/5 = −0.6 → ratio 0.9.
    progress = assess_progress(
        [2015, 2020], [10.0, 7.0], 0.0, "lower_better", method="first-year-linear"
    )
    assert progress.rate_kind == "linear"
    assert progress.needed_rate == pytest.approx(-10 / 15)
    assert progress.achieved_rate == pytest.approx(-0.6)
    assert progress.ratio == pytest.approx(0.9)
    assert progress.status == NEEDS_ACCELERATION


def test_two_sided_target_on_the_distance() -> None:
    # ratio target 1: distance 0.5 → 0.2 (2015 → 2020), tolerance 0.05 by 2030:
    # needed (0.05 − 0.5)/15 = −0.03 per year, achieved (0.2 − 0.5)/5 = −0.06 → ratio 2.
    progress = assess_progress([2015, 2020], [0.5, 0.8], 1.0, "target_value")
    assert progress.ratio == pytest.approx(2.0)
    assert progress.status == ON_TRACK
    assert assess_progress([2015, 2020], [0.5, 0.97], 1.0, "target_value").status == TARGET_MET


def test_insufficient_data_and_not_assessed() -> None:
    assert assess_progress([2020], [50.0], 100.0, "higher_better").status == INSUFFICIENT_DATA
    assert assess_progress([2019, 2020], [np.nan, 50.0], 100.0, "higher_better").status == (
        INSUFFICIENT_DATA
    )
    assert assess_progress([2015, 2020], [1.0, 2.0], np.nan, "higher_better").status == (
        NOT_ASSESSED
    )
    assert assess_progress([2015, 2020], [1.0, 2.0], 5.0, "other").status == NOT_ASSESSED


def test_explicit_base_year_and_target_year() -> None:
    # Base 2018 (value 60), latest 2020 (72), target 100 by 2025:
    # needed (100/60)^(1/7) − 1, achieved 1.2^(1/2) − 1.
    progress = assess_progress(
        [2015, 2018, 2020],
        [50.0, 60.0, 72.0],
        100.0,
        "higher_better",
        base_year=2018,
        target_year=2025,
    )
    assert progress.needed_rate == pytest.approx((100 / 60) ** (1 / 7) - 1)
    assert progress.achieved_rate == pytest.approx(math.sqrt(1.2) - 1)
    with pytest.raises(ValueError, match="base year"):
        assess_progress([2015, 2020], [1.0, 2.0], 5.0, "higher_better", base_year=2016)
    with pytest.raises(ValueError, match="target year"):
        assess_progress([2015, 2020], [1.0, 2.0], 5.0, "higher_better", target_year=2015)


def test_progress_table_matches_single_assessments() -> None:
    values = pd.DataFrame(
        {
            "city": ["a", "a", "b", "b", "a", "a"],
            "code": ["K", "K", "K", "K", "L", "L"],
            "data_point": ["", "", "", "", "", ""],
            "year": [2020, 2015, 2015, 2020, 2015, 2020],
            "value": [60.0, 50.0, 50.0, 52.0, 20.0, 15.0],
        }
    )
    targets = pd.DataFrame(
        {
            "code": ["K", "L"],
            "data_point": ["", ""],
            "target": [100.0, 5.0],
            "direction": ["higher_better", "lower_better"],
        }
    )
    table = progress_table(values, targets).set_index(["city", "code"])
    assert table.loc[("a", "K"), "status"] == NEEDS_ACCELERATION
    assert table.loc[("b", "K"), "status"] == LIMITED_PROGRESS
    single = assess_progress([2015, 2020], [20.0, 15.0], 5.0, "lower_better")
    assert table.loc[("a", "L"), "ratio"] == pytest.approx(single.ratio)
    assert table.loc[("a", "L"), "status"] == single.status
    assert len(table) == 3


# --- the Open SDG method (default) ---------------------------------------------------------


def test_open_sdg_thresholds_are_095_and_06() -> None:
    # base 50 (2015), target 100 by 2030: needed 2^(1/15) − 1; a ratio of about 0.55 is
    # "limited progress" under Open SDG (0.6), not "needs acceleration" (0.5 before).
    needed = 2 ** (1 / 15) - 1
    latest = 50 * (1 + 0.55 * needed) ** 5
    progress = assess_progress([2015, 2020], [50.0, latest], 100.0, "higher_better")
    assert progress.ratio == pytest.approx(0.55)
    assert progress.status == LIMITED_PROGRESS
    latest = 50 * (1 + 0.6 * needed) ** 5
    assert assess_progress(
        [2015, 2020], [50.0, latest * 1.0001], 100.0, "higher_better"
    ).status == (NEEDS_ACCELERATION)
    legacy = assess_progress(
        [2015, 2020], [50.0, 50 * (1 + 0.55 * needed) ** 5], 100.0, "higher_better",
        method="first-year-linear",
    )  # fmt: skip
    assert legacy.status == NEEDS_ACCELERATION


def test_open_sdg_base_year_is_2015_or_the_first_year_after() -> None:
    with_2015 = assess_progress([2012, 2015, 2020], [40.0, 50.0, 60.0], 100.0, "higher_better")
    assert with_2015.base_year == 2015
    without = assess_progress([2012, 2016, 2020], [40.0, 50.0, 60.0], 100.0, "higher_better")
    assert without.base_year == 2016
    assert without.achieved_rate == pytest.approx((60 / 50) ** (1 / 4) - 1)
    before_only = assess_progress([2010, 2014], [40.0, 50.0], 100.0, "higher_better")
    assert before_only.status == INSUFFICIENT_DATA
    legacy = assess_progress(
        [2012, 2016, 2020], [40.0, 50.0, 60.0], 100.0, "higher_better", method="first-year-linear"
    )
    assert legacy.base_year == 2012


def test_open_sdg_zero_target_is_replaced_by_0_001_with_compound_rates() -> None:
    progress = assess_progress([2015, 2020], [10.0, 7.0], 0.0, "lower_better")
    assert progress.rate_kind == "compound"
    assert progress.needed_rate == pytest.approx((0.001 / 10) ** (1 / 15) - 1)
    assert progress.achieved_rate == pytest.approx(0.7 ** (1 / 5) - 1)
    assert progress.status == LIMITED_PROGRESS
    assert progress.target == 0.0  # the substitute feeds the rates only


def test_a_zero_target_never_earns_a_better_class_than_a_small_positive_one() -> None:
    order = [TARGET_MET, ON_TRACK, NEEDS_ACCELERATION, LIMITED_PROGRESS, DETERIORATION]
    for latest in (9.0, 7.0, 5.0, 2.0, 0.5):
        zero = assess_progress([2015, 2020], [10.0, latest], 0.0, "lower_better")
        small = assess_progress([2015, 2020], [10.0, latest], 0.1, "lower_better")
        assert zero.ratio <= small.ratio
        assert order.index(zero.status) >= order.index(small.status)


def test_open_sdg_zero_base_value_is_replaced_by_0_001() -> None:
    progress = assess_progress([2015, 2020], [0.0, 5.0], 10.0, "higher_better")
    assert progress.rate_kind == "compound"
    assert progress.achieved_rate == pytest.approx((5 / 0.001) ** (1 / 5) - 1)
    assert progress.needed_rate == pytest.approx((10 / 0.001) ** (1 / 15) - 1)
    assert progress.status == ON_TRACK


def test_unknown_progress_method_is_refused() -> None:
    with pytest.raises(ValueError, match="open-sdg"):
        assess_progress([2015, 2020], [1.0, 2.0], 5.0, "higher_better", method="nope")

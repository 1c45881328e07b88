"""Normalisers: hand-computed examples for every method and direction, NaN and shape handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from kpi_app.scoring.normalise import (
    NORMALISERS,
    PEER_GROUP_NORMALISERS,
    TIED_PEER_SCORE,
    distance_to_target,
    goalposts,
    min_max,
    normaliser,
    percentile_rank,
    u4ssc_points,
    z_score,
)

NAN = np.nan


def test_distance_to_target_higher_better_caps_at_100() -> None:
    # 50/100 = 50 %; 200/100 = 200 % capped to 100; 0/100 = 0; NaN stays NaN.
    scores = distance_to_target(np.array([50.0, 200.0, 0.0, NAN]), target=100.0)
    assert_allclose(scores, [50.0, 100.0, 0.0, NAN])


def test_distance_to_target_lower_better_and_zero_value() -> None:
    # target/value: 10/20 = 50 %; 10/40 = 25 %; a value 0 (or under target) meets it → 100.
    scores = distance_to_target(
        np.array([20.0, 40.0, 0.0, 5.0]), target=10.0, direction="lower_better"
    )
    assert_allclose(scores, [50.0, 25.0, 100.0, 100.0])


def test_distance_to_target_two_sided() -> None:
    # 100 × (1 − |0.8 − 1| / 1) = 80; 1.3 → 70; 2.5 → 1 − 1.5 = −50, floored at 0.
    scores = distance_to_target(
        np.array([0.8, 1.3, 2.5, 1.0]), target=1.0, direction="target_value"
    )
    assert_allclose(scores, [80.0, 70.0, 0.0, 100.0])


def test_distance_to_target_per_row_targets_and_directions_and_other() -> None:
    scores = distance_to_target(
        np.array([30.0, 30.0, 30.0]),
        target=np.array([60.0, 15.0, NAN]),
        direction=np.array(["higher_better", "lower_better", "higher_better"]),
    )
    # 30/60 = 50; 15/30 = 50; no target → NaN.
    assert_allclose(scores, [50.0, 50.0, NAN])
    assert np.isnan(distance_to_target(np.array([1.0]), target=1.0, direction="other")).all()


def test_series_in_series_out_keeps_index() -> None:
    values = pd.Series([5.0, 10.0], index=["a", "b"], name="pm25")
    scores = distance_to_target(values, target=5.0, direction="lower_better")
    pd.testing.assert_series_equal(scores, pd.Series([100.0, 50.0], index=["a", "b"], name="pm25"))


def test_goalposts_higher_better_default_floor_zero_and_given_floor() -> None:
    # (x − 0) / (80 − 0): 40 → 50; 100 → capped 100.
    assert_allclose(goalposts(np.array([40.0, 100.0]), target=80.0), [50.0, 100.0])
    # floor 20: (50 − 20) / (80 − 20) = 0.5 → 50; 10 is below the floor → 0.
    assert_allclose(goalposts(np.array([50.0, 10.0]), target=80.0, worst=20.0), [50.0, 0.0])


def test_goalposts_lower_better_needs_a_ceiling() -> None:
    # ceiling 25, target 5: (25 − x) / 20 → 10 → 75; 20 → 25; 30 → 0; 4 → 100.
    scores = goalposts(
        np.array([10.0, 20.0, 30.0, 4.0]), target=5.0, direction="lower_better", worst=25.0
    )
    assert_allclose(scores, [75.0, 25.0, 0.0, 100.0])
    with pytest.raises(ValueError, match="worst value"):
        goalposts(np.array([10.0]), target=5.0, direction="lower_better")


def test_goalposts_two_sided_and_degenerate_bounds() -> None:
    # zero point at |worst − target| = |3 − 1| = 2: value 2 is 1 away → 50; default span |1|.
    assert_allclose(
        goalposts(np.array([2.0]), target=1.0, direction="target_value", worst=3.0), [50.0]
    )
    assert_allclose(goalposts(np.array([1.5]), target=1.0, direction="target_value"), [50.0])
    with pytest.raises(ValueError, match="strictly better"):
        goalposts(np.array([1.0]), target=10.0, worst=10.0)


def test_u4ssc_points_maps_bands_to_quarters() -> None:
    # 32.9 % → band 1 → 25; edges 33/66/95 belong to the upper band; NaN stays NaN.
    scores = u4ssc_points(np.array([32.9, 33.0, 66.0, 95.0, 250.0, NAN]), target=100.0)
    assert_allclose(scores, [25.0, 50.0, 75.0, 100.0, 100.0, NAN])


def test_min_max_higher_and_lower_better() -> None:
    values = np.array([1.0, 3.0, 5.0, NAN])
    # (x − 1) / (5 − 1): 0, 50, 100; flipped for lower_better.
    assert_allclose(min_max(values), [0.0, 50.0, 100.0, NAN])
    assert_allclose(min_max(values, direction="lower_better"), [100.0, 50.0, 0.0, NAN])


def test_min_max_two_sided_uses_distance_to_target() -> None:
    # distances to 1: 0.2, 0.5, 0 → oriented −0.2, −0.5, 0 → (−0.2 + 0.5) / 0.5 = 60, 0, 100.
    scores = min_max(np.array([0.8, 1.5, 1.0]), direction="target_value", target=1.0)
    assert_allclose(scores, [60.0, 0.0, 100.0])


def test_peer_methods_without_spread_give_the_tied_score() -> None:
    for method in (min_max, z_score):
        assert_allclose(method(np.array([7.0, 7.0, NAN])), [TIED_PEER_SCORE, TIED_PEER_SCORE, NAN])
    assert_allclose(min_max(np.array([3.0])), [TIED_PEER_SCORE])


def test_z_score_uses_sample_sd_and_maps_to_50_plus_10z() -> None:
    # mean 3, sample sd of (1, 3, 5) = 2 → z = −1, 0, 1 → 40, 50, 60.
    assert_allclose(z_score(np.array([1.0, 3.0, 5.0])), [40.0, 50.0, 60.0])
    assert_allclose(
        z_score(np.array([1.0, 3.0, 5.0]), direction="lower_better"), [60.0, 50.0, 40.0]
    )
    # custom scale 50 ± 20 → 30, 50, 70; an outlier beyond 2.5 sd is clipped to 0..100.
    assert_allclose(z_score(np.array([1.0, 3.0, 5.0]), sd=20.0), [30.0, 50.0, 70.0])
    clipped = z_score(np.array([0.0, 0.0, 0.0, 0.0, 100.0]), sd=40.0)
    assert clipped.max() == 100.0


def test_percentile_rank_is_coinr_n_prank_with_min_ties_and_skips_nan() -> None:
    # COINr n_prank: rank(x, ties.method = "min") → 1, 2, 2, 4 of n = 4 reported;
    # (rank − 1) / (n − 1) → 0, 1/3, 1/3, 1 (× 100).
    scores = percentile_rank(np.array([1.0, 3.0, 3.0, 5.0, NAN]))
    assert_allclose(scores, [0.0, 100 / 3, 100 / 3, 100.0, NAN])
    assert_allclose(percentile_rank(np.array([1.0, 5.0]), direction="lower_better"), [100.0, 0.0])
    # Lower-better ties take the min rank of the flipped order: 5 best, the two 3s share 2.
    assert_allclose(
        percentile_rank(np.array([1.0, 3.0, 3.0, 5.0]), direction="lower_better"),
        [100.0, 100 / 3, 100 / 3, 0.0],
    )


@pytest.mark.parametrize("n", [2, 3, 10])
def test_percentile_rank_of_all_equal_values_is_0_as_in_coinr(n: int) -> None:
    # Every rank is 1 (min ties), so (1 − 1) / (n − 1) = 0 for everyone.
    assert_allclose(percentile_rank(np.full(n, 7.0)), np.zeros(n))


def test_percentile_rank_of_a_single_value_is_undefined_as_in_coinr() -> None:
    # COINr: (1 − 1) / (1 − 1) = NaN; a single value has no peer to be ranked against.
    assert np.isnan(percentile_rank(np.array([7.0, NAN]))).all()


def test_peer_methods_refuse_mixed_directions() -> None:
    with pytest.raises(ValueError, match="one indicator at a time"):
        min_max(np.array([1.0, 2.0]), direction=np.array(["higher_better", "lower_better"]))


def test_unknown_direction_and_missing_target_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown direction"):
        distance_to_target(np.array([1.0]), target=1.0, direction="up")
    with pytest.raises(ValueError, match="needs a target"):
        distance_to_target(np.array([1.0]), target=None)


def test_registry_names_every_method_and_flags_peer_methods() -> None:
    assert set(NORMALISERS) == {
        "distance_to_target",
        "goalposts",
        "u4ssc_points",
        "min_max",
        "z_score",
        "percentile_rank",
    }
    assert {"min_max", "z_score", "percentile_rank"} == PEER_GROUP_NORMALISERS
    assert normaliser("min_max") is min_max
    with pytest.raises(ValueError, match="choose from"):
        normaliser("borda")


@pytest.mark.parametrize("name", sorted(NORMALISERS))
def test_every_method_stays_on_the_0_to_100_scale(name: str) -> None:
    values = np.array([0.0, 3.0, 40.0, 120.0, NAN])
    scores = NORMALISERS[name](values, direction="higher_better", target=np.full(5, 50.0))
    finite = scores[~np.isnan(scores)]
    assert finite.size == 4
    assert (finite >= 0).all() and (finite <= 100).all()
    assert np.isnan(scores[-1])

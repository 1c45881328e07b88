"""Golden-number tests of the U4SSC engine on hand-computed inputs."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from kpi_app.scoring import (
    ScoringInputError,
    band_label,
    band_of,
    percent_capped,
    percent_of_target,
    score_u4ssc,
)

Builder = Callable[..., pd.DataFrame]


def hb(percent: float) -> tuple[float, float, str]:
    """A higher-is-better item at the given % of target (target 100)."""
    return (percent, 100.0, "higher_better")


# -- bands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "points"),
    [
        (0.0, 1),
        (32.999, 1),
        (33.0, 2),
        (65.999, 2),
        (66.0, 3),
        (94.999, 3),
        (95.0, 4),
        (100.0, 4),
        (250.0, 4),
        (np.inf, 4),
    ],
)
def test_band_edges_belong_to_the_upper_band(percent: float, points: int) -> None:
    assert int(band_of(percent)) == points


def test_band_of_is_vectorised_and_marks_nan_as_no_band() -> None:
    result = band_of(pd.Series([10.0, np.nan, 50.0, 95.0]))
    np.testing.assert_array_equal(result, np.array([1, 0, 2, 4], dtype=np.int8))


def test_band_labels_are_the_wheel_labels() -> None:
    assert [band_label(p) for p in (1, 2, 3, 4)] == [
        "Less than 33% of Target",
        "33-66% of Target",
        "66–95% of Target",
        "95%+ Target",
    ]
    assert band_label(0) is None
    with pytest.raises(ValueError, match="band points"):
        band_label(5)


# -- % of target -------------------------------------------------------------------------------


def test_higher_better_is_value_over_target() -> None:
    np.testing.assert_allclose(
        percent_of_target([25.0, 150.0], 50.0, "higher_better"), [50.0, 300.0]
    )


def test_lower_better_is_target_over_value_and_zero_meets_the_target() -> None:
    percent = percent_of_target([10.0, 5.0, 2.5, 0.0], 5.0, "lower_better")
    np.testing.assert_allclose(percent, [50.0, 100.0, 200.0, np.inf])
    assert int(band_of(percent)[-1]) == 4
    # Zero against a zero target also meets it (0/0 is not "not scored").
    assert percent_of_target(0.0, 0.0, "lower_better") == np.inf


def test_two_sided_target_is_one_minus_relative_distance_floored_at_zero() -> None:
    percent = percent_of_target([0.8, 1.0, 1.2, 2.5], 1.0, "target_value")
    np.testing.assert_allclose(percent, [80.0, 100.0, 80.0, 0.0])


def test_yes_no_scores_100_for_the_wanted_answer_and_0_otherwise() -> None:
    percent = percent_of_target([1.0, 0.0, np.nan], 1.0, "higher_better", "boolean")
    np.testing.assert_array_equal(percent, [100.0, 0.0, np.nan])


def test_direction_other_and_missing_inputs_are_not_scored() -> None:
    percent = percent_of_target([50.0, np.nan, 50.0], [100.0, 100.0, np.nan], "higher_better")
    np.testing.assert_array_equal(percent, [50.0, np.nan, np.nan])
    assert np.isnan(percent_of_target(50.0, 100.0, "other"))


def test_unknown_direction_is_rejected() -> None:
    with pytest.raises(ScoringInputError, match="unknown direction"):
        percent_of_target([1.0], [1.0], ["sideways"])


def test_percent_above_100_is_kept_as_measured_but_capped_for_averages() -> None:
    measured = percent_of_target(150.0, 100.0, "higher_better")
    assert measured == pytest.approx(150.0)
    np.testing.assert_array_equal(percent_capped([150.0, 40.0, np.inf]), [100.0, 40.0, 100.0])


# -- group scores ------------------------------------------------------------------------------


def test_worked_example_points_1_3_4_1(category_builder: Builder) -> None:
    result = score_u4ssc(category_builder([hb(10), hb(70), hb(100), hb(20)]))
    assert result.items["points"].tolist() == [1, 3, 4, 1]
    category = result.categories.iloc[0]
    assert category["score"] == pytest.approx(56.25)
    assert category["band"] == 2
    assert category["band_label"] == "33-66% of Target"
    assert (category["points"], category["max_points"]) == (9.0, 16.0)


def test_worked_example_points_3_4_2(category_builder: Builder) -> None:
    result = score_u4ssc(category_builder([hb(80), hb(96), hb(40)]))
    overall = result.overall.iloc[0]
    assert overall["score"] == pytest.approx(75.0)
    assert overall["band"] == 3
    assert overall["band_label"] == "66–95% of Target"


def test_full_hierarchy_on_the_tiny_catalogue(tiny_items: pd.DataFrame) -> None:
    result = score_u4ssc(tiny_items)
    assert result.items["points"].tolist() == [4, 2, 3, 2, 1, 4, 2, 4]
    expected_categories = pd.DataFrame(
        {
            "category": ["EC: ICT: ICT", "EC: ICT: WS", "EC: P: IN", "EN: EN: AQ"],
            "score": [11 / 16 * 100, 25.0, 100.0, 75.0],
            "points": [11.0, 1.0, 4.0, 6.0],
            "max_points": [16.0, 4.0, 4.0, 8.0],
            "scored_items": [4, 1, 1, 2],
            "total_items": [4, 1, 1, 2],
        }
    )
    actual = result.categories[list(expected_categories.columns)].astype({"category": str})
    pdt.assert_frame_equal(actual.reset_index(drop=True), expected_categories, check_dtype=False)
    sub = result.sub_dimensions.set_index("sub_dimension")["score"]
    assert sub.to_dict() == pytest.approx({"EC: ICT": 60.0, "EC: P": 100.0, "EN: EN": 75.0})
    dimensions = result.dimensions.set_index("dimension")
    assert dimensions.loc["EC", "score"] == pytest.approx(16 / 24 * 100)
    assert dimensions.loc["EC", "band"] == 3
    assert result.overall["score"].iloc[0] == pytest.approx(22 / 32 * 100)


def test_group_score_uses_points_not_capped_percentages(category_builder: Builder) -> None:
    # 300 % and 95 % both earn 4 points: over-achievement cannot offset another item.
    result = score_u4ssc(category_builder([hb(300), hb(10)]))
    assert result.overall["score"].iloc[0] == pytest.approx(5 / 8 * 100)


def test_not_reported_and_no_benchmark_items_are_excluded(category_builder: Builder) -> None:
    complete = score_u4ssc(category_builder([hb(10), hb(70), hb(100), hb(20)]))
    with_gaps = score_u4ssc(
        category_builder(
            [
                hb(10),
                hb(70),
                hb(100),
                hb(20),
                (np.nan, 100.0, "higher_better"),
                (50.0, np.nan, "higher_better"),
            ]
        )
    )
    before, after = complete.overall.iloc[0], with_gaps.overall.iloc[0]
    assert after["score"] == before["score"] == pytest.approx(56.25)
    assert (after["scored_items"], after["total_items"]) == (4, 6)
    assert after["coverage"] == pytest.approx(4 / 6)
    assert before["coverage"] == 1.0
    assert with_gaps.items["scored"].tolist() == [True, True, True, True, False, False]
    assert with_gaps.items["points"].isna().tolist()[-2:] == [True, True]


def test_group_with_nothing_scored_has_no_score_and_no_band(category_builder: Builder) -> None:
    result = score_u4ssc(category_builder([(np.nan, 100.0, "higher_better")]))
    overall = result.overall.iloc[0]
    assert np.isnan(overall["score"])
    assert pd.isna(overall["band"])
    assert pd.isna(overall["band_label"])
    assert overall["coverage"] == 0.0


def test_data_points_count_as_separate_items(items_builder: Builder) -> None:
    items = items_builder({("EN: EN: AQ: 1C", "pm25"): 10.0, ("EN: EN: AQ: 1C", "pm10"): 15.0})
    category = score_u4ssc(items).categories.set_index("category").loc["EN: EN: AQ"]
    assert (category["scored_items"], category["total_items"]) == (2, 2)
    assert (category["points"], category["max_points"]) == (6.0, 8.0)


def test_direction_other_is_not_scored_but_counted_in_coverage(category_builder: Builder) -> None:
    result = score_u4ssc(category_builder([hb(100), (5.0, 10.0, "other")]))
    overall = result.overall.iloc[0]
    assert overall["score"] == 100.0
    assert (overall["scored_items"], overall["total_items"]) == (1, 2)
    assert np.isnan(result.items["percent_of_target"].iloc[1])


def test_coverage_core_and_advanced_apart(category_builder: Builder) -> None:
    rows = [hb(100), (np.nan, 100.0, "higher_better"), hb(50), (np.nan, 1.0, "higher_better")]
    tiers = ["core", "core", "advanced", "advanced"]
    overall = score_u4ssc(category_builder(rows, tiers=tiers)).overall.iloc[0]
    assert overall["coverage_core"] == pytest.approx(0.5)
    assert overall["coverage_advanced"] == pytest.approx(0.5)
    only_core = score_u4ssc(category_builder([hb(100)], tiers=["core"])).overall.iloc[0]
    assert np.isnan(only_core["coverage_advanced"])


def test_yes_no_items_in_a_group(category_builder: Builder) -> None:
    rows = [(1.0, 1.0, "higher_better"), (0.0, 1.0, "higher_better")]
    result = score_u4ssc(category_builder(rows, value_types=["boolean", "boolean"]))
    assert result.items["percent_of_target"].tolist() == [100.0, 0.0]
    assert result.overall["score"].iloc[0] == pytest.approx(62.5)


def test_lower_better_zero_value_scores_four_points(category_builder: Builder) -> None:
    result = score_u4ssc(category_builder([(0.0, 5.0, "lower_better")]))
    assert result.items["percent_of_target"].iloc[0] == np.inf
    assert result.items["points"].iloc[0] == 4


def test_weights_generalise_the_points_ratio(category_builder: Builder) -> None:
    items = category_builder([hb(10), hb(100)]).assign(weight=[3.0, 1.0])
    overall = score_u4ssc(items).overall.iloc[0]
    assert overall["score"] == pytest.approx((3 * 1 + 1 * 4) / (4 * 4) * 100)


def test_several_cities_and_years_are_scored_apart(category_builder: Builder) -> None:
    frames = [
        category_builder([hb(100)], city="beta", year=2023),
        category_builder([hb(10)], city="alpha", year=2024),
        category_builder([hb(50)], city="alpha", year=2023),
    ]
    overall = score_u4ssc(pd.concat(frames, ignore_index=True)).overall
    assert list(zip(overall["city"], overall["year"], overall["score"], strict=True)) == [
        ("alpha", 2023, 50.0),
        ("alpha", 2024, 25.0),
        ("beta", 2023, 100.0),
    ]


def test_categorical_and_string_keys_give_the_same_scores(tiny_items: pd.DataFrame) -> None:
    keys = ["city", "code", "data_point", "dimension", "sub_dimension", "category", "tier"]
    categorical = tiny_items.astype(dict.fromkeys([*keys, "direction"], "category"))
    plain, coded = score_u4ssc(tiny_items), score_u4ssc(categorical)
    for level in ("categories", "sub_dimensions", "dimensions", "overall"):
        left = plain.level(level)
        right = coded.level(level)
        right = right.astype(
            {
                c: str
                for c in right.columns
                if isinstance(right[c].dtype, pd.CategoricalDtype)
                and c not in ("band_label", "confidence")
            }
        )
        pdt.assert_frame_equal(left, right)


# -- validation --------------------------------------------------------------------------------


def test_missing_column_is_reported(tiny_items: pd.DataFrame) -> None:
    with pytest.raises(ScoringInputError, match="target"):
        score_u4ssc(tiny_items.drop(columns="target"))


def test_unknown_direction_in_frame_is_reported(tiny_items: pd.DataFrame) -> None:
    with pytest.raises(ScoringInputError, match="unknown direction"):
        score_u4ssc(tiny_items.assign(direction="up"))


def test_unknown_tier_is_reported(tiny_items: pd.DataFrame) -> None:
    with pytest.raises(ScoringInputError, match="unknown tier"):
        score_u4ssc(tiny_items.assign(tier="optional"))


def test_duplicate_keys_are_reported(tiny_items: pd.DataFrame) -> None:
    doubled = pd.concat([tiny_items, tiny_items.iloc[[2]]], ignore_index=True)
    with pytest.raises(ScoringInputError, match="duplicate"):
        score_u4ssc(doubled)


def test_negative_value_and_zero_ratio_target_are_reported(tiny_items: pd.DataFrame) -> None:
    with pytest.raises(ScoringInputError, match="non-negative"):
        score_u4ssc(tiny_items.assign(value=-1.0))
    with pytest.raises(ScoringInputError, match="positive"):
        score_u4ssc(tiny_items.assign(target=0.0))


def test_inconsistent_hierarchy_is_reported(tiny_items: pd.DataFrame) -> None:
    moved = tiny_items.copy()
    moved.loc[0, "sub_dimension"] = "EC: P"
    with pytest.raises(ScoringInputError, match="exactly one sub_dimension"):
        score_u4ssc(moved)


# -- result shape ------------------------------------------------------------------------------


def test_to_dict_is_valid_json_with_nulls(tiny_items: pd.DataFrame) -> None:
    items = tiny_items.copy()
    items.loc[0, "value"] = np.nan
    result = score_u4ssc(items, catalogue_version="v1", benchmark_set="indicative-2026")
    payload = result.to_dict("alpha", 2024)
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["overall"]["id"] == "overall"
    assert payload["method"] == "u4ssc"
    assert payload["benchmark_set"] == "indicative-2026"
    assert payload["items"][0]["value"] is None
    assert payload["items"][0]["band"] is None
    assert payload["categories"][0]["score"] == 58.33
    assert set(payload) == {
        "city", "year", "method", "catalogue_version", "benchmark_set",
        "items", "categories", "sub_dimensions", "dimensions", "overall",
    }  # fmt: skip
    with pytest.raises(KeyError):
        result.to_dict("nowhere", 2024)


def test_result_carries_a_json_ready_spec(tiny_items: pd.DataFrame) -> None:
    result = score_u4ssc(tiny_items)
    assert json.loads(json.dumps(result.spec))["bands"][3]["lower_bound"] == 95.0
    assert result.level("dimension") is result.dimensions

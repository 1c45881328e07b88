"""Golden tests of the methods lab's options on the two-city toy catalogue, computed by hand.

Under distance-arith city x scores: items K1 50, K2 50, K3 100, K4 100, K5a 50, K5b 100;
categories X 50, Y 100, Z 100, W 75; sub-dimensions A 75, B 100, C 75; dimensions EC 87.5,
EN 75; overall 81.25. City y: X 100, Z 0 (K4 "no"), W 100 (K5b missing); EC 50, EN 100;
overall 75. (See tests/unit/scoring/test_composite.py for the same numbers.)
"""

from __future__ import annotations

import math

import pytest

from kpi_app.scoring.bands import SCORE_BAND_LABELS
from kpi_app.scoring.composite import score
from kpi_app.scoring.confidence import QUALITY_WEIGHT_FACTORS, quality_factors
from kpi_app.scoring.lab import leave_one_out_rows
from kpi_app.scoring.spec import PRESETS, Normalisation, ScoringSpec, ScoringSpecError
from tests.unit.scoring.test_composite import toy_items


def spec(**changes: object) -> ScoringSpec:
    return ScoringSpec(normalisation=Normalisation("distance_to_target"), **changes)  # type: ignore[arg-type]


def overall(result_spec: ScoringSpec, items=None) -> dict[str, float]:
    result = score(toy_items() if items is None else items, result_spec)
    return dict(zip(result.overall["city"], result.overall["score"], strict=True))


def test_dimension_weights_by_hand() -> None:
    scores = overall(spec(weights={"dimension": {"EC": 3}}))
    assert scores["x"] == pytest.approx((3 * 87.5 + 75.0) / 4)  # 84.375
    assert scores["y"] == pytest.approx((3 * 50.0 + 100.0) / 4)  # 62.5


def test_a_category_weight_of_zero_leaves_it_out() -> None:
    # x: A = X = 50 without Y; EC = (50 + 100) / 2 = 75; overall (75 + 75) / 2 = 75.
    assert overall(spec(weights={"category": {"EC: A: Y": 0}}))["x"] == pytest.approx(75.0)


def test_sub_dimension_weights_by_hand() -> None:
    # x: EC = (2·75 + 100) / 3 = 83.33…; overall (83.33… + 75) / 2.
    scores = overall(spec(weights={"sub_dimension": {"EC: A": 2}}))
    assert scores["x"] == pytest.approx(((2 * 75 + 100) / 3 + 75) / 2)


def test_a_data_point_weight_by_hand() -> None:
    # x: W = (50 + 3·100) / 4 = 87.5 = EN; overall (87.5 + 87.5) / 2.
    assert overall(spec(weights={"item": {"K5|b": 3}}))["x"] == pytest.approx(87.5)


def test_aggregation_per_level_by_hand() -> None:
    chosen = spec(level_aggregation={"overall": "geometric"})
    result = score(toy_items(), chosen)
    dims = result.dimensions.set_index(["city", "dimension"])["score"]
    assert dims[("x", "EC")] == pytest.approx(87.5)  # lower levels stay arithmetic
    # Geometric with the 1-point shift: sqrt((87.5 + 1)(75 + 1)) − 1.
    x = result.overall.set_index("city")["score"]["x"]
    assert x == pytest.approx(math.sqrt(88.5 * 76.0) - 1.0)
    assert chosen.aggregation_for("overall") == "geometric"
    assert chosen.aggregation_for("category") == "arithmetic"


def test_down_weighting_low_quality_items_by_hand() -> None:
    items = toy_items()
    quality = [float("nan")] * len(items)
    is_x = (items["city"] == "x").to_numpy()
    for index in items.index[is_x & (items["code"] == "K5").to_numpy()]:
        quality[index] = 5.0 if items.at[index, "data_point"] == "a" else 1.0
    items = items.assign(quality=quality)
    # x: W = (0.25·50 + 1·100) / 1.25 = 90 (K5a rough estimate, K5b accurate); X keeps 50
    # (both items unknown quality, equal factors); overall (87.5 + 90) / 2 = 88.75.
    assert overall(spec(down_weight_low_quality=True), items)["x"] == pytest.approx(88.75)
    assert overall(spec(), items)["x"] == pytest.approx(81.25)  # off by default


def test_quality_factors_follow_the_documented_table() -> None:
    frame = toy_items().iloc[:8].assign(quality=[1, 2, 3, 4, 5, 6, None, 2.5])
    assert list(quality_factors(frame)) == [1.0, 1.0, 1.0, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert QUALITY_WEIGHT_FACTORS[4] == 0.5


def test_new_options_round_trip_and_leave_old_fingerprints_alone() -> None:
    plain = PRESETS["distance-arith"]
    assert "level_aggregation" not in plain.to_dict()
    assert "down_weight_low_quality" not in plain.to_dict()
    rich = spec(
        level_aggregation={"overall": "geometric", "category": "arithmetic"},
        down_weight_low_quality=True,
        weights={"dimension": {"EC": 2}},
    )
    assert dict(rich.level_aggregation) == {"overall": "geometric"}  # the default is dropped
    again = ScoringSpec.from_dict(rich.to_dict())
    assert again == rich and again.fingerprint() == rich.fingerprint()
    assert rich.fingerprint() != spec(weights={"dimension": {"EC": 2}}).fingerprint()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"level_aggregation": {"city": "geometric"}}, "unknown level"),
        ({"level_aggregation": {"overall": "median"}}, "unknown aggregation 'median'"),
    ],
)
def test_bad_level_aggregation_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(ScoringSpecError, match=message):
        spec(**changes)


def test_the_u4ssc_rule_refuses_composite_only_options() -> None:
    with pytest.raises(ScoringSpecError, match="composite methods only"):
        score(toy_items(), ScoringSpec(method="u4ssc", down_weight_low_quality=True))


def test_composite_band_labels_say_they_are_score_bands() -> None:
    result = score(toy_items(), PRESETS["minmax-arith"])
    labels = set(result.overall["band_label"].dropna()) | set(result.items["band_label"].dropna())
    assert labels and labels <= set(SCORE_BAND_LABELS)
    assert not any("Target" in label for label in labels)


def test_leave_one_kpi_out_by_hand() -> None:
    # Without K4 (the only item of Z, so B has nothing assessable): x EC = A = 75, overall 75;
    # y EC = A = 100, overall 100: x falls from rank 1 to 2. Without K3, x drops to 75 and ties
    # y (both rank 1): no move for x. Other KPIs leave both ranks alone.
    rows = leave_one_out_rows(toy_items(), spec(), "x", 2024)
    assert [r.code for r in rows] == ["K4"]
    (k4,) = rows
    assert (k4.base_rank, k4.rank_without, k4.rank_change) == (1, 2, 1)
    assert k4.base_score == pytest.approx(81.25) and k4.score_without == pytest.approx(75.0)
    y_rows = leave_one_out_rows(toy_items(), spec(), "y", 2024)
    assert [(r.code, r.rank_change) for r in y_rows] == [("K4", -1), ("K3", -1)]


def test_rows_filtered_out_of_categorical_keys_are_no_groups() -> None:
    # Dropping every KPI of a category (as leave-one-KPI-out does) leaves the category among
    # the categorical's labels; composite scoring must ignore it, not fail on its parent.
    items = toy_items().astype({"category": "category", "sub_dimension": "category"})
    kept = items.loc[(items["code"] != "K4").to_numpy()]
    result = score(kept, spec())
    assert "EC: B: Z" not in set(result.categories["category"].astype(str))
    assert result.overall.set_index("city")["score"]["x"] == pytest.approx(75.0)


@pytest.mark.parametrize(
    "chosen",
    [
        PRESETS["minmax-geo"],
        spec(level_aggregation={"dimension": "geometric"}, weights={"item": {"K5|a": 2}}),
        spec(min_coverage=0.9, down_weight_low_quality=True),
    ],
)
def test_fast_leave_one_out_equals_rescoring_without_the_kpi(chosen: ScoringSpec) -> None:
    from kpi_app.scoring.sensitivity import leave_one_out

    items = toy_items()
    loo = leave_one_out(items, chosen).set_index(["code", "city"])
    for code in items["code"].unique():
        without = score(items.loc[(items["code"] != code).to_numpy()], chosen).overall
        by_city = without.set_index("city")["score"]
        ranks = by_city.round(9).rank(ascending=False, method="min")
        for city in ("x", "y"):
            got = loo.loc[(code, city)]
            if math.isnan(by_city[city]):
                assert math.isnan(got["score_without"])
            else:
                assert got["score_without"] == pytest.approx(by_city[city], abs=1e-9)
                assert got["rank_without"] == ranks[city]

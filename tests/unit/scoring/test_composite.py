"""Composite scoring on a two-city toy catalogue, with every score worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.composite import normalise_items, score, score_composite
from kpi_app.scoring.result import GROUP_MEASURE_COLUMNS
from kpi_app.scoring.spec import (
    PRESETS,
    U4SSC_SPEC,
    Normalisation,
    ScoringSpec,
    ScoringSpecError,
)
from kpi_app.scoring.u4ssc import ScoringInputError

NAN = np.nan

#: code, data_point, dimension, sub_dimension, category, tier, direction, target, value_type
TOY_CATALOGUE = [
    ("K1", "", "EC", "EC: A", "EC: A: X", "core", "higher_better", 100.0, "number"),
    ("K2", "", "EC", "EC: A", "EC: A: X", "core", "lower_better", 10.0, "number"),
    ("K3", "", "EC", "EC: A", "EC: A: Y", "advanced", "higher_better", 50.0, "number"),
    ("K4", "", "EC", "EC: B", "EC: B: Z", "core", "higher_better", 1.0, "boolean"),
    ("K5", "a", "EN", "EN: C", "EN: C: W", "core", "higher_better", 20.0, "number"),
    ("K5", "b", "EN", "EN: C", "EN: C: W", "core", "higher_better", 20.0, "number"),
    ("K6", "", "EN", "EN: C", "EN: C: W", "advanced", "other", 1.0, "number"),
    ("K7", "", "EN", "EN: C", "EN: C: W", "core", "higher_better", NAN, "number"),
]
#: values per city in catalogue order (NaN = not reported)
TOY_VALUES = {
    "x": [50.0, 20.0, 50.0, 1.0, 10.0, 20.0, 3.0, 5.0],
    "y": [100.0, 10.0, NAN, 0.0, 20.0, NAN, 1.0, 5.0],
}


def toy_items(values: dict[str, list[float]] | None = None, year: int = 2024) -> pd.DataFrame:
    columns = ["code", "data_point", "dimension", "sub_dimension", "category", "tier"]
    columns += ["direction", "target", "value_type"]
    catalogue = pd.DataFrame(TOY_CATALOGUE, columns=columns)
    frames = [
        catalogue.assign(city=city, year=year, value=city_values)
        for city, city_values in (values or TOY_VALUES).items()
    ]
    return pd.concat(frames, ignore_index=True)


def _scores(frame: pd.DataFrame, id_column: str | None = None) -> dict[object, float]:
    keys = ["city"] + ([id_column] if id_column else [])
    return {
        (tuple(row[keys]) if id_column else row["city"]): row["score"]
        for _, row in frame.iterrows()
    }


def test_distance_arith_dimension_and_overall_scores_by_hand() -> None:
    result = score_composite(toy_items(), PRESETS["distance-arith"])
    dimensions = _scores(result.dimensions, "dimension")
    # x: K1 50/100 = 50, K2 10/20 = 50 → X 50; K3 50/50 = 100 → Y 100; A = (50 + 100)/2 = 75;
    #    K4 yes → Z = B = 100; EC = (75 + 100)/2 = 87.5.
    #    K5a 10/20 = 50, K5b 100 → W = C = EN = 75 (K6 "other" and K7 no-target not assessable).
    assert dimensions[("x", "EC")] == pytest.approx(87.5)
    assert dimensions[("x", "EN")] == pytest.approx(75.0)
    # y: X = 100; Y not reported, A keeps exactly 50 % weight → 100; K4 no → B = 0; EC = 50.
    #    K5a 100, K5b missing (half the weight) → EN = 100.
    assert dimensions[("y", "EC")] == pytest.approx(50.0)
    assert dimensions[("y", "EN")] == pytest.approx(100.0)
    overall = _scores(result.overall)
    assert overall["x"] == pytest.approx((87.5 + 75.0) / 2)  # 81.25
    assert overall["y"] == pytest.approx((50.0 + 100.0) / 2)  # 75
    # Display bands use the U4SSC thresholds on the score, labelled as score bands (a composite
    # score is no percentage of the target); points are meaningless here.
    x_overall = result.overall.set_index("city").loc["x"]
    assert x_overall["band"] == 3 and x_overall["band_label"] == "Score 66–95 of 100"
    assert result.overall["points"].isna().all() and result.overall["max_points"].isna().all()


def test_min_max_arith_by_hand() -> None:
    result = score_composite(toy_items(), PRESETS["minmax-arith"])
    # K1: x 50 → 0, y 100 → 100; K2 (lower): x 20 → 0, y 10 → 100; K3 only x → tied 50;
    # K4 yes/no stays absolute: x 100, y 0; K5a: x 0, y 100; K5b only x → 50.
    # x: X 0, Y 50 → A 25; B 100 → EC 62.5; W (0 + 50)/2 = 25 → EN 25; overall 43.75.
    # y: X 100, A 100, B 0 → EC 50; EN 100; overall 75.
    overall = _scores(result.overall)
    assert overall["x"] == pytest.approx(43.75)
    assert overall["y"] == pytest.approx(75.0)


def test_geometric_aggregation_by_hand() -> None:
    result = score_composite(toy_items(), PRESETS["distance-geo"])
    # y: X = geo(100, 100) = 100 = A; Z = 0 = B; EC = √((100 + 1)(0 + 1)) − 1; EN = 100.
    ec = math.sqrt(101.0 * 1.0) - 1.0
    dimensions = _scores(result.dimensions, "dimension")
    assert dimensions[("y", "EC")] == pytest.approx(ec)
    assert _scores(result.overall)["y"] == pytest.approx(math.sqrt((ec + 1.0) * 101.0) - 1.0)


def test_weights_at_dimension_and_data_point_level() -> None:
    spec = ScoringSpec(weights={"dimension": {"EC": 3.0}, "item": {"K5|a": 3.0}})
    result = score_composite(toy_items(), spec)
    # x: EN = W = (3·50 + 1·100) / 4 = 62.5; overall = (3·87.5 + 62.5) / 4 = 81.25.
    assert _scores(result.dimensions, "dimension")[("x", "EN")] == pytest.approx(62.5)
    assert _scores(result.overall)["x"] == pytest.approx((3 * 87.5 + 62.5) / 4)


def test_min_coverage_withholds_groups_with_reason() -> None:
    spec = ScoringSpec(min_coverage=0.6)
    result = score_composite(toy_items(), spec)
    categories = result.categories.set_index(["city", "category"])
    # y's W has K5a of K5a + K5b reported: 50 % < 60 % → withheld, with the reason.
    assert math.isnan(categories.loc[("y", "EN: C: W"), "score"])
    assert categories.loc[("y", "EN: C: W"), "withheld_reason"] == (
        "weight coverage 50% below minimum 60%"
    )
    # x is fully reported and unchanged.
    assert _scores(result.overall)["x"] == pytest.approx(81.25)
    # y: A (50 %) withheld → EC 50 % withheld; EN withheld → overall has nothing to average.
    y_overall = result.overall.set_index("city").loc["y"]
    assert math.isnan(y_overall["score"]) and pd.isna(y_overall["band"])
    assert y_overall["withheld_reason"] == "nothing reported"


def test_coverage_counts_match_the_u4ssc_rule() -> None:
    result = score_composite(toy_items(), PRESETS["distance-arith"])
    u4ssc = score(toy_items(), "u4ssc")
    columns = ["city", "dimension", "scored_items", "total_items", "coverage", "coverage_core"]
    pd.testing.assert_frame_equal(
        result.dimensions[columns].reset_index(drop=True),
        u4ssc.dimensions[columns].sort_values(["city", "dimension"]).reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
    )
    # EN of y: 4 items (K5a, K5b, K6, K7), only K5a scored → 25 %.
    en_y = result.dimensions.set_index(["city", "dimension"]).loc[("y", "EN")]
    assert en_y["coverage"] == pytest.approx(0.25)


def test_group_frames_share_the_u4ssc_layout() -> None:
    result = score_composite(toy_items(), PRESETS["zscore-arith"])
    assert list(result.categories.columns[:3]) == ["city", "year", "category"]
    assert tuple(result.categories.columns[3:13]) == GROUP_MEASURE_COLUMNS
    assert tuple(result.overall.columns[2:12]) == GROUP_MEASURE_COLUMNS
    assert result.method == "composite"
    assert ScoringSpec.from_dict(result.spec) == PRESETS["zscore-arith"]
    as_json = result.to_dict("x", 2024)
    assert as_json["overall"]["points"] is None


def test_points_normaliser_equals_u4ssc_on_a_single_category() -> None:
    items = toy_items()
    one_category = items.loc[items["category"] == "EC: A: X"]
    composite = score(one_category, "points-arith").overall
    u4ssc = score(one_category, "u4ssc").overall
    # x: K1 50 % → 2 points, K2 50 % → 2 → 4/8 = 50 %; y: 4 + 4 → 100 %.
    np.testing.assert_allclose(composite["score"], u4ssc["score"])
    np.testing.assert_allclose(composite["score"], [50.0, 100.0])


def test_overrides_change_only_the_named_item() -> None:
    base = normalise_items(toy_items(), ScoringSpec())
    spec = ScoringSpec(overrides={"K1": Normalisation("min_max")})
    changed = normalise_items(toy_items(), spec)
    differs = ~np.isclose(base["score"], changed["score"], equal_nan=True)
    assert set(changed.loc[differs, "code"]) == {"K1"}


def test_peer_group_spans_cities_and_years() -> None:
    two_years = pd.concat([toy_items(year=2023), toy_items(year=2024)], ignore_index=True)
    two_years.loc[(two_years["year"] == 2024) & (two_years["code"] == "K1"), "value"] += 100.0
    scored = normalise_items(two_years, PRESETS["minmax-arith"])
    k1 = scored.loc[scored["code"] == "K1"].set_index(["city", "year"])["score"]
    # K1 values 50, 100 (2023) and 150, 200 (2024) share one min-max: 0, 1/3, 2/3, 1.
    assert k1[("x", 2023)] == pytest.approx(0.0)
    assert k1[("y", 2023)] == pytest.approx(100 / 3)
    assert k1[("y", 2024)] == pytest.approx(100.0)


def test_dispatcher_routes_u4ssc_and_records_the_spec() -> None:
    result = score(toy_items())
    assert result.method == "u4ssc"
    assert "rule" in result.spec
    assert ScoringSpec.from_dict(result.spec) == U4SSC_SPEC
    assert score(toy_items(), "percentile-arith").method == "composite"
    with pytest.raises(ScoringSpecError, match="pools item points"):
        score(toy_items(), ScoringSpec(method="u4ssc", weights={"dimension": {"EC": 2.0}}))
    with pytest.raises(ScoringSpecError, match="composite spec"):
        score_composite(toy_items(), "u4ssc")


def test_u4ssc_item_weights_from_the_spec() -> None:
    spec = ScoringSpec(method="u4ssc", weights={"item": {"K4": 0.0}})
    items = toy_items()
    with_weight = score(items, spec).overall.set_index("city")["score"]
    without_k4 = score(items.loc[items["code"] != "K4"], "u4ssc").overall.set_index("city")
    # A zero weight removes K4 from both numerator and denominator.
    np.testing.assert_allclose(with_weight, without_k4["score"])


def test_broken_input_is_refused() -> None:
    with pytest.raises(ScoringInputError):
        score_composite(toy_items().drop(columns=["target"]), ScoringSpec())

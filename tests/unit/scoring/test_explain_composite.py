"""Explanations of composite results: normalised value × effective weight per item, adding up to
the score, or a clear refusal — never a tree of zero contributions."""

from __future__ import annotations

import pytest

from kpi_app.scoring import explain, score
from kpi_app.scoring.explain import NotExplainable
from kpi_app.scoring.spec import PRESETS, ScoringSpec
from tests.unit.scoring.test_composite import toy_items


@pytest.mark.parametrize("preset", ["distance-arith", "minmax-arith", "points-arith"])
@pytest.mark.parametrize("city", ["x", "y"])
def test_item_contributions_add_up_to_the_composite_score(preset: str, city: str) -> None:
    result = score(toy_items(), preset)
    tree = explain(result, city, 2024, "overall", "")
    overall = float(result.overall.set_index("city").loc[city, "score"])
    contributions = [item.contribution for item in tree.all_items()]
    assert sum(contributions) == pytest.approx(overall)
    assert tree.contribution == pytest.approx(overall)
    assert sum(child.contribution for child in tree.children) == pytest.approx(overall)
    assert tree.method == "composite"
    assert any(c > 0 for c in contributions)


def test_contribution_is_normalised_value_times_effective_weight_by_hand() -> None:
    # distance-arith, city x (docs/scoring.md worked example): overall = (EC + EN) / 2,
    # EC = (A + B) / 2, A = (X + Y) / 2, X = (K1 + K2) / 2, so K1 weighs 1/16 of the overall.
    tree = explain(score(toy_items(), "distance-arith"), "x", 2024, "overall", "")
    by_code = {item.code: item for item in tree.all_items()}
    assert by_code["K1"].normalised_score == pytest.approx(50.0)
    assert by_code["K1"].effective_weight == pytest.approx(1 / 16)
    assert by_code["K1"].contribution == pytest.approx(50.0 / 16)
    assert by_code["K6"].contribution == 0.0  # direction other: not scored
    assert by_code["K6"].status == "not scored (direction other)"


def test_group_weights_enter_the_effective_weight() -> None:
    spec = ScoringSpec.from_dict(
        PRESETS["distance-arith"].to_dict() | {"weights": {"dimension": {"EC": 3.0}}}
    )
    result = score(toy_items(), spec)
    tree = explain(result, "x", 2024, "overall", "")
    overall = float(result.overall.set_index("city").loc["x", "score"])
    assert overall == pytest.approx((3 * 87.5 + 75.0) / 4)
    assert sum(item.contribution for item in tree.all_items()) == pytest.approx(overall)
    ec = next(child for child in tree.children if child.id == "EC")
    assert ec.contribution == pytest.approx(3 * 87.5 / 4)


def test_geometric_aggregation_is_refused_with_a_reason() -> None:
    result = score(toy_items(), "distance-geo")
    with pytest.raises(NotExplainable, match="geometric mean is not a sum"):
        explain(result, "x", 2024, "overall", "")


def test_withheld_root_is_refused_with_its_reason() -> None:
    spec = ScoringSpec.from_dict(PRESETS["distance-arith"].to_dict() | {"min_coverage": 0.6})
    result = score(toy_items(), spec)
    with pytest.raises(NotExplainable, match="no score"):
        explain(result, "y", 2024, "overall", "")


def test_explanation_json_carries_the_composite_fields() -> None:
    payload = explain(score(toy_items(), "distance-arith"), "x", 2024, "overall", "").to_dict()
    assert payload["method"] == "composite"
    item = payload["children"][0]["children"][0]["children"][0]["items"][0]
    assert item["normalised_score"] == 50.0
    assert item["effective_weight"] == pytest.approx(1 / 16)


def test_composite_item_json_band_agrees_with_its_label() -> None:
    payload = score(toy_items(), "distance-arith").to_dict("x", 2024)
    k1 = next(item for item in payload["items"] if item["code"] == "K1")
    assert k1["points"] is None  # points belong to the U4SSC rule
    assert k1["band"] == 2 and k1["band_label"] == "Score 33–66 of 100"  # score 50

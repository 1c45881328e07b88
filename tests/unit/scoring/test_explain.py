"""Tests of score explanations and next-band moves on the tiny hand-computed catalogue."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_app.scoring import explain, next_band_moves, percent_of_target, score_u4ssc
from kpi_app.scoring.bands import band_of

Builder = Callable[..., pd.DataFrame]


def test_dimension_tree_goes_down_to_items(tiny_items: pd.DataFrame) -> None:
    tree = explain(score_u4ssc(tiny_items), "alpha", 2024, "dimension", "EC")
    assert (tree.level, tree.id, tree.score) == ("dimension", "EC", pytest.approx(16 / 24 * 100))
    assert [child.id for child in tree.children] == ["EC: ICT", "EC: P"]
    ict = tree.children[0]
    assert [category.id for category in ict.children] == ["EC: ICT: ICT", "EC: ICT: WS"]
    items = list(tree.all_items())
    assert len(items) == 6
    first = ict.children[0].items[0]
    assert (first.code, first.points, first.weight) == ("EC: ICT: ICT: 1C", 4, 1.0)
    # 4 points out of the dimension's 24 possible: 16.67 of its 66.67 %.
    assert first.contribution == pytest.approx(4 / 24 * 100)


def test_contributions_sum_to_the_group_score_at_every_node(tiny_items: pd.DataFrame) -> None:
    tree = explain(score_u4ssc(tiny_items), "alpha", 2024, "overall", "")
    assert sum(item.contribution for item in tree.all_items()) == pytest.approx(tree.score)
    assert sum(child.contribution for child in tree.children) == pytest.approx(tree.score)
    for dimension in tree.children:
        assert sum(i.contribution for i in dimension.all_items()) == pytest.approx(
            dimension.contribution
        )


def test_unscored_items_explain_why(items_builder: Builder) -> None:
    items = items_builder(
        {("EC: ICT: ICT: 1C", ""): 100.0, ("EC: ICT: ICT: 3A", ""): 5.0},
        overrides={
            ("EC: ICT: ICT: 3A", ""): {"target": np.nan},
            ("EC: ICT: ICT: 4C", ""): {"direction": "other"},
        },
    )
    tree = explain(score_u4ssc(items), "alpha", 2024, "category", "EC: ICT: ICT")
    statuses = {item.code: item.status for item in tree.items}
    assert statuses == {
        "EC: ICT: ICT: 1C": "scored",
        "EC: ICT: ICT: 2C": "not reported",
        "EC: ICT: ICT: 3A": "no benchmark",
        "EC: ICT: ICT: 4C": "not scored (direction other)",
    }
    assert [item.contribution for item in tree.items] == [100.0, 0.0, 0.0, 0.0]
    assert tree.to_dict()["items"][1]["value"] is None


def test_unknown_group_raises(tiny_items: pd.DataFrame) -> None:
    result = score_u4ssc(tiny_items)
    with pytest.raises(KeyError):
        explain(result, "alpha", 2024, "dimension", "XX")
    with pytest.raises(KeyError):
        explain(result, "alpha", 1999, "dimension", "EC")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 500, allow_nan=False)),
            st.floats(1, 200, allow_nan=False),
            st.sampled_from(["higher_better", "lower_better", "target_value"]),
            st.floats(0.1, 5, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_weighted_contributions_sum_to_the_score(
    rows: list[tuple[float | None, float, str, float]],
) -> None:
    items = pd.DataFrame(
        {
            "city": "alpha",
            "year": 2024,
            "code": [f"EC: ICT: ICT: {i}C" for i in range(len(rows))],
            "data_point": "",
            "dimension": "EC",
            "sub_dimension": "EC: ICT",
            "category": "EC: ICT: ICT",
            "tier": "core",
            "direction": [row[2] for row in rows],
            "value": [np.nan if row[0] is None else row[0] for row in rows],
            "target": [row[1] for row in rows],
            "weight": [row[3] for row in rows],
        }
    )
    tree = explain(score_u4ssc(items), "alpha", 2024, "overall", "")
    total = sum(item.contribution for item in tree.all_items())
    assert total == pytest.approx(0.0 if np.isnan(tree.score) else tree.score)


def test_next_band_moves_values_reach_the_next_band(tiny_items: pd.DataFrame) -> None:
    moves = next_band_moves(score_u4ssc(tiny_items), "alpha", 2024, "EC")
    # Items at band 4 (1C, IN 1C) cannot move; the others each need one band more.
    assert set(moves["code"]) == {
        "EC: ICT: ICT: 2C",
        "EC: ICT: ICT: 3A",
        "EC: ICT: ICT: 4C",
        "EC: ICT: WS: 1C",
    }
    for move in moves.itertuples():
        reached = band_of(percent_of_target(move.value_needed, move.target, move.direction))
        assert int(reached) == move.next_points == move.points + 1
    assert moves["relative_change"].is_monotonic_increasing
    by_code = moves.set_index("code")
    # 2C is at 40 % (band 2): band 3 starts at 66 % of its target 50.
    assert by_code.loc["EC: ICT: ICT: 2C", "value_needed"] == pytest.approx(33.0)
    assert by_code.loc["EC: ICT: ICT: 4C", "value_needed"] == pytest.approx(20 / 0.66)
    # EC has 16/24 points (66.7 %, band 3): one more point gives 70.8 %, still band 3.
    assert not by_code["lifts_dimension_band"].any()
    assert by_code.loc["EC: ICT: ICT: 3A", "dimension_score_after"] == pytest.approx(17 / 24 * 100)


def test_next_band_move_that_lifts_the_dimension(category_builder: Builder) -> None:
    # Points 4, 4, 3, 1 = 12/16 = 75 % (band 3); 95 % needs 15.2 points: no single move.
    # Points 4, 4, 4, 3 = 15/16 = 93.75 %; lifting the 3 to 4 gives 100 %: band 4.
    rows = [(100.0, 100.0, "higher_better")] * 3 + [(90.0, 100.0, "higher_better")]
    moves = next_band_moves(score_u4ssc(category_builder(rows)), "alpha", 2024, "EC")
    assert moves["code"].tolist() == ["EC: ICT: ICT: 4C"]
    assert moves["value_needed"].iloc[0] == pytest.approx(95.0)
    assert bool(moves["lifts_dimension_band"].iloc[0]) is True


def test_next_band_moves_for_two_sided_and_unreported_items(category_builder: Builder) -> None:
    rows = [(1.5, 1.0, "target_value"), (np.nan, 10.0, "higher_better")]
    moves = next_band_moves(score_u4ssc(category_builder(rows)), "alpha", 2024, "EC")
    two_sided = moves.iloc[0]
    assert two_sided["points"] == 2  # 50 % of target
    assert two_sided["value_needed"] == pytest.approx(1.34)  # 66 % from above
    unreported = moves.iloc[1]
    assert pd.isna(unreported["points"])
    assert unreported["next_points"] == 4
    assert unreported["value_needed"] == pytest.approx(9.5)

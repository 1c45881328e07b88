"""Property tests of the U4SSC engine: bounds, monotonicity, order and padding invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_app.scoring import score_u4ssc

#: category → (sub_dimension, dimension) of the generated catalogues.
HIERARCHY = {
    "EC: ICT: ICT": ("EC: ICT", "EC"),
    "EC: ICT: WS": ("EC: ICT", "EC"),
    "EC: P: IN": ("EC: P", "EC"),
    "SC: EH: ED": ("SC: EH", "SC"),
}
GROUP_LEVELS = ("categories", "sub_dimensions", "dimensions", "overall")
SCORED_DIRECTIONS = ("higher_better", "lower_better", "target_value")

values = st.one_of(st.none(), st.floats(0.0, 1_000.0, allow_nan=False))
targets = st.one_of(st.none(), st.floats(0.01, 1_000.0, allow_nan=False))


@st.composite
def item_specs(draw: st.DrawFn) -> dict[str, object]:
    boolean = draw(st.booleans()) and draw(st.booleans())  # about one item in four
    if boolean:
        value: float | None = draw(st.one_of(st.none(), st.sampled_from([0.0, 1.0])))
        target: float | None = 1.0
        direction = "higher_better"
    else:
        value, target = draw(values), draw(targets)
        direction = draw(st.sampled_from([*SCORED_DIRECTIONS, "other"]))
    return {
        "category": draw(st.sampled_from(sorted(HIERARCHY))),
        "tier": draw(st.sampled_from(["core", "advanced"])),
        "direction": direction,
        "value_type": "boolean" if boolean else "percentage",
        "value": np.nan if value is None else value,
        "target": np.nan if target is None else target,
    }


@st.composite
def item_frames(draw: st.DrawFn) -> pd.DataFrame:
    cities = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    specs = draw(st.lists(item_specs(), min_size=1, max_size=10))
    rows = []
    for city in cities:
        for number, spec in enumerate(specs):
            sub_dimension, dimension = HIERARCHY[str(spec["category"])]
            # Each city reports its own values; the catalogue part (spec) is shared.
            value = spec["value"] if city == cities[0] else draw(values)
            rows.append(
                {
                    "city": city,
                    "year": 2024,
                    "code": f"{spec['category']}: {number + 1}C",
                    "data_point": "",
                    "dimension": dimension,
                    "sub_dimension": sub_dimension,
                    **spec,
                    "value": np.nan if value is None else value,
                }
            )
    frame = pd.DataFrame(rows)
    boolean = frame["value_type"] == "boolean"
    frame.loc[boolean & frame["value"].notna(), "value"] = (
        frame.loc[boolean & frame["value"].notna(), "value"].round().clip(0, 1)
    )
    return frame


@settings(max_examples=40, deadline=None)
@given(item_frames())
def test_scores_stay_between_0_and_100(items: pd.DataFrame) -> None:
    result = score_u4ssc(items)
    for level in GROUP_LEVELS:
        scores = result.level(level)["score"].dropna()
        assert ((scores >= 0) & (scores <= 100)).all()
        coverage = result.level(level)["coverage"]
        assert ((coverage >= 0) & (coverage <= 1)).all()
    assert (result.items["percent_of_target"].dropna() >= 0).all()


def improved(value: float, target: float, direction: str, step: float) -> float:
    """A value moved towards the target by ``step`` (a share of the remaining distance)."""
    if direction == "higher_better":
        return value + step * max(target - value, 0.0) + (step if value >= target else 0.0)
    if direction == "lower_better":
        return value - step * max(value - target, 0.0) if value > target else value * (1 - step)
    return value + step * (target - value)


@settings(max_examples=40, deadline=None)
@given(item_frames(), st.data())
def test_improving_one_value_never_lowers_any_score(
    items: pd.DataFrame, data: st.DataObject
) -> None:
    movable = items.index[
        items["value"].notna()
        & items["target"].notna()
        & items["direction"].isin(SCORED_DIRECTIONS)
        & (items["value_type"] != "boolean")
    ]
    if movable.empty:
        return
    row = data.draw(st.sampled_from(list(movable)))
    step = data.draw(st.floats(0.01, 1.0))
    better = items.copy()
    better.loc[row, "value"] = improved(
        items.loc[row, "value"], items.loc[row, "target"], items.loc[row, "direction"], step
    )
    before, after = score_u4ssc(items), score_u4ssc(better)
    for level in GROUP_LEVELS:
        old, new = before.level(level)["score"], after.level(level)["score"]
        assert (new.fillna(-1) >= old.fillna(-1) - 1e-9).all()


@settings(max_examples=30, deadline=None)
@given(item_frames(), st.randoms(use_true_random=False))
def test_shuffling_rows_never_changes_results(items: pd.DataFrame, random: object) -> None:
    order = list(items.index)
    random.shuffle(order)  # type: ignore[attr-defined]
    before, after = score_u4ssc(items), score_u4ssc(items.loc[order].reset_index(drop=True))
    for level in GROUP_LEVELS:
        pdt.assert_frame_equal(before.level(level), after.level(level))
    key = ["city", "year", "code", "data_point"]
    pdt.assert_frame_equal(
        before.items.sort_values(key).reset_index(drop=True),
        after.items.sort_values(key).reset_index(drop=True),
    )


@settings(max_examples=30, deadline=None)
@given(item_frames(), st.sampled_from(sorted(HIERARCHY)), st.sampled_from(["core", "advanced"]))
def test_adding_a_not_reported_item_never_changes_a_score(
    items: pd.DataFrame, category: str, tier: str
) -> None:
    sub_dimension, dimension = HIERARCHY[category]
    extra = pd.DataFrame(
        {
            "city": items["city"].unique(),
            "year": 2024,
            "code": f"{category}: 99A",
            "data_point": "",
            "dimension": dimension,
            "sub_dimension": sub_dimension,
            "category": category,
            "tier": tier,
            "direction": "higher_better",
            "value_type": "percentage",
            "value": np.nan,
            "target": 50.0,
        }
    )
    before = score_u4ssc(items)
    after = score_u4ssc(pd.concat([items, extra], ignore_index=True))
    old = before.overall.set_index("city")
    new = after.overall.set_index("city")
    pdt.assert_series_equal(old["score"], new["score"])
    pdt.assert_series_equal(old["scored_items"], new["scored_items"])
    assert (new["total_items"] == old["total_items"] + 1).all()
    old_dims = before.dimensions.set_index(["city", "dimension"])["score"]
    new_dims = after.dimensions.set_index(["city", "dimension"])["score"]
    pdt.assert_series_equal(old_dims, new_dims.loc[old_dims.index])

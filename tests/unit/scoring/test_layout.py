"""The dense layout (scoring/layout.py) places every row in its own cell on every path.

The layout has several paths chosen by the panel's shape: entity ids over every (city, year)
pair of the span, later compacted when some pairs are absent (dense panels); a presence table
of the pairs (years further apart); a hash factorisation (years very far apart); and the item
keys checked on a key table or, with very many labels, on a per-item table. Each test forces
one path by the shape of the data and checks the invariant every path must keep: the cell of
a row names that row's item, city and year, and the entities are the present pairs, sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.percent import ScoringInputError
from kpi_app.scoring.u4ssc import score_u4ssc, validated_inputs
from tests.unit.scoring.test_composite_fast_paths import random_panel


def panel(seed: int) -> pd.DataFrame:
    """A random panel (test_composite_fast_paths) with at least two years."""
    items = random_panel(seed, categorical=bool(seed % 2))
    if items["year"].nunique() == 1:
        items = pd.concat([items, items.assign(year=items["year"] + 1)], ignore_index=True)
    return items


def far_years(items: pd.DataFrame, gap: int) -> pd.DataFrame:
    """The same panel with its years spread ``gap`` apart (a wide span, few pairs present)."""
    first = int(items["year"].min())
    return items.assign(year=first + (items["year"] - first) * gap)


def table_years(items: pd.DataFrame) -> pd.DataFrame:
    """Years spread so that about 400,000 (city, year) pairs span them: too many to lay out
    over every pair, few enough for a presence table."""
    span = int(items["year"].max() - items["year"].min())
    return far_years(items, 400_000 // (items["city"].nunique() * span))


def wide_keys(items: pd.DataFrame) -> pd.DataFrame:
    """The same panel with 50,000 unused code labels (the key table would be too large)."""
    code = items["code"].astype("category")
    return items.assign(code=code.cat.add_categories([f"unused-{i}" for i in range(50_000)]))


def missing_pairs(items: pd.DataFrame) -> pd.DataFrame:
    """The panel without every row of one (city, year) pair, so that pair is absent."""
    first = items.iloc[0]
    gone = (items["city"] == first["city"]) & (items["year"] == first["year"])
    return items[~gone].reset_index(drop=True)


SHAPES = {
    "dense": lambda items: items,
    "absent pair": missing_pairs,
    "presence table": table_years,
    "hash": lambda items: far_years(items, 3_000_000),
    "wide keys": wide_keys,
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(4))
def test_every_row_lands_in_the_cell_of_its_item_city_and_year(shape, seed):
    items = SHAPES[shape](panel(seed))
    checked = validated_inputs(items)
    layout = checked.layout
    item, entity = np.divmod(layout.row_cell, layout.n_entities)
    keys = [layout.item_keys[i] for i in item]
    rows = zip(items["code"].astype(str), items["data_point"].astype(str), strict=True)
    assert keys == list(rows)
    assert list(checked.entity_cities[entity]) == list(items["city"])
    np.testing.assert_array_equal(layout.entity_year[entity], items["year"].to_numpy())
    # The entities are exactly the pairs present, each once, ordered by city code then year.
    pairs = {(str(c), int(y)) for c, y in zip(items["city"], items["year"], strict=True)}
    listed = list(zip(map(str, checked.entity_cities), map(int, layout.entity_year), strict=True))
    assert len(listed) == len(pairs) and set(listed) == pairs
    order = layout.entity_city * 10**9 + layout.entity_year
    assert (np.diff(order) > 0).all()
    assert int(checked.occupied.sum()) == len(items)
    assert not layout.provisional


@pytest.mark.parametrize("shape", SHAPES)
def test_group_scores_do_not_depend_on_the_layout_path(shape):
    items = panel(3)
    got = score_u4ssc(SHAPES[shape](items))
    want = score_u4ssc(items)
    for level in ("categories", "sub_dimensions", "dimensions", "overall"):
        expected = want.level(level)
        if shape in ("presence table", "hash"):  # the same groups under other year labels
            expected = SHAPES[shape](expected)
        if shape == "absent pair":
            first = items.iloc[0]
            gone = (expected["city"] == first["city"]) & (expected["year"] == first["year"])
            expected = expected[~gone]
        pd.testing.assert_frame_equal(
            got.level(level).reset_index(drop=True), expected.reset_index(drop=True)
        )


@pytest.mark.parametrize("shape", ["dense", "wide keys"])
def test_an_item_under_two_categories_is_rejected_on_both_key_checks(shape):
    items = SHAPES[shape](panel(1).astype({"category": str}))
    categories = items["category"].unique()
    row = items.index[items["code"] == items["code"].iloc[0]][0]
    other = next(name for name in categories if name != items.at[row, "category"])
    items.loc[row, "category"] = other
    with pytest.raises(ScoringInputError, match="one category, sub_dimension"):
        score_u4ssc(items)


@pytest.mark.parametrize("shape", ["dense", "presence table", "hash"])
def test_duplicate_keys_are_reported_with_the_rows(shape):
    items = SHAPES[shape](panel(2))
    doubled = pd.concat([items, items.iloc[[4]]], ignore_index=True)
    with pytest.raises(ScoringInputError, match=r"duplicate \(city, year, code, data_point\) rows"):
        score_u4ssc(doubled)


def test_an_empty_frame_scores_to_empty_frames():
    items = random_panel(0, categorical=True).iloc[:0]
    result = score_u4ssc(items)
    assert len(result.items) == 0
    for level in ("categories", "sub_dimensions", "dimensions", "overall"):
        assert len(result.level(level)) == 0
        assert "score" in result.level(level).columns


def test_each_shape_takes_the_path_it_is_named_after():
    # Guards the tests above: a change of the thresholds must not leave a path untested.
    from kpi_app.scoring import layout

    def path(items: pd.DataFrame) -> str:
        city = layout.encode_column(items, "city")
        found = layout._encode_items(items)
        entities = layout._Entities.of(items, city, found.n_items)
        if entities.provisional:
            return "provisional"
        raw = city.codes.astype(np.int64)
        return (
            "hash" if entities.span * (int(raw.max()) + 1) > 4 * len(items) + 1_000_000 else "table"
        )

    items = panel(1)
    assert path(items) == path(missing_pairs(items)) == "provisional"
    assert path(SHAPES["presence table"](items)) == "table"
    assert path(SHAPES["hash"](items)) == "hash"
    wide = wide_keys(items)
    sizes = [len(layout.encode_column(wide, name).labels) for name in layout.ITEM_PARTS]
    assert np.prod(sizes, dtype=np.int64) > layout.KEY_TABLE_MAX  # the per-item path check

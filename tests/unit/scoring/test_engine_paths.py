"""Shortcuts of the scoring engine give what the plain computation gives, exactly.

Each test compares a fast path with the straightforward computation it replaces: the
direction codes relabelled by comparison, the yes/no rows handed over once, the composite
items normalised on the rows of a dense matrix (goalposts reading each row's plausible range),
and the confidence rule's reliance on a high bound never being met without the medium one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.composite import normalise_items
from kpi_app.scoring.confidence import THRESHOLDS
from kpi_app.scoring.normalise import goalposts, normaliser
from kpi_app.scoring.percent import DIRECTIONS, check_values, encode_directions, percent_and_points
from kpi_app.scoring.spec import Normalisation, ScoringSpec
from tests.unit.scoring.test_composite_fast_paths import random_panel


@pytest.mark.parametrize(
    "categories",
    [
        list(DIRECTIONS),  # the engine's own order: the codes as they are
        ["higher_better", "lower_better", "other", "target_value"],  # two codes swap
        ["target_value", "other", "lower_better", "higher_better"],
        ["lower_better", "higher_better"],  # a subset
        [*DIRECTIONS, *(f"unused {i}" for i in range(10))],  # many categories, unused ones
    ],
)
def test_categorical_directions_get_the_codes_of_their_names(categories):
    rng = np.random.default_rng(len(categories))
    used = [name for name in categories if name in DIRECTIONS]
    names = rng.choice(used, size=5_000)
    column = pd.Series(pd.Categorical(names, categories=categories))
    codes = encode_directions(column)
    assert codes.dtype == np.int8
    np.testing.assert_array_equal(codes, [DIRECTIONS.index(name) for name in names])
    if categories == list(DIRECTIONS):
        # The codes are the frame's own: handed out read-only, never to be written into.
        assert np.shares_memory(codes, np.asarray(column.array.codes))
        with pytest.raises(ValueError, match="read-only"):
            codes[0] = 1


def test_yes_no_rows_given_once_change_nothing():
    items = random_panel(4, categorical=True)
    rng = np.random.default_rng(4)
    values = items["value"].to_numpy()
    targets = items["target"].to_numpy(copy=True)
    boolean = rng.random(len(items)) < 0.1
    values = np.where(boolean, rng.integers(0, 2, len(items)).astype(float), values)
    targets[boolean] = 1.0
    directions = encode_directions(items["direction"])
    rows = np.flatnonzero(boolean)
    plain = percent_and_points(values, targets, directions, boolean)
    given = percent_and_points(values, targets, directions, boolean, boolean_rows=rows)
    np.testing.assert_array_equal(plain[0], given[0])
    np.testing.assert_array_equal(plain[1], given[1])
    check_values(values, targets, directions, boolean, boolean_rows=rows)
    targets[rows[0]] = 0.5
    with pytest.raises(ValueError, match="yes/no items take value and target"):
        check_values(values, targets, directions, boolean, boolean_rows=rows)


def test_goalposts_read_the_plausible_range_of_each_items_own_rows():
    items = random_panel(6, categorical=True)
    items = items[items["direction"] != "other"].reset_index(drop=True)
    rng = np.random.default_rng(6)
    # A plausible floor and ceiling per row (as a catalogue carrying them would give).
    items["plausible_min"] = rng.uniform(0, 5, len(items))
    items["plausible_max"] = items["target"].fillna(50) * rng.uniform(2, 4, len(items))
    spec = ScoringSpec(normalisation=Normalisation("goalposts"))
    scored = normalise_items(items, spec)
    for (code, point), rows in items.groupby(["code", "data_point"], observed=True).groups.items():
        item = items.loc[rows]
        item = item[item["target"].notna()]
        if item.empty:
            continue
        direction = str(item["direction"].iloc[0])
        worst = item["plausible_max" if direction == "lower_better" else "plausible_min"]
        want = goalposts(
            item["value"].to_numpy(),
            target=item["target"].to_numpy(),
            direction=direction,
            worst=worst.to_numpy(),
        )
        got = scored.loc[item.index, "score"].to_numpy()
        np.testing.assert_array_equal(got, want, err_msg=f"{code} {point}")


def mixed_panel(seed: int) -> pd.DataFrame:
    """A random panel with yes/no items and a few items whose rows mix directions."""
    items = random_panel(seed, categorical=False)
    rng = np.random.default_rng(seed)
    codes = items["code"].unique()
    yes_no = items["code"].isin(codes[::5]) & items["target"].notna()
    items["value_type"] = np.where(yes_no, "boolean", "number")
    items.loc[yes_no, "target"] = 1.0
    items.loc[yes_no, "value"] = np.where(rng.random(int(yes_no.sum())) < 0.6, 1.0, 0.0)
    mixed = items["code"].isin(codes[2::7]) & ~yes_no & (rng.random(len(items)) < 0.3)
    items.loc[mixed, "direction"] = "lower_better"
    return items


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "overrides",
    [
        {},  # every simple item from the shared % of target
        {"points": "u4ssc_points"},  # two absolute methods: the per-row item lookup
        {"points": "min_max"},  # a peer-group method beside the absolute one
    ],
)
def test_each_item_scores_as_its_method_scores_its_rows_alone(seed, overrides):
    items = mixed_panel(seed)
    codes = sorted(items["code"].unique())
    chosen = {code: Normalisation(overrides["points"]) for code in codes[1::3]} if overrides else {}
    spec = ScoringSpec(normalisation=Normalisation("distance_to_target"), overrides=chosen)
    scored = normalise_items(items, spec)
    assessable = items["target"].notna() & (items["direction"] != "other")
    assert scored["assessable"].to_numpy().tolist() == assessable.tolist()
    assert scored.loc[~assessable, "score"].isna().all()
    checked = mixed = 0
    for (code, point), rows in items[assessable].groupby(["code", "data_point"]).groups.items():
        item = items.loc[rows]
        method = spec.normalisation_for(code, point)
        got = scored.loc[rows, "score"].to_numpy()
        if (item["value_type"] == "boolean").all():
            answers = np.where(item["value"] == item["target"], 100.0, 0.0)
            answers[item["value"].isna().to_numpy()] = np.nan
            want = answers if method.name != "u4ssc_points" else np.where(answers == 100, 100, 25)
            want = np.where(np.isnan(answers), np.nan, want)
        elif item["direction"].nunique() > 1:
            # Cities published under sets that orient the item differently: each
            # direction's rows are scored as an item of their own (docs/scoring.md).
            want = np.full(len(item), np.nan)
            for direction in item["direction"].unique():
                part = (item["direction"] == direction).to_numpy()
                want[part] = normaliser(method.name)(
                    item["value"].to_numpy()[part],
                    target=item["target"].to_numpy()[part],
                    direction=str(direction),
                )
            mixed += 1
        else:
            want = normaliser(method.name)(
                item["value"].to_numpy(),
                target=item["target"].to_numpy(),
                direction=str(item["direction"].iloc[0]),
            )
        np.testing.assert_array_equal(got, want, err_msg=f"{code} {point} {method.name}")
        checked += 1
    assert checked > 5
    assert mixed > 0 or seed == 1  # seed 1 draws no item whose rows mix directions


@pytest.mark.parametrize("method", ["distance_to_target", "u4ssc_points", "min_max", "z_score",
                                    "percentile_rank"])  # fmt: skip
def test_rows_of_another_direction_are_scored_on_their_own(method):
    """Two cities published under a set that makes the KPI two-sided, three under one where
    higher is better: the two-sided rows are scored (or ranked) among themselves."""
    rows = [
        ("a", 60.0, "higher_better"),
        ("b", 80.0, "higher_better"),
        ("c", 120.0, "higher_better"),
        ("d", 90.0, "target_value"),
        ("e", 130.0, "target_value"),
    ]
    items = pd.DataFrame(
        {
            "city": [city for city, _, _ in rows],
            "year": 2024,
            "code": "EC: ICT: ICT: 1C",
            "data_point": "",
            "dimension": "EC",
            "sub_dimension": "EC: ICT",
            "category": "EC: ICT: ICT",
            "tier": "core",
            "direction": [direction for _, _, direction in rows],
            "target": 100.0,
            "value": [value for _, value, _ in rows],
        }
    )
    scored = normalise_items(items, ScoringSpec(normalisation=Normalisation(method)))
    score = normaliser(method)
    higher = score(np.array([60.0, 80.0, 120.0]), target=100.0, direction="higher_better")
    two_sided = score(np.array([90.0, 130.0]), target=100.0, direction="target_value")
    np.testing.assert_array_equal(scored["score"].to_numpy(), [*higher, *two_sided])
    if method == "percentile_rank":  # the nearer of the two to its target ranks first
        assert list(two_sided) == [100.0, 0.0]


def test_a_high_bound_is_never_below_the_medium_one():
    # grade_codes counts the bounds a share meets: that is its level only if meeting the
    # high bound implies meeting the medium one.
    for share in range(3):
        assert THRESHOLDS["high"][share] >= THRESHOLDS["medium"][share]

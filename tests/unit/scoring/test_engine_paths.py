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
from kpi_app.scoring.normalise import goalposts
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


def test_a_high_bound_is_never_below_the_medium_one():
    # grade_codes counts the bounds a share meets: that is its level only if meeting the
    # high bound implies meeting the medium one.
    for share in range(3):
        assert THRESHOLDS["high"][share] >= THRESHOLDS["medium"][share]

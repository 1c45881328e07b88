"""``charts.rows.tuples``: what ``DataFrame.itertuples`` yields (field names and values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.charts.rows import tuples


def mixed_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "code": pd.Categorical(["EC: I: T: 1C", "SC: SH: SA: 2C", None, "EC: I: T: 1C"]),
            "points": pd.array([3, None, 1, 4], dtype="Int8"),
            "score": [71.5, math.nan, 0.0, -2.25],
            "scored": [True, False, True, True],
            "year": np.array([2020, 2021, 2022, 2023], dtype="int64"),
            "label": pd.Series(["a", None, "c", "d"], dtype="string"),
            "class": ["x", "y", "z", "w"],  # a keyword: renamed to _5 as itertuples does
            "1st": [1, 2, 3, 4],  # not an identifier: renamed too
        },
        index=[10, 20, 30, 40],
    )
    return frame


def same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if left is pd.NA or right is pd.NA:
        return left is right

    # itertuples hands nullable integers on as numpy scalars; tuples as Python ints.
    def plain(value: object) -> object:
        return value.item() if isinstance(value, np.generic) else value

    return type(plain(left)) is type(plain(right)) and left == right


@pytest.mark.parametrize("index", [True, False])
def test_tuples_are_what_itertuples_gives(index):
    frame = mixed_frame()
    expected = list(frame.itertuples(index=index))
    got = list(tuples(frame, index=index))
    assert [type(t)._fields for t in got] == [type(t)._fields for t in expected]
    assert len(got) == len(expected) == 4
    for mine, theirs in zip(got, expected, strict=True):
        assert all(same(a, b) for a, b in zip(mine, theirs, strict=True)), (mine, theirs)
    assert got[0].code == "EC: I: T: 1C" and got[1].points is pd.NA


def test_empty_frames_and_one_class_per_set_of_columns():
    frame = mixed_frame()
    assert list(tuples(frame.iloc[0:0])) == []
    assert list(tuples(pd.DataFrame(), index=False)) == []
    first, second = next(tuples(frame)), next(tuples(frame.copy()))
    assert type(first) is type(second)  # made once, not per call

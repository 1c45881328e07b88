"""Tests of build_items: catalogue × (city, year) layout, benchmark join and overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from kpi_app.scoring import ScoringInputError, build_items, score_u4ssc

CATALOGUE = pd.DataFrame(
    {
        "code": ["EC: ICT: ICT: 1C", "SC: SH: SI: 1C", "EN: EN: AQ: 1C", "EN: EN: AQ: 1C"],
        "data_point": ["", None, "pm25", "pm10"],
        "name": ["Household Internet Access", "Gender Income Equity", "Air", "Air"],
        "dimension": ["EC", "SC", "EN", "EN"],
        "sub_dimension": ["EC: ICT", "SC: SH", "EN: EN", "EN: EN"],
        "category": ["EC: ICT: ICT", "SC: SH: SI", "EN: EN: AQ", "EN: EN: AQ"],
        "tier": ["core", "advanced", "core", "core"],
        "value_type": ["percentage", "ratio", "amount", "amount"],
        "direction": ["higher_better", "other", "lower_better", "lower_better"],
        "order": [1, 4, 2, 3],
    }
)
BENCHMARKS = pd.DataFrame(
    {
        "code": ["EC: ICT: ICT: 1C", "SC: SH: SI: 1C", "EN: EN: AQ: 1C"],
        "data_point": ["", "", "pm25"],
        "target": [100.0, 1.0, 5.0],
        "direction": [None, "target_value", None],
        "source": ["universal access", "parity", "WHO 2021"],
        "rationale": ["", "", ""],
    }
)


def values(*rows: tuple[str, int, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["city", "year", "code", "data_point", "value"])


def test_every_item_appears_for_every_city_year_in_catalogue_order() -> None:
    items = build_items(
        CATALOGUE,
        BENCHMARKS,
        values(
            ("oslo", 2024, "EC: ICT: ICT: 1C", "", 90.0),
            ("bergen", 2023, "EN: EN: AQ: 1C", "pm10", 12.0),
        ),
    )
    assert len(items) == 2 * 4
    assert items["city"].astype(str).tolist() == ["bergen"] * 4 + ["oslo"] * 4
    assert items["year"].tolist() == [2023] * 4 + [2024] * 4
    assert items["code"].astype(str).tolist()[:4] == [
        "EC: ICT: ICT: 1C", "EN: EN: AQ: 1C", "EN: EN: AQ: 1C", "SC: SH: SI: 1C",
    ]  # fmt: skip
    expected_values = [np.nan, np.nan, 12.0, np.nan, 90.0, np.nan, np.nan, np.nan]
    np.testing.assert_array_equal(items["value"].to_numpy(), expected_values)


def test_benchmark_targets_and_direction_override_are_joined() -> None:
    items = build_items(CATALOGUE, BENCHMARKS, values(("oslo", 2024, "SC: SH: SI: 1C", "", 0.8)))
    by_item = items.assign(
        code=items["code"].astype(str), data_point=items["data_point"].astype(str)
    )
    by_item = by_item.set_index(["code", "data_point"])
    assert by_item.loc[("SC: SH: SI: 1C", ""), "direction"] == "target_value"
    assert by_item.loc[("EC: ICT: ICT: 1C", ""), "direction"] == "higher_better"
    assert by_item.loc[("EN: EN: AQ: 1C", "pm25"), "target"] == 5.0
    assert np.isnan(by_item.loc[("EN: EN: AQ: 1C", "pm10"), "target"])  # no benchmark
    result = score_u4ssc(items)
    assert result.items.set_index("code").loc[
        "SC: SH: SI: 1C", "percent_of_target"
    ] == pytest.approx(80.0)


def test_built_frame_scores_like_a_hand_built_one() -> None:
    built = build_items(
        CATALOGUE,
        BENCHMARKS,
        values(
            ("oslo", 2024, "EC: ICT: ICT: 1C", "", 50.0),
            ("oslo", 2024, "EN: EN: AQ: 1C", "pm25", 5.0),
        ),
    )
    overall = score_u4ssc(built).overall
    assert overall["score"].iloc[0] == pytest.approx(6 / 8 * 100)  # 2 + 4 points
    assert (overall["scored_items"].iloc[0], overall["total_items"].iloc[0]) == (2, 4)


def test_keys_are_categorical_and_columns_follow_the_contract() -> None:
    items = build_items(CATALOGUE, BENCHMARKS, values(("oslo", 2024, "EC: ICT: ICT: 1C", "", 1.0)))
    assert list(items.columns) == [
        "city", "year", "code", "data_point", "dimension", "sub_dimension", "category",
        "tier", "direction", "value_type", "value", "target",
    ]  # fmt: skip
    assert isinstance(items["code"].dtype, pd.CategoricalDtype)
    pdt.assert_series_equal(items["year"], pd.Series([2024] * 4, name="year"))


def test_unknown_items_and_duplicate_values_are_rejected() -> None:
    with pytest.raises(ScoringInputError, match="not in the catalogue"):
        build_items(CATALOGUE, BENCHMARKS, values(("oslo", 2024, "XX: 1C", "", 1.0)))
    twice = values(
        ("oslo", 2024, "EC: ICT: ICT: 1C", "", 1.0), ("oslo", 2024, "EC: ICT: ICT: 1C", "", 2.0)
    )
    with pytest.raises(ScoringInputError, match="several rows"):
        build_items(CATALOGUE, BENCHMARKS, twice)
    stray = pd.concat([BENCHMARKS, BENCHMARKS.iloc[[0]].assign(code="ZZ: 9C")])
    with pytest.raises(ScoringInputError, match="benchmark set names items not in the catalogue"):
        build_items(CATALOGUE, stray, values(("oslo", 2024, "EC: ICT: ICT: 1C", "", 1.0)))
    with pytest.raises(ScoringInputError, match="lacks required"):
        build_items(CATALOGUE.drop(columns="tier"), BENCHMARKS, values())


def test_yes_no_value_type_spellings_become_boolean() -> None:
    catalogue = CATALOGUE.assign(value_type=["boolean/yes-no", "ratio", "amount", "amount"])
    items = build_items(catalogue, BENCHMARKS, values(("oslo", 2024, "EC: ICT: ICT: 1C", "", 1.0)))
    assert items["value_type"].astype(str).iloc[0] == "boolean"

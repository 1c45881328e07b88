"""Dashboard figures and downloads: content of the traces, not just their existence."""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest

from kpi_app.charts import (
    band_heatmap,
    city_map,
    compare_bars,
    figure_json,
    plain,
    rank_intervals,
    score_bars,
    to_csv_bytes,
    to_excel_bytes,
    trend_lines,
)


def test_score_bars_print_score_and_band():
    frame = pd.DataFrame(
        {"name": ["Economy", "Society"], "score": [56.25, float("nan")], "band": [2, None]}
    )
    bar = score_bars(frame, label_column="name")["data"][0]
    assert bar["y"] == ["Economy", "Society"]
    assert bar["text"] == ["56 % (2)", "Not scored"]
    assert bar["x"] == [56.25, None]  # NaN travels as JSON null


def test_heatmap_shows_band_numbers_for_each_city():
    bands = pd.DataFrame({"Oslo (2024)": [4, 0], "Lima (2023)": [1, 3]}, index=["KPI a", "KPI b"])
    heat = band_heatmap(bands)["data"][0]
    assert heat["x"] == ["Oslo (2024)", "Lima (2023)"]
    assert heat["text"] == [["4", "1"], ["–", "3"]]
    assert heat["z"] == [[4, 1], [0, 3]]


def test_map_groups_cities_by_band_and_skips_unlocated():
    cities = pd.DataFrame(
        {
            "name": ["A", "B", "C"],
            "latitude": [60.0, -12.0, None],
            "longitude": [10.0, -77.0, None],
            "band": [4, 4, 2],
            "hover": ["a", "b", "c"],
        }
    )
    figure = city_map(cities)
    assert [trace["type"] for trace in figure["data"]] == ["scattergeo"]
    assert figure["data"][0]["text"] == ["A", "B"]
    assert figure["data"][0]["name"].startswith("4: ")


def test_compare_trend_and_rank_figures():
    scores = pd.DataFrame(
        {
            "city_name": ["A", "A", "B", "B"],
            "dimension": ["EC", "EN"] * 2,
            "score": [50, 60, 70, 80],
            "band": [2, 2, 3, 3],
        }
    )
    assert [t["name"] for t in compare_bars(scores, group_column="dimension")["data"]] == ["A", "B"]
    trend = pd.DataFrame({"year": [2023, 2024], "group": ["Overall"] * 2, "score": [40.0, 55.0]})
    assert trend_lines(trend, label_column="group")["data"][0]["y"] == [40.0, 55.0]
    ranks = pd.DataFrame(
        {
            "city_name": ["A", "B"],
            "median_rank": [2.0, 1.0],
            "rank_p05": [1.0, 1.0],
            "rank_p95": [2.0, 2.0],
        }
    )
    trace = rank_intervals(ranks)["data"][0]
    assert trace["y"] == ["B", "A"]
    assert trace["error_x"]["arrayminus"] == [0.0, 1.0]


def test_figure_json_cannot_close_its_script_element():
    frame = pd.DataFrame({"name": ["</script><b>x"], "score": [10.0], "band": [1]})
    text = figure_json(score_bars(frame, label_column="name"))
    assert "</script>" not in text
    assert json.loads(text)["data"][0]["y"] == ["</script><b>x"]


def test_csv_and_excel_downloads_round_trip_and_defuse_formulas():
    frame = pd.DataFrame({"city": ["Ås", "=HYPERLINK(1)"], "score": [1.5, 2.0]})
    csv_text = to_csv_bytes(frame).decode("utf-8-sig")
    assert csv_text.splitlines() == ["city,score", "Ås,1.5", "'=HYPERLINK(1),2.0"]
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame, "a/b:c")))
    sheet = book.active
    assert sheet.title == "a b c"
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["city", "score"], ["Ås", 1.5], ["'=HYPERLINK(1)", 2],
    ]  # fmt: skip


def all_figures() -> dict[str, dict]:
    """One figure from every builder, fed with awkward data (NaN scores, numpy types)."""
    bars = pd.DataFrame(
        {"name": ["A", "B"], "score": [np.float64(56.25), np.nan], "band": [2, None]}
    )
    scores = pd.DataFrame(
        {"city_name": ["A", "B"], "dimension": ["EC", "EC"], "score": [50, np.nan], "band": [2, 0]}
    )
    cities = pd.DataFrame(
        {"name": ["A"], "latitude": [60.0], "longitude": [10.0], "band": [3], "hover": ["a"]}
    )
    trend = pd.DataFrame({"year": np.array([2023, 2024]), "group": ["O", "O"], "score": [1.0, 2.0]})
    ranks = pd.DataFrame(
        {"city_name": ["A", "B"], "median_rank": [1.0, 2.0], "rank_p05": [1.0, 1.0],
         "rank_p95": [2.0, 2.0]}
    )  # fmt: skip
    return {
        "score_bars": score_bars(bars, label_column="name"),
        "compare_bars": compare_bars(scores, group_column="dimension"),
        "band_heatmap": band_heatmap(pd.DataFrame({"A": [4, 0]}, index=["k1", "k2"])),
        "city_map": city_map(cities),
        "trend_lines": trend_lines(trend, label_column="group"),
        "rank_intervals": rank_intervals(ranks),
    }


@pytest.mark.parametrize("name", list(all_figures()))
def test_every_figure_dict_is_a_valid_plotly_figure_and_plain_json(name):
    built = all_figures()[name]
    # plotly.py validates every property name and value of the dict (ValueError otherwise):
    # the dicts skip that validation at run time for speed, so it is checked here.
    go.Figure(built)
    text = figure_json(built)  # allow_nan=False: raises if a NaN slipped through
    assert json.loads(text) == json.loads(json.dumps(built, allow_nan=False))


def test_plain_turns_numpy_and_missing_values_into_json_values():
    assert plain([np.int64(3), np.float64(2.5), np.nan, None, pd.NA, "x"]) == [
        3,
        2.5,
        None,
        None,
        None,
        "x",
    ]

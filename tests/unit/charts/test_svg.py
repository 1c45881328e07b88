"""Server-drawn SVG charts: percentage axes 0-100, bars to scale, series apart from bands."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from kpi_app.charts import grouped_bars_svg, score_bars_svg, trend_svg
from kpi_app.charts.palette import BAND_COLOURS, SERIES_COLOURS
from kpi_app.charts.svg import GRID, MUTED, PLOT_LEFT, PLOT_RIGHT

SVG = "{http://www.w3.org/2000/svg}"


def percent(value: str) -> float:
    assert value.endswith("%"), value
    return float(value[:-1])


def tick_labels(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text") if t.get("fill") == MUTED and t.text.isdigit()]


@pytest.fixture
def scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Economy", "Environment", "Society"],
            "score": [80.0, 42.5, None],
            "band": [3, 2, 0],
        }
    )


def test_score_bars_run_on_a_0_to_100_axis_and_are_to_scale(scores):
    root = ET.fromstring(score_bars_svg(scores, label_column="name", chart_id="b", title="Scores"))
    assert tick_labels(root) == ["0", "25", "50", "75", "100"]
    grid = [percent(ln.get("x1")) for ln in root.iter(f"{SVG}line") if ln.get("stroke") == GRID]
    assert grid[0] == pytest.approx(PLOT_LEFT) and grid[-1] == pytest.approx(PLOT_RIGHT)
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    plot = PLOT_RIGHT - PLOT_LEFT
    # An 80 % bar ends at 80 % of the axis, not at its end (the old axis stopped at 80).
    assert percent(bars[0].get("width")) == pytest.approx(0.80 * plot, abs=0.01)
    assert percent(bars[1].get("width")) == pytest.approx(0.425 * plot, abs=0.01)
    assert bars[0].get("fill") == BAND_COLOURS[3]
    # Not scored: a hatched full-length track, labelled as such, never "0 %" or "(0)".
    assert bars[2].get("fill") == "url(#b-no-band)"
    texts = "".join(root.itertext())
    assert "Society — – · Not scored" in texts and "(0)" not in texts
    assert "Economy — 80 % · 3" in texts


def test_grouped_bars_use_series_colours_not_band_colours():
    frame = pd.DataFrame(
        {
            "dimension": ["Economy", "Economy", "Environment", "Environment"],
            "city_name": ["A (2024)", "B (2023)", "A (2024)", "B (2023)"],
            "score": [55.0, 90.0, 100.0, 20.0],
            "band": [2, 3, 4, 1],
        }
    )
    svg = grouped_bars_svg(
        frame, group_column="dimension", series_column="city_name", chart_id="c", title="t"
    )
    root = ET.fromstring(svg)
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None}
    assert fills <= set(SERIES_COLOURS) and not fills & set(BAND_COLOURS)
    assert tick_labels(root) == ["0", "25", "50", "75", "100"]
    assert "A (2024): 55 % · 2" in "".join(root.itertext())


def test_trend_axis_is_0_to_100_and_series_differ_by_more_than_colour():
    frame = pd.DataFrame(
        {
            "year": [2023, 2024, 2023, 2024],
            "group": ["Overall", "Overall", "Economy", "Economy"],
            "score": [40.0, 60.0, 30.0, 35.0],
        }
    )
    root = ET.fromstring(trend_svg(frame, label_column="group", chart_id="t", title="Trend"))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for tick in ("0", "25", "50", "75", "100"):
        assert tick in labels
    series_lines = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke") in SERIES_COLOURS]
    assert {ln.get("stroke-dasharray") for ln in series_lines} == {None, "6 3"}


def test_series_legend_gives_each_name_half_the_width():
    """Three columns of "Lakeshore Falls (2024)" ran into each other on a 375 px phone."""
    names = ["Lakeshore Falls (2024)", "Baobab Springs (2023)", "Kisoro Bay (2023)"]
    scores = pd.DataFrame(
        {
            "dimension": ["Economy"] * 3,
            "city_name": names,
            "score": [50.0, 60.0, 70.0],
            "band": [2, 2, 3],
        }
    )
    svg = grouped_bars_svg(
        scores, group_column="dimension", series_column="city_name", chart_id="c", title="t"
    )
    legend = re.findall(r'<text x="(\d+)%" y="(\d+)" dx="20"[^>]*>([^<]+)</text>', svg)
    assert [(x, name) for x, _y, name in legend] == [("1", names[0]), ("51", names[1]),
                                                     ("1", names[2])]  # fmt: skip
    assert legend[0][1] == legend[1][1] != legend[2][1]  # two a row, the third below

"""The local KPIs' own wheel: one ring apart from the U4SSC wheel, labelled, deterministic."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from kpi_app.charts import local_wheel_svg, wheel_svg
from kpi_app.charts.local_wheel import CENTRE, COLUMNS, FRAME, LABEL_GAP, LINE_STEP, MARGIN
from kpi_app.charts.palette import BAND_COLOURS
from tests.unit.charts.test_wheel import nodes  # noqa: F401  (a fixture)

SVG = "{http://www.w3.org/2000/svg}"


def items(rows=None) -> pd.DataFrame:
    rows = rows or [
        ("WASTE-1", "Household waste recycled", 3, 75.0, True),
        ("AIR-2", "Days with good air quality", 4, 103.3, True),
        ("BUS", "Bus stops with a shelter", 1, 25.0, True),
        ("NOREP", "Reported next year", 0, math.nan, True),  # benchmark, no value
        ("TREES", "Street trees planted", 0, math.nan, False),  # no benchmark
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_one_segment_per_benchmarked_item_with_its_band_and_the_rest_listed():
    root = parse(local_wheel_svg(items()))
    segments = root.findall(f".//{SVG}path[@data-item]")
    assert [(s.get("data-item"), s.get("data-band")) for s in segments] == [
        ("WASTE-1", "3"),
        ("AIR-2", "4"),
        ("BUS", "1"),
        ("NOREP", "0"),
    ]
    # Colours are the bands'; a benchmarked item without a value gets the hatched fill.
    assert segments[0].get("fill") == BAND_COLOURS[3]
    assert segments[3].get("fill") == "url(#local-wheel-no-band)"
    # No benchmark: no segment, but listed under the wheel.
    listed = root.findall(f".//{SVG}text[@data-unscored]")
    assert [t.get("data-unscored") for t in listed] == ["TREES"]
    assert listed[0].text == "TREES · Street trees planted"


def test_labels_say_what_the_chart_is_and_everything_has_text():
    svg = local_wheel_svg(
        items(), centre_lines=["Local KPIs", "67 % · 3", "3 of 4 scored"], title="Local KPIs"
    )
    root = parse(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert texts[0] == "Local KPIs — not part of the U4SSC score"  # the visible heading
    assert root.get("class") == "local-wheel-svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Local KPIs"
    # Every segment says its band number (colour never alone), its code and % of target.
    assert {"3", "4", "1", "–"} <= set(texts)
    assert "WASTE-1 · 75 %" in texts and "AIR-2 · 103 %" in texts
    assert "Reported next year" in texts  # the name under it, whole when it fits
    assert texts[texts.index("WASTE-1 · 75 %") + 1 :][:2] == ["Household waste", "recycled"]
    assert "67 % · 3" in texts and "3 of 4 scored" in texts
    # The legend names the four bands and "not scored", each with its mark.
    assert "4 · 95%+ Target" in texts and "– · Not scored" in texts
    desc = root.find(f"{SVG}desc").text
    assert "WASTE-1 Household waste recycled: 75 %, 3 (66–95% of Target)" in desc
    assert "Listed, not scored (no benchmark): TREES Street trees planted" in desc
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "BUS Bus stops with a shelter: Less than 33% of Target, 25 %" in titles


def test_translated_texts_are_used():
    svg = local_wheel_svg(
        items(),
        heading="KPI locaux — hors score U4SSC",
        band_labels=["b1", "b2", "b3", "b4"],
        none_label="non noté",
        unscored_heading="Sans référence :",
    )
    assert "KPI locaux — hors score U4SSC" in svg and "3 · b3" in svg
    assert "– · non noté" in svg and "Sans référence :" in svg
    assert "not part of the U4SSC" not in svg


def test_same_input_same_bytes_and_nothing_without_items():
    assert local_wheel_svg(items()) == local_wheel_svg(items())
    assert local_wheel_svg(items().iloc[0:0]) == ""
    with pytest.raises(ValueError, match="benchmarked"):
        local_wheel_svg(items().drop(columns="benchmarked"))


def test_only_unbenchmarked_items_draw_no_ring_but_list_them():
    root = parse(local_wheel_svg(items([("TREES", "Street trees planted", 0, math.nan, False)])))
    assert root.findall(f".//{SVG}path[@data-item]") == []
    assert [t.get("data-unscored") for t in root.iter(f"{SVG}text") if t.get("data-unscored")] == [
        "TREES"
    ]


@pytest.mark.parametrize("count", [1, 2, 7, 26])
def test_labels_never_overlap_and_stay_inside_the_drawing(count):
    name = "Local indicator with a long name that wraps onto a second line"
    rows = [(f"K{i}", name, i % 5, 20.0 * (i % 5), True) for i in range(count)]
    svg = local_wheel_svg(items(rows))
    root = parse(svg)
    height = float(root.get("viewBox").split()[3])
    shift = float(re.search(r"translate\(0 (-?[\d.]+)\)", svg).group(1))
    columns: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    for group in root.iter(f"{SVG}g"):
        if group.get("data-label") is None:
            continue
        lines = [t for t in group.findall(f"{SVG}text") if t.get("text-anchor") in ("start", "end")]
        side = "right" if lines[0].get("text-anchor") == "start" else "left"
        ys = [float(t.get("y")) for t in lines]
        columns[side].append((min(ys) - LINE_STEP / 2, max(ys) + LINE_STEP / 2))
        assert min(ys) + shift > 0 and max(ys) + shift < height
        # The label column sits beside the ring, never over it.
        x = float(lines[0].get("x"))
        assert abs(x - CENTRE) > FRAME + LABEL_GAP
    assert sum(len(c) for c in columns.values()) == count
    for boxes in columns.values():
        boxes.sort()
        for (_top, bottom), (top, _bottom) in itertools.pairwise(boxes):
            assert top >= bottom - 1e-6, (count, boxes)
    assert height >= 2 * (FRAME + MARGIN)


def test_the_u4ssc_wheel_has_no_local_part(nodes):  # noqa: F811
    svg = wheel_svg(nodes, title="Benchmarking wheel")
    assert "local" not in svg.lower() and "data-unscored" not in svg

"""The benchmarking wheel: node table, plotly sunburst and the deterministic SVG."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import kpi_app.charts as kpi_app_charts
from kpi_app.charts import figure_json, item_id, wheel_figure, wheel_nodes, wheel_svg
from kpi_app.charts.palette import BAND_COLOURS
from kpi_app.scoring import score_u4ssc


def toy_items() -> pd.DataFrame:
    """Two dimensions; one KPI with two data points; bands 4, 1, 3 and one not reported."""
    rows = [
        # code, data_point, dim, sub, cat, value, target
        ("AA: X: C1: 1C", "", "AA", "AA: X", "AA: X: C1", 100.0, 100.0),  # 100 % → 4
        ("AA: X: C1: 2C", "p", "AA", "AA: X", "AA: X: C1", 10.0, 100.0),  # 10 % → 1
        ("AA: X: C1: 2C", "q", "AA", "AA: X", "AA: X: C1", 70.0, 100.0),  # 70 % → 3
        ("BB: Y: C2: 1A", "", "BB", "BB: Y", "BB: Y: C2", np.nan, 50.0),  # not reported
    ]
    frame = pd.DataFrame(
        rows,
        columns=["code", "data_point", "dimension", "sub_dimension", "category", "value", "target"],
    )
    return frame.assign(
        city="c", year=2024, tier=["core", "core", "core", "advanced"], direction="higher_better"
    )


@pytest.fixture
def nodes() -> pd.DataFrame:
    result = score_u4ssc(toy_items())
    groups = {
        "dimension": result.dimensions,
        "sub_dimension": result.sub_dimensions,
        "category": result.categories,
    }
    return wheel_nodes(result.items, groups, {"AA": "Alpha", item_id("AA: X: C1: 2C", "p"): "P"})


def test_nodes_have_one_outer_segment_per_item_and_parents_first(nodes):
    assert list(nodes["level"]) == [
        "dimension", "dimension", "sub_dimension", "sub_dimension", "category", "category",
        "item", "item", "item", "item",
    ]  # fmt: skip
    items = nodes[nodes["level"] == "item"]
    assert list(items["id"]) == [
        "AA: X: C1: 1C",
        "AA: X: C1: 2C#p",
        "AA: X: C1: 2C#q",
        "BB: Y: C2: 1A",
    ]
    assert list(items["band"]) == [4, 1, 3, 0]
    seen = set()
    for node in nodes.itertuples():
        assert node.parent == "" or node.parent in seen
        seen.add(node.id)


def test_group_nodes_carry_scores_bands_and_leaf_counts(nodes):
    alpha = nodes.set_index("id").loc["AA"]
    assert alpha["label"] == "Alpha"
    assert alpha["score"] == pytest.approx(100 * 8 / 12)  # points 4+1+3 of 12
    assert alpha["band"] == 3
    assert alpha["leaves"] == 3
    beta = nodes.set_index("id").loc["BB"]
    assert beta["band"] == 0  # nothing scored: no band, not band 1


def test_sunburst_matches_the_nodes_and_labels_bands_in_text(nodes):
    figure = wheel_figure(nodes, band_labels=["b1", "b2", "b3", "b4"], none_label="none")
    sunburst = figure["data"][0]
    assert sunburst["type"] == "sunburst"
    assert sunburst["ids"] == list(nodes["id"])
    assert sunburst["marker"]["colors"][6:] == [
        BAND_COLOURS[4],
        BAND_COLOURS[1],
        BAND_COLOURS[3],
        BAND_COLOURS[0],
    ]
    assert "customdata[2]" in sunburst["texttemplate"]  # band number printed in each segment
    legend = [trace["name"] for trace in figure["data"][1:]]
    assert legend == ["4: b4", "3: b3", "2: b2", "1: b1", "none"]
    go.Figure(figure)  # a valid plotly figure: every property name and value checked
    assert json.loads(figure_json(figure))["data"][0]["ids"] == list(nodes["id"])


def _segments(root):
    ns = {"s": "http://www.w3.org/2000/svg"}
    return [p for p in root.findall(".//s:path", ns) if p.get("data-band") is not None]


def test_svg_is_valid_deterministic_and_not_colour_only(nodes):
    first = wheel_svg(nodes, title="Toy <city>", centre_text="67 %")
    second = wheel_svg(nodes, title="Toy <city>", centre_text="67 %")
    assert first == second
    root = ET.fromstring(first)  # well-formed XML, title escaped
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(_segments(root)) == len(nodes)
    assert root.find("s:title", ns).text == "Toy <city>"
    texts = "".join(root.itertext())
    for label in ("95%+ Target", "66–95% of Target", "33-66% of Target", "Less than 33% of Target"):
        assert label in texts
    # Each outer segment prints its band number ("–" when not scored, never "(0)") and,
    # outside the ring, its short code and name.
    items = root.findall(".//s:g[@data-item]", ns)
    assert [g.get("data-item") for g in items] == list(nodes.loc[nodes["level"] == "item", "id"])
    inside = [g.findall("s:text", ns)[0].text for g in items]
    assert inside == ["4", "1", "3", "–"]
    outside = [g.findall("s:text", ns)[1].text for g in items]
    assert outside == ["1C", "2C p P", "2C q", "1A"]
    assert "(0)" not in texts


def test_unscored_segments_are_hatched_not_a_band_colour(nodes):
    root = ET.fromstring(wheel_svg(nodes))
    fills = {p.get("data-band"): p.get("fill") for p in _segments(root)}
    assert fills["0"] == "url(#wheel-no-band)"
    assert {fills[b] for b in ("1", "3", "4")} == {
        BAND_COLOURS[1],
        BAND_COLOURS[3],
        BAND_COLOURS[4],
    }
    assert "wheel-no-band" in {
        p.get("id") for p in root.iter("{http://www.w3.org/2000/svg}pattern")
    }


def _radial_extent(text) -> tuple[float, float]:
    """Where a radial label ends: its anchor point plus its estimated length along the
    direction of its rotation."""
    import math

    from kpi_app.charts.wheel import CHAR_WIDTH

    x, y = float(text.get("x")), float(text.get("y"))
    size = float(text.get("font-size"))
    angle = math.radians(float(re.match(r"rotate\(([-\d.]+)", text.get("transform")).group(1)))
    length = len(text.text or "") * size * CHAR_WIDTH
    sign = -1 if text.get("text-anchor") == "end" else 1
    return x + sign * length * math.cos(angle), y + sign * length * math.sin(angle)


def test_real_wheel_labels_every_kpi_and_nothing_leaves_the_canvas(catalogue):
    """The demo-size wheel (every catalogue item): each KPI named outside the ring, long names
    shortened with "…" to fit, every label end inside the drawing (no "iety and Culture")."""
    columns = ["code", "data_point", "dimension", "sub_dimension", "category", "tier"]
    frame = catalogue.to_frame()[columns].assign(
        city="c", year=2024, direction="higher_better", value=50.0, target=100.0
    )
    result = score_u4ssc(frame)
    groups = {
        "dimension": result.dimensions,
        "sub_dimension": result.sub_dimensions,
        "category": result.categories,
    }
    names = {item_id(i.code, i.data_point): i.label("en") for i in catalogue.items()}
    names.update({d.id: d.label("en") for d in catalogue.dimensions})
    svg = wheel_svg(wheel_nodes(result.items, groups, names))
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    items = root.findall(".//s:g[@data-item]", ns)
    assert len(items) == len(catalogue.items())
    for group in items:
        label = group.findall("s:text", ns)[1]
        assert len(label.text) >= 4, label.text  # a code and at least part of the name
        assert float(label.get("font-size")) >= 9
        end_x, end_y = _radial_extent(label)
        assert 0 <= end_x <= width and 0 <= end_y <= height, (label.text, end_x, end_y)
    dimension_texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    joined = " ".join(t or "" for t in dimension_texts)  # a long name may wrap onto two lines
    for dimension in catalogue.dimensions:
        assert dimension.label("en") in joined  # whole, not clipped
    assert "…" not in " ".join(dimension_texts[: 3 * len(catalogue.dimensions)])


def test_svg_segments_split_the_circle_by_item_count(nodes):
    svg = wheel_svg(nodes)
    # Dimension AA holds 3 of 4 items: its arc is the large-arc (> 180°) one.
    first_dimension_path = re.search(r'<path d="([^"]+)"', svg).group(1)
    assert " 0 1 1 " in first_dimension_path


PURITY_CHECK = """
import importlib.abc, sys, types

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy"):
            raise ImportError(f"pure chart code imported {name}")
        return None

sys.meta_path.insert(0, Block())
# kpi_app/__init__.py builds the Flask app; stand in for it so only the charts' imports count.
stub = types.ModuleType("kpi_app")
stub.__path__ = [PACKAGE_ROOT]
sys.modules["kpi_app"] = stub
import kpi_app.charts
print("pure")
"""


def test_charts_package_imports_no_web_or_database_library():
    root = str(Path(kpi_app_charts.__file__).resolve().parents[1])
    code = PURITY_CHECK.replace("PACKAGE_ROOT", repr(root))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pure"


def test_groups_carry_their_confidence_grade_as_text(nodes):
    # toy_items has no quality levels, so every scored group is graded "low" (docs §3.5);
    # BB (nothing reported) has no score and no grade.
    groups = nodes[nodes["level"] != "item"]
    scored = groups["score"].notna()
    assert set(groups.loc[scored, "confidence"]) == {"low"}
    assert set(groups.loc[~scored, "confidence"]) == {""}
    assert set(nodes.loc[nodes["level"] == "item", "confidence"]) == {""}
    svg = wheel_svg(nodes, confidence_labels={"low": "fiabilité : faible"})
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any("fiabilité : faible" in text for text in texts)  # written on the segment
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("Alpha:") and t.endswith("fiabilité : faible") for t in titles)
    assert "confidence: low" in wheel_svg(nodes)  # the default text
    assert "fiabilité : faible" in root.find("{http://www.w3.org/2000/svg}desc").text
    hover = wheel_figure(nodes, confidence_labels={"low": "faible"})["data"][0]["customdata"]
    graded = [grade == "low" for grade in nodes["confidence"]]
    assert [row[1].endswith(" · faible") for row in hover] == graded

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


def test_svg_is_valid_deterministic_and_not_colour_only(nodes):
    first = wheel_svg(nodes, title="Toy <city>", centre_text="67 %")
    second = wheel_svg(nodes, title="Toy <city>", centre_text="67 %")
    assert first == second
    root = ET.fromstring(first)  # well-formed XML, title escaped
    ns = {"s": "http://www.w3.org/2000/svg"}
    paths = root.findall(".//s:path", ns)
    assert len(paths) == len(nodes)
    assert root.find("s:title", ns).text == "Toy <city>"
    texts = "".join(root.itertext())
    for label in ("95%+ Target", "66–95% of Target", "33-66% of Target", "Less than 33% of Target"):
        assert label in texts
    # Each outer segment prints its band number.
    item_texts = [t.text for t in root.findall(".//s:text", ns) if t.get("font-size") == "9"]
    assert item_texts == ["4", "1", "3", "–"]


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

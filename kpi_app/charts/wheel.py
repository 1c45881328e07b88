"""The U4SSC benchmarking wheel: dimension → sub-dimension → category → KPI item rings.

:func:`wheel_nodes` turns one (city, year) of a score result into a tidy node table that both
renderers read: :func:`wheel_figure` (interactive plotly sunburst for the web) and
:func:`wheel_svg` (deterministic static SVG for PDFs and downloads, no browser needed).

Design decision on data points: the seven multi-point KPIs (3G/4G coverage, pollutants, ...)
have no band of their own; U4SSC scores each data point separately. So each **data point is
its own segment in the outer ring**, labelled "KPI name: data point", and the outer ring holds
exactly one segment per scored item of the catalogue (``len(catalogue.items())``). Every
outer segment has the same angular width, so a group's arc is proportional to its item count,
as on the hand-drawn U4SSC wheels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import pandas as pd

from kpi_app.charts.figures import Figure, figure, plain
from kpi_app.charts.palette import (
    BAND_COLOURS,
    INK,
    TEXT_ON_BAND,
    as_points,
    band_colour,
    band_names,
)

LEVELS: Final[tuple[str, ...]] = ("dimension", "sub_dimension", "category", "item")
NODE_COLUMNS: Final[list[str]] = ["id", "parent", "label", "level", "band", "score", "leaves"]
ITEM_ID_SEPARATOR: Final[str] = "#"


def item_id(code: str, data_point: str) -> str:
    """Node id of a KPI item: the code, or ``code#point`` for a data point."""
    return f"{code}{ITEM_ID_SEPARATOR}{data_point}" if data_point else code


def wheel_nodes(
    items: pd.DataFrame,
    groups: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Nodes of the wheel for ONE (city, year), parents before children, in input order.

    ``items``: rows of ``ScoreResult.items`` (code, data_point, dimension, sub_dimension,
    category, points, percent_of_target). ``groups``: {"dimension": frame, "sub_dimension":
    frame, "category": frame}, each with its id column plus ``score`` and ``band``.
    ``labels`` maps node ids to display names (ids are shown when missing).
    Columns: id, parent ("" for dimensions), label, level, band (0-4), score, leaves.
    """
    names = dict(labels or {})
    rows: list[dict[str, Any]] = []
    for level, parent_level in (
        ("dimension", None),
        ("sub_dimension", "dimension"),
        ("category", "sub_dimension"),
    ):
        rows.extend(_group_nodes(items, groups, level, parent_level, names))
    for item in items.itertuples(index=False):
        node = item_id(str(item.code), str(item.data_point))
        rows.append(
            {
                "id": node,
                "parent": str(item.category),
                "label": names.get(node, node),
                "level": "item",
                "band": as_points(item.points),
                "score": _float(item.percent_of_target),
                "leaves": 1,
            }
        )
    return pd.DataFrame(rows, columns=NODE_COLUMNS)


def _group_nodes(
    items: pd.DataFrame,
    groups: Mapping[str, pd.DataFrame],
    level: str,
    parent_level: str | None,
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    frame = groups[level].set_index(groups[level][level].astype(str))
    leaves = items.groupby(items[level].astype(str), sort=False, observed=True).size()
    parent_of: dict[str, str] = {}
    if parent_level is not None:
        firsts = items.drop_duplicates(level)
        parent_of = dict(
            zip(firsts[level].astype(str), firsts[parent_level].astype(str), strict=True)
        )
    nodes = []
    for group_id, count in leaves.items():
        key = str(group_id)
        row = frame.loc[key] if key in frame.index else None
        nodes.append(
            {
                "id": key,
                "parent": parent_of.get(key, ""),
                "label": names.get(key, key),
                "level": level,
                "band": 0 if row is None else as_points(row["band"]),
                "score": math.nan if row is None else _float(row["score"]),
                "leaves": int(count),
            }
        )
    return nodes


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _score_text(score: float) -> str:
    if math.isnan(score):
        return "–"
    return "≥100 %" if math.isinf(score) else f"{score:.0f} %"


# --- plotly sunburst ------------------------------------------------------------------------


def wheel_figure(
    nodes: pd.DataFrame,
    *,
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
    title: str = "",
) -> Figure:
    """Interactive sunburst; each segment says its band number, the legend names the bands.

    Returned as a plain plotly figure dict (see :mod:`kpi_app.charts.figures` for why).
    """
    names = band_names(band_labels, none_label)
    bands = nodes["band"].astype(int).tolist()
    sunburst = {
        "type": "sunburst",
        "ids": plain(nodes["id"]),
        "parents": plain(nodes["parent"]),
        "labels": plain(nodes["label"]),
        "values": plain(nodes["leaves"]),
        "branchvalues": "total",
        "marker": {"colors": [band_colour(b) for b in bands], "line": {"color": "#fff"}},
        "customdata": [
            [names[b], _score_text(s), b] for b, s in zip(bands, nodes["score"], strict=True)
        ],
        # The band number travels with the colour in the segment text (colour never alone).
        "texttemplate": "%{label} (%{customdata[2]})",
        "hovertemplate": "<b>%{label}</b><br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        "insidetextorientation": "radial",
        "insidetextfont": {"color": TEXT_ON_BAND},
        "sort": False,
    }
    legend = [
        _legend_entry(f"{points}: {names[points]}" if points else names[0], points)
        for points in (4, 3, 2, 1, 0)
    ]
    layout: dict[str, Any] = {
        "margin": {"t": 40 if title else 10, "l": 10, "r": 10, "b": 10},
        "height": 640,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.02},
        "uniformtext": {"minsize": 9, "mode": "hide"},
    }
    if title:
        layout["title"] = {"text": title}
    return figure([sunburst, *legend], layout)


def _legend_entry(name: str, points: int) -> dict[str, Any]:
    # Sunbursts have no legend of their own; an empty marker trace carries one entry.
    return {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "markers",
        "name": name,
        "marker": {"size": 14, "color": BAND_COLOURS[points], "symbol": "square"},
        "hoverinfo": "skip",
        "showlegend": True,
    }


# --- static SVG --------------------------------------------------------------------------------

#: Inner and outer radius of each ring, from the centre outwards.
RINGS: Final[dict[str, tuple[float, float]]] = {
    "dimension": (70.0, 130.0),
    "sub_dimension": (132.0, 185.0),
    "category": (187.0, 245.0),
    "item": (247.0, 310.0),
}
SIZE: Final[float] = 700.0
CENTRE: Final[float] = SIZE / 2
LEGEND_ROW: Final[float] = 24.0


def wheel_svg(
    nodes: pd.DataFrame,
    *,
    title: str = "",
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
    centre_text: str = "",
) -> str:
    """A standalone SVG of the wheel: same input, same output, byte for byte.

    Every segment carries a ``<title>`` (name, band and % of target) and its band number as
    text, and the legend lists the four band labels, so nothing depends on colour alone.
    """
    names = band_names(band_labels, none_label)
    angles = _angles(nodes)
    total_leaves = _leaf_count(nodes)
    height = SIZE + LEGEND_ROW * 5 + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE:.0f} {height:.0f}" '
        f'width="{SIZE:.0f}" height="{height:.0f}" role="img" aria-labelledby="wheel-title">',
        f'<title id="wheel-title">{escape(title or "Benchmarking wheel")}</title>',
        f"<desc>{escape(_description(nodes, names))}</desc>",
        '<g font-family="DejaVu Sans, Arial, sans-serif" stroke="#ffffff" stroke-width="1">',
    ]
    for node in nodes.itertuples(index=False):
        start, end = angles[str(node.id)]
        parts.append(_segment_svg(node, start, end, names, total_leaves))
    parts.append("</g>")
    if centre_text:
        parts.append(
            f'<text x="{CENTRE:.0f}" y="{CENTRE + 6:.0f}" text-anchor="middle" font-size="18" '
            f'font-weight="bold" fill="{INK}" font-family="DejaVu Sans, Arial, sans-serif">'
            f"{escape(centre_text)}</text>"
        )
    parts.append(_legend_svg(names))
    parts.append("</svg>")
    return "\n".join(parts)


def _leaf_count(nodes: pd.DataFrame) -> int:
    return max(int((nodes["level"] == "item").sum()), 1)


def _angles(nodes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Start and end angle (radians, clockwise from 12 o'clock) of every node."""
    total = _leaf_count(nodes)
    step = 2 * math.pi / total
    angles: dict[str, tuple[float, float]] = {}
    cursor: dict[str, float] = {"": 0.0}
    for node in nodes.itertuples(index=False):
        parent = str(node.parent)
        start = cursor.get(parent, 0.0)
        end = start + as_points(node.leaves) * step
        angles[str(node.id)] = (start, end)
        cursor[parent] = end
        cursor[str(node.id)] = start
    return angles


def _point(radius: float, angle: float) -> tuple[float, float]:
    return CENTRE + radius * math.sin(angle), CENTRE - radius * math.cos(angle)


def _segment_path(inner: float, outer: float, start: float, end: float) -> str:
    if end - start >= 2 * math.pi - 1e-9:
        end = start + 2 * math.pi - 1e-4  # a full ring cannot be one arc; leave a hair gap
    large = 1 if end - start > math.pi else 0
    x1, y1 = _point(outer, start)
    x2, y2 = _point(outer, end)
    x3, y3 = _point(inner, end)
    x4, y4 = _point(inner, start)
    return (
        f"M{x1:.2f},{y1:.2f} A{outer:.2f},{outer:.2f} 0 {large} 1 {x2:.2f},{y2:.2f} "
        f"L{x3:.2f},{y3:.2f} A{inner:.2f},{inner:.2f} 0 {large} 0 {x4:.2f},{y4:.2f} Z"
    )


def _segment_svg(
    node: Any, start: float, end: float, names: Sequence[str], total_leaves: int
) -> str:
    inner, outer = RINGS[str(node.level)]
    band = int(node.band)
    tooltip = f"{node.label}: {names[band]}, {_score_text(float(node.score))}"
    path = (
        f'<path d="{_segment_path(inner, outer, start, end)}" fill="{band_colour(band)}">'
        f"<title>{escape(tooltip)}</title></path>"
    )
    return path + _segment_text(node, start, end, inner, outer, band)


def _segment_text(
    node: Any, start: float, end: float, inner: float, outer: float, band: int
) -> str:
    middle = (start + end) / 2
    if node.level == "item":
        # Radial band number near the rim: thin segments fit one digit.
        x, y = _point(outer - 12, middle)
        rotation = math.degrees(middle)
        text = str(band) if band else "–"
        return (
            f'<text x="{x:.2f}" y="{y:.2f}" font-size="9" fill="{TEXT_ON_BAND}" stroke="none" '
            f'text-anchor="middle" dominant-baseline="central" '
            f'transform="rotate({rotation:.2f} {x:.2f} {y:.2f})">{text}</text>'
        )
    arc_length = (end - start) * (inner + outer) / 2
    label = str(node.label)
    max_chars = int(arc_length / 6.5)
    if max_chars < 3:
        label = ""
    elif len(label) > max_chars:
        label = label[: max_chars - 1] + "…"
    x, y = _point((inner + outer) / 2, middle)
    score = "" if math.isnan(float(node.score)) else f"{float(node.score):.0f}%"
    second = f"{score} ({band})" if band else "–"
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="10" fill="{TEXT_ON_BAND}" stroke="none" '
        f'text-anchor="middle"><tspan x="{x:.2f}" dy="-0.2em">{escape(label)}</tspan>'
        f'<tspan x="{x:.2f}" dy="1.2em">{escape(second)}</tspan></text>'
    )


def _legend_svg(names: Sequence[str]) -> str:
    rows = []
    for row, points in enumerate((4, 3, 2, 1, 0)):
        y = SIZE + row * LEGEND_ROW
        label = f"{points}: {names[points]}" if points else f"–: {names[0]}"
        rows.append(
            f'<rect x="40" y="{y:.0f}" width="18" height="18" fill="{band_colour(points)}"/>'
            f'<text x="66" y="{y + 14:.0f}" font-size="14" fill="{INK}">{escape(label)}</text>'
        )
    return '<g font-family="DejaVu Sans, Arial, sans-serif">' + "".join(rows) + "</g>"


def _description(nodes: pd.DataFrame, names: Sequence[str]) -> str:
    dimensions = nodes[nodes["level"] == "dimension"]
    parts = [
        f"{row.label}: {_score_text(_float(row.score))} ({names[as_points(row.band)]})"
        for row in dimensions.itertuples(index=False)
    ]
    return "; ".join(parts)

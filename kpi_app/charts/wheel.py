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

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import pandas as pd

from kpi_app.charts.figures import Figure, figure, plain
from kpi_app.charts.palette import (
    BAND_COLOURS,
    INK,
    NO_BAND_LINE,
    TEXT_ON_BAND,
    as_points,
    band_colour,
    band_names,
    text_on_band,
)
from kpi_app.charts.rows import tuples

LEVELS: Final[tuple[str, ...]] = ("dimension", "sub_dimension", "category", "item")
NODE_COLUMNS: Final[list[str]] = [
    "id",
    "parent",
    "label",
    "level",
    "band",
    "score",
    "leaves",
    "confidence",
]
#: Default text of each confidence grade (docs/scoring.md §3.5); pages pass translations.
CONFIDENCE_LABELS: Final[dict[str, str]] = {
    "high": "confidence: high",
    "medium": "confidence: medium",
    "low": "confidence: low",
}
#: Rings whose segments write the confidence grade under the score (the others have it in
#: their tooltip: category segments are too narrow for a third line).
CONFIDENCE_RINGS: Final[frozenset[str]] = frozenset({"dimension", "sub_dimension"})
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
    for item in tuples(items, index=False):
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
                "confidence": "",
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
    frame = groups[level]
    # Plain lists: pandas' per-row access and groupby cost ~1 ms per ring at 100 items.
    confidence = (
        frame["confidence"].tolist() if "confidence" in frame.columns else [None] * len(frame)
    )
    by_id = {
        str(group_id): (band, score, grade)
        for group_id, band, score, grade in zip(
            frame[level].tolist(),
            frame["band"].tolist(),
            frame["score"].tolist(),
            confidence,
            strict=True,
        )
    }
    members = [str(value) for value in items[level].tolist()]
    leaves = Counter(members)  # in order of first appearance, as the items come
    parent_of: dict[str, str] = {}
    if parent_level is not None:
        for member, parent in zip(members, items[parent_level].tolist(), strict=True):
            parent_of.setdefault(member, str(parent))
    nodes = []
    for key, count in leaves.items():
        row = by_id.get(key)
        nodes.append(
            {
                "id": key,
                "parent": parent_of.get(key, ""),
                "label": names.get(key, key),
                "level": level,
                "band": 0 if row is None else as_points(row[0]),
                "score": math.nan if row is None else _float(row[1]),
                "leaves": int(count),
                "confidence": "" if row is None else _grade(row[2]),
            }
        )
    return nodes


def _grade(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)  # type: ignore[call-overload]


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
    confidence_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Interactive sunburst; each segment says its band number, the legend names the bands,
    and a group's hover text its confidence grade.

    Returned as a plain plotly figure dict (see :mod:`kpi_app.charts.figures` for why).
    """
    names = band_names(band_labels, none_label)
    grades = _confidence_texts(nodes, confidence_labels)
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
            [names[b], _score_text(s) + (f" · {g}" if g else ""), b]
            for b, s, g in zip(bands, nodes["score"], grades, strict=True)
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


def _confidence_texts(nodes: pd.DataFrame, labels: Mapping[str, str] | None) -> list[str]:
    """Per node: its confidence grade as text ("" when it has none)."""
    texts = dict(CONFIDENCE_LABELS, **(labels or {}))
    column = nodes["confidence"] if "confidence" in nodes.columns else [""] * len(nodes)
    return [texts.get(str(grade), str(grade)) if grade else "" for grade in column]


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

#: Inner and outer radius of each ring, from the centre outwards. Outside the KPI ring, every
#: KPI segment gets its name written radially (like the U4SSC snapshot wheels).
RINGS: Final[dict[str, tuple[float, float]]] = {
    "dimension": (84.0, 170.0),
    "sub_dimension": (172.0, 250.0),
    "category": (252.0, 330.0),
    "item": (332.0, 372.0),
}
SIZE: Final[float] = 1200.0
CENTRE: Final[float] = SIZE / 2
LABEL_GAP: Final[float] = 6.0
LABEL_ROOM: Final[float] = CENTRE - RINGS["item"][1] - LABEL_GAP - 16
LEGEND_ROW: Final[float] = 34.0
FONT_FAMILY: Final[str] = "DejaVu Sans, Arial, sans-serif"
#: Average advance of a character, as a share of the font size (DejaVu/Arial, mixed case).
CHAR_WIDTH: Final[float] = 0.6
NO_BAND_FILL_ID: Final[str] = "no-band"


def short_code(node_id: str) -> str:
    """The last part of a KPI code ("1C" of "EC: ICT: ICT: 1C"), with its data point."""
    code, _, point = node_id.partition(ITEM_ID_SEPARATOR)
    return code.rsplit(": ", 1)[-1] + (f" {point}" if point else "")


def fit_label(text: str, room: float, largest: float, smallest: float) -> tuple[str, float]:
    """The font size (largest..smallest) at which ``text`` fits ``room`` px, shortened with
    "…" only when it does not fit even at the smallest size."""
    size = largest
    while size > smallest and len(text) * size * CHAR_WIDTH > room:
        size = max(smallest, size - 0.5)
    return fit_text(text, room, size), size


def fit_text(text: str, room: float, font_size: float) -> str:
    """``text`` shortened with "…" to fit ``room`` px at ``font_size`` ("" if under 2 chars)."""
    capacity = int(room / (font_size * CHAR_WIDTH))
    if len(text) <= capacity:
        return text
    return "" if capacity < 2 else text[: capacity - 1].rstrip() + "…"


def wheel_svg(
    nodes: pd.DataFrame,
    *,
    title: str = "",
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
    centre_text: str = "",
    legend: bool = True,
    id_prefix: str = "wheel",
    confidence_labels: Mapping[str, str] | None = None,
) -> str:
    """A standalone SVG of the wheel: same input, same output, byte for byte.

    Every segment carries a ``<title>`` (name, band, % of target and, for a group, its
    confidence grade), dimension and sub-dimension segments write the grade under their
    score (``confidence_labels`` gives the text of each grade, :data:`CONFIDENCE_LABELS` by
    default), and every segment its band number as
    text ("–" when not scored, on a hatched pale fill), every KPI segment its short code and
    name outside the ring, and the legend lists the four U4SSC band labels, so nothing
    depends on colour alone. Labels are shortened to the room they have, never clipped.
    ``legend=False`` leaves the legend to the page (the web shows it as HTML);
    ``id_prefix`` keeps element ids unique when several SVGs share a page.
    """
    names = band_names(band_labels, none_label)
    grades = dict(zip(nodes["id"], _confidence_texts(nodes, confidence_labels), strict=True))
    angles = _angles(nodes)
    height = SIZE + (LEGEND_ROW * 3 + 10 if legend else 0)
    title_id = f"{id_prefix}-title"
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" '
        f'viewBox="0 0 {SIZE:.0f} {height:.0f}" '
        f'width="{SIZE:.0f}" height="{height:.0f}" role="img" aria-labelledby="{title_id}" '
        f'class="wheel-svg" font-family="{FONT_FAMILY}">',
        f'<title id="{title_id}">{escape(title or "Benchmarking wheel")}</title>',
        f"<desc>{escape(_description(nodes, names, grades))}</desc>",
        _hatch_defs(id_prefix),
        '<g stroke="#ffffff" stroke-width="1.2">',
    ]
    texts: list[str] = []
    for node in tuples(nodes, index=False):
        start, end = angles[str(node.id)]
        grade = grades.get(node.id, "")
        parts.append(_segment_svg(node, start, end, names, id_prefix, grade))
        texts.append(_segment_text(node, start, end, id_prefix, grade))
    parts.append("</g>")
    parts.append('<g stroke="none">' + "".join(texts) + "</g>")
    if centre_text:
        parts.append(
            f'<text x="{CENTRE:.0f}" y="{CENTRE + 12:.0f}" text-anchor="middle" font-size="36" '
            f'font-weight="bold" fill="{INK}">{escape(centre_text)}</text>'
        )
    if legend:
        parts.append(_legend_svg(names, id_prefix))
    parts.append("</svg>")
    return "\n".join(parts)


def _hatch_defs(prefix: str) -> str:
    """The "not scored" fill: pale grey with thin diagonal lines, unlike any band."""
    return (
        f'<defs><pattern id="{prefix}-{NO_BAND_FILL_ID}" width="8" height="8" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="{BAND_COLOURS[0]}"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{NO_BAND_LINE}" stroke-width="1.5"/>'
        "</pattern></defs>"
    )


def _fill(band: int, prefix: str) -> str:
    return band_colour(band) if band else f"url(#{prefix}-{NO_BAND_FILL_ID})"


def _leaf_count(nodes: pd.DataFrame) -> int:
    return max(int((nodes["level"] == "item").sum()), 1)


def _angles(nodes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Start and end angle (radians, clockwise from 12 o'clock) of every node."""
    total = _leaf_count(nodes)
    step = 2 * math.pi / total
    angles: dict[str, tuple[float, float]] = {}
    cursor: dict[str, float] = {"": 0.0}
    for node in tuples(nodes, index=False):
        parent = str(node.parent)
        start = cursor.get(parent, 0.0)
        end = start + as_points(node.leaves) * step
        angles[str(node.id)] = (start, end)
        cursor[parent] = end
        cursor[str(node.id)] = start
    return angles


def _point(radius: float, angle: float, centre: float = CENTRE) -> tuple[float, float]:
    return centre + radius * math.sin(angle), centre - radius * math.cos(angle)


@functools.lru_cache(maxsize=4096)
def _segment_path(
    inner: float, outer: float, start: float, end: float, centre: float = CENTRE
) -> str:
    """The outline of a ring segment. Remembered: every wheel of one catalogue has the same
    segments (only their fills and texts differ), so a process draws each arc once."""
    if end - start >= 2 * math.pi - 1e-9:
        end = start + 2 * math.pi - 1e-4  # a full ring cannot be one arc; leave a hair gap
    large = 1 if end - start > math.pi else 0
    x1, y1 = _point(outer, start, centre)
    x2, y2 = _point(outer, end, centre)
    x3, y3 = _point(inner, end, centre)
    x4, y4 = _point(inner, start, centre)
    return (
        f"M{x1:.2f},{y1:.2f} A{outer:.2f},{outer:.2f} 0 {large} 1 {x2:.2f},{y2:.2f} "
        f"L{x3:.2f},{y3:.2f} A{inner:.2f},{inner:.2f} 0 {large} 0 {x4:.2f},{y4:.2f} Z"
    )


def _segment_svg(
    node: Any, start: float, end: float, names: Sequence[str], prefix: str, grade: str = ""
) -> str:
    inner, outer = RINGS[str(node.level)]
    band = int(node.band)
    tooltip = f"{node.label}: {names[band]}, {_score_text(float(node.score))}"
    if grade:
        tooltip += f", {grade}"
    return (
        f'<path d="{_segment_path(inner, outer, start, end)}" fill="{_fill(band, prefix)}" '
        f'data-band="{band}"><title>{escape(tooltip)}</title></path>'
    )


def _band_mark(band: int) -> str:
    return str(band) if band else "–"


def _segment_text(node: Any, start: float, end: float, prefix: str, grade: str = "") -> str:
    inner, outer = RINGS[str(node.level)]
    band = int(node.band)
    middle = (start + end) / 2
    if node.level == "item":
        return _item_texts(node, start, end, band)
    score = float(node.score)
    second = f"{_score_text(score)} · {band}" if band else f"– {_score_text(score)}"
    if math.isnan(score):
        second = "–"
    radius = (inner + outer) / 2
    font = 22.0 if node.level == "dimension" else 15.0
    label = str(node.label)
    # Along the arc when the name fits better there (wide segments), else along the radius.
    arc_chars = _tangent_room(radius + font * 0.5, outer, start, end, font) / (font * CHAR_WIDTH)
    radial_font = min(font, (end - start) * inner * 0.45)
    radial_chars = (outer - inner - 10) / (max(radial_font, 1) * CHAR_WIDTH)
    colour = text_on_band(band)
    extra = (grade,) if grade and str(node.level) in CONFIDENCE_RINGS else ()
    if arc_chars >= min(len(label), radial_chars) or radial_font < 7:
        return _arc_texts(node, start, end, inner, outer, label, second, font, colour, extra)
    text, size = fit_label(
        f"{_band_mark(band)} · {label}", outer - inner - 10, radial_font, min(radial_font, 10)
    )
    return _radial_text(radius, middle, text, size, colour, anchor="middle")


def _two_lines(text: str) -> list[str]:
    """``text`` split at the space nearest its middle (one line when it has no space)."""
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return [text]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], text[cut + 1 :]]


def _tangent_room(radius: float, outer: float, start: float, end: float, size: float) -> float:
    """Length of a straight line of text at ``radius``, square to the segment's middle radius,
    that stays inside the segment: within its outer arc and between its two edges."""
    far = radius + size * 0.5
    limit = outer - 3
    half_by_ring = math.sqrt(max(limit * limit - far * far, 0.0))
    half_angle = min((end - start) / 2, math.radians(80))
    half_by_edges = (radius - size * 0.5) * math.tan(half_angle) - 3
    return max(2 * min(half_by_ring, half_by_edges), 0.0)


def _arc_texts(
    node: Any,
    start: float,
    end: float,
    inner: float,
    outer: float,
    label: str,
    second: str,
    font: float,
    colour: str,
    extra: Sequence[str] = (),
) -> str:
    """Two straight lines across the segment (and any ``extra`` lines under them, smaller),
    square to its middle radius, upright in both halves of the wheel (no textPath: PDF
    renderers do not all draw it)."""
    middle = (start + end) / 2
    lower = math.pi / 2 < middle % (2 * math.pi) < 3 * math.pi / 2
    radius = (inner + outer) / 2
    # Upright text's "up" points away from the centre in the upper half, towards it below;
    # either way the name is the upper line as read, the score the lower one.
    sign = -1 if lower else 1
    degrees = math.degrees(middle) + (180 if lower else 0)
    lines = [(label, font, True)]
    if len(label) * font * CHAR_WIDTH > _tangent_room(radius, outer, start, end, font):
        lines = [(part, font, True) for part in _two_lines(label)]  # wrap a long name
        # A wrapped name leaves no room for more lines: the extras join the score's line.
        lines.append((" · ".join([second, *extra]), font * (0.7 if extra else 0.8), False))
        extra = ()
    else:
        lines.append((second, font * 0.8, False))
    lines += [(text, font * 0.7, False) for text in extra]
    step = font * 1.1
    # The block sits a little inwards: lines near the outer arc have the least room.
    first = radius - step * 0.6 + sign * step * (len(lines) - 1) / 2
    radii = [first - sign * step * index for index in range(len(lines))]
    lift = max(inner + font * 0.6 - min(radii), 0.0)  # never below the inner edge
    out = []
    for (text, size, bold), r in zip(lines, radii, strict=True):
        r += lift
        room = _tangent_room(r, outer, start, end, size)
        shown, fitted = fit_label(text, room, size, size * 0.7)
        if not shown:
            continue
        x, y = _point(r, middle)
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{x:.2f}" y="{y:.2f}" font-size="{fitted:.1f}" fill="{colour}" '
            f'text-anchor="middle" dominant-baseline="central"{weight} '
            f'transform="rotate({degrees:.2f} {x:.2f} {y:.2f})">{escape(shown)}</text>'
        )
    return "".join(out)


def _radial_text(
    radius: float,
    angle: float,
    text: str,
    size: float,
    colour: str,
    *,
    anchor: str,
    centre: float = CENTRE,
) -> str:
    """Text along the radius at ``angle``, turned so it never reads upside down."""
    if not text:
        return ""
    x, y = _point(radius, angle, centre)
    degrees = math.degrees(angle) - 90
    if angle % (2 * math.pi) > math.pi:  # left half: turn round and anchor the other end
        degrees += 180
        anchor = {"start": "end", "end": "start"}.get(anchor, anchor)
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size:.1f}" fill="{colour}" '
        f'text-anchor="{anchor}" dominant-baseline="central" '
        f'transform="rotate({degrees:.2f} {x:.2f} {y:.2f})">{escape(text)}</text>'
    )


def _item_texts(node: Any, start: float, end: float, band: int) -> str:
    """The band number inside the KPI segment and the KPI's code and name outside it."""
    return _item_texts_of(str(node.id), str(node.label), start, end, band)


@functools.lru_cache(maxsize=8192)
def _item_texts_of(node_id: str, name: str, start: float, end: float, band: int) -> str:
    """:func:`_item_texts` of plain values, remembered: a KPI's segment is at the same place
    in every city's wheel and has one of five bands (~112 × 5 per language)."""
    inner, outer = RINGS["item"]
    middle = (start + end) / 2
    width = (end - start) * inner
    number_size = max(min(14.0, width * 0.7), 6.0)
    inside = _radial_text(
        (inner + outer) / 2, middle, _band_mark(band), number_size, text_on_band(band),
        anchor="middle",
    )  # fmt: skip
    label_radius = outer + LABEL_GAP
    label_size = max(min(11.5, (end - start) * label_radius * 0.72), 5.0)
    code = short_code(node_id)
    full = f"{code} {name}" if name and name != node_id else code
    text, label_size = fit_label(full, LABEL_ROOM, label_size, min(label_size, 9.0))
    outside = _radial_text(label_radius, middle, text, label_size, INK, anchor="start")
    return f'<g data-item="{escape(node_id)}">{inside}{outside}</g>'


def _legend_svg(names: Sequence[str], prefix: str) -> str:
    rows = []
    columns = 2
    column_width = (SIZE - 80) / columns
    for index, points in enumerate((4, 3, 2, 1, 0)):
        x = 40 + (index % columns) * column_width
        y = SIZE + (index // columns) * LEGEND_ROW
        label = f"{points} · {names[points]}" if points else f"– · {names[0]}"
        rows.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="26" height="26" fill="{_fill(points, prefix)}" '
            f'stroke="{NO_BAND_LINE}" stroke-width="1"/>'
            f'<text x="{x + 34:.0f}" y="{y + 20:.0f}" font-size="20" fill="{INK}">'
            f"{escape(fit_text(label, column_width - 40, 20))}</text>"
        )
    return "<g>" + "".join(rows) + "</g>"


def _description(
    nodes: pd.DataFrame, names: Sequence[str], grades: Mapping[str, str] | None = None
) -> str:
    dimensions = nodes[nodes["level"] == "dimension"]
    grades = grades or {}
    parts = [
        f"{row.label}: {_score_text(_float(row.score))} ({names[as_points(row.band)]}"
        + (f", {grades[str(row.id)]}" if grades.get(str(row.id)) else "")
        + ")"
        for row in tuples(dimensions, index=False)
    ]
    return "; ".join(parts)

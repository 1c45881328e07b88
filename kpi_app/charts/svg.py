"""Charts as inline SVG, drawn on the server: readable without JavaScript, a few KB each.

Each builder takes a tidy DataFrame and returns SVG markup for a page (or a PDF). The charts
are *fluid*: horizontal positions are percentages of the chart's width and font sizes are
fixed in pixels, so the same SVG fills a 1280 px screen or a 375 px phone without shrinking
its text. Percentage axes always run 0–100 (a bar at 80 % never looks full). Bars are coloured
by band (a hatched pale fill when not scored) and print their value and band number as text,
data series (cities, dimensions) take colours from a family distinct from the band colours
plus their own dash pattern and marker, and every chart is paired on the page with a data
table. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from html import escape
from typing import Final

import pandas as pd

from kpi_app.charts.palette import (
    BAND_COLOURS,
    INK,
    NO_BAND_LINE,
    as_points,
    band_colour,
    band_names,
    series_colour,
    series_dash,
)
from kpi_app.charts.rows import tuples

FONT_FAMILY: Final[str] = "system-ui, 'DejaVu Sans', Arial, sans-serif"
GRID: Final[str] = "#8b949e"  # 3:1 against white: the gridlines are graphics (WCAG 1.4.11)
MUTED: Final[str] = "#4a5560"
PERCENT_TICKS: Final[tuple[int, ...]] = (0, 25, 50, 75, 100)
#: Plot area as a share of the chart width (left and right padding for tick labels).
PLOT_LEFT: Final[float] = 1.0
PLOT_RIGHT: Final[float] = 96.0
DOTTED: Final[str] = ' stroke-dasharray="2 3"'
MARKERS: Final[tuple[str, ...]] = ("circle", "square", "diamond", "triangle")


def _x(percent: float) -> str:
    """A horizontal position in the plot area for a value 0-100, as an SVG percentage."""
    share = min(max(percent, 0.0), 100.0) / 100
    return f"{PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT):.2f}%"


def _span(percent: float) -> str:
    """The width of a bar for a value 0-100, as a share of the chart width."""
    return f"{min(max(percent, 0.0), 100.0) * (PLOT_RIGHT - PLOT_LEFT) / 100:.2f}%"


def _open(chart_id: str, height: float, title: str, desc: str = "") -> list[str]:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" '
        f'width="100%" height="{height:.0f}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="svg-chart" '
        f'font-family="{FONT_FAMILY}" font-size="14">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    if desc:
        parts.append(f"<desc>{escape(desc)}</desc>")
    parts.append(
        f'<defs><pattern id="{chart_id}-no-band" width="8" height="8" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="{BAND_COLOURS[0]}"/>'
        f'<line x1="0" y1="0" x2="0" y2="8" stroke="{NO_BAND_LINE}" stroke-width="1.5"/>'
        "</pattern></defs>"
    )
    return parts


def _band_fill(points: int, chart_id: str) -> str:
    return band_colour(points) if points else f"url(#{chart_id}-no-band)"


def _is_missing(value: object) -> bool:
    try:
        return value is None or math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _bounded(value: object) -> float:
    """A score clamped to 0-100 for drawing (0 when missing)."""
    if _is_missing(value):
        return 0.0
    return min(max(float(value), 0.0), 100.0)  # type: ignore[arg-type]


def _pct_text(value: object) -> str:
    if _is_missing(value):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    return "≥100 %" if math.isinf(number) else f"{number:.0f} %"


def _percent_axis(top: float, bottom: float, axis_title: str) -> list[str]:
    """Vertical gridlines at 0, 25, 50, 75 and 100 % with their labels under the plot."""
    parts = []
    for tick in PERCENT_TICKS:
        x = _x(tick)
        dash = "" if tick in (0, 100) else DOTTED
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{top:.0f}" y2="{bottom:.0f}" stroke="{GRID}" '
            f'stroke-width="1"{dash}/>'
        )
        anchor = "start" if tick == 0 else "end" if tick == 100 else "middle"
        parts.append(
            f'<text x="{x}" y="{bottom + 16:.0f}" text-anchor="{anchor}" fill="{MUTED}" '
            f'font-size="12">{tick}</text>'
        )
    if axis_title:
        parts.append(
            f'<text x="50%" y="{bottom + 32:.0f}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="12">{escape(axis_title)}</text>'
        )
    return parts


def score_bars_svg(
    scores: pd.DataFrame,
    *,
    label_column: str,
    chart_id: str,
    title: str,
    axis_title: str = "Score (%)",
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
) -> str:
    """Horizontal bars of group scores on a 0-100 axis, coloured by band.

    Each row writes the name, score and band above its bar ("Economy — 54 % · 2"), so the
    text never sits on the bar's colour. ``scores`` columns: ``label_column``, score, band.
    """
    names = band_names(band_labels, none_label)
    row_height, top = 44.0, 8.0
    bottom = top + row_height * len(scores)
    parts = _open(chart_id, bottom + 40, title)
    parts += _percent_axis(top, bottom, axis_title)
    for index, row in enumerate(tuples(scores, index=False)):
        y = top + index * row_height
        score = row.score
        band = as_points(row.band)
        label = str(getattr(row, label_column))
        status = f"{_pct_text(score)} · {band}" if band else f"– · {names[0]}"
        parts.append(
            f'<text x="{_x(0)}" y="{y + 15:.0f}" fill="{INK}"><tspan font-weight="bold">'
            f"{escape(label)}</tspan> — {escape(status)}</text>"
        )
        width = _bounded(score)
        shown = width if band else 100.0  # an unscored row shows a full hatched track
        parts.append(
            f'<rect x="{_x(0)}" y="{y + 21:.0f}" width="{_span(shown)}" '
            f'height="16" fill="{_band_fill(band, chart_id)}" stroke="{NO_BAND_LINE}" '
            f'stroke-width="{0 if band else 1}"><title>{escape(label)}: {escape(status)} '
            f"({escape(names[band])})</title></rect>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def grouped_bars_svg(
    scores: pd.DataFrame,
    *,
    group_column: str,
    series_column: str,
    chart_id: str,
    title: str,
    axis_title: str = "Score (%)",
) -> str:
    """One block per group (dimension), one bar per series (city) in the series colours.

    A bar's text names its series, score and band; the legend repeats the series colours.
    ``scores`` columns: ``group_column``, ``series_column``, score, band.
    """
    series = list(dict.fromkeys(str(s) for s in scores[series_column]))
    colour = {name: series_colour(i) for i, name in enumerate(series)}
    groups = list(dict.fromkeys(str(g) for g in scores[group_column]))
    line, bar_gap, group_gap = 18.0, 30.0, 14.0
    top = 8.0 + 24.0 * math.ceil(len(series) / LEGEND_COLUMNS)
    height = top + len(groups) * (line + group_gap) + len(scores) * bar_gap
    parts = _open(chart_id, height + 40, title)
    parts += _series_legend(series, colour)
    parts += _percent_axis(top, height, axis_title)
    y = top
    for group in groups:
        parts.append(
            f'<text x="{_x(0)}" y="{y + 14:.0f}" font-weight="bold" fill="{INK}">'
            f"{escape(group)}</text>"
        )
        y += line + 4
        rows = scores[scores[group_column].astype(str) == group]
        for row in tuples(rows, index=False):
            name = str(getattr(row, series_column))
            score = row.score
            band = as_points(row.band)
            text = f"{name}: {_pct_text(score)}" + (f" · {band}" if band else "")
            width = _bounded(score)
            parts.append(
                f'<rect x="{_x(0)}" y="{y:.0f}" width="{_span(width)}" '
                f'height="10" fill="{colour[name]}"><title>{escape(group)}, '
                f"{escape(text)}</title></rect>"
                f'<text x="{_x(0)}" y="{y + 23:.0f}" font-size="12" fill="{INK}">'
                f"{escape(text)}</text>"
            )
            y += bar_gap
        y += group_gap
    parts.append("</svg>")
    return "\n".join(parts)


#: Entries per row of a series legend. Two, not three, so that a city name with its year
#: ("Lakeshore Falls (2024)") fits its half of a 375 px phone screen.
LEGEND_COLUMNS = 2


def _series_legend(series: Sequence[str], colour: dict[str, str]) -> list[str]:
    parts = []
    share = 100 / LEGEND_COLUMNS
    for index, name in enumerate(series):
        left = 1 + (index % LEGEND_COLUMNS) * share
        y = 8 + (index // LEGEND_COLUMNS) * 24
        parts.append(
            f'<rect x="{left:.0f}%" y="{y:.0f}" width="14" height="14" fill="{colour[name]}"/>'
            f'<text x="{left:.0f}%" y="{y + 12:.0f}" dx="20" font-size="13" '
            f'fill="{INK}">{escape(name)}</text>'
        )
    return parts


def trend_svg(
    trend: pd.DataFrame,
    *,
    label_column: str,
    chart_id: str,
    title: str,
    axis_title: str = "Score (%)",
    y_max: float = 100.0,
    value_format: str = "{:.0f}",
) -> str:
    """Scores over the years on a 0-100 axis (``y_max`` for other values): one line per group
    with its own colour, dash pattern and marker shape, each point labelled.
    ``trend`` columns: year, group (``label_column``), score."""
    years = sorted({int(y) for y in trend["year"]})
    groups = list(dict.fromkeys(str(g) for g in trend[label_column]))
    legend_height = 24.0 * math.ceil(len(groups) / LEGEND_COLUMNS)
    top, plot = 16.0 + legend_height, 220.0
    bottom = top + plot
    parts = _open(chart_id, bottom + 44, title)
    colour = {g: series_colour(i) for i, g in enumerate(groups)}
    parts += _series_legend(groups, colour)

    def y_of(score: float) -> float:
        return bottom - min(max(score, 0.0), y_max) / y_max * plot

    def x_of(year: int) -> str:
        if len(years) == 1:
            return "50%"
        return f"{8 + 84 * years.index(year) / (len(years) - 1):.2f}%"

    for step in range(5):
        tick = y_max * step / 4
        dotted = "" if step == 0 else DOTTED
        parts.append(
            f'<line x1="6%" x2="98%" y1="{y_of(tick):.1f}" y2="{y_of(tick):.1f}" stroke="{GRID}" '
            f'stroke-width="1"{dotted}/>'
            f'<text x="5%" y="{y_of(tick) + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{MUTED}">{tick:g}</text>'
        )
    for year in years:
        parts.append(
            f'<text x="{x_of(year)}" y="{bottom + 18:.0f}" text-anchor="middle" font-size="12" '
            f'fill="{MUTED}">{year}</text>'
        )
    parts.append(
        f'<text x="1%" y="{top - 6:.0f}" font-size="12" fill="{MUTED}">{escape(axis_title)}</text>'
    )
    for index, group in enumerate(groups):
        rows = trend[trend[label_column].astype(str) == group].sort_values("year")
        points = [
            (int(r.year), float(r.score))
            for r in tuples(rows, index=False)
            if not _is_missing(r.score)
        ]
        dash = f' stroke-dasharray="{series_dash(index)}"' if series_dash(index) else ""
        for (y1, s1), (y2, s2) in itertools.pairwise(points):
            parts.append(
                f'<line x1="{x_of(y1)}" y1="{y_of(s1):.1f}" x2="{x_of(y2)}" y2="{y_of(s2):.1f}" '
                f'stroke="{colour[group]}" stroke-width="2.5"{dash}/>'
            )
        for year, score in points:
            shown = value_format.format(score)
            tooltip = f"{group}, {year}: {shown}"
            parts.append(_marker(index, x_of(year), y_of(score), colour[group], tooltip))
            parts.append(
                f'<text x="{x_of(year)}" y="{y_of(score) - 9:.1f}" dx="{8 * (index % 2 * 2 - 1)}" '
                f'text-anchor="{"start" if index % 2 else "end"}" font-size="11" fill="{INK}">'
                f"{escape(shown)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _marker(index: int, x: str, y: float, colour: str, tooltip: str) -> str:
    shape = MARKERS[index % len(MARKERS)]
    title = f"<title>{escape(tooltip)}</title>"
    if shape == "circle":
        return f'<circle cx="{x}" cy="{y:.1f}" r="5" fill="{colour}">{title}</circle>'
    # Squares, diamonds and triangles as small nested SVGs positioned by percentage.
    path = {
        "square": "M1,1 H11 V11 H1 Z",
        "diamond": "M6,0 L12,6 L6,12 L0,6 Z",
        "triangle": "M6,0 L12,11 L0,11 Z",
    }[shape]
    return (
        f'<svg x="{x}" y="{y - 6:.1f}" width="12" height="12" overflow="visible">'
        f'<path transform="translate(-6 0)" d="{path}" fill="{colour}">{title}</path></svg>'
    )


def band_grid_svg(
    bands: pd.DataFrame,
    *,
    chart_id: str,
    title: str,
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
) -> str:
    """KPI × city grid of bands: one column per city, each cell its band number on the band
    colour ("–" on the hatched fill when not scored). Index = KPI labels, columns = cities."""
    names = band_names(band_labels, none_label)
    columns = [str(c) for c in bands.columns]
    left, cell_h, head = 34.0, 18.0, 22.0 + 18.0 * len(columns)
    width = (100.0 - left - 1) / max(len(columns), 1)
    height = head + cell_h * len(bands.index) + 4
    parts = _open(chart_id, height, title)
    text_colour = ("#1b1f24", "#ffffff", "#1b1f24", "#1b1f24", "#ffffff")
    for index, column in enumerate(columns):
        parts.append(
            f'<text x="{left + index * width + width / 2:.2f}%" y="{16 + 18 * index:.0f}" '
            f'text-anchor="middle" font-size="12" fill="{INK}">{escape(column)}</text>'
        )
    z = bands.fillna(0).astype(int)
    for row_index, (label, values) in enumerate(z.iterrows()):
        y = head + row_index * cell_h
        parts.append(
            f'<text x="{left - 0.5:.1f}%" y="{y + 13:.0f}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{escape(_short(str(label), 40))}'
            f"<title>{escape(str(label))}</title></text>"
        )
        for col_index, value in enumerate(values.tolist()):
            points = as_points(value)
            x = left + col_index * width
            parts.append(
                f'<rect x="{x:.2f}%" y="{y:.0f}" width="{width:.2f}%" height="{cell_h - 1:.0f}" '
                f'fill="{_band_fill(points, chart_id)}" stroke="#ffffff"><title>'
                f"{escape(str(label))}, {escape(columns[col_index])}: {escape(names[points])}"
                f"</title></rect>"
                f'<text x="{x + width / 2:.2f}%" y="{y + 13:.0f}" text-anchor="middle" '
                f'font-size="11" fill="{text_colour[points]}">{points or "–"}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rank_intervals_svg(
    ranks: pd.DataFrame, *, chart_id: str, title: str, city_column: str = "city_name"
) -> str:
    """Median rank (dot) with its 90 % interval (line) per city, best at the top."""
    ordered = ranks.sort_values("median_rank")
    count = max(len(ordered), 1)
    top, row = 8.0, 40.0
    bottom = top + row * len(ordered)
    parts = _open(chart_id, bottom + 36, title)

    def x_of(rank: float) -> str:
        return _x(0 if count == 1 else (rank - 1) / (count - 1) * 100)

    for rank in range(1, count + 1):
        parts.append(
            f'<line x1="{x_of(rank)}" x2="{x_of(rank)}" y1="{top:.0f}" y2="{bottom:.0f}" '
            f'stroke="{GRID}" stroke-dasharray="2 3"/>'
            f'<text x="{x_of(rank)}" y="{bottom + 16:.0f}" text-anchor="middle" font-size="12" '
            f'fill="{MUTED}">{rank}</text>'
        )
    for index, item in enumerate(tuples(ordered, index=False)):
        y = top + index * row
        name = str(getattr(item, city_column))
        low, mid, high = (
            float(getattr(item, column)) for column in ("rank_p05", "median_rank", "rank_p95")
        )
        parts.append(
            f'<text x="{_x(0)}" y="{y + 13:.0f}" fill="{INK}">{escape(name)}: '
            f"{mid:.1f} ({low:.0f}–{high:.0f})</text>"
            f'<line x1="{x_of(low)}" x2="{x_of(high)}" y1="{y + 27:.0f}" y2="{y + 27:.0f}" '
            f'stroke="{series_colour(0)}" stroke-width="3"/>'
            f'<circle cx="{x_of(mid)}" cy="{y + 27:.0f}" r="6" fill="{series_colour(0)}">'
            f"<title>{escape(name)}: {mid:.1f}</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts)

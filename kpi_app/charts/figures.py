"""Plotly figures for the dashboards: score bars, band heatmap, city map, trends and ranks.

Each builder takes a tidy DataFrame and returns a :data:`Figure`: the plain ``{"data": [...],
"layout": {...}}`` dict that plotly.js draws. We build the dicts directly instead of going
through ``plotly.graph_objects``: its property validation made figure building the largest
cost of a dashboard request (a city page spent ~170 ms in it; the dicts take ~2 ms), and
plotly.js validates the figure again in the browser anyway. None of the builders reads a
database or a request. Bars and heatmap cells print their band number or score as text, so
colour never carries meaning alone, and every figure is paired on the page with a data table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from kpi_app.charts.palette import BAND_COLOURS, as_points, band_colour, band_names

#: A plotly figure as JSON-ready data: {"data": [trace, ...], "layout": {...}}.
Figure = dict[str, Any]

FONT: Final[dict[str, str]] = {"family": "system-ui, Arial, sans-serif"}


def plain(values: Iterable[Any]) -> list[Any]:
    """A JSON-ready list: numpy scalars become Python numbers, NaN/NA/None become null."""
    return [_plain_scalar(value) for value in values]


def _plain_scalar(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    return {"data": traces, "layout": layout}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    """Shared layout. Axes grow their margin to fit their labels (``automargin``): plotly.py
    set that through its default template, which plain dicts do not carry."""
    axes = {axis: {"automargin": True, **extra.pop(axis, {})} for axis in ("xaxis", "yaxis")}
    return {
        "height": height,
        "margin": {"t": 30, "l": 10, "r": 10, "b": 10},
        "font": FONT,
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        **axes,
        **extra,
    }


def score_bars(
    scores: pd.DataFrame,
    *,
    label_column: str,
    score_title: str = "Score (%)",
    band_labels: Sequence[str] | None = None,
) -> Figure:
    """Horizontal bars of group scores (0-100) coloured by band, each printed with its value.

    ``scores`` columns: ``label_column``, score, band.
    """
    names = band_names(band_labels)
    bands = [as_points(b) for b in scores["band"]]
    bar = {
        "type": "bar",
        "y": plain(scores[label_column]),
        "x": plain(scores["score"]),
        "orientation": "h",
        "marker": {"color": [band_colour(b) for b in bands]},
        "text": [_bar_text(s, b, names) for s, b in zip(scores["score"], bands, strict=True)],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x:.1f} %<extra></extra>",
    }
    return figure(
        [bar],
        _layout(
            80 + 34 * len(scores),
            xaxis={"range": [0, 100], "title": {"text": score_title}},
            yaxis={"autorange": "reversed"},
        ),
    )


def _bar_text(score: object, band: int, names: Sequence[str]) -> str:
    if band == 0:
        return names[0]
    return f"{float(score):.0f} % ({band})"  # type: ignore[arg-type]


def compare_bars(
    scores: pd.DataFrame, *, group_column: str, city_column: str = "city_name"
) -> Figure:
    """Grouped bars: one group per dimension (or other level), one bar per city.

    ``scores`` columns: ``group_column``, ``city_column``, score, band.
    """
    traces = [
        {
            "type": "bar",
            "name": str(city),
            "x": plain(rows[group_column]),
            "y": plain(rows["score"]),
            "text": [
                "–" if pd.isna(s) else f"{float(s):.0f} ({as_points(b)})"
                for s, b in zip(rows["score"], rows["band"], strict=True)
            ],
            "textposition": "outside",
        }
        for city, rows in scores.groupby(city_column, sort=False)
    ]
    return figure(
        traces,
        _layout(
            420,
            barmode="group",
            legend={"orientation": "h", "y": -0.15},
            yaxis={"range": [0, 110], "title": {"text": "%"}},
        ),
    )


def band_heatmap(bands: pd.DataFrame, *, band_labels: Sequence[str] | None = None) -> Figure:
    """KPI × city grid of bands; each cell shows its band number (– when not scored).

    ``bands``: index = KPI item labels, columns = city names, values = points 0-4. The hover
    text repeats the band number; the colour bar names every band, so the cells need no
    per-cell label text (which made the 200-city grid half a megabyte).
    """
    names = band_names(band_labels)
    z = bands.fillna(0).astype(int).to_numpy()
    # A discrete colour scale: five equal steps, one per band value 0..4.
    scale: list[list[Any]] = []
    for points, colour in enumerate(BAND_COLOURS):
        scale += [[points / 5, colour], [(points + 1) / 5, colour]]
    heat = {
        "type": "heatmap",
        "z": z.tolist(),
        "x": [str(c) for c in bands.columns],
        "y": [str(i) for i in bands.index],
        "zmin": -0.5,
        "zmax": 4.5,
        "colorscale": scale,
        "text": [[str(v) if v else "–" for v in row] for row in z.tolist()],
        "texttemplate": "%{text}",
        "hovertemplate": "%{y}<br>%{x}: %{text}<extra></extra>",
        "colorbar": {
            "tickvals": [0, 1, 2, 3, 4],
            "ticktext": [names[0], *(f"{p}: {names[p]}" for p in range(1, 5))],
        },
        "xgap": 1,
        "ygap": 1,
    }
    return figure(
        [heat],
        _layout(
            max(300, 60 + 18 * len(bands.index)),
            xaxis={"side": "top"},
            yaxis={"autorange": "reversed"},
        ),
    )


def city_map(cities: pd.DataFrame, *, band_labels: Sequence[str] | None = None) -> Figure:
    """Cities on a world map (scattergeo), one legend entry per band of the overall score.

    ``cities`` columns: name, latitude, longitude, band (0-4), hover (text).
    """
    names = band_names(band_labels)
    located = cities.dropna(subset=["latitude", "longitude"])
    traces = []
    for points in (4, 3, 2, 1, 0):
        rows = located[[as_points(b) == points for b in located["band"]]]
        if rows.empty:
            continue
        traces.append(
            {
                "type": "scattergeo",
                "lat": plain(rows["latitude"]),
                "lon": plain(rows["longitude"]),
                "text": plain(rows["name"]),
                "customdata": plain(rows["hover"]),
                "mode": "markers+text",
                "textposition": "top center",
                "name": f"{points}: {names[points]}" if points else names[0],
                "marker": {"size": 11, "color": BAND_COLOURS[points], "line": {"width": 1}},
                "hovertemplate": "%{customdata}<extra></extra>",
            }
        )
    geo = {
        "showcountries": True,
        "showland": True,
        "landcolor": "#eef1f4",
        "countrycolor": "#9aa5b1",
        "projection": {"type": "natural earth"},
        "resolution": 110,
    }
    return figure(traces, _layout(460, geo=geo, legend={"orientation": "h", "y": -0.05}))


def trend_lines(trend: pd.DataFrame, *, label_column: str) -> Figure:
    """Scores over the years, one line per group (dimension or overall), points labelled.

    ``trend`` columns: year, ``label_column``, score.
    """
    traces = [
        {
            "type": "scatter",
            "x": plain(rows["year"]),
            "y": plain(rows["score"]),
            "name": str(label),
            "mode": "lines+markers+text",
            "text": [f"{s:.0f}" for s in rows["score"]],
            "textposition": "top center",
        }
        for label, rows in trend.groupby(label_column, sort=False)
    ]
    return figure(
        traces,
        _layout(
            340,
            legend={"orientation": "h", "y": -0.2},
            xaxis={"dtick": 1, "title": {"text": ""}},
            yaxis={"range": [0, 105], "title": {"text": "%"}},
        ),
    )


def rank_intervals(ranks: pd.DataFrame, *, city_column: str = "city_name") -> Figure:
    """Median rank with its 90 % interval (5th-95th percentile) per city, best at the top.

    ``ranks`` columns: ``city_column``, median_rank, rank_p05, rank_p95.
    """
    ordered = ranks.sort_values("median_rank")
    trace = {
        "type": "scatter",
        "x": plain(ordered["median_rank"]),
        "y": plain(ordered[city_column]),
        "mode": "markers",
        "marker": {"size": 12, "color": "#004f8a"},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": plain(ordered["rank_p95"] - ordered["median_rank"]),
            "arrayminus": plain(ordered["median_rank"] - ordered["rank_p05"]),
        },
        "hovertemplate": "%{y}: %{x}<extra></extra>",
    }
    return figure(
        [trace],
        _layout(
            80 + 36 * len(ordered),
            xaxis={"title": {"text": "rank"}, "dtick": 1, "rangemode": "tozero"},
            yaxis={"autorange": "reversed"},
        ),
    )


def figure_json(chart: Figure) -> str:
    """Plotly JSON for a ``<script type="application/json">`` block (charts.js draws it).

    ``</`` is escaped so a label can never close the script element early. ``allow_nan`` is
    off because NaN is not JSON: every builder turns missing numbers into null.
    """
    text = json.dumps(chart, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/")


def labelled(frame: pd.DataFrame, column: str, names: Mapping[str, str]) -> pd.DataFrame:
    """A copy with ``column`` ids replaced by display names (unknown ids kept)."""
    return frame.assign(**{column: [names.get(str(v), str(v)) for v in frame[column]]})

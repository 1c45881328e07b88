"""Plotly figures for the dashboards: score bars, band heatmap, city map, trends and ranks.

Each builder takes a tidy DataFrame and returns a ``go.Figure``; none reads a database or a
request. Bars and heatmap cells print their band number or score as text, so colour never
carries meaning alone, and every figure is paired on the page with a data table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pandas as pd
import plotly.graph_objects as go

from kpi_app.charts.palette import BAND_COLOURS, as_points, band_colour, band_names

FONT: Final[dict[str, str]] = {"family": "system-ui, Arial, sans-serif"}


def _layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"t": 30, "l": 10, "r": 10, "b": 10},
        font=FONT,
        plot_bgcolor="#ffffff",
        **extra,
    )
    return figure


def score_bars(
    scores: pd.DataFrame,
    *,
    label_column: str,
    score_title: str = "Score (%)",
    band_labels: Sequence[str] | None = None,
) -> go.Figure:
    """Horizontal bars of group scores (0-100) coloured by band, each printed with its value.

    ``scores`` columns: ``label_column``, score, band.
    """
    names = band_names(band_labels)
    bands = [as_points(b) for b in scores["band"]]
    figure = go.Figure(
        go.Bar(
            y=scores[label_column],
            x=scores["score"],
            orientation="h",
            marker={"color": [band_colour(b) for b in bands]},
            text=[_bar_text(s, b, names) for s, b in zip(scores["score"], bands, strict=True)],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
        )
    )
    figure.update_xaxes(range=[0, 100], title=score_title)
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, 80 + 34 * len(scores))


def _bar_text(score: object, band: int, names: Sequence[str]) -> str:
    if band == 0:
        return names[0]
    return f"{float(score):.0f} % ({band})"  # type: ignore[arg-type]


def compare_bars(
    scores: pd.DataFrame, *, group_column: str, city_column: str = "city_name"
) -> go.Figure:
    """Grouped bars: one group per dimension (or other level), one bar per city.

    ``scores`` columns: ``group_column``, ``city_column``, score, band.
    """
    figure = go.Figure()
    for city, rows in scores.groupby(city_column, sort=False):
        figure.add_trace(
            go.Bar(
                name=str(city),
                x=rows[group_column],
                y=rows["score"],
                text=[
                    "–" if pd.isna(s) else f"{float(s):.0f} ({as_points(b)})"
                    for s, b in zip(rows["score"], rows["band"], strict=True)
                ],
                textposition="outside",
            )
        )
    figure.update_yaxes(range=[0, 110], title="%")
    return _layout(figure, 420, barmode="group", legend={"orientation": "h", "y": -0.15})


def band_heatmap(bands: pd.DataFrame, *, band_labels: Sequence[str] | None = None) -> go.Figure:
    """KPI × city grid of bands; each cell shows its band number (– when not scored).

    ``bands``: index = KPI item labels, columns = city names, values = points 0-4.
    """
    names = band_names(band_labels)
    z = bands.fillna(0).astype(int)
    # A discrete colour scale: five equal steps, one per band value 0..4.
    scale = []
    for points, colour in enumerate(BAND_COLOURS):
        scale += [[points / 5, colour], [(points + 1) / 5, colour]]
    figure = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=list(z.columns),
            y=list(z.index),
            zmin=-0.5,
            zmax=4.5,
            colorscale=scale,
            text=[[str(v) if v else "–" for v in row] for row in z.to_numpy()],
            texttemplate="%{text}",
            customdata=[[names[int(v)] for v in row] for row in z.to_numpy()],
            hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
            colorbar={
                "tickvals": [0, 1, 2, 3, 4],
                "ticktext": [names[0], *(f"{p}: {names[p]}" for p in range(1, 5))],
            },
            xgap=1,
            ygap=1,
        )
    )
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, max(300, 60 + 18 * len(z.index)), xaxis={"side": "top"})


def city_map(cities: pd.DataFrame, *, band_labels: Sequence[str] | None = None) -> go.Figure:
    """Cities on a world map (scattergeo), one legend entry per band of the overall score.

    ``cities`` columns: name, latitude, longitude, band (0-4), hover (text).
    """
    names = band_names(band_labels)
    figure = go.Figure()
    located = cities.dropna(subset=["latitude", "longitude"])
    for points in (4, 3, 2, 1, 0):
        rows = located[[as_points(b) == points for b in located["band"]]]
        if rows.empty:
            continue
        figure.add_trace(
            go.Scattergeo(
                lat=rows["latitude"],
                lon=rows["longitude"],
                text=rows["name"],
                customdata=rows["hover"],
                mode="markers+text",
                textposition="top center",
                name=f"{points}: {names[points]}" if points else names[0],
                marker={"size": 11, "color": BAND_COLOURS[points], "line": {"width": 1}},
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    figure.update_geos(
        showcountries=True,
        showland=True,
        landcolor="#eef1f4",
        countrycolor="#9aa5b1",
        projection_type="natural earth",
        resolution=110,
    )
    return _layout(figure, 460, legend={"orientation": "h", "y": -0.05})


def trend_lines(trend: pd.DataFrame, *, label_column: str) -> go.Figure:
    """Scores over the years, one line per group (dimension or overall), points labelled.

    ``trend`` columns: year, ``label_column``, score.
    """
    figure = go.Figure()
    for label, rows in trend.groupby(label_column, sort=False):
        figure.add_trace(
            go.Scatter(
                x=rows["year"],
                y=rows["score"],
                name=str(label),
                mode="lines+markers+text",
                text=[f"{s:.0f}" for s in rows["score"]],
                textposition="top center",
            )
        )
    figure.update_xaxes(dtick=1, title="")
    figure.update_yaxes(range=[0, 105], title="%")
    return _layout(figure, 340, legend={"orientation": "h", "y": -0.2})


def rank_intervals(ranks: pd.DataFrame, *, city_column: str = "city_name") -> go.Figure:
    """Median rank with its 90 % interval (5th-95th percentile) per city, best at the top.

    ``ranks`` columns: ``city_column``, median_rank, rank_p05, rank_p95.
    """
    ordered = ranks.sort_values("median_rank")
    figure = go.Figure(
        go.Scatter(
            x=ordered["median_rank"],
            y=ordered[city_column],
            mode="markers",
            marker={"size": 12, "color": "#004f8a"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": ordered["rank_p95"] - ordered["median_rank"],
                "arrayminus": ordered["median_rank"] - ordered["rank_p05"],
            },
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    figure.update_xaxes(title="rank", dtick=1, rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, 80 + 36 * len(ordered))


def figure_json(figure: go.Figure) -> str:
    """Plotly JSON for a ``<script type="application/json">`` block (charts.js draws it).

    ``</`` is escaped so a label can never close the script element early.
    """
    return str(figure.to_json()).replace("</", "<\\/")


def labelled(frame: pd.DataFrame, column: str, names: Mapping[str, str]) -> pd.DataFrame:
    """A copy with ``column`` ids replaced by display names (unknown ids kept)."""
    return frame.assign(**{column: [names.get(str(v), str(v)) for v in frame[column]]})

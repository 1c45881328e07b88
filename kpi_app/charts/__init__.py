"""Pure chart builders: DataFrames in, plotly figure dicts, SVG text or download bytes out.

Nothing here imports Flask or SQLAlchemy; the dashboards and PDF reports call these with
frames prepared by :mod:`kpi_app.services.reports`.
"""

from kpi_app.charts.export import to_csv_bytes, to_excel_bytes
from kpi_app.charts.figures import (
    Figure,
    band_heatmap,
    city_map,
    compare_bars,
    figure_json,
    labelled,
    plain,
    rank_intervals,
    score_bars,
    trend_lines,
)
from kpi_app.charts.geo import city_map_svg
from kpi_app.charts.local_wheel import local_wheel_svg
from kpi_app.charts.palette import BAND_COLOURS, band_colour, band_names
from kpi_app.charts.svg import (
    band_grid_svg,
    grouped_bars_svg,
    rank_intervals_svg,
    score_bars_svg,
    trend_svg,
)
from kpi_app.charts.wheel import item_id, wheel_figure, wheel_nodes, wheel_svg

__all__ = [
    "BAND_COLOURS",
    "Figure",
    "band_colour",
    "band_grid_svg",
    "band_heatmap",
    "band_names",
    "city_map",
    "city_map_svg",
    "compare_bars",
    "figure_json",
    "grouped_bars_svg",
    "item_id",
    "labelled",
    "local_wheel_svg",
    "plain",
    "rank_intervals",
    "rank_intervals_svg",
    "score_bars",
    "score_bars_svg",
    "to_csv_bytes",
    "to_excel_bytes",
    "trend_lines",
    "trend_svg",
    "wheel_figure",
    "wheel_nodes",
    "wheel_svg",
]

"""The city map as inline SVG: coastlines from a TopoJSON topology, cities as band-coloured dots.

The map is cropped to the cities shown (plus a margin), so neighbouring cities stay apart and
their names readable, in a plain equirectangular projection (longitude → x, latitude → y).
Coastlines come from the vendored Natural Earth 1:110m topology (``static/vendor/topojson``),
decoded here (quantised, delta-encoded arcs) without any third-party code. Pure: the caller
reads the topology file and passes the parsed JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import pandas as pd

from kpi_app.charts.palette import (
    INK,
    NO_BAND_LINE,
    as_points,
    band_colour,
    band_names,
    text_on_band,
)
from kpi_app.charts.rows import tuples

WIDTH: Final[float] = 1000.0
MARGIN_DEGREES: Final[float] = 8.0
MIN_SPAN_DEGREES: Final[float] = 30.0
LAND_LINE: Final[str] = "#59636e"
SEA: Final[str] = "#f4f8fb"


def decode_arcs(topology: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """Every arc of a quantised TopoJSON topology as (longitude, latitude) points."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x, y = x + dx, y + dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(p[0]), float(p[1])) for p in arc]
        arcs.append(points)
    return arcs


Line = list[tuple[float, float]]


def coastlines(topology: Mapping[str, Any], layer: str = "coastlines") -> list[Line]:
    """The lines of one layer (LineString/MultiLineString geometries), arcs joined in order."""
    arcs = decode_arcs(topology)
    lines: list[list[tuple[float, float]]] = []

    def arc_points(index: int) -> list[tuple[float, float]]:
        return arcs[index] if index >= 0 else list(reversed(arcs[~index]))

    for geometry in topology["objects"][layer]["geometries"]:
        parts = geometry["arcs"]
        if geometry["type"] == "LineString":
            parts = [parts]
        elif geometry["type"] != "MultiLineString":
            continue
        for part in parts:
            line: list[tuple[float, float]] = []
            for index in part:
                points = arc_points(index)
                line.extend(points[1:] if line else points)
            lines.append(line)
    return lines


def _extent(cities: pd.DataFrame) -> tuple[float, float, float, float]:
    """West, east, south, north of the map: the cities plus a margin, at a 2:1 aspect."""
    lon, lat = cities["longitude"].astype(float), cities["latitude"].astype(float)
    west, east = float(lon.min()) - MARGIN_DEGREES, float(lon.max()) + MARGIN_DEGREES
    south, north = float(lat.min()) - MARGIN_DEGREES, float(lat.max()) + MARGIN_DEGREES
    span_x = max(east - west, MIN_SPAN_DEGREES, 2 * (north - south))
    centre_x, centre_y = (west + east) / 2, (south + north) / 2
    span_y = span_x / 2
    west, east = centre_x - span_x / 2, centre_x + span_x / 2
    south, north = centre_y - span_y / 2, centre_y + span_y / 2
    return west, east, south, north


def city_map_svg(
    cities: pd.DataFrame,
    topology: Mapping[str, Any],
    *,
    chart_id: str,
    title: str,
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
) -> str:
    """Cities (columns name, latitude, longitude, band, score_text) on their coastlines.

    Each dot carries its band number ("–" when not scored, on the hatched pale fill) and its
    name; its ``<title>`` adds the band label and score. Cities without coordinates are left
    out (the table beside the map lists them all).
    """
    names = band_names(band_labels, none_label)
    located = cities.dropna(subset=["latitude", "longitude"])
    if located.empty:
        return ""
    west, east, south, north = _extent(located)
    height = WIDTH / 2
    scale = WIDTH / (east - west)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * scale, (north - lat) * scale

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" '
        f'viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="map-svg" '
        "font-family=\"system-ui, 'DejaVu Sans', Arial, sans-serif\">",
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<defs><pattern id="{chart_id}-no-band" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{band_colour(0)}"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{NO_BAND_LINE}" stroke-width="1.5"/>'
        "</pattern></defs>",
        f'<rect width="{WIDTH:.0f}" height="{height:.0f}" fill="{SEA}"/>',
    ]
    path = []
    for line in coastlines(topology):
        if not any(west - 5 <= x <= east + 5 and south - 5 <= y <= north + 5 for x, y in line):
            continue
        previous = None
        commands = []
        for lon, lat in line:
            x, y = project(lon, lat)
            point = (round(x), round(y))
            if point != previous:
                commands.append(f"{point[0]},{point[1]}")
                previous = point
        if len(commands) > 1:
            path.append("M" + "L".join(commands))
    parts.append(
        f'<path d="{"".join(path)}" fill="none" stroke="{LAND_LINE}" stroke-width="1.2" '
        'stroke-linejoin="round"/>'
    )
    for row in tuples(located, index=False):
        x, y = project(float(row.longitude), float(row.latitude))
        band = as_points(row.band)
        fill = band_colour(band) if band else f"url(#{chart_id}-no-band)"
        tooltip = f"{row.name}: {names[band]}, {row.score_text}"
        anchor, dx = ("end", -16) if x > WIDTH * 0.75 else ("start", 16)
        parts.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="12" fill="{fill}" stroke="{INK}" '
            'stroke-width="1.5"/>'
            f'<text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle" font-size="14" '
            f'font-weight="bold" fill="{text_on_band(band)}">{band or "–"}</text>'
            f'<text x="{x + dx:.1f}" y="{y + 6:.1f}" text-anchor="{anchor}" font-size="18" '
            f'fill="{INK}" stroke="#ffffff" stroke-width="4" paint-order="stroke">'
            f"{escape(str(row.name))}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)

"""The local KPIs' own wheel: a second, smaller chart that is never part of the U4SSC wheel.

A city's local KPIs (docs/local-kpis.md) are banded by :mod:`kpi_app.scoring.local` against
their own benchmarks and never enter the U4SSC score, so they never get a ring of the
benchmarking wheel. :func:`local_wheel_svg` draws them apart, so that the two cannot be
mistaken for one another:

* one ring only, one segment of the same width per local item that has a benchmark (each
  weighs the same in the block score), with its band number inside ("–" on the hatched
  "not scored" fill when not reported) and its local code and name outside;
* a heading written in the drawing itself (by default "Local KPIs — not part of the U4SSC
  score"), so the downloaded or printed chart says what it is on its own;
* a pale centre disc naming the block and its score (no U4SSC overall score there);
* its own legend of the bands, and under it the items **listed, not scored**: those
  without a benchmark (or with direction "none") have no segment.

Same input, same output, byte for byte (the PDFs are keyed by what they show). Every segment
has a ``<title>``; the ``<desc>`` lists every item with its band as text, so nothing depends
on colour. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Final, NamedTuple

import pandas as pd

from kpi_app.charts.palette import INK, NO_BAND_LINE, as_points, band_names, text_on_band
from kpi_app.charts.wheel import (
    CHAR_WIDTH,
    _band_mark,
    _fill,
    _hatch_defs,
    _point,
    _score_text,
    _segment_path,
    fit_text,
)

#: Columns of the input frame, one row per local item (see :func:`local_wheel_svg`).
COLUMNS: Final[tuple[str, ...]] = ("code", "name", "band", "percent_of_target", "benchmarked")
WIDTH: Final[float] = 1100.0
CENTRE: Final[float] = WIDTH / 2  # x of the centre; the ring's group is moved down
HEADING: Final[float] = 64.0  # room above the wheel for its heading
INNER: Final[float] = 150.0
OUTER: Final[float] = 232.0
FRAME: Final[float] = 240.0  # the dashed circle around the ring
ELBOW: Final[float] = FRAME + 22.0  # where a label's leader line turns horizontal
LABEL_X: Final[float] = FRAME + 48.0  # distance of the labels' column from the centre
LABEL_ROOM: Final[float] = CENTRE - LABEL_X - 12
CODE_SIZE: Final[float] = 21.0
NAME_SIZE: Final[float] = 19.0
LINE_STEP: Final[float] = 23.0
LABEL_GAP: Final[float] = 12.0
MARGIN: Final[float] = 40.0  # above and below the ring
LINE: Final[float] = 34.0  # legend and list rows
LIST_SIZE: Final[float] = 20.0
DISC: Final[str] = "#f4f6f8"
FONT_FAMILY: Final[str] = "DejaVu Sans, Arial, sans-serif"
DEFAULT_HEADING: Final[str] = "Local KPIs — not part of the U4SSC score"
DEFAULT_UNSCORED: Final[str] = "Listed, not scored (no benchmark):"


class _Item(NamedTuple):
    code: str
    name: str
    band: object
    percent_of_target: object
    benchmarked: bool


def local_wheel_svg(
    items: pd.DataFrame,
    *,
    title: str = "",
    heading: str = DEFAULT_HEADING,
    centre_lines: Sequence[str] = (),
    band_labels: Sequence[str] | None = None,
    none_label: str | None = None,
    unscored_heading: str = DEFAULT_UNSCORED,
    id_prefix: str = "local-wheel",
) -> str:
    """The local items as one ring of their own (``""`` when there is no item at all).

    ``items`` has :data:`COLUMNS`: ``code`` (the local code shown, e.g. ``WASTE-1``),
    ``name``, ``band`` (0-4), ``percent_of_target`` and ``benchmarked`` (False: listed
    under the wheel, not drawn as a segment). ``centre_lines`` are written in the centre
    disc (e.g. "Local KPIs", the block score). ``title`` is the SVG's accessible name.
    Each segment's label (code, % of target, name) sits in a column left or right of the
    ring, joined to its segment by a leader line, upright and never overlapping another.
    """
    missing = set(COLUMNS) - set(items.columns)
    if missing:
        raise ValueError(f"local wheel items lack column(s) {sorted(missing)}")
    if items.empty:
        return ""
    names = band_names(band_labels, none_label)
    rows = [_Item(*row) for row in items[list(COLUMNS)].itertuples(index=False, name=None)]
    ring = [row for row in rows if row.benchmarked]
    unscored = [row for row in rows if not row.benchmarked]
    labels = _layout(ring)
    # The ring's group: its centre at (CENTRE, CENTRE) inside, moved so that the highest
    # label and the ring's top both clear the heading.
    top = min([CENTRE - FRAME - MARGIN, *(y - LINE_STEP for y, _ in labels.values())])
    bottom = max([CENTRE + FRAME + MARGIN, *(y + LINE_STEP * n for y, n in labels.values())])
    shift = HEADING - top
    legend_top = shift + bottom + 10
    unscored_top = legend_top + 3 * LINE + 16
    height = unscored_top + (LINE * (len(unscored) + 1) if len(unscored) else 0) + 10
    title_id = f"{id_prefix}-title"
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" direction="ltr" '
        f'viewBox="0 0 {WIDTH:.0f} {height:.0f}" width="{WIDTH:.0f}" height="{height:.0f}" '
        f'role="img" aria-labelledby="{title_id}" class="local-wheel-svg" '
        f'font-family="{FONT_FAMILY}">',
        f'<title id="{title_id}">{escape(title or heading)}</title>',
        f"<desc>{escape(_description(ring, unscored, names, heading, unscored_heading))}</desc>",
        _hatch_defs(id_prefix),
        f'<text x="{CENTRE:.0f}" y="38" text-anchor="middle" font-size="30" '
        f'font-weight="bold" fill="{INK}">{escape(fit_text(heading, WIDTH - 20, 30))}</text>',
        f'<g transform="translate(0 {shift:.2f})">',
        _frame(),
        _ring(ring, names, id_prefix, labels),
        _centre(centre_lines),
        "</g>",
        _legend(names, id_prefix, legend_top),
    ]
    if unscored:
        parts.append(_unscored(unscored, unscored_heading, unscored_top))
    parts.append("</svg>")
    return "\n".join(parts)


def _middle(index: int, count: int) -> float:
    return (index + 0.5) * 2 * math.pi / count


def _name_lines(name: str) -> list[str]:
    """The name in one or two lines that fit the label column ("…" past the second)."""
    if len(name) * NAME_SIZE * CHAR_WIDTH <= LABEL_ROOM:
        return [name]
    capacity = int(LABEL_ROOM / (NAME_SIZE * CHAR_WIDTH))
    cut = name.rfind(" ", 0, capacity + 1)
    if cut <= 0:
        cut = capacity
    first, rest = name[:cut].rstrip(), name[cut:].strip()
    return [first, fit_text(rest, LABEL_ROOM, NAME_SIZE)] if rest else [first]


def _layout(ring: Sequence[_Item]) -> dict[int, tuple[float, int]]:
    """Per segment index: the y of its label's first line and its number of lines.

    Labels go to the side of the ring their segment is on, at their segment's height when
    there is room, pushed apart (down, then back up as a block) so none overlaps another."""
    count = len(ring)
    wanted: dict[str, list[tuple[float, int, int]]] = {"right": [], "left": []}
    for index, row in enumerate(ring):
        angle = _middle(index, count)
        _x, y = _point(ELBOW, angle, CENTRE)
        lines = 1 + len(_name_lines(str(row.name)))
        side = "right" if angle <= math.pi else "left"
        wanted[side].append((y - LINE_STEP * (lines - 1) / 2, lines, index))
    placed: dict[int, tuple[float, int]] = {}
    for entries in wanted.values():
        entries.sort()
        cursor = -math.inf
        ys: list[float] = []
        for y, lines, _index in entries:
            y = max(y, cursor)
            ys.append(y)
            cursor = y + LINE_STEP * lines + LABEL_GAP
        # A column running below the ring moves up as a block (never above the ring's top).
        overflow = cursor - LABEL_GAP - (CENTRE + FRAME + MARGIN)
        lift = max(min(overflow, ys[0] - (CENTRE - FRAME - MARGIN)), 0.0) if ys else 0.0
        for (_y, lines, index), y in zip(entries, ys, strict=True):
            placed[index] = (y - lift, lines)
    return placed


def _frame() -> str:
    """The centre disc and a dashed circle round the ring: the look of this chart only."""
    return (
        f'<circle cx="{CENTRE:.0f}" cy="{CENTRE:.0f}" r="{INNER - 4:.0f}" fill="{DISC}"/>'
        f'<circle cx="{CENTRE:.0f}" cy="{CENTRE:.0f}" r="{FRAME:.0f}" fill="none" '
        f'stroke="{NO_BAND_LINE}" stroke-width="2" stroke-dasharray="8 6"/>'
    )


def _ring(
    ring: Sequence[_Item],
    names: Sequence[str],
    prefix: str,
    labels: dict[int, tuple[float, int]],
) -> str:
    if not ring:
        return ""
    count = len(ring)
    step = 2 * math.pi / count
    paths, texts = [], []
    for index, row in enumerate(ring):
        start, end = index * step, (index + 1) * step
        band = as_points(row.band)
        code, name = str(row.code), str(row.name)
        score = _score_text(_float(row.percent_of_target))
        tooltip = f"{code} {name}: {names[band]}, {score}"
        paths.append(
            f'<path d="{_segment_path(INNER, OUTER, start, end, CENTRE)}" '
            f'fill="{_fill(band, prefix)}" data-band="{band}" data-item="{escape(code)}">'
            f"<title>{escape(tooltip)}</title></path>"
        )
        texts.append(_segment_texts(code, name, score, band, start, end, labels[index]))
    return (
        '<g stroke="#ffffff" stroke-width="2">'
        + "".join(paths)
        + '</g><g stroke="none">'
        + "".join(texts)
        + "</g>"
    )


def _segment_texts(
    code: str,
    name: str,
    score: str,
    band: int,
    start: float,
    end: float,
    label: tuple[float, int],
) -> str:
    """The band number upright inside the segment; outside, a leader line to the label
    (the code and % of target in bold, the name under it)."""
    middle = (start + end) / 2
    x, y = _point((INNER + OUTER) / 2, middle, CENTRE)
    width = (end - start) * INNER
    size = max(min(28.0, width * 0.5), 9.0)
    inside = (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size:.1f}" font-weight="bold" '
        f'fill="{text_on_band(band)}" text-anchor="middle" dominant-baseline="central">'
        f"{_band_mark(band)}</text>"
    )
    first_y, _lines = label
    right = middle <= math.pi
    label_x = CENTRE + LABEL_X if right else CENTRE - LABEL_X
    anchor = "start" if right else "end"
    x0, y0 = _point(OUTER + 2, middle, CENTRE)
    x1, y1 = _point(ELBOW, middle, CENTRE)
    x2 = label_x - 6 if right else label_x + 6
    leader = (
        f'<polyline points="{x0:.2f},{y0:.2f} {x1:.2f},{y1:.2f} {x2:.2f},{first_y:.2f}" '
        f'fill="none" stroke="{NO_BAND_LINE}" stroke-width="1.2"/>'
    )
    head = fit_text(f"{code} · {score}", LABEL_ROOM, CODE_SIZE)
    lines = [
        f'<text x="{label_x:.2f}" y="{first_y:.2f}" font-size="{CODE_SIZE:.0f}" '
        f'font-weight="bold" fill="{INK}" text-anchor="{anchor}" dominant-baseline="central">'
        f"{escape(head)}</text>"
    ]
    for offset, text in enumerate(_name_lines(name), start=1):
        lines.append(
            f'<text x="{label_x:.2f}" y="{first_y + offset * LINE_STEP:.2f}" '
            f'font-size="{NAME_SIZE:.0f}" fill="{INK}" text-anchor="{anchor}" '
            f'dominant-baseline="central">{escape(text)}</text>'
        )
    return f'<g data-label="{escape(code)}">{inside}{leader}{"".join(lines)}</g>'


def _centre(lines: Sequence[str]) -> str:
    if not lines:
        return ""
    sizes = [26.0, 38.0] + [20.0] * max(len(lines) - 2, 0)
    step = 40.0
    top = CENTRE - step * (len(lines) - 1) / 2
    out = []
    for index, (line, size) in enumerate(zip(lines, sizes, strict=False)):
        shown = fit_text(line, 2 * (INNER - 14), size)
        weight = ' font-weight="bold"' if index < 2 else ""
        out.append(
            f'<text x="{CENTRE:.0f}" y="{top + index * step:.0f}" text-anchor="middle" '
            f'dominant-baseline="central" font-size="{size:.0f}"{weight} fill="{INK}">'
            f"{escape(shown)}</text>"
        )
    return "".join(out)


def _legend(names: Sequence[str], prefix: str, top: float) -> str:
    rows = []
    column_width = (WIDTH - 60) / 2
    for index, points in enumerate((4, 3, 2, 1, 0)):
        x = 30 + (index % 2) * column_width
        y = top + (index // 2) * LINE
        label = f"{points} · {names[points]}" if points else f"– · {names[0]}"
        rows.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="26" height="26" fill="{_fill(points, prefix)}" '
            f'stroke="{NO_BAND_LINE}" stroke-width="1"/>'
            f'<text x="{x + 34:.0f}" y="{y + 20:.0f}" font-size="{LIST_SIZE:.0f}" fill="{INK}">'
            f"{escape(fit_text(label, column_width - 40, LIST_SIZE))}</text>"
        )
    return '<g class="local-wheel-legend">' + "".join(rows) + "</g>"


def _unscored(rows: Sequence[_Item], heading: str, top: float) -> str:
    out = [
        f'<text x="30" y="{top + 20:.0f}" font-size="{LIST_SIZE:.0f}" font-weight="bold" '
        f'fill="{INK}">{escape(fit_text(heading, WIDTH - 60, LIST_SIZE))}</text>'
    ]
    for index, row in enumerate(rows, start=1):
        line = f"{row.code} · {row.name}"
        out.append(
            f'<text x="48" y="{top + 20 + index * LINE:.0f}" font-size="{LIST_SIZE:.0f}" '
            f'fill="{INK}" data-unscored="{escape(str(row.code))}">'
            f"{escape(fit_text(line, WIDTH - 80, LIST_SIZE))}</text>"
        )
    return '<g class="local-wheel-unscored">' + "".join(out) + "</g>"


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _description(
    ring: Sequence[_Item],
    unscored: Sequence[_Item],
    names: Sequence[str],
    heading: str,
    unscored_heading: str,
) -> str:
    scored = [
        f"{r.code} {r.name}: {_score_text(_float(r.percent_of_target))}, "
        f"{_band_mark(as_points(r.band))} ({names[as_points(r.band)]})"
        for r in ring
    ]
    text = f"{heading}. " + "; ".join(scored)
    if unscored:
        text += f". {unscored_heading} " + "; ".join(f"{r.code} {r.name}" for r in unscored)
    return text

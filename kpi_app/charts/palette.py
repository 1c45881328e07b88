"""Band colours and names shared by every chart (the same colours as the site's CSS).

Colour is never the only carrier of a band: every chart also writes the band's points (1-4)
or its label next to the colour, and the legends list the four U4SSC labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kpi_app.scoring.bands import BAND_LABELS

#: Index = band points; 0 means "no band" (not reported, no benchmark, nothing scored).
BAND_COLOURS: Final[tuple[str, ...]] = ("#59636e", "#b3261e", "#a85200", "#8a6a00", "#1e6b34")
NO_BAND_LABEL: Final[str] = "Not scored"
TEXT_ON_BAND: Final[str] = "#ffffff"
INK: Final[str] = "#1b1f24"


def band_colour(points: int) -> str:
    """The fill colour of a band (0 = not scored)."""
    return BAND_COLOURS[points if 0 <= points < len(BAND_COLOURS) else 0]


def band_names(labels: Sequence[str] | None = None, none_label: str | None = None) -> list[str]:
    """Names indexed by points: [not scored, band 1, ..., band 4], translated when given."""
    names = list(labels) if labels is not None else list(BAND_LABELS)
    if len(names) != len(BAND_LABELS):
        raise ValueError(f"expected {len(BAND_LABELS)} band labels, got {len(names)}")
    return [none_label or NO_BAND_LABEL, *names]


def as_points(value: object) -> int:
    """Band points from a nullable value: NA/NaN/None become 0 ("no band")."""
    if value is None:
        return 0
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return 0 if number != number else int(number)

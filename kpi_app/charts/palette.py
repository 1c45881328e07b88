"""Band colours and names shared by every chart (the same colours as the site's CSS).

Colour is never the only carrier of a band: every chart also writes the band's points (1-4)
or its label next to the colour, and the legends list the four U4SSC labels.

The four band colours (red, amber, light blue, dark blue) were chosen so that they stay apart
in greyscale and for colour-blind readers: their CIE lightness differs by at least 14 between
any two (L* 45, 79, 62, 32), so they differ even when hue is lost, and their hues lie on the
red-blue axis that protan, deutan and tritan vision all keep apart.
tests/unit/charts/test_palette.py checks the CIEDE2000 difference between every pair under
the Machado (2009) protanopia and deuteranopia, Brettel tritanopia and greyscale simulations,
and the contrast of each band's text colour (WCAG ≥ 4.5:1). "Not scored" is a pale grey with
a hatch pattern in the charts, so it never reads as a band.

Series colours (compare bars, trend lines) come from :data:`SERIES_COLOURS`, a different
family (purple, teal, grey, brown...) drawn with distinct markers or dashes, so a city's bar
is never mistaken for a band.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kpi_app.scoring.bands import BAND_LABELS

#: Index = band points; 0 means "no band" (not reported, no benchmark, nothing scored).
BAND_COLOURS: Final[tuple[str, ...]] = ("#eef0f2", "#c0392b", "#f2b84b", "#5b9bd5", "#1f4e79")
INK: Final[str] = "#1b1f24"
WHITE: Final[str] = "#ffffff"
#: Text colour on each band's fill (index = points): white on the dark ones, ink on the light.
TEXT_ON_BANDS: Final[tuple[str, ...]] = (INK, WHITE, INK, INK, WHITE)
#: Kept for callers that wrote on the (dark) outer segments; prefer :func:`text_on_band`.
TEXT_ON_BAND: Final[str] = WHITE
NO_BAND_LABEL: Final[str] = "Not scored"
#: Outline of the hatched "not scored" fill.
NO_BAND_LINE: Final[str] = "#59636e"
#: Colours of data series (one per city or group), none of them close to a band colour.
SERIES_COLOURS: Final[tuple[str, ...]] = (
    "#6a3d9a",  # purple
    "#1b7f79",  # teal
    "#4d4d4d",  # dark grey
    "#8c510a",  # brown
    "#c51b7d",  # magenta
    "#35978f",  # sea green
    "#7f7f7f",  # grey
    "#543005",  # dark brown
)
#: Dash patterns that go with the series colours (lines), so series differ without colour.
SERIES_DASHES: Final[tuple[str, ...]] = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4", "")


def band_colour(points: int) -> str:
    """The fill colour of a band (0 = not scored)."""
    return BAND_COLOURS[points if 0 <= points < len(BAND_COLOURS) else 0]


def text_on_band(points: int) -> str:
    """The text colour that reaches 4.5:1 contrast on the band's fill."""
    return TEXT_ON_BANDS[points if 0 <= points < len(TEXT_ON_BANDS) else 0]


def series_colour(index: int) -> str:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


def series_dash(index: int) -> str:
    return SERIES_DASHES[index % len(SERIES_DASHES)]


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

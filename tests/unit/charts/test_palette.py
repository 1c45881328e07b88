"""Band colours readable by everyone: distinct in greyscale and under simulated colour-vision
deficiencies, text on them at WCAG AA contrast, series colours apart from the bands.

Colour differences are CIEDE2000 (ΔE00) computed by coloraide; the simulations are Machado et
al. (2009, severity 1) for protanopia and deuteranopia and Brettel et al. (1997) for tritanopia,
plus plain greyscale (a black-and-white print). ΔE00 ≥ 10 is a clearly visible difference
between two flat areas; 2-3 is the "just noticeable" range in which the old olive and
brown-orange bands fell for deuteranopes (ΔE00 0.9).
"""

from __future__ import annotations

from itertools import combinations

import pytest
from coloraide import Color

from kpi_app.charts.palette import (
    BAND_COLOURS,
    INK,
    SERIES_COLOURS,
    TEXT_ON_BANDS,
    WHITE,
    text_on_band,
)

MIN_DELTA_E = 10.0
MIN_SERIES_DELTA_E = 12.0
SIMULATIONS = {
    "normal": lambda c: c,
    "protanopia": lambda c: c.filter("protan", method="machado"),
    "deuteranopia": lambda c: c.filter("deutan", method="machado"),
    "tritanopia": lambda c: c.filter("tritan", method="brettel"),
    "greyscale": lambda c: c.filter("grayscale"),
}


def contrast(foreground: str, background: str) -> float:
    return Color(foreground).contrast(Color(background), method="wcag21")


@pytest.mark.parametrize("simulation", sorted(SIMULATIONS))
def test_every_pair_of_bands_stays_apart(simulation):
    """The four bands and "not scored" (index 0) differ by ΔE00 ≥ 10 in every simulation."""
    seen = [SIMULATIONS[simulation](Color(colour)) for colour in BAND_COLOURS]
    for (a, first), (b, second) in combinations(enumerate(seen), 2):
        difference = first.delta_e(second, method="2000")
        assert difference >= MIN_DELTA_E, (simulation, BAND_COLOURS[a], BAND_COLOURS[b], difference)


def test_band_text_reaches_aa_contrast():
    assert len(TEXT_ON_BANDS) == len(BAND_COLOURS)
    for points, fill in enumerate(BAND_COLOURS):
        assert text_on_band(points) in (INK, WHITE)
        assert contrast(text_on_band(points), fill) >= 4.5, (points, fill)


def test_bands_are_ordered_by_lightness_so_print_keeps_their_order():
    """Greyscale keeps band 1 < 2 apart from 3 < 4 by lightness alone (checked pairwise above);
    here: the best band is the darkest, so a black-and-white print still reads as a scale."""
    lightness = [Color(c).convert("lab")["lightness"] for c in BAND_COLOURS[1:]]
    assert lightness[3] == min(lightness)


def test_series_colours_never_look_like_a_band():
    """Compare bars and trend lines use colours no reader confuses with a band colour."""
    for series in SERIES_COLOURS:
        for band in BAND_COLOURS:
            difference = Color(series).delta_e(Color(band), method="2000")
            assert difference >= MIN_SERIES_DELTA_E, (series, band, difference)
        assert contrast(series, WHITE) >= 3.0, series  # graphics on white (WCAG 1.4.11)

"""Units of the catalogue as exchange formats code them.

- `uncefact_code`: the UN/CEFACT Recommendation 20 common code NGSI-LD's `unitCode` expects,
  for the units that have one (percentages, µg/m³, minutes, years, plain counts). Rates "per
  100,000 inhabitants", ratios, indexes and yes/no have no Rec 20 code: they get none rather
  than a wrong one.
- `sdmx_unit_id`: a stable SDMX id for each catalogue unit (the UNIT_MEASURE code list).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Exact catalogue units → UN/CEFACT common code (Rec 20).
_UNCEFACT = {
    "μg/m³": "GQ",  # microgram per cubic metre
    "µg/m³": "GQ",
    "minutes": "MIN",
    "years": "ANN",
    "number": "C62",  # "one": a count of things
}
PERCENT = "P1"


def uncefact_code(unit: str | None, value_type: str | None = None) -> str | None:
    """The UN/CEFACT code of a catalogue unit, or None when Rec 20 has none for it."""
    if not unit:
        return None
    text = unit.strip()
    lower = text.lower()
    if lower.startswith("percentage") or value_type == "percentage":
        return PERCENT
    if lower in _UNCEFACT or text in _UNCEFACT:
        return _UNCEFACT.get(lower) or _UNCEFACT[text]
    if value_type == "count" and lower.startswith("number"):
        return "C62"
    return None


def sdmx_unit_id(unit: str) -> str:
    """`Number per 100,000 inhabitants` → `NUMBER_PER_100000_INHABITANTS` (SDMX id syntax).

    Greek µ becomes `MICRO`, superscripts their digits; anything else that is not a letter or
    digit separates words. Ids are at most 50 characters and start with a letter.
    """
    text = unit.replace("μ", "micro").replace("µ", "micro").replace("%", " percent ")
    text = unicodedata.normalize("NFKD", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 100,000 → 100000
    words = re.findall(r"[A-Za-z0-9]+", text)
    ident = "_".join(words).upper()[:50].strip("_") or "UNIT"
    return ident if ident[0].isalpha() else f"U_{ident}"[:50]


def unit_codes(units: Iterable[str]) -> dict[str, str]:
    """Catalogue unit → UNIT_MEASURE code (ids derived from the text, made unique)."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for unit in sorted(set(units)):
        ident = base = sdmx_unit_id(unit)
        n = 2
        while ident in taken:
            ident = f"{base[:46]}_{n}"
            n += 1
        taken.add(ident)
        found[unit] = ident
    return found

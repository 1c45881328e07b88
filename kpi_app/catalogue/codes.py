"""KPI codes: parsing and normalising the U4SSC code scheme.

A KPI code reads ``<dimension>: <sub-dimension>: <category>: <n><C|A>``, e.g.
``"SC: EH: ED: 1C"``. Publications print the same code with varying spacing and case
(``"SC: EH: ED:1C"``), so every code that enters the platform goes through
:func:`normalise_code` and only the normalised form is stored or compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = ": "

# Dimension, sub-dimension and category parts are short upper-case abbreviations (EC, ICT,
# PSN); the last part is a serial number followed by the tier letter (C core, A advanced).
_GROUP_PART = re.compile(r"[A-Z]{1,6}")
_SERIAL_PART = re.compile(r"(?P<number>[0-9]{1,3})(?P<tier>[CA])")

TIER_BY_LETTER = {"C": "core", "A": "advanced"}


@dataclass(frozen=True, slots=True)
class CodeParts:
    """The four parts of a normalised KPI code."""

    dimension: str
    sub_dimension: str
    category: str
    number: int
    tier_letter: str

    @property
    def tier(self) -> str:
        """``"core"`` or ``"advanced"``, as encoded by the final letter."""
        return TIER_BY_LETTER[self.tier_letter]

    @property
    def sub_dimension_id(self) -> str:
        """Identifier of the sub-dimension the code names, e.g. ``"EC: ICT"``."""
        return join_id(self.dimension, self.sub_dimension)

    def __str__(self) -> str:
        return join_id(
            self.dimension, self.sub_dimension, self.category, f"{self.number}{self.tier_letter}"
        )


def join_id(*parts: str) -> str:
    """Join code parts with the canonical separator: ``join_id("EC", "ICT") == "EC: ICT"``."""
    return SEPARATOR.join(parts)


def parse_code(raw: str) -> CodeParts:
    """Split a KPI code written in any accepted spelling into its parts.

    Raises ValueError, naming the offending input, when the text is not a KPI code.
    """
    if not isinstance(raw, str):
        raise ValueError(f"KPI code must be text, got {type(raw).__name__}")
    parts = [part.strip().upper() for part in raw.split(":")]
    if len(parts) != 4:
        raise ValueError(f"not a KPI code: {raw!r} (expected four parts like 'EC: ICT: ICT: 1C')")
    *groups, serial = parts
    for group in groups:
        if not _GROUP_PART.fullmatch(group):
            raise ValueError(f"not a KPI code: {raw!r} (bad part {group!r})")
    match = _SERIAL_PART.fullmatch(serial)
    if match is None or int(match["number"]) == 0:
        raise ValueError(
            f"not a KPI code: {raw!r} (last part must be a number and C or A, like '1C')"
        )
    return CodeParts(
        dimension=groups[0],
        sub_dimension=groups[1],
        category=groups[2],
        number=int(match["number"]),
        tier_letter=match["tier"],
    )


def normalise_code(raw: str) -> str:
    """Return the canonical spelling of a KPI code.

    ``"sc:eh:ED:1c"``, ``"SC: EH: ED:1C"`` and ``" SC:EH:ED: 1C "`` all become
    ``"SC: EH: ED: 1C"``. Leading zeros in the serial number are dropped. Raises ValueError
    for anything that is not a four-part KPI code.
    """
    return str(parse_code(raw))


def normalise_id(raw: str, parts: int) -> str:
    """Canonical spelling of a dimension (1 part), sub-dimension (2) or category (3) id."""
    if not isinstance(raw, str):
        raise ValueError(f"identifier must be text, got {type(raw).__name__}")
    pieces = [piece.strip().upper() for piece in raw.split(":")]
    if len(pieces) != parts or not all(_GROUP_PART.fullmatch(piece) for piece in pieces):
        raise ValueError(f"not a {parts}-part identifier: {raw!r}")
    return join_id(*pieces)

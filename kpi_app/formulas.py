"""Formula injection: text bound for a spreadsheet must never run as a formula (pure, no Flask).

Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` (and some also after a
tab or carriage return) as a formula. Every CSV or xlsx export passes user text through
`defuse`, which prefixes such text with an apostrophe (shown by spreadsheets as plain text);
importers of our own files pass it back through `undefuse`.
"""

from __future__ import annotations

from typing import Final

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def defuse(text: str) -> str:
    """Prefix text that a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def undefuse(text: str) -> str:
    """The original text of a `defuse`d cell (other text is left alone)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text

"""Tables and charts as downloads: CSV and Excel bytes from a DataFrame (pure, no Flask)."""

from __future__ import annotations

import io
import re
from typing import Final

import pandas as pd

#: Excel forbids these characters in sheet names and caps names at 31 characters.
_SHEET_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\]")
#: Cells starting with these are formulas to a spreadsheet; user text must never run as one.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _defuse(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text that a spreadsheet would read as a formula (CSV injection)."""

    def safe(value: object) -> object:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    return frame.map(safe)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs detect the encoding."""
    return _defuse(frame).to_csv(index=False).encode("utf-8-sig")


def to_excel_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet and a frozen header row."""
    buffer = io.BytesIO()
    name = _SHEET_FORBIDDEN.sub(" ", sheet)[:31] or "data"
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _defuse(frame).to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
    return buffer.getvalue()

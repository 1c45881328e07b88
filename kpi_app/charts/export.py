"""Tables and charts as downloads: CSV and Excel bytes from a DataFrame (pure, no Flask)."""

from __future__ import annotations

import io
import re
from typing import Final

import pandas as pd

from kpi_app.formulas import defuse

#: Excel forbids these characters in sheet names and caps names at 31 characters.
_SHEET_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\]")


def _safe(value: object) -> object:
    return defuse(value) if isinstance(value, str) else value


def _defuse(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text that a spreadsheet would read as a formula (CSV injection).

    Column names too: the compare heatmap has one column per city, named after it.
    """
    safe = frame.map(_safe)
    safe.columns = pd.Index([_safe(name) for name in frame.columns])
    return safe


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

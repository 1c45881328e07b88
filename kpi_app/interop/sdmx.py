"""SDMX-CSV (version 2.0 layout) of published U4SSC values, and its reader.

Columns: STRUCTURE, STRUCTURE_ID, ACTION, then the dimensions REF_AREA (city), TIME_PERIOD
(reporting year), INDICATOR (KPI code as an SDMX id, `EC_ICT_ICT_1C`), DATA_POINT (`_Z`,
SDMX's "not applicable", for single-value KPIs), the measure OBS_VALUE, and the attributes
UNIT_MEASURE, OBS_STATUS, DATA_QUALITY (U4SSC level 1–6), VERIFIED and COUNTRY.

OBS_STATUS follows the SDMX code list CL_OBS_STATUS: A normal value (quality levels 1–2 or
none given), E estimated (levels 3–5), U low reliability (level 6, method unknown), M missing
(not reported; OBS_VALUE left empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from kpi_app.interop.records import (
    InteropFormatError,
    Observation,
    ParsedValue,
    code_from_token,
    code_token,
    optional_int,
    optional_number,
)

STRUCTURE = "dataflow"
STRUCTURE_ID = "U4SSC:DF_U4SSC_KPI(1.0)"
ACTION = "I"  # information: a published extract, not a change request
NOT_APPLICABLE = "_Z"
HEADER = (
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "REF_AREA",
    "TIME_PERIOD",
    "INDICATOR",
    "DATA_POINT",
    "OBS_VALUE",
    "UNIT_MEASURE",
    "OBS_STATUS",
    "DATA_QUALITY",
    "VERIFIED",
    "COUNTRY",
)
REQUIRED_COLUMNS = ("REF_AREA", "TIME_PERIOD", "INDICATOR", "OBS_VALUE")


def obs_status(obs: Observation) -> str:
    if not obs.has_value:
        return "M"
    if obs.quality is None or obs.quality <= 2:
        return "A"
    return "E" if obs.quality <= 5 else "U"


def _number(value: float) -> str:
    # repr keeps every digit, so a re-read value is bit-for-bit the published one.
    return str(int(value)) if value.is_integer() else repr(value)


def _row(obs: Observation) -> list[str]:
    return [
        STRUCTURE,
        STRUCTURE_ID,
        ACTION,
        obs.city,
        str(obs.year),
        code_token(obs.code),
        obs.data_point or NOT_APPLICABLE,
        _number(obs.value) if obs.has_value and obs.value is not None else "",
        obs.unit or "",
        obs_status(obs),
        "" if obs.quality is None else str(obs.quality),
        "" if obs.verified is None else str(obs.verified).lower(),
        obs.country,
    ]


def to_sdmx_csv(observations: Iterable[Observation]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends, as SDMX-CSV asks
    writer.writerow(HEADER)
    writer.writerows(_row(obs) for obs in observations)
    return out.getvalue()


def _parse_row(row: dict[str, str], where: str, problems: list[str]) -> ParsedValue | None:
    found = len(problems)
    try:
        code = code_from_token(row.get("INDICATOR") or "")  # None: the line is too short
    except ValueError:
        problems.append(f"{where}: INDICATOR {row.get('INDICATOR')!r} is not a U4SSC KPI code")
        return None
    year = optional_int(row.get("TIME_PERIOD"), where, "TIME_PERIOD", problems)
    missing = row.get("OBS_STATUS") == "M"
    value = None if missing else optional_number(row.get("OBS_VALUE"), where, "OBS_VALUE", problems)
    quality = optional_int(row.get("DATA_QUALITY"), where, "DATA_QUALITY", problems)
    if len(problems) > found:
        return None
    data_point = row.get("DATA_POINT") or ""
    return ParsedValue(
        city=row.get("REF_AREA") or None,
        year=year,
        code=code,
        data_point="" if data_point == NOT_APPLICABLE else data_point,
        value=value,
        unit=row.get("UNIT_MEASURE") or None,
        quality=quality,
    )


def parse_sdmx_csv(text: str) -> list[ParsedValue]:
    """Values from SDMX-CSV; raises InteropFormatError naming each bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        columns = reader.fieldnames or []
    except csv.Error as error:
        raise InteropFormatError([f"line 1: not readable as CSV ({error})"]) from None
    absent = [name for name in REQUIRED_COLUMNS if name not in columns]
    if absent:
        raise InteropFormatError([f"SDMX-CSV header lacks column(s): {', '.join(absent)}"])
    problems: list[str] = []
    parsed = []
    try:
        for line, row in enumerate(reader, start=2):
            value = _parse_row(row, f"line {line}", problems)
            if value is not None:
                parsed.append(value)
    except csv.Error as error:
        problems.append(f"line {reader.line_num + 1}: not readable as CSV ({error})")
    if problems:
        raise InteropFormatError(problems)
    return parsed

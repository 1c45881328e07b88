"""SDMX-CSV (version 2.0 layout) of published U4SSC values, and its reader.

Columns: STRUCTURE, STRUCTURE_ID, ACTION, then the dimensions REF_AREA (city), TIME_PERIOD
(reporting year), INDICATOR (KPI code as an SDMX id, `EC_ICT_ICT_1C`), DATA_POINT (`_Z`,
SDMX's "not applicable", for single-value KPIs), the measure OBS_VALUE, and the attributes
UNIT_MEASURE, OBS_STATUS, DATA_QUALITY (U4SSC level 1–6), VERIFIED, COUNTRY, DATA_YEAR (year
the data refer to), SOURCE_DETAIL (source as the city gave it) and NOT_REPORTED_REASON.

OBS_STATUS follows the SDMX cross-domain code list CL_OBS_STATUS: A normal value (quality
levels 1–2 or none given), E estimated (levels 3–5), U low reliability (level 6, method
unknown), O missing value (not reported: OBS_VALUE is `NaN`, as SDMX-CSV writes a missing
number). `M` ("missing value; data cannot exist") would say more than "the city did not
report it"; the reader still takes L, M and O as missing.

Local (city-defined) KPIs have the same columns in a dataflow of their own,
`LOCAL_STRUCTURE_ID`, with INDICATOR `LOCAL_<city>_<CODE>`; the reader refuses their rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence

from kpi_app.interop.records import (
    InteropFormatError,
    Observation,
    ParsedValue,
    code_from_token,
    indicator_token,
    optional_int,
    optional_number,
)

STRUCTURE = "dataflow"
STRUCTURE_ID = "U4SSC:DF_U4SSC_KPI(1.0)"
#: The separate dataflow of city-defined (local) KPIs: the same columns, its own INDICATOR
#: code list (CL_LOCAL_INDICATOR, codes `LOCAL_<city>_<CODE>`), so CL_INDICATOR stays the
#: U4SSC list (docs/local-kpis.md).
LOCAL_STRUCTURE_ID = "U4SSC:DF_U4SSC_LOCAL(1.0)"
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
    "DATA_YEAR",
    "SOURCE_DETAIL",
    "NOT_REPORTED_REASON",
)
MISSING_NUMBER = "NaN"
MISSING_STATUSES = frozenset({"L", "M", "O"})
#: Column → importer field, for the fields a file may or may not carry.
CARRIED_COLUMNS = {
    "UNIT_MEASURE": "unit",
    "DATA_QUALITY": "quality",
    "DATA_YEAR": "data_year",
    "SOURCE_DETAIL": "source",
    "NOT_REPORTED_REASON": "not_reported_reason",
}
REQUIRED_COLUMNS = ("REF_AREA", "TIME_PERIOD", "INDICATOR", "OBS_VALUE")


def obs_status(obs: Observation) -> str:
    if not obs.has_value:
        return "O"
    if obs.quality is None or obs.quality <= 2:
        return "A"
    return "E" if obs.quality <= 5 else "U"


def _number(value: float) -> str:
    # repr keeps every digit, so a re-read value is bit-for-bit the published one.
    return str(int(value)) if value.is_integer() else repr(value)


def _row(
    obs: Observation, unit_id: Callable[[str | None], str], structure_id: str = STRUCTURE_ID
) -> list[str]:
    return [
        STRUCTURE,
        structure_id,
        ACTION,
        obs.city,
        str(obs.year),
        indicator_token(obs.code),
        obs.data_point or NOT_APPLICABLE,
        _number(obs.value) if obs.has_value and obs.value is not None else MISSING_NUMBER,
        unit_id(obs.unit),
        obs_status(obs),
        "" if obs.quality is None else str(obs.quality),
        "" if obs.verified is None else str(obs.verified).lower(),
        obs.country,
        "" if obs.data_year is None else str(obs.data_year),
        obs.source or "",
        "" if obs.has_value else (obs.not_reported_reason or ""),
    ]


def _unit_text(unit: str | None) -> str:
    return unit or ""


def to_sdmx_csv(
    observations: Iterable[Observation],
    unit_id: Callable[[str | None], str] = _unit_text,
    structure_id: str = STRUCTURE_ID,
) -> str:
    """SDMX-CSV rows; `unit_id` maps a unit to its UNIT_MEASURE code (default: the text);
    `structure_id` is the dataflow the rows name (LOCAL_STRUCTURE_ID for local KPIs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends, as SDMX-CSV asks
    writer.writerow(HEADER)
    writer.writerows(_row(obs, unit_id, structure_id) for obs in observations)
    return out.getvalue()


def _parse_row(
    row: dict[str, str],
    where: str,
    problems: list[str],
    columns: Sequence[str],
    unit_text: Callable[[str], str | None],
) -> ParsedValue | None:
    found = len(problems)
    if (row.get("INDICATOR") or "").startswith("LOCAL_"):
        problems.append(
            f"{where}: INDICATOR {row.get('INDICATOR')!r} is a local KPI (dataflow "
            f"{LOCAL_STRUCTURE_ID}): local KPI values are entered in the app, not imported"
        )
        return None
    try:
        code = code_from_token(row.get("INDICATOR") or "")  # None: the line is too short
    except ValueError:
        problems.append(f"{where}: INDICATOR {row.get('INDICATOR')!r} is not a U4SSC KPI code")
        return None
    year = optional_int(row.get("TIME_PERIOD"), where, "TIME_PERIOD", problems)
    raw_value = row.get("OBS_VALUE")
    missing = row.get("OBS_STATUS") in MISSING_STATUSES or raw_value == MISSING_NUMBER
    value = None if missing else optional_number(raw_value, where, "OBS_VALUE", problems)
    quality = optional_int(row.get("DATA_QUALITY"), where, "DATA_QUALITY", problems)
    data_year = optional_int(row.get("DATA_YEAR"), where, "DATA_YEAR", problems)
    if len(problems) > found:
        return None
    data_point = row.get("DATA_POINT") or ""
    unit = row.get("UNIT_MEASURE") or None
    return ParsedValue(
        city=row.get("REF_AREA") or None,
        year=year,
        code=code,
        data_point="" if data_point == NOT_APPLICABLE else data_point,
        value=value,
        unit=unit_text(unit) if unit else None,
        quality=quality,
        data_year=data_year,
        source=row.get("SOURCE_DETAIL") or None,
        not_reported_reason=row.get("NOT_REPORTED_REASON") or None,
        carried=frozenset(field for column, field in CARRIED_COLUMNS.items() if column in columns),
    )


def _same_text(unit: str) -> str | None:
    return unit


def parse_sdmx_csv(
    text: str, unit_text: Callable[[str], str | None] = _same_text
) -> list[ParsedValue]:
    """Values from SDMX-CSV; raises InteropFormatError naming each bad line.

    `unit_text` turns a UNIT_MEASURE code back into the unit (None: unknown code, which the
    importer then does not check).
    """
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
            value = _parse_row(row, f"line {line}", problems, columns, unit_text)
            if value is not None:
                parsed.append(value)
    except csv.Error as error:
        problems.append(f"line {reader.line_num + 1}: not readable as CSV ({error})")
    if problems:
        raise InteropFormatError(problems)
    return parsed

"""The neutral records every exchange format is built from and parsed back into.

The builders never see the database: the service layer turns published snapshots into
`Observation`s, and every parser returns `ParsedValue`s, which the service hands to the same
validating importer as an uploaded spreadsheet (`services.data_io.import_rows`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kpi_app.catalogue import normalise_code

#: Not-reported marker understood by the importer (the spreadsheet import accepts it too).
NOT_REPORTED = "Not Reported"


class InteropFormatError(ValueError):
    """A file in an exchange format that cannot be read; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Observation:
    """One published KPI item of one city in one reporting year, with what describes it."""

    city: str
    city_name: str
    country: str
    year: int
    code: str
    data_point: str
    kpi_name: str
    unit: str | None
    value: float | None
    reported: bool
    verified: bool | None
    quality: int | None
    source: str | None
    data_year: int | None
    target: float | None
    direction: str | None
    value_type: str | None = None
    published_at: datetime | None = None
    catalogue_version: str | None = None
    benchmark_set: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    not_reported_reason: str | None = None
    #: A local KPI's benchmark source (U4SSC targets name theirs in the benchmark set).
    benchmark_source: str | None = None

    @property
    def has_value(self) -> bool:
        return self.reported and self.value is not None and math.isfinite(self.value)


@dataclass(frozen=True)
class ParsedValue:
    """A value read back from an exchange file: where it belongs and the importer row."""

    city: str | None
    year: int | None
    code: str
    data_point: str
    value: float | None
    unit: str | None = None
    source: str | None = None
    quality: int | None = None
    data_year: int | None = None
    not_reported_reason: str | None = None
    #: The importer columns (of CARRIED_FIELDS) the file carries for this value. A field it
    #: does not carry (a column the file lacks, an attribute the entity omits) is left alone
    #: on import: the stored value keeps it.
    carried: frozenset[str] = frozenset()

    def import_row(self) -> dict[str, Any]:
        """The row in the shape `data_io.import_rows` reads (same columns as the template).

        Only carried fields appear (with None for "carried, but empty"), so a caller can
        tell a field the file clears from one it does not know about.
        """
        row: dict[str, Any] = {
            "code": self.code,
            "data_point": self.data_point,
            "value": NOT_REPORTED if self.value is None else self.value,
        }
        fields = {
            "unit": self.unit,
            "source": self.source,
            "quality": self.quality,
            "data_year": self.data_year,
            "not_reported_reason": self.not_reported_reason,
        }
        row.update({key: value for key, value in fields.items() if key in self.carried})
        if "unit" in row and row["unit"] is None:
            del row["unit"]  # the unit is only checked against the catalogue, never stored
        return row


#: The fields besides the value that an exchange file may carry for a value.
CARRIED_FIELDS = frozenset({"unit", "source", "quality", "data_year", "not_reported_reason"})


def checked_code(raw: object, where: str, problems: list[str]) -> str | None:
    """A KPI code in its normalised form, or None with a problem recorded."""
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{where}: the KPI code is missing")
        return None
    try:
        return normalise_code(raw)
    except ValueError:
        problems.append(f"{where}: {raw!r} is not a U4SSC KPI code")
        return None


def optional_int(raw: object, where: str, field: str, problems: list[str]) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        problems.append(f"{where}: {field} must be a whole number")
        return None
    try:
        number = float(str(raw)) if not isinstance(raw, int | float) else float(raw)
    except (ValueError, OverflowError):  # OverflowError: a JSON integer beyond any float
        problems.append(f"{where}: {field} must be a whole number, not {raw!r}")
        return None
    if not math.isfinite(number) or number != int(number):
        problems.append(f"{where}: {field} must be a whole number, not {raw!r}")
        return None
    return int(number)


def optional_number(raw: object, where: str, field: str, problems: list[str]) -> float | None:
    """Numbers and yes/no (JSON booleans become 1.0 / 0.0, as the catalogue stores them)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    try:
        number = float(raw) if isinstance(raw, int | float) else float(str(raw))
    except (ValueError, OverflowError):  # OverflowError: a JSON integer beyond any float
        problems.append(f"{where}: {field} must be a number, not {raw!r}")
        return None
    if not math.isfinite(number):
        problems.append(f"{where}: {field} must be a finite number")
        return None
    return number


def code_token(code: str) -> str:
    """`EC: ICT: ICT: 1C` → `EC_ICT_ICT_1C`: an identifier safe in URNs and SDMX ids."""
    return normalise_code(code).replace(": ", "_")


#: The namespace of city-defined (local) KPI codes, ``LOCAL:<city slug>:<CODE>``
#: (docs/local-kpis.md); no U4SSC code can have it.
LOCAL_PREFIX = "LOCAL"
_LOCAL_CODE = re.compile(r"LOCAL:([a-z0-9-]+):([A-Z0-9_-]+)")


def is_local_code(code: str) -> bool:
    """Whether ``code`` is a city-defined (local) KPI code, not a U4SSC one."""
    return code.startswith(f"{LOCAL_PREFIX}:")


def local_code_parts(code: str) -> tuple[str, str]:
    """`LOCAL:kyebi:WASTE-1` → (`kyebi`, `WASTE-1`) (ValueError if it is not a local code)."""
    found = _LOCAL_CODE.fullmatch(code)
    if found is None:
        raise ValueError(f"{code!r} is not a local KPI code (LOCAL:<city>:<CODE>)")
    return found.group(1), found.group(2)


def indicator_token(code: str) -> str:
    """The SDMX / URN id of a U4SSC code (:func:`code_token`) or of a local code:
    `LOCAL:kyebi:WASTE-1` → `LOCAL_kyebi_WASTE-1` (a slug has no "_", so it is unique)."""
    if is_local_code(code):
        city, local = local_code_parts(code)
        return f"{LOCAL_PREFIX}_{city}_{local}"
    return code_token(code)


def code_from_token(token: str) -> str:
    """The inverse of `code_token` (raises ValueError on anything that is not a KPI code)."""
    return normalise_code(token.replace("_", ": "))

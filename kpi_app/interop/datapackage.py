"""Frictionless Data Package of a published cycle: datapackage.json + CSVs, zipped.

Three tabular resources with Table Schemas: `cities`, `indicators` (one row per KPI item) and
`values` (one row per city × year × item), tied by foreign keys so a validator can check
every value points at a known city and KPI item.

Missing values are written as `NA`, not as empty cells: the data point of a single-value KPI
is an empty string and is part of keys, so "empty" must stay distinguishable from "missing".
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from kpi_app.formulas import defuse, undefuse
from kpi_app.interop import archives
from kpi_app.interop.records import (
    InteropFormatError,
    Observation,
    ParsedValue,
    checked_code,
    optional_int,
    optional_number,
)

MISSING = "NA"
DESCRIPTOR = "datapackage.json"
# Import guards: a real package of one cycle is a few MB at most.
MAX_MEMBERS = 20
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class IndicatorRow:
    """One KPI item of the catalogue as the `indicators` resource lists it."""

    code: str
    data_point: str
    name: str
    dimension: str
    sub_dimension: str
    category: str
    tier: str
    unit: str
    value_type: str
    direction: str


def _field(name: str, kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "description": description, **extra}


CITY_FIELDS = [
    _field("slug", "string", "City identifier on the platform", constraints={"required": True}),
    _field("name", "string", "City name"),
    _field("country", "string", "ISO 3166-1 alpha-2 country code"),
    _field("latitude", "number", "Latitude (WGS 84)"),
    _field("longitude", "number", "Longitude (WGS 84)"),
]
INDICATOR_FIELDS = [
    _field("code", "string", "U4SSC KPI code (ITU-T Y.4903)", constraints={"required": True}),
    _field("data_point", "string", "Data point id; empty for single-value KPIs"),
    _field("name", "string", "KPI name (and data point label)"),
    _field("dimension", "string", "Dimension code"),
    _field("sub_dimension", "string", "Sub-dimension id"),
    _field("category", "string", "Category id"),
    _field("tier", "string", "core or advanced", constraints={"enum": ["core", "advanced"]}),
    _field("unit", "string", "Unit of the values"),
    _field("value_type", "string", "percentage, rate, ratio, count, amount, index or boolean"),
    _field("direction", "string", "higher_better, lower_better, target_value or other"),
]
VALUE_FIELDS = [
    _field("city", "string", "City slug (see cities)", constraints={"required": True}),
    _field("year", "integer", "Reporting year", constraints={"required": True}),
    _field("code", "string", "U4SSC KPI code", constraints={"required": True}),
    _field("data_point", "string", "Data point id; empty for single-value KPIs"),
    _field("value", "number", "Published value; NA when not reported (yes/no: 1 / 0)"),
    _field("unit", "string", "Unit of the value"),
    _field("reported", "boolean", "Whether the city reported this item"),
    _field("verified", "boolean", "Whether an independent verifier confirmed it"),
    _field(
        "quality",
        "integer",
        "U4SSC data-quality level, 1 (accurate measurement) to 6 (unknown method)",
        constraints={"minimum": 1, "maximum": 6},
    ),
    _field("data_year", "integer", "Year the data refer to"),
    _field("source", "string", "Source of the data as the city gave it"),
    _field("target", "number", "Benchmark target of the benchmark set used"),
    _field("not_reported_reason", "string", "Why the city did not report the item"),
]
#: Column → importer field, for the fields a package may or may not carry.
CARRIED_COLUMNS = {
    "unit": "unit",
    "source": "source",
    "quality": "quality",
    "data_year": "data_year",
    "not_reported_reason": "not_reported_reason",
}


def _schema(fields: list[dict[str, Any]], key: list[str], **extra: Any) -> dict[str, Any]:
    return {"fields": fields, "primaryKey": key, "missingValues": [MISSING], **extra}


#: Open licences a package may be published under (Data Package `licenses`, SPDX ids).
LICENSES = {
    "CC-BY-4.0": (
        "Creative Commons Attribution 4.0 International",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "CC-BY-SA-4.0": (
        "Creative Commons Attribution-ShareAlike 4.0 International",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    "CC0-1.0": (
        "Creative Commons Zero v1.0 Universal",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    "ODbL-1.0": (
        "Open Data Commons Open Database License v1.0",
        "https://opendatacommons.org/licenses/odbl/1-0/",
    ),
}
DEFAULT_LICENSE = "CC-BY-4.0"
FRAMEWORK_SOURCE = {
    "title": "U4SSC Key Performance Indicators for smart sustainable cities (ITU-T Y.4903)",
    "path": "https://www.itu.int/rec/T-REC-Y.4903",
}


@dataclass(frozen=True)
class PackageSource:
    """Where the package's values come from: one published self-assessment (or other)."""

    title: str
    description: str = ""


def license_entry(license_id: str) -> dict[str, str]:
    """The Data Package `licenses` entry of an SPDX id (ValueError for an unknown one)."""
    try:
        title, path = LICENSES[license_id]
    except KeyError:
        known = ", ".join(sorted(LICENSES))
        raise ValueError(f"unknown data licence {license_id!r}; choose from {known}") from None
    return {"name": license_id, "title": title, "path": path}


def descriptor(
    year: int,
    created: datetime,
    benchmark_sets: Sequence[str],
    *,
    license_id: str = DEFAULT_LICENSE,
    sources: Sequence[PackageSource] = (),
) -> dict[str, Any]:
    values_schema = _schema(
        VALUE_FIELDS,
        ["city", "year", "code", "data_point"],
        foreignKeys=[
            {"fields": "city", "reference": {"resource": "cities", "fields": "slug"}},
            {
                "fields": ["code", "data_point"],
                "reference": {"resource": "indicators", "fields": ["code", "data_point"]},
            },
        ],
    )
    return {
        "profile": "tabular-data-package",
        "name": f"u4ssc-kpi-{year}",
        "title": f"U4SSC Key Performance Indicators: published results {year}",
        "description": (
            "Published, independently verified self-assessments of cities against the U4SSC "
            "KPIs for smart sustainable cities. Targets come from the named benchmark set(s): "
            + (", ".join(benchmark_sets) or "none")
        ),
        "version": str(year),
        "created": created.isoformat(),
        "licenses": [license_entry(license_id)],
        "sources": [
            FRAMEWORK_SOURCE,
            *(
                {
                    "title": source.title,
                    **({"description": source.description} if source.description else {}),
                }
                for source in sources
            ),
        ],
        "resources": [
            _resource("cities", _schema(CITY_FIELDS, ["slug"])),
            _resource("indicators", _schema(INDICATOR_FIELDS, ["code", "data_point"])),
            _resource("values", values_schema),
        ],
    }


def _resource(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"data/{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def _cell(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return defuse(str(value))  # the CSVs open in spreadsheets: text never runs as a formula


def _csv(fields: list[dict[str, Any]], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([field["name"] for field in fields])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8")


def build_files(
    observations: Sequence[Observation],
    indicators: Sequence[IndicatorRow],
    year: int,
    created: datetime,
    *,
    license_id: str = DEFAULT_LICENSE,
    sources: Sequence[PackageSource] = (),
) -> dict[str, bytes]:
    """The package as file name → content (datapackage.json first)."""
    cities = {obs.city: obs for obs in observations}
    sets = sorted({obs.benchmark_set for obs in observations if obs.benchmark_set})
    city_rows = [
        (obs.city, obs.city_name, obs.country, obs.latitude, obs.longitude)
        for obs in sorted(cities.values(), key=lambda o: o.city)
    ]
    # IndicatorRow's fields are declared in the resource's column order.
    indicator_rows = [astuple(indicator) for indicator in indicators]
    value_rows = [
        (
            obs.city,
            obs.year,
            obs.code,
            obs.data_point,
            obs.value if obs.has_value else None,
            obs.unit,
            obs.has_value,
            obs.verified,
            obs.quality,
            obs.data_year,
            obs.source,
            obs.target,
            None if obs.has_value else obs.not_reported_reason,
        )
        for obs in observations
    ]
    meta = descriptor(year, created, sets, license_id=license_id, sources=sources)
    return {
        DESCRIPTOR: json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"),
        "data/cities.csv": _csv(CITY_FIELDS, city_rows),
        "data/indicators.csv": _csv(INDICATOR_FIELDS, indicator_rows),
        "data/values.csv": _csv(VALUE_FIELDS, value_rows),
    }


def to_zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            # A fixed timestamp keeps the archive identical for identical content.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def _open_archive(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except archives.OPEN_ERRORS:
        raise InteropFormatError(["not a zip archive"]) from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise InteropFormatError([f"the archive holds more than {MAX_MEMBERS} files"])
    if sum(member.file_size for member in members) > MAX_UNCOMPRESSED_BYTES:
        raise InteropFormatError(["the archive is too large once unpacked"])
    return archive


def _values_resource(meta: Any) -> dict[str, Any]:
    resources = meta.get("resources") if isinstance(meta, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and resource.get("name") == "values":
            return resource
    raise InteropFormatError(["datapackage.json has no 'values' resource"])


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    if name.startswith("/") or ".." in name.split("/"):
        raise InteropFormatError([f"resource path {name!r} leaves the package"])
    try:
        return archive.read(name)
    except KeyError:
        raise InteropFormatError([f"{name} is listed in datapackage.json but missing"]) from None
    except archives.READ_ERRORS:
        # A damaged member, an unknown compression method or an encrypted file.
        raise InteropFormatError([f"{name} cannot be unpacked: the archive is damaged"]) from None


def _missing(raw: str | None) -> bool:
    return raw is None or raw == MISSING


def _parse_value_row(row: dict[str, str], where: str, problems: list[str]) -> ParsedValue | None:
    found = len(problems)
    code = checked_code(row.get("code"), where, problems)
    fields = {
        name: (None if _missing(raw) else undefuse(raw or ""))
        for name, raw in row.items()
        if name is not None
    }
    year = optional_int(fields.get("year"), where, "year", problems)
    value = optional_number(fields.get("value"), where, "value", problems)
    if fields.get("reported") == "false":
        value = None
    quality = optional_int(fields.get("quality"), where, "quality", problems)
    data_year = optional_int(fields.get("data_year"), where, "data_year", problems)
    if code is None or len(problems) > found:
        return None
    return ParsedValue(
        city=fields.get("city"),
        year=year,
        code=code,
        data_point=fields.get("data_point") or "",
        value=value,
        unit=fields.get("unit"),
        source=fields.get("source"),
        quality=quality,
        data_year=data_year,
        not_reported_reason=fields.get("not_reported_reason") or None,
        carried=frozenset(field for column, field in CARRIED_COLUMNS.items() if column in row),
    )


def parse_package(data: bytes) -> list[ParsedValue]:
    """Values of the `values` resource of a zipped Data Package."""
    archive = _open_archive(data)
    try:
        meta = json.loads(_read_member(archive, DESCRIPTOR))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InteropFormatError(["datapackage.json is not valid JSON"]) from None
    resource = _values_resource(meta)
    path = resource.get("path")
    if not isinstance(path, str):
        raise InteropFormatError(["the 'values' resource has no path"])
    try:
        text = _read_member(archive, path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InteropFormatError([f"{path} is not UTF-8 text"]) from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = reader.fieldnames or []
    except csv.Error as error:
        raise InteropFormatError([f"{path} line 1: not readable as CSV ({error})"]) from None
    absent = [n for n in ("city", "year", "code", "value") if n not in columns]
    if absent:
        raise InteropFormatError([f"{path} lacks column(s): {', '.join(absent)}"])
    problems: list[str] = []
    parsed = []
    try:
        for line, row in enumerate(reader, start=2):
            value = _parse_value_row(row, f"{path} line {line}", problems)
            if value is not None:
                parsed.append(value)
    except csv.Error as error:
        problems.append(f"{path} line {reader.line_num + 1}: not readable as CSV ({error})")
    if problems:
        raise InteropFormatError(problems)
    return parsed

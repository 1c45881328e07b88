"""Inputs the fuzz tests found that crashed a parser (500) instead of naming the problem (400)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from kpi_app.interop import InteropFormatError, parse_entities, parse_package, parse_sdmx_csv
from kpi_app.services.interop import parse_interop

CODE = "EC: ICT: ICT: 1C"
SDMX_HEADER = "REF_AREA,TIME_PERIOD,INDICATOR,OBS_VALUE\n"


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DESCRIPTOR = json.dumps({"resources": [{"name": "values", "path": "v.csv"}]})
GOOD_PACKAGE = _zip(
    {"datapackage.json": DESCRIPTOR, "v.csv": "city,year,code,value\n" + f"x,2024,{CODE},5\n" * 50}
)


def _flip(data: bytes, start: int, stop: int) -> bytes:
    damaged = bytearray(data)
    for at in range(start, stop):
        damaged[at] ^= 0xFF
    return bytes(damaged)


def _second_header_broken(data: bytes) -> bytes:
    at = data.find(b"PK\x03\x04", 10)
    return data[: at + 1] + b"\x00" + data[at + 2 :]


ENTITY = {"type": "KeyPerformanceIndicator", "frameworkCode": CODE}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([{**ENTITY, "frameworkCode": {"type": []}}], "KPI code is missing"),  # was TypeError
        ([{**ENTITY, "kpiValue": 10**400}], "kpiValue must be a number"),  # was OverflowError
        ([{**ENTITY, "referenceYear": 10**400}], "referenceYear must be a whole number"),
    ],
)
def test_ngsi_ld_odd_json_is_a_format_error(payload: object, problem: str) -> None:
    with pytest.raises(InteropFormatError) as caught:
        parse_entities(payload)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (SDMX_HEADER + "X\n", "INDICATOR None is not a U4SSC KPI code"),  # was AttributeError
        (SDMX_HEADER + "a\rb,c\n", "line 2: not readable as CSV"),  # was _csv.Error
        ("REF_AREA\rX,TIME_PERIOD\n", "line 1: not readable as CSV"),  # was _csv.Error
    ],
)
def test_sdmx_odd_text_is_a_format_error(text: str, problem: str) -> None:
    with pytest.raises(InteropFormatError) as caught:
        parse_sdmx_csv(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_zip({"datapackage.json": json.dumps({"resources": 5})}), "no 'values' resource"),
        (_zip({"datapackage.json": "[" * 100_000}), "not valid JSON"),  # was RecursionError
        (_flip(GOOD_PACKAGE, 60, 90), "cannot be unpacked"),  # was zlib.error
        (_second_header_broken(GOOD_PACKAGE), "cannot be unpacked"),  # was BadZipFile
    ],
)
def test_datapackage_odd_archive_is_a_format_error(data: bytes, problem: str) -> None:
    with pytest.raises(InteropFormatError) as caught:
        parse_package(data)
    assert problem in str(caught.value)


def test_the_damaged_package_was_readable_before_the_damage() -> None:
    assert len(parse_package(GOOD_PACKAGE)) == 50


def test_deeply_nested_ngsi_ld_body_is_a_format_error() -> None:  # needs no app context
    with pytest.raises(InteropFormatError, match="not valid JSON"):  # was RecursionError
        parse_interop(b"[" * 100_000, "ngsi-ld")


def _central_directory_moved(data: bytes, by: int) -> bytes:
    # The end record says the central directory starts `by` bytes later than it does, so
    # zipfile takes the difference for prepended data and seeks members before the start.
    end = data.rfind(b"PK\x05\x06")
    damaged = bytearray(data)
    offset = int.from_bytes(damaged[end + 16 : end + 20], "little")
    damaged[end + 16 : end + 20] = (offset + by).to_bytes(4, "little")
    return bytes(damaged)


def test_a_member_before_the_start_of_the_archive_is_named_not_raised() -> None:
    data = _central_directory_moved(GOOD_PACKAGE, 10_000)
    with pytest.raises(InteropFormatError, match=r"cannot be unpacked|not a zip|damaged"):
        parse_package(data)

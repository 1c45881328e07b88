"""Uploaded value files (.csv, .xlsx, .json) never crash the reader: rows, or UploadRejected.

`services.data_io.parse_upload` reads what a city editor uploads on the import page (and what
`kpi-app import` reads). Any bytes must end in a `ParsedUpload` or in `UploadRejected` with a
message the page shows, never in another exception (a 500 page with nothing to fix).
"""

from __future__ import annotations

import functools
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from kpi_app.services.data_io import ParsedUpload, UploadRejected, parse_upload
from tests.unit.interop.strategies import cell_text, csv_text, damaged, json_bytes, json_values
from tests.unit.interop.strategies import zip_bytes as zip_of

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = st.sampled_from(["values.csv", "values.xlsx", "values.json", "values", "v.txt", ""])
COLUMNS = ["code", "data_point", "value", "unit", "source", "quality", "data_year"]


def _check(filename: str, data: bytes) -> None:
    try:
        upload = parse_upload(filename, data)
    except UploadRejected as error:
        assert str(error).strip(), "a rejection must say why"
        return
    assert isinstance(upload, ParsedUpload)
    assert len(upload.rows) == len(upload.row_numbers)
    assert all(isinstance(row, dict) for row in upload.rows)


def _workbook(rows: list[list[str]]) -> bytes:
    return _saved_workbook(tuple(tuple(row) for row in rows))


@functools.cache
def _saved_workbook(rows: tuple[tuple[str, ...], ...]) -> bytes:
    # Cached: openpyxl stamps the save time into docProps/core.xml, so saving the same rows a
    # second later compresses to a different length, and Hypothesis, replaying an example to
    # shrink it, would see damage() drawn with other bounds (FlakyStrategyDefinition).
    book = Workbook()
    sheet = book.active
    sheet.title = "Values"
    sheet.append(COLUMNS)
    for row in rows:  # control characters cannot be stored in a workbook at all
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


workbooks = st.lists(st.lists(cell_text, max_size=8), max_size=5).map(_workbook)
xlsx_like_zips = zip_of(
    {
        "[Content_Types].xml": st.binary(max_size=60),
        "xl/workbook.xml": st.binary(max_size=60),
        "xl/worksheets/sheet1.xml": st.binary(max_size=60),
    }
)


@FUZZ
@given(NAMES, st.binary(max_size=400))
def test_any_bytes(filename: str, data: bytes) -> None:
    _check(filename, data)


@FUZZ
@given(NAMES, st.text(max_size=300).map(str.encode) | csv_text(COLUMNS).map(str.encode))
def test_csv_shaped_text(filename: str, data: bytes) -> None:
    _check(filename, data)


@FUZZ
@given(st.sampled_from(["values.json", "values"]), json_bytes(json_values))
def test_any_json(filename: str, data: bytes) -> None:
    _check(filename, data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["values.xlsx", "values"]), workbooks | damaged(workbooks))
def test_workbooks_whole_or_damaged(filename: str, data: bytes) -> None:
    _check(filename, data)


@FUZZ
@given(st.sampled_from(["values.xlsx", "values.csv"]), xlsx_like_zips | damaged(xlsx_like_zips))
def test_zip_archives_that_claim_to_be_workbooks(filename: str, data: bytes) -> None:
    _check(filename, data)


def test_deeply_nested_json_is_rejected_with_a_message() -> None:
    try:
        parse_upload("values.json", b"[" * 100_000)
    except UploadRejected as error:
        assert "JSON" in str(error)
    else:
        raise AssertionError("a JSON file that is only brackets was accepted")


def _damage_member(data: bytes, name: bytes) -> bytes:
    """Overwrite the start of one member's compressed bytes (its header stays intact)."""
    at = data.find(b"PK\x03\x04")  # the first local file header
    while at != -1:
        name_length = int.from_bytes(data[at + 26 : at + 28], "little")
        extra_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 30 : at + 30 + name_length] == name:
            start = at + 30 + name_length + extra_length
            return data[:start] + b"\xff" * 8 + data[start + 8 :]
        at = data.find(b"PK\x03\x04", at + 4)
    raise AssertionError(f"no member {name!r}")


def test_workbook_with_a_damaged_content_types_part_is_rejected_with_a_message() -> None:
    data = _damage_member(_workbook([["EC: ICT: ICT: 1C", "", "5"]]), b"[Content_Types].xml")
    try:
        parse_upload("values.xlsx", data)
    except UploadRejected as error:  # was zlib.error: a 500 page
        assert "damaged" in str(error)
    else:
        raise AssertionError("a workbook with a damaged part was accepted")

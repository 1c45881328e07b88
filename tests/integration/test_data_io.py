"""services.data_io and the import/export commands: round trips, all-or-nothing, safe uploads."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, IndicatorValue, Role
from kpi_app.services import data_io, values
from kpi_app.services.values import Entry, ValueInput

SHARE = "EC: ICT: ICT: 1C"
DIRECT = "EC: ICT: ICT: 5C"
YES_NO = "SC: SH: SA: 3A"
AIR = "EN: EN: AQ: 1C"


@pytest.fixture
def setting(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("fjordby")
    editor = make_user(Role.CITY_EDITOR, city=city)
    assessment = make_assessment(city, 2024)
    values.save_entries(
        assessment,
        [
            Entry(
                ValueInput(
                    SHARE,
                    numerator=30,
                    denominator=120,
                    source="=HYPERLINK(evil)",
                    quality=2,
                    data_year=2023,
                )
            ),
            Entry(
                ValueInput(
                    DIRECT,
                    value=17,
                    comment="line one\nline two",
                    source_url="https://example.org/wifi",
                )
            ),
            Entry(ValueInput(YES_NO, value=1.0)),
            Entry(ValueInput(AIR, "pm25", value=7.5, source="station network")),
            Entry(
                ValueInput(
                    "EC: ICT: ICT: 2C", reported=False, not_reported_reason="operator refused"
                )
            ),
            Entry(
                ValueInput(
                    "EC: ICT: ICT: 3C",
                    numerator=3,
                    denominator=7,
                    value=40_000,
                    override_reason="operator total",
                )
            ),
        ],
        editor,
    )
    return {"city": city, "editor": editor, "assessment": assessment}


def value_count() -> int:
    return len(list(db.session.scalars(db.select(IndicatorValue))))


def xlsx_cells(content: bytes) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    cells = [tuple(row) for row in workbook["Values"].iter_rows(values_only=True)]
    workbook.close()
    return cells


def reimport(assessment: Any, fmt: str, content: bytes, actor: Any) -> data_io.ImportReport:
    upload = data_io.parse_upload(f"export.{fmt}", content)
    return data_io.import_upload(assessment, upload, actor, dry_run=False)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_import_export_is_identical(setting: dict[str, Any], fmt: str) -> None:
    a, editor = setting["assessment"], setting["editor"]
    first, _mime, _name = data_io.export_bytes(a, fmt)
    report = reimport(a, fmt, first, editor)
    assert report.ok, report.problems
    assert report.changes == [] and report.unchanged >= 6
    second, _mime, _name = data_io.export_bytes(a, fmt)
    if fmt == "xlsx":
        assert xlsx_cells(first) == xlsx_cells(second)
    else:
        assert first == second


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_into_an_empty_assessment_reproduces_the_values(
    setting: dict[str, Any], make_assessment: Callable[..., Any], fmt: str
) -> None:
    source, editor = setting["assessment"], setting["editor"]
    target = make_assessment(setting["city"], 2025)
    content, _m, _n = data_io.export_bytes(source, fmt)
    report = reimport(target, fmt, content, editor)
    assert report.written and len(report.changes) == 6
    exported_source = data_io.export_rows(source)
    exported_target = data_io.export_rows(target)
    assert exported_source == exported_target


def test_template_has_frozen_header_widths_and_quality_list(setting: dict[str, Any]) -> None:
    content, mime, name = data_io.export_bytes(setting["assessment"], "xlsx")
    assert name == "u4ssc-fjordby-2024.xlsx" and "spreadsheetml" in mime
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["Values"]
    assert sheet.freeze_panes == "C2"
    assert [c.value for c in sheet[1]] == list(data_io.COLUMNS)
    assert sheet.column_dimensions["C"].width == data_io.COLUMN_WIDTHS["name"]
    formulas = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert '"1,2,3,4,5,6"' in formulas
    assert sheet.max_row == 1 + 112
    # A text starting with "=" stays text: no formula reaches the spreadsheet program.
    share_row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == SHARE)
    assert share_row[data_io.COLUMNS.index("source")].data_type == "s"
    assert "About" in workbook.sheetnames


def test_csv_neutralises_formulas(setting: dict[str, Any]) -> None:
    content, _m, _n = data_io.export_bytes(setting["assessment"], "csv")
    text = content.decode("utf-8-sig")
    assert "'=HYPERLINK(evil)" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 112
    by_code = {(r["code"], r["data_point"]): r for r in rows}
    assert by_code[(SHARE, "")]["value"] == "25"
    assert by_code[(YES_NO, "")]["value"] == "yes"
    assert by_code[("EC: ICT: ICT: 2C", "")]["value"] == "Not Reported"


def test_import_reports_every_problem_and_writes_nothing(setting: dict[str, Any]) -> None:
    a, editor = setting["assessment"], setting["editor"]
    before = data_io.export_rows(a)
    events_before = len(list(db.session.scalars(db.select(AuditEvent))))
    rows = [
        {"code": "EC:ICT:ICT:4C", "data_point": "3g", "value": "88"},  # fine on its own
        {"code": "XX: YY: ZZ: 9C", "value": "1"},
        {"code": SHARE, "value": "abc"},
        {"code": DIRECT, "value": "3", "unit": "kg"},
        {"code": "EC: ICT: ICT: 4C", "data_point": "3g", "value": "90"},
        {"code": AIR, "value": "4"},
        {"code": "EC: ICT: ICT: 6C", "value": "500"},
        {"code": YES_NO, "value": "perhaps"},
    ]
    report = data_io.import_rows(a, rows, editor, row_numbers=[2, 3, 4, 5, 6, 7, 8, 9])
    found = {(p.row, p.column, p.severity) for p in report.problems}
    assert (3, "code", "error") in found  # unknown code
    assert (4, "value", "error") in found  # not a number
    assert (5, "unit", "error") in found  # unit mismatch
    assert (6, "code", "error") in found  # duplicate row
    assert (7, "data_point", "error") in found  # multi-point KPI without data point
    assert (9, "value", "error") in found  # not yes/no
    assert not report.written
    assert data_io.export_rows(a) == before
    assert len(list(db.session.scalars(db.select(AuditEvent)))) == events_before


def test_warnings_do_not_block_and_codes_without_last_space_are_accepted(
    setting: dict[str, Any],
) -> None:
    a, editor = setting["assessment"], setting["editor"]
    rows = [
        {
            "code": "EC: ICT: ICT:2C",
            "value": "1 234,5",
            "unit": "%",
            "quality": "3",
            "comment": "really",
        },
        {
            "code": "ec: ict: ict: 4c",
            "data_point": "4g",
            "numerator": "95 424",
            "denominator": "100 000",
        },
        {"code": DIRECT, "value": "NR"},
        {"code": SHARE, "value": ""},
    ]
    report = data_io.import_rows(a, rows, editor)
    assert report.ok and report.written
    assert [p.severity for p in report.problems] == ["warning"]
    stored = values.records_by_key(a)
    assert stored[("EC: ICT: ICT: 2C", "")].value == 1234.5
    assert stored[("EC: ICT: ICT: 4C", "4g")].value == pytest.approx(95.424)
    assert stored[(DIRECT, "")].reported is False
    assert stored[(SHARE, "")].value is None  # an empty cell clears the value
    assert {c.code for c in report.changes} == {
        "EC: ICT: ICT: 2C",
        "EC: ICT: ICT: 4C",
        DIRECT,
        SHARE,
    }


def test_dry_run_previews_old_and_new_without_writing(setting: dict[str, Any]) -> None:
    a, editor = setting["assessment"], setting["editor"]
    report = data_io.import_rows(
        a, [{"code": SHARE, "numerator": "60", "denominator": "120"}], editor, dry_run=True
    )
    (change,) = report.changes
    assert (change.old_value, change.new_value) == ("25", "50")
    assert values.records_by_key(a)[(SHARE, "")].computed_value == 25


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("values.xlsm", b"PK\x03\x04whatever", "macros"),
        ("values.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        ("values.xlsx", b"code,value\n", "not an Excel"),
        ("values.xlsx", zip_bytes({"hello.txt": b"hi"}), "not an Excel"),
        (
            "values.xlsx",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<x/>",
                    "xl/workbook.xml": b"<x/>",
                    "xl/vbaProject.bin": b"\0",
                }
            ),
            "macros",
        ),
        (
            "values.xlsx",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<x/>",
                    "xl/workbook.xml": b"<x/>",
                    "xl/worksheets/sheet1.xml": b"0" * 50_000_000,
                }
            ),
            "40 MB",
        ),
        ("values.csv", b"\x00\x01\x02binary", "not a CSV"),
        ("values.csv", b"", "empty"),
        ("values.csv", b"a" * (data_io.MAX_UPLOAD_BYTES + 1), "5 MB"),
        (
            "values.csv",
            ("code,value\n" + "EC: ICT: ICT: 1C,1\n" * (data_io.MAX_ROWS + 5)).encode(),
            "rows",
        ),
        ("values.csv", b"kpi,amount\nx,1\n", "code"),
    ],
)
def test_unsafe_or_unreadable_files_are_rejected(
    app: Any, filename: str, content: bytes, message: str
) -> None:
    with pytest.raises(data_io.UploadRejected, match=message):
        data_io.parse_upload(filename, content)


def test_csv_with_semicolons_and_windows_encoding(app: Any) -> None:
    upload = data_io.parse_upload(
        "v.csv", "Code;Value;Comment\nEC: ICT: ICT: 1C;12,5;Bærum\n".encode("cp1252")
    )
    assert upload.rows == [{"code": "EC: ICT: ICT: 1C", "value": "12,5", "comment": "Bærum"}]
    assert upload.row_numbers == [2] and upload.notes


def test_locked_assessment_is_a_problem_not_a_write(setting: dict[str, Any]) -> None:
    from kpi_app.models import Status

    a = setting["assessment"]
    a.status = Status.PUBLISHED
    db.session.commit()
    report = data_io.import_rows(a, [{"code": SHARE, "value": "1"}], setting["editor"])
    assert not report.ok and report.problems[0].row == 0


CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(
        ["NR", "N/A", "Not Reported", "", "yes", "1.234,5", "95\u00a0424", "-1", "1e400", "nan"]
    ),
)
ROW = st.fixed_dictionaries(
    {"code": st.sampled_from([SHARE, DIRECT, YES_NO, "EN: EN: AQ: 1C", "SC:EH:ED:1C", "nonsense"])},
    optional={
        "data_point": st.sampled_from(["", "pm25", "zz"]),
        "value": CELL,
        "numerator": CELL,
        "denominator": CELL,
        "quality": CELL,
        "data_year": CELL,
        "source": st.text(max_size=50),
        "comment": st.text(max_size=50),
        "unit": st.sampled_from(["", "Percentage", "kg", None]),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, max_size=6))
def test_random_rows_never_crash_and_never_write_partially(
    setting: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    a, editor = setting["assessment"], setting["editor"]
    before = data_io.export_rows(a)
    report = data_io.import_rows(a, rows, editor)
    after = data_io.export_rows(a)
    if report.ok:
        assert report.written or not report.changes
    else:
        assert after == before  # nothing written when any row has an error
        assert all(p.message for p in report.problems)
    if report.written:
        values_by_code = {(r["code"], r["data_point"]): r for r in after}
        for change in report.changes:
            assert (change.code, change.data_point) in values_by_code
    db.session.rollback()


def test_cli_export_and_import(setting: dict[str, Any], runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "values.xlsx"
    result = runner.invoke(
        args=[
            "export",
            "--city",
            "fjordby",
            "--year",
            "2024",
            "--format",
            "xlsx",
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    json_result = runner.invoke(
        args=["export", "--city", "fjordby", "--year", "2024", "--format", "json"]
    )
    assert json.loads(json_result.output)["values"][0]["code"] == "EC: ICT: ICT: 1C"
    workbook = load_workbook(out)
    sheet = workbook["Values"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == DIRECT:
            row[data_io.COLUMNS.index("value")].value = 99
    workbook.save(out)
    dry = runner.invoke(
        args=["import", str(out), "--city", "fjordby", "--year", "2024", "--dry-run"]
    )
    assert dry.exit_code == 0 and "17 -> 99" in dry.output and "would change 1" in dry.output
    assert values.records_by_key(setting["assessment"])[(DIRECT, "")].computed_value == 17
    done = runner.invoke(args=["import", str(out), "--city", "fjordby", "--year", "2024"])
    assert done.exit_code == 0 and "changed 1" in done.output
    db.session.expire_all()
    assert values.records_by_key(setting["assessment"])[(DIRECT, "")].computed_value == 99
    bad = tmp_path / "bad.csv"
    bad.write_text("code,value\nnonsense,1\n", encoding="utf-8")
    failed = runner.invoke(args=["import", str(bad), "--city", "fjordby", "--year", "2024"])
    assert failed.exit_code == 1 and "row 2, column code" in failed.output
    missing = runner.invoke(args=["export", "--city", "nowhere", "--year", "2024"])
    assert missing.exit_code == 1

"""The files of the value exchange: the columns, writing exports, reading uploads safely.

Export writes one row per catalogue item (KPI or data point) in catalogue order, as CSV,
JSON or an .xlsx workbook that doubles as the data-collection template. :func:`parse_upload`
checks that uploaded bytes really are a workbook, a CSV or a JSON text (magic bytes, no
macros, size and row caps against zip bombs) and returns plain row dicts. Validating and
writing the rows is `services.data_io`, which re-exports these names.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from kpi_app.catalogue import Catalogue, Indicator
from kpi_app.catalogue.model import Item
from kpi_app.formulas import defuse as _defuse
from kpi_app.formulas import undefuse as _undefuse
from kpi_app.i18n import _
from kpi_app.interop import archives
from kpi_app.models import Assessment, IndicatorValue
from kpi_app.services import values
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Invalid
from kpi_app.services.numbers import format_number

# Column order of every export; import needs only `code` and a value (or the two parts).
COLUMNS = (
    "code",
    "data_point",
    "name",
    "unit",
    "value",
    "numerator",
    "denominator",
    "override_reason",
    "data_year",
    "source",
    "source_url",
    "quality",
    "comment",
    "not_reported_reason",
    "numerator_definition",
    "denominator_definition",
)
INFORMATIONAL = {"name", "numerator_definition", "denominator_definition"}
NOT_REPORTED_WORDS = frozenset({"not reported", "nr", "n/a", "na", "n.a.", "-", "—"})
NOT_REPORTED_TEXT = "Not Reported"
YES, NO = "yes", "no"

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 40 * 1024 * 1024  # a 91-KPI workbook unpacks to well under 1 MB
MAX_COMPRESSION_RATIO = 200  # ordinary xlsx parts compress 5-20x; bombs 1000x and more
MAX_ZIP_ENTRIES = 300
MAX_ROWS = 2000  # the catalogue has 112 items; room for notes, far from a flood
MAX_COLUMNS = 40


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER_CLEAN = re.compile(r"[^a-z0-9]+")


class UploadRejected(Invalid):
    """The uploaded file cannot be read safely; str() is the message for the user."""


# ----- export -----------------------------------------------------------------------------

Cell = str | float | int | None


def export_rows(
    assessment: Assessment, catalogue: Catalogue | None = None
) -> list[dict[str, Cell]]:
    """One dict per catalogue item with the COLUMNS, typed (numbers stay numbers)."""
    catalogue = catalogue or current_catalogue()
    records = values.records_by_key(assessment)
    rows = []
    for indicator in catalogue.indicators:
        for item in indicator.items():
            rows.append(_export_row(indicator, item, records.get(item.key)))
    return rows


def _export_row(indicator: Indicator, item: Item, record: IndicatorValue | None) -> dict[str, Cell]:
    entry = values.input_from_record(record) if record else values.ValueInput(*item.key)
    row: dict[str, Cell] = {
        "code": item.code,
        "data_point": item.data_point,
        "name": item.label("en"),
        "unit": item.unit,
        "value": _export_value(indicator, item, record, entry),
        "numerator": entry.numerator,
        "denominator": entry.denominator,
        "override_reason": entry.override_reason,
        "data_year": entry.data_year,
        "source": entry.source,
        "source_url": entry.source_url,
        "quality": entry.quality,
        "comment": entry.comment,
        "not_reported_reason": entry.not_reported_reason,
        "numerator_definition": indicator.numerator if values.has_method(indicator, item) else None,
        "denominator_definition": indicator.denominator
        if values.has_method(indicator, item)
        else None,
    }
    return row


def _export_value(
    indicator: Indicator, item: Item, record: IndicatorValue | None, entry: values.ValueInput
) -> Cell:
    if record is None:
        return None
    if not entry.reported:
        return NOT_REPORTED_TEXT
    value = values.effective_value(indicator, item, entry)
    if value is None:
        return None
    if item.is_boolean:
        return YES if value == 1.0 else NO
    return value


def to_csv(rows: Sequence[Mapping[str, Cell]]) -> bytes:
    """UTF-8 with a BOM (so Excel opens accents right), formulas neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _csv_cell(row.get(name)) for name in COLUMNS})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, int):
        return str(value)
    return _defuse(value)


def to_json(assessment: Assessment, rows: Sequence[Mapping[str, Cell]]) -> bytes:
    payload = {
        "city": assessment.city.slug,
        "year": assessment.year,
        "status": assessment.status.value,
        "catalogue_version": assessment.catalogue_version,
        "values": [{name: row.get(name) for name in COLUMNS} for row in rows],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")


QUALITY_LABELS = {
    1: "Measured directly, with accurate instruments or complete records",
    2: "Calculated from reliable measurements or complete registers",
    3: "Estimated from reliable data, with a documented method",
    4: "Estimated with assumptions that are stated but not checked",
    5: "Rough estimate or expert judgement",
    6: "Method unknown; the figure cannot be traced to its origin",
}


def quality_labels() -> dict[int, str]:
    """The six data-quality levels in the user's language (own wording)."""
    return {level: _(text) for level, text in QUALITY_LABELS.items()}


COLUMN_WIDTHS = {
    "code": 18,
    "data_point": 11,
    "name": 44,
    "unit": 22,
    "value": 14,
    "numerator": 14,
    "denominator": 14,
    "override_reason": 28,
    "data_year": 10,
    "source": 36,
    "source_url": 30,
    "quality": 9,
    "comment": 36,
    "not_reported_reason": 28,
    "numerator_definition": 40,
    "denominator_definition": 40,
}


def to_xlsx(assessment: Assessment, rows: Sequence[Mapping[str, Cell]]) -> bytes:
    """The workbook: Values sheet (the template) plus an About sheet with the levels."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = "Values"
    sheet.append(list(COLUMNS))
    header_fill = PatternFill("solid", fgColor="DCE6F0")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for row in rows:
        sheet.append([row.get(name) for name in COLUMNS])
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
                cell.alignment = Alignment(wrap_text=False)
    sheet.freeze_panes = "C2"
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = COLUMN_WIDTHS[name]
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    _add_validations(sheet, rows)
    _add_about_sheet(workbook, assessment)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _add_validations(sheet: Any, rows: Sequence[Mapping[str, Cell]]) -> None:
    last = len(rows) + 1
    quality_col = get_column_letter(COLUMNS.index("quality") + 1)
    quality = DataValidation(
        type="list",
        formula1='"1,2,3,4,5,6"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_("Data quality"),
        error=_("Choose a level from 1 (measured) to 6 (not traceable); see the About sheet."),
        promptTitle=_("Data quality"),
        prompt=_("1 = measured accurately … 6 = method unknown. See the About sheet."),
    )
    quality.add(f"{quality_col}2:{quality_col}{last}")
    sheet.add_data_validation(quality)
    value_col = get_column_letter(COLUMNS.index("value") + 1)
    yes_no = DataValidation(
        type="list",
        formula1=f'"{YES},{NO},{NOT_REPORTED_TEXT}"',
        allow_blank=True,
        showErrorMessage=True,
        error=_("Answer yes or no (or Not Reported)."),
    )
    for index, row in enumerate(rows, start=2):
        if str(row.get("unit", "")).lower() in ("yes/no", "boolean") or row.get("value") in (
            YES,
            NO,
        ):
            yes_no.add(f"{value_col}{index}")
    if yes_no.sqref:
        sheet.add_data_validation(yes_no)


def _add_about_sheet(workbook: Workbook, assessment: Assessment) -> None:
    about = workbook.create_sheet("About")
    about.append([_("U4SSC KPI values"), f"{assessment.city.name} {assessment.year}"])
    about.append([_("City (slug)"), assessment.city.slug])
    about.append([_("Reporting year"), assessment.year])
    about.append([_("Catalogue version"), assessment.catalogue_version])
    about.append([])
    about.append([_("How to fill in")])
    for line in (
        _("One row per KPI or data point. Do not change the code and data_point columns."),
        _("Give either value, or numerator and denominator: the value is then computed."),
        _("A value next to numerator and denominator that differs is an override: say why."),
        _("Write Not Reported (or NR, N/A) in value and give not_reported_reason."),
        _("Numbers may use spaces or commas as thousands separators."),
    ):
        about.append([line])
    about.append([])
    about.append([_("quality"), _("Data-quality level")])
    for level, label in quality_labels().items():
        about.append([level, label])
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 80


def export_bytes(assessment: Assessment, fmt: str) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of an export in csv, xlsx or json."""
    rows = export_rows(assessment)
    stem = f"u4ssc-{assessment.city.slug}-{assessment.year}"
    if fmt == "csv":
        return to_csv(rows), "text/csv; charset=utf-8", f"{stem}.csv"
    if fmt == "xlsx":
        return to_xlsx(assessment, rows), XLSX_MIME, f"{stem}.xlsx"
    if fmt == "json":
        return to_json(assessment, rows), "application/json", f"{stem}.json"
    raise ValueError(f"unknown export format {fmt!r}; use csv, xlsx or json")


# ----- reading uploads --------------------------------------------------------------------


@dataclass
class ParsedUpload:
    """Rows of an uploaded file as plain dicts, with their row numbers in the file."""

    filename: str
    rows: list[dict[str, Any]]
    row_numbers: list[int]
    notes: list[str] = field(default_factory=list)


def parse_upload(filename: str, data: bytes) -> ParsedUpload:
    """Read an .xlsx or .csv upload safely; raise UploadRejected with a clear message."""
    name = (filename or "").strip()
    suffix = Path(name).suffix.lower()
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(_("The file is larger than 5 MB."))
    if not data:
        raise UploadRejected(_("The file is empty."))
    if suffix in (".xlsm", ".xltm", ".xlam", ".xlsb"):
        raise UploadRejected(
            _("Workbooks with macros are not accepted. Save the file as .xlsx (no macros).")
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRejected(
            _("This is an old Excel (.xls) file. Save it as .xlsx or CSV and upload it again.")
        )
    if data.startswith(b"PK\x03\x04"):
        if suffix not in ("", ".xlsx"):
            raise UploadRejected(_("The file is a ZIP archive but not named .xlsx."))
        return _parse_xlsx(name, data)
    if suffix in (".xlsx",):
        raise UploadRejected(_("This file is named .xlsx but is not an Excel workbook."))
    if suffix == ".json":
        return _parse_json(name, data)
    return _parse_csv(name, data)


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except archives.OPEN_ERRORS:
        raise UploadRejected(_("The workbook is damaged (not a valid ZIP container).")) from None
    with archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UploadRejected(_("The workbook has too many parts to be a values template."))
        if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
            raise UploadRejected(_("This ZIP file is not an Excel .xlsx workbook."))
        if any(n.lower().endswith((".bin", "vbaproject.bin")) for n in names):
            raise UploadRejected(
                _("The workbook contains macros or embedded programs; save it as plain .xlsx.")
            )
        total = sum(entry.file_size for entry in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UploadRejected(_("The workbook unpacks to more than 40 MB; it is refused."))
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO:
                raise UploadRejected(_("The workbook is abnormally compressed; it is refused."))
        try:
            content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
        except archives.READ_ERRORS:
            raise UploadRejected(
                _("The workbook is damaged (not a valid ZIP container).")
            ) from None
        if "macroEnabled" in content_types or "vbaProject" in content_types:
            raise UploadRejected(
                _("The workbook contains macros or embedded programs; save it as plain .xlsx.")
            )


def _parse_xlsx(name: str, data: bytes) -> ParsedUpload:
    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for broken parts
        raise UploadRejected(
            _("The workbook could not be read: %(error)s", error=str(error)[:200])
        ) from None
    try:
        sheet = workbook["Values"] if "Values" in workbook.sheetnames else workbook.worksheets[0]
        raw_rows = []
        for number, cells in enumerate(
            sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            if number > MAX_ROWS + 1:
                raise UploadRejected(_("The file has more than %(limit)s rows.", limit=MAX_ROWS))
            raw_rows.append((number, list(cells)))
    finally:
        workbook.close()
    return _rows_from_table(name, raw_rows)


def _decode_text(data: bytes) -> tuple[str, list[str]]:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRejected(_("This is not a CSV text file."))
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                continue
            return data.decode(encoding), []
        except UnicodeDecodeError:
            continue
    # Excel's plain "CSV" on Windows writes cp1252; say so, since accents may be off.
    try:
        return data.decode("cp1252"), [_("The file is not UTF-8; it was read as Windows-1252.")]
    except UnicodeDecodeError:
        raise UploadRejected(_("The text encoding of the file is not recognised.")) from None


def _parse_csv(name: str, data: bytes) -> ParsedUpload:
    text, notes = _decode_text(data)
    if "\x00" in text:
        raise UploadRejected(_("This is not a CSV text file."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    raw_rows = []
    try:
        for number, cells in enumerate(reader, start=1):
            if number > MAX_ROWS + 1:
                raise UploadRejected(_("The file has more than %(limit)s rows.", limit=MAX_ROWS))
            raw_rows.append((number, list(cells[:MAX_COLUMNS])))
    except csv.Error as error:
        raise UploadRejected(
            _("The CSV file could not be read: %(error)s", error=str(error))
        ) from None
    upload = _rows_from_table(name, raw_rows)
    upload.notes.extend(notes)
    return upload


def _parse_json(name: str, data: bytes) -> ParsedUpload:
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:  # [[[[...
        raise UploadRejected(
            _("The JSON file could not be read: %(error)s", error=str(error))
        ) from None
    rows = payload.get("values") if isinstance(payload, dict) else payload
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UploadRejected(_("The JSON file must hold a list of value objects."))
    if len(rows) > MAX_ROWS:
        raise UploadRejected(_("The file has more than %(limit)s rows.", limit=MAX_ROWS))
    return ParsedUpload(name, [dict(row) for row in rows], list(range(1, len(rows) + 1)))


def header_key(raw: object) -> str:
    """'Data point', 'data-point ' and 'DATA_POINT' all name the column data_point."""
    return _HEADER_CLEAN.sub("_", str(raw or "").strip().lower()).strip("_")


def _rows_from_table(name: str, raw_rows: list[tuple[int, list[Any]]]) -> ParsedUpload:
    """Find the header row (the first with a `code` cell) and turn later rows into dicts."""
    header_at = next(
        (i for i, (_n, cells) in enumerate(raw_rows) if "code" in [header_key(c) for c in cells]),
        None,
    )
    if header_at is None:
        raise UploadRejected(_("No header row with a “code” column was found."))
    header = [header_key(cell) for cell in raw_rows[header_at][1]]
    rows, numbers = [], []
    for number, cells in raw_rows[header_at + 1 :]:
        row = {
            key: _clean_cell(cell)
            for key, cell in zip(header, cells, strict=False)
            if key and not _blank(cell)
        }
        if row:
            rows.append(row)
            numbers.append(number)
    return ParsedUpload(name, rows, numbers)


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _clean_cell(cell: object) -> Any:
    if isinstance(cell, str):
        return _undefuse(cell.strip())
    return cell

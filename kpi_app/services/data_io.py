"""Spreadsheet and CSV exchange of an assessment's values: export, template, safe import.

The files themselves (columns, CSV/JSON/xlsx export, reading uploads safely) are
`services.value_files`; its names are re-exported here. Import → export gives the same
content, as both use the same columns.

Import is two steps and all-or-nothing: :func:`parse_upload` checks that the bytes really
are a workbook or a CSV text (magic bytes, no macros, size and row caps against zip bombs)
and returns plain row dicts; :func:`import_rows` validates *every* row first (reporting each
problem by row and column) and writes all rows in one transaction only when no row has an
error. The API reuses :func:`import_rows` with rows decoded from JSON. A preview is stored
as a pending import until the user confirms it.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from kpi_app.catalogue import Catalogue, Indicator
from kpi_app.catalogue.model import Item
from kpi_app.i18n import _
from kpi_app.models import Assessment, User
from kpi_app.services import values
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.numbers import NumberError, coerce_number, format_number, parse_yes_no
from kpi_app.services.value_files import (
    COLUMN_WIDTHS,
    COLUMNS,
    INFORMATIONAL,
    MAX_COLUMNS,
    MAX_COMPRESSION_RATIO,
    MAX_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_ZIP_ENTRIES,
    NO,
    NOT_REPORTED_TEXT,
    NOT_REPORTED_WORDS,
    QUALITY_LABELS,
    XLSX_MIME,
    YES,
    Cell,
    ParsedUpload,
    UploadRejected,
    _blank,
    export_bytes,
    export_rows,
    header_key,
    parse_upload,
    quality_labels,
    to_csv,
    to_json,
    to_xlsx,
)

# The public names, with those `value_files` holds (callers import them from here).
__all__ = [
    "COLUMNS",
    "COLUMN_WIDTHS",
    "INFORMATIONAL",
    "MAX_COLUMNS",
    "MAX_COMPRESSION_RATIO",
    "MAX_ROWS",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_UPLOAD_BYTES",
    "MAX_ZIP_ENTRIES",
    "NO",
    "NOT_REPORTED_TEXT",
    "NOT_REPORTED_WORDS",
    "PENDING_MAX_AGE_SECONDS",
    "QUALITY_LABELS",
    "XLSX_MIME",
    "YES",
    "Cell",
    "ImportChange",
    "ImportConflict",
    "ImportProblem",
    "ImportReport",
    "ParsedUpload",
    "UploadRejected",
    "conflict_problem",
    "discard_pending",
    "duplicate_problem",
    "export_bytes",
    "export_rows",
    "header_key",
    "import_rows",
    "import_upload",
    "load_pending",
    "locked_problem",
    "parse_upload",
    "pending_versions",
    "quality_labels",
    "store_pending",
    "to_csv",
    "to_json",
    "to_xlsx",
    "update_pending_versions",
    "value_versions",
    "version_key",
]


PENDING_MAX_AGE_SECONDS = 24 * 3600

# ----- report -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A finding on one row (spreadsheet row number) and column; row 0 = the whole file."""

    row: int
    column: str
    message: str
    severity: values.Severity = "error"
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ImportChange:
    """One item that the import changes: its label and old → new effective value."""

    row: int
    code: str
    data_point: str
    label: str
    old: dict[str, Any] | None
    new: dict[str, Any]
    old_value: str
    new_value: str


@dataclass(frozen=True, slots=True)
class ImportConflict:
    """A value someone saved after the preview: the import was refused, both sides shown."""

    row: int
    code: str
    data_point: str
    label: str
    changed_by: str
    now_value: str
    file_value: str


@dataclass
class ImportReport:
    """What an import found and did. ``written`` is True only after a successful commit."""

    problems: list[ImportProblem] = field(default_factory=list)
    changes: list[ImportChange] = field(default_factory=list)
    conflicts: list[ImportConflict] = field(default_factory=list)
    unchanged: int = 0
    rows: int = 0
    written: bool = False
    dry_run: bool = False

    @property
    def errors(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "written": self.written,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "unchanged": self.unchanged,
            "problems": [asdict(p) for p in self.problems],
            "changes": [asdict(c) for c in self.changes],
            "conflicts": [asdict(c) for c in self.conflicts],
        }


# ----- importing rows ---------------------------------------------------------------------


@dataclass
class _RowResult:
    entry: values.ValueInput | None
    problems: list[ImportProblem]


def import_rows(
    assessment: Assessment,
    rows: Sequence[Mapping[str, Any]],
    actor: User | None,
    dry_run: bool = False,
    *,
    row_numbers: Sequence[int] | None = None,
    source_name: str | None = None,
    expected_versions: Mapping[str, int] | None = None,
) -> ImportReport:
    """Validate every row, then write all of them (one transaction) or none.

    ``rows`` are dicts keyed by column name (case and spacing are forgiven); values may be
    text or numbers. ``row_numbers`` are the rows' numbers in the file (default 1, 2, ...).
    ``expected_versions`` (see :func:`value_versions`) are the versions the user saw in the
    preview: a value saved by someone else since then refuses the whole import, each such
    value reported as an :class:`ImportConflict`, so a confirmed file never overwrites a
    newer edit unseen. Authorisation is the caller's job; a locked assessment is a problem.
    """
    catalogue = current_catalogue()
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    if not assessment.status.editable_by_city:
        report.problems.append(locked_problem(assessment))
        return report
    entries: dict[tuple[str, str], tuple[int, values.ValueInput]] = {}
    for number, raw in zip(numbers, rows, strict=False):
        result = _read_row(catalogue, assessment, number, raw)
        report.problems.extend(result.problems)
        entry = result.entry
        if entry is None:
            continue
        if entry.key in entries:
            report.problems.append(
                duplicate_problem(number, entry.code, entry.data_point, entries[entry.key][0])
            )
            continue
        entries[entry.key] = (number, entry)
    _collect_changes(report, assessment, catalogue, entries)
    if not report.ok or dry_run or not report.changes:
        return report
    changed_keys = [(c.code, c.data_point) for c in report.changes]
    to_save = [entries[key][1] for key in changed_keys]
    if expected_versions is None:
        checked = values.unchecked_entries(to_save)
    else:
        checked = [
            values.Entry(entry, expected_version=expected_versions.get(version_key(*entry.key), 0))
            for entry in to_save
        ]
    saved = values.save_entries(
        assessment,
        checked,
        actor,
        reason=source_name,
        catalogue=catalogue,
        all_or_nothing=expected_versions is not None,
    )
    if saved.conflicts and expected_versions is not None:
        file_rows = {key: number for key, (number, _entry) in entries.items()}
        for conflict in saved.conflicts:
            _report_conflict(
                report, catalogue, conflict, file_rows.get((conflict.code, conflict.data_point), 0)
            )
        return report
    if saved.conflicts:
        report.problems.append(
            ImportProblem(
                0,
                "",
                _(
                    "Someone saved values while the file was being imported; nothing was written. "
                    "Import the file again."
                ),
            )
        )
        return report
    report.written = True
    return report


def locked_problem(assessment: Assessment) -> ImportProblem:
    """The whole file's problem when the assessment no longer takes values."""
    return ImportProblem(
        0, "", _("This assessment is locked (%(status)s).", status=assessment.status.value)
    )


def duplicate_problem(number: int, code: str, point: str, first: int) -> ImportProblem:
    return ImportProblem(
        number,
        "code",
        _(
            "Duplicate row: %(code)s %(point)s already appears on row %(first)s.",
            code=code,
            point=point,
            first=first,
        ),
        code=code,
    )


def _report_conflict(
    report: ImportReport, catalogue: Catalogue, conflict: values.Conflict, row: int
) -> None:
    indicator = catalogue.indicator(conflict.code)
    item = catalogue.item(conflict.code, conflict.data_point)
    found = ImportConflict(
        row=row,
        code=conflict.code,
        data_point=conflict.data_point,
        label=item.label("en"),
        changed_by=conflict.their_author or str(_("an import or script without a user")),
        now_value=_shown(indicator, item, conflict.theirs),
        file_value=_shown(indicator, item, conflict.mine),
    )
    report.conflicts.append(found)
    report.problems.append(conflict_problem(found))


def conflict_problem(found: ImportConflict) -> ImportProblem:
    """The row's problem for a value saved by someone else since the preview."""
    return ImportProblem(
        found.row,
        "value",
        _(
            "Changed by %(author)s since your preview: now %(now)s, your file %(file)s.",
            author=found.changed_by,
            now=found.now_value,
            file=found.file_value,
        ),
        code=found.code,
    )


def _collect_changes(
    report: ImportReport,
    assessment: Assessment,
    catalogue: Catalogue,
    entries: Mapping[tuple[str, str], tuple[int, values.ValueInput]],
) -> None:
    records = values.records_by_key(assessment)
    for key, (number, entry) in sorted(entries.items(), key=lambda kv: kv[1][0]):
        record = records.get(key)
        current = values.input_from_record(record) if record is not None else None
        if current == entry or (current is None and entry.is_blank):
            report.unchanged += 1
            continue
        indicator = catalogue.indicator(entry.code)
        item = catalogue.item(entry.code, entry.data_point)
        report.changes.append(
            ImportChange(
                row=number,
                code=entry.code,
                data_point=entry.data_point,
                label=item.label("en"),
                old=asdict(current) if current is not None else None,
                new=asdict(entry),
                old_value=_shown(indicator, item, current),
                new_value=_shown(indicator, item, entry),
            )
        )


def _shown(indicator: Indicator, item: Item, entry: values.ValueInput | None) -> str:
    if entry is None or entry.is_blank:
        return "—"
    if not entry.reported:
        return str(_("not reported"))
    value = values.effective_value(indicator, item, entry)
    if value is None:
        return "—"
    if item.is_boolean:
        return str(_("yes")) if value == 1.0 else str(_("no"))
    return format_number(round(value, 6))


def _read_row(
    catalogue: Catalogue, assessment: Assessment, number: int, raw: Mapping[str, Any]
) -> _RowResult:
    row = {header_key(key): cell for key, cell in raw.items()}
    problems: list[ImportProblem] = []

    def problem(
        column: str, message: str, severity: values.Severity = "error", code: str | None = None
    ) -> None:
        problems.append(ImportProblem(number, column, message, severity, code))

    code_cell = _as_text(row.get("code"))
    if not code_cell:
        problem("code", _("The code is missing."))
        return _RowResult(None, problems)
    try:
        indicator = catalogue.indicator(code_cell)
    except KeyError:
        problem("code", _("Unknown KPI code “%(code)s”.", code=code_cell[:60]))
        return _RowResult(None, problems)
    code = indicator.code
    point = _as_text(row.get("data_point")) or ""
    try:
        item = catalogue.item(code, point)
    except KeyError:
        known = ", ".join(p.id for p in indicator.data_points) or _("none")
        problem(
            "data_point",
            _(
                "%(code)s has no data point “%(point)s” (data points: %(known)s).",
                code=code,
                point=point[:40],
                known=known,
            ),
            code=code,
        )
        return _RowResult(None, problems)
    unit = _as_text(row.get("unit"))
    if unit and not _same_unit(unit, item.unit):
        problem(
            "unit",
            _(
                "Unit “%(unit)s” does not match the catalogue unit “%(expected)s”.",
                unit=unit[:60],
                expected=item.unit,
            ),
            code=code,
        )
    fields, field_problems = _read_fields(item, row)
    for column, message in field_problems:
        problem(column, message, code=code)
    if field_problems:
        return _RowResult(None, problems)
    entry = values.canonical(
        indicator, item, values.ValueInput(code=code, data_point=point, **fields)
    )
    for found in values.check_entry(indicator, item, entry, assessment.year):
        problem(
            found.field if found.field in COLUMNS else "value", found.message, found.severity, code
        )
    return _RowResult(entry, problems)


def _read_fields(
    item: Item, row: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The ValueInput fields of a row, or the (column, message) problems reading them."""
    problems: list[tuple[str, str]] = []
    fields: dict[str, Any] = {}
    value_cell = row.get("value")
    not_reported = isinstance(value_cell, str) and value_cell.strip().lower() in NOT_REPORTED_WORDS
    fields["reported"] = not not_reported
    if not_reported:
        fields["not_reported_reason"] = _as_text(row.get("not_reported_reason")) or _(
            "Marked as not reported in an imported file."
        )
    elif not _blank(value_cell):
        try:
            fields["value"] = parse_yes_no(value_cell) if item.is_boolean else _number(value_cell)
        except NumberError as error:
            problems.append(("value", str(error)))
    for column in ("numerator", "denominator"):
        try:
            fields[column] = _number(row.get(column))
        except NumberError as error:
            problems.append((column, str(error)))
    for column in ("data_year", "quality"):
        try:
            fields[column] = _whole_number(row.get(column))
        except NumberError as error:
            problems.append((column, str(error)))
    for column in ("override_reason", "source", "source_url", "comment"):
        fields[column] = _as_text(row.get(column))
    if fields["reported"] and row.get("not_reported_reason") is not None:
        fields["not_reported_reason"] = None  # a reason without "Not Reported" means nothing
    return fields, problems


def _number(cell: object) -> float | None:
    parsed = coerce_number(cell)
    return parsed.value if parsed is not None else None


def _whole_number(cell: object) -> int | None:
    if isinstance(cell, str):
        # "3 - Estimated..." as picked from a labelled list: the level is the leading digit.
        match = re.match(r"\s*([0-9]{1,4})\b", cell)
        cell = match.group(1) if match and not cell.strip().isdigit() else cell
    value = _number(cell)
    if value is None:
        return None
    if not value.is_integer():
        raise NumberError(_("Enter a whole number."))
    return int(value)


def _as_text(cell: object) -> str | None:
    if cell is None:
        return None
    text = format_number(cell) if isinstance(cell, float) else str(cell).strip()
    return text or None


def _same_unit(given: str, expected: str) -> bool:
    def squash(text: str) -> str:
        return re.sub(r"\s+", " ", text.strip().lower())

    if squash(given) == squash(expected):
        return True
    return squash(given) in ("%", "percent", "per cent") and squash(expected).startswith(
        "percentage"
    )


# ----- pending imports (the preview step) -------------------------------------------------


def _pending_dir() -> Path:
    path = Path(current_app.instance_path) / "pending-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def version_key(code: str, data_point: str) -> str:
    return f"{code}\t{data_point}"


def value_versions(assessment: Assessment) -> dict[str, int]:
    """The version of every stored value of the assessment (read before a preview)."""
    return {
        version_key(code, point): record.version
        for (code, point), record in values.records_by_key(assessment).items()
    }


def store_pending(
    assessment: Assessment, upload: ParsedUpload, versions: Mapping[str, int] | None = None
) -> str:
    """Keep a parsed upload server-side until the user confirms it; returns its token.

    ``versions`` are the stored values' versions the preview was computed from; the confirm
    step (:func:`pending_versions`) refuses the import if any of them moved meanwhile.
    """
    directory = _pending_dir()
    cutoff = time.time() - PENDING_MAX_AGE_SECONDS
    for old in directory.glob("*.json"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    payload = {
        "assessment_id": assessment.id,
        "filename": upload.filename,
        "rows": upload.rows,
        "row_numbers": upload.row_numbers,
        "versions": dict(versions) if versions is not None else None,
    }
    (directory / f"{token}.json").write_text(
        json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8"
    )
    return token


def pending_versions(token: str, assessment: Assessment) -> dict[str, int] | None:
    """The versions recorded with a pending upload (None: unknown token or none recorded)."""
    payload = _pending_payload(token, assessment)
    versions = payload.get("versions") if payload is not None else None
    return {str(k): int(v) for k, v in versions.items()} if isinstance(versions, dict) else None


def update_pending_versions(
    token: str, assessment: Assessment, versions: Mapping[str, int]
) -> None:
    """After a refused confirm: the user has now seen these versions (the new preview)."""
    payload = _pending_payload(token, assessment)
    if payload is None:
        return
    payload["versions"] = dict(versions)
    (_pending_dir() / f"{token}.json").write_text(
        json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8"
    )


def _pending_payload(token: str, assessment: Assessment) -> dict[str, Any] | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token or ""):
        return None
    path = _pending_dir() / f"{token}.json"
    if not path.exists():
        return None
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return payload if payload.get("assessment_id") == assessment.id else None


def load_pending(token: str, assessment: Assessment) -> ParsedUpload | None:
    """The stored upload for this token and assessment, or None (unknown or expired)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token or ""):
        return None
    path = _pending_dir() / f"{token}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("assessment_id") != assessment.id:
        return None
    return ParsedUpload(payload["filename"], payload["rows"], payload["row_numbers"])


def discard_pending(token: str) -> None:
    if re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token or ""):
        (_pending_dir() / f"{token}.json").unlink(missing_ok=True)


def import_upload(
    assessment: Assessment,
    upload: ParsedUpload,
    actor: User | None,
    dry_run: bool,
    expected_versions: Mapping[str, int] | None = None,
) -> ImportReport:
    """import_rows over a parsed upload, with its row numbers and file name."""
    report = import_rows(
        assessment,
        upload.rows,
        actor,
        dry_run,
        row_numbers=upload.row_numbers,
        source_name=upload.filename,
        expected_versions=expected_versions,
    )
    return report

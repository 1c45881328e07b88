"""Importing local KPI values from a file or the API, exactly as U4SSC values are imported.

The file is read by :func:`services.data_io.parse_upload` (the same safety checks: magic
bytes, no macros, size and row caps) and reported in data_io's own :class:`ImportReport`
(problems by row and column, changes old → new, conflicts), so pages, templates and the API
show both imports alike. The rows are the columns of the local-KPI export
(``local_kpi_reports.export``): an exported CSV or xlsx imports back unchanged.

* A row's ``code`` is the public local code ``LOCAL:<city>:<CODE>`` (or the local part
  alone); a U4SSC code, another city's code, an unknown or unused local KPI is a problem.
* ``unit`` (when given) must be the definition's; ``value`` is a number (yes/no for yes/no
  KPIs), or ``Not Reported`` / NR / N/A; a blank value with a ``not_reported_reason`` is
  not reported too (as the export writes it). ``numerator`` and ``denominator`` compute the
  value like the form. Columns of the export that describe the KPI or its score (name,
  target, band, verified ...) are read-only and ignored.
* Every row is checked by the form's own rules (``local_kpis.plan_values``); nothing is
  written when any row has an error. The write is ``local_kpis.write_values``: audited per
  value (the file name as reason), a changed value loses its verification decision.
* Conflicts: :func:`value_versions` fingerprints every stored value before the preview; the
  confirm step re-reads the values locked for update and refuses the whole import when one
  it would change was saved meanwhile, each reported as an :class:`ImportConflict`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, LocalKpi, LocalKpiValue, User
from kpi_app.services import interop, local_kpis, permissions
from kpi_app.services.data_io import (
    NOT_REPORTED_WORDS,
    ImportChange,
    ImportConflict,
    ImportProblem,
    ImportReport,
    ParsedUpload,
    _as_text,
    _number,
    _same_unit,
    _whole_number,
    conflict_problem,
    duplicate_problem,
    header_key,
    locked_problem,
    version_key,
)
from kpi_app.services.local_kpis import (
    VALUE_FIELDS,
    VERIFICATION_FIELDS,
    LocalKpiError,
    NotAllowed,
    PlannedChange,
    ValueInput,
)
from kpi_app.services.numbers import NumberError, format_number, parse_yes_no

#: The columns the import reads; the export's other columns are informational.
READ_COLUMNS = ("code", "data_point", "unit", *(f for f in VALUE_FIELDS if f != "reported"))
#: Relative difference between a given value and numerator ÷ denominator that is rounding.
_SAME_VALUE = 1e-9

__all__ = [
    "READ_COLUMNS",
    "import_rows",
    "import_upload",
    "value_versions",
]


# --- versions -----------------------------------------------------------------------------


def row_version(row: LocalKpiValue) -> int:
    """A fingerprint of what is stored for one value (its fields, decision and author)."""
    content = {name: getattr(row, name) for name in (*VALUE_FIELDS, *VERIFICATION_FIELDS)}
    content["updated_by_id"] = row.updated_by_id
    digest = hashlib.sha256(
        json.dumps(content, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    return int(digest[:15], 16) or 1  # never 0, the version of "no value"


def value_versions(assessment: Assessment) -> dict[str, int]:
    """The version of every stored local value, keyed like data_io's (read before a preview)."""
    kpis = {k.id: k for k in local_kpis.city_kpis(assessment.city)}
    return {
        version_key(kpis[kpi_id].full_code, point): row_version(row)
        for (kpi_id, point), row in local_kpis.values_of(assessment).items()
        if kpi_id in kpis
    }


# --- reading rows -------------------------------------------------------------------------


class _Rows:
    """The KPIs a file may name: the assessment city's local KPIs, by upper-case code."""

    def __init__(self, assessment: Assessment) -> None:
        self.assessment = assessment
        self.slug = assessment.city.slug
        self.kpis = {k.code.upper(): k for k in local_kpis.city_kpis(assessment.city)}

    def kpi_for(self, code: str) -> tuple[LocalKpi | None, str | None]:
        """(the KPI, None) or (None, why the code is refused)."""
        parts = [part.strip() for part in code.split(":")]
        if len(parts) == 1:
            local = parts[0]
        elif len(parts) == 3 and parts[0].upper() == "LOCAL":
            if parts[1].lower() != self.slug.lower():
                return None, _(
                    "%(code)s names another city (%(slug)s): only %(city)s's local KPIs can be "
                    "imported here.",
                    code=code[:60],
                    slug=parts[1][:40],
                    city=self.slug,
                )
            local = parts[2]
        else:
            return None, _(
                "“%(code)s” is not a local KPI code (LOCAL:%(city)s:CODE); import U4SSC "
                "values on the assessment's Upload values page.",
                code=code[:60],
                city=self.slug,
            )
        kpi = self.kpis.get(local.upper())
        if kpi is None:
            return None, _(
                "Unknown local KPI “%(code)s” (this city's: %(known)s).",
                code=code[:60],
                known=", ".join(k.full_code for k in self.kpis.values() if k.active) or _("none"),
            )
        if not kpi.active:
            return None, _("%(code)s is not in use; it takes no values.", code=kpi.full_code)
        return kpi, None


def _read_row(
    known: _Rows, number: int, raw: Mapping[str, Any]
) -> tuple[ValueInput | None, LocalKpi | None, list[ImportProblem]]:
    row = {header_key(key): cell for key, cell in raw.items()}
    problems: list[ImportProblem] = []

    def problem(column: str, message: str, code: str | None = None) -> None:
        problems.append(ImportProblem(number, column, message, "error", code))

    code_cell = _as_text(row.get("code"))
    if not code_cell:
        problem("code", _("The code is missing."))
        return None, None, problems
    kpi, refused = known.kpi_for(code_cell)
    if kpi is None:
        problem("code", str(refused), code_cell[:60])
        return None, None, problems
    code = kpi.full_code
    point = _as_text(row.get("data_point")) or ""
    points = [str(p["id"]) for p in kpi.data_points or []]
    if (points and point not in points) or (not points and point):
        problem(
            "data_point",
            _(
                "%(code)s has no data point “%(point)s” (data points: %(known)s).",
                code=code,
                point=point[:40],
                known=", ".join(points) or _("none"),
            ),
            code,
        )
        return None, kpi, problems
    unit = _as_text(row.get("unit"))
    if unit and not (_same_unit(unit, kpi.unit) or (_percent(unit) and _percent(kpi.unit))):
        problem(
            "unit",
            _(
                "Unit “%(unit)s” does not match the unit of the definition “%(expected)s”.",
                unit=unit[:60],
                expected=kpi.unit or _("none"),
            ),
            code,
        )
    fields: dict[str, Any] = {}
    value_cell = row.get("value")
    reason = _as_text(row.get("not_reported_reason"))
    said_not_reported = (
        isinstance(value_cell, str) and value_cell.strip().lower() in NOT_REPORTED_WORDS
    )
    fields["reported"] = not (said_not_reported or (value_cell is None and reason))
    fields["not_reported_reason"] = None
    if not fields["reported"]:
        fields["not_reported_reason"] = reason or _("Marked as not reported in an imported file.")
    elif value_cell is not None:
        try:
            is_yes_no = kpi.value_type == "boolean"
            fields["value"] = parse_yes_no(value_cell) if is_yes_no else _number(value_cell)
        except NumberError as error:
            problem("value", str(error), code)
    for column in ("numerator", "denominator"):
        try:
            fields[column] = _number(row.get(column))
        except NumberError as error:
            problem(column, str(error), code)
    for column in ("data_year", "quality"):
        try:
            fields[column] = _whole_number(row.get(column))
        except NumberError as error:
            problem(column, str(error), code)
    for column in ("source", "source_url", "comment"):
        fields[column] = _as_text(row.get(column))
    if fields["numerator"] is not None and fields["denominator"] == 0:
        problem("denominator", _("The denominator cannot be 0."), code)
    if problems:
        return None, kpi, problems
    entry = ValueInput(kpi_id=kpi.id, data_point=point, **fields)
    given, numerator, denominator = entry.value, entry.numerator, entry.denominator
    if given is not None and numerator is not None and denominator:
        computed = numerator / denominator * (kpi.multiplier or 1.0)
        if not math.isclose(given, computed, rel_tol=_SAME_VALUE, abs_tol=1e-12):
            problem(
                "value",
                _(
                    "The value %(value)s differs from numerator ÷ denominator (%(computed)s): "
                    "give the value or the two numbers, not both.",
                    value=format_number(given),
                    computed=format_number(round(computed, 6)),
                ),
                code,
            )
            return None, kpi, problems
    for message in local_kpis.check_value(kpi, entry, known.assessment.year):
        problem("value", message, code)
    return (None if problems else entry), kpi, problems


# --- importing ----------------------------------------------------------------------------


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

    Same contract as ``data_io.import_rows``: ``expected_versions`` (:func:`value_versions`
    read before the preview) make a value saved since then refuse the whole import, with an
    :class:`ImportConflict` each. A locked assessment is a problem; an actor who may not
    edit its values raises :class:`NotAllowed`; no actor is the operator's command line.
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    if not assessment.status.editable_by_city:
        report.problems.append(locked_problem(assessment))
        return report
    if actor is not None and not permissions.can_edit_values(actor, assessment):
        raise NotAllowed(_("This assessment cannot be edited now."))
    known = _Rows(assessment)
    entries: dict[tuple[int, str], tuple[int, ValueInput]] = {}
    for number, raw in zip(numbers, rows, strict=False):
        entry, kpi, problems = _read_row(known, number, raw)
        report.problems.extend(problems)
        if entry is None or kpi is None:
            continue
        if entry_key(entry) in entries:
            first = entries[entry_key(entry)][0]
            report.problems.append(
                duplicate_problem(number, kpi.full_code, entry.data_point, first)
            )
            continue
        entries[entry_key(entry)] = (number, entry)
    if not report.ok:
        return report
    locked = not dry_run
    existing = _stored(assessment, for_update=locked)
    ordered = sorted(entries.values(), key=lambda pair: pair[0])
    for _row_number, entry in ordered:
        _keep_stored_precision(entry, existing.get(entry_key(entry)))
    planned, plan_problems = local_kpis.plan_values(
        assessment, [entry for _n, entry in ordered], existing=existing
    )
    rows_of = {key: number for key, (number, _entry) in entries.items()}
    for message in plan_problems:  # checked row by row above; kept should a rule be added
        report.problems.append(ImportProblem(0, "value", message))
    report.changes = [_change(rows_of[entry_key(c.entry)], c) for c in planned]
    report.unchanged = len(entries) - len(planned)
    if not report.ok or dry_run or not planned:
        if locked:
            db.session.rollback()  # releases the row locks
        return report
    if expected_versions is not None and _conflicts(report, planned, rows_of, expected_versions):
        db.session.rollback()
        return report
    try:
        local_kpis.write_values(assessment, planned, actor, reason=source_name)
        db.session.commit()
    except IntegrityError:  # a value created by someone else at the same moment
        db.session.rollback()
        report.problems.append(
            ImportProblem(
                0,
                "",
                _(
                    "Someone saved values while the file was being imported; nothing was "
                    "written. Import the file again."
                ),
            )
        )
        return report
    report.written = True
    return report


def _percent(unit: str) -> bool:
    """%, percent, per cent and percentage (...) all name the same unit."""
    squashed = " ".join((unit or "").lower().split())
    return squashed in ("%", "percent", "per cent") or squashed.startswith("percentage")


def _keep_stored_precision(entry: ValueInput, row: LocalKpiValue | None) -> None:
    """A number equal to the stored one to 15 significant digits is the stored one.

    A workbook holds 15 digits (Excel's precision, openpyxl writes as many), so 0.1 + 0.2
    exported as 0.3 must not count as a change when the file comes back.
    """
    if row is None:
        return
    for name in ("value", "numerator", "denominator"):
        given, kept = getattr(entry, name), getattr(row, name)
        if given is not None and kept is not None and f"{given:.15g}" == f"{kept:.15g}":
            setattr(entry, name, kept)


def entry_key(entry: ValueInput) -> tuple[int, str]:
    return (entry.kpi_id, entry.data_point)


def _stored(assessment: Assessment, *, for_update: bool) -> dict[tuple[int, str], LocalKpiValue]:
    query = select(LocalKpiValue).where(LocalKpiValue.assessment_id == assessment.id)
    if for_update:
        query = query.with_for_update()
        db.session.expire_all()  # read what is committed now, not what this session saw
    return {(row.local_kpi_id, row.data_point): row for row in db.session.scalars(query)}


def _conflicts(
    report: ImportReport,
    planned: Sequence[PlannedChange],
    rows_of: Mapping[tuple[int, str], int],
    expected: Mapping[str, int],
) -> bool:
    for change in planned:
        key = version_key(change.kpi.full_code, change.entry.data_point)
        now = row_version(change.row) if change.row is not None else 0
        if expected.get(key, 0) == now:
            continue
        author = change.row.updated_by if change.row is not None else None
        found = ImportConflict(
            row=rows_of[entry_key(change.entry)],
            code=change.kpi.full_code,
            data_point=change.entry.data_point,
            label=_label(change),
            changed_by=(author.name or author.email)
            if author is not None
            else str(_("an import or script without a user")),
            now_value=_shown(change.kpi, change.old or None),
            file_value=_shown(change.kpi, change.new),
        )
        report.conflicts.append(found)
        report.problems.append(conflict_problem(found))
    return bool(report.conflicts)


def _label(change: PlannedChange) -> str:
    name = local_kpis.text_in(change.kpi.name or {}, "en")
    for point in change.kpi.data_points or []:
        if str(point["id"]) == change.entry.data_point:
            return f"{name}: {local_kpis.text_in(point.get('label') or {}, 'en')}"
    return name


def _change(number: int, change: PlannedChange) -> ImportChange:
    return ImportChange(
        row=number,
        code=change.kpi.full_code,
        data_point=change.entry.data_point,
        label=_label(change),
        old=dict(change.old) or None,
        new=dict(change.new),
        old_value=_shown(change.kpi, change.old or None),
        new_value=_shown(change.kpi, change.new),
    )


def _shown(kpi: LocalKpi, stored: Mapping[str, Any] | None) -> str:
    if not stored:
        return "—"
    if not stored.get("reported", True):
        return str(_("not reported"))
    value = stored.get("value")
    if value is None:
        return "—"
    if kpi.value_type == "boolean":
        return str(_("yes")) if value == 1.0 else str(_("no"))
    return format_number(round(float(value), 6))


def import_upload(
    assessment: Assessment,
    upload: ParsedUpload,
    actor: User | None,
    dry_run: bool,
    expected_versions: Mapping[str, int] | None = None,
) -> ImportReport:
    """:func:`import_rows` over a parsed upload, with its row numbers and file name."""
    return import_rows(
        assessment,
        upload.rows,
        actor,
        dry_run,
        row_numbers=upload.row_numbers,
        source_name=upload.filename,
        expected_versions=expected_versions,
    )


def submit_values(
    city: str, year: int, user: User, rows: list[dict[str, Any]], *, dry_run: bool
) -> ImportReport:
    """The API's write path: the assessment the token's user may edit, then :func:`import_rows`."""
    assessment = interop.editable_assessment(city, year, user)
    try:
        return import_rows(assessment, rows, user, dry_run)
    except LocalKpiError as error:  # NotAllowed: editable_assessment already said why
        raise interop.AccessDeniedError(str(error)) from error

"""The two steps of a file import, shared by the U4SSC and the local-KPI upload pages.

Step one (:func:`check_upload`) reads the file safely (``data_io.parse_upload``), records the
stored values' versions, previews the import (a dry run) and keeps the parsed file as a
pending import, its token remembered in this session under the page's own key. Step two
(:func:`confirm_upload`) imports the pending file with the versions of the preview: a value
saved since refuses the import (409) with a fresh preview to confirm knowingly.

``importer`` is the service doing the import: ``services.data_io`` for U4SSC values,
``services.local_kpi_import`` for local ones (same ``value_versions`` and ``import_upload``).
Views keep their own pages and redirects; this module renders nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import abort, flash, redirect, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kpi_app.models import Assessment, User
from kpi_app.services import data_io, permissions


class Importer(Protocol):
    def value_versions(self, assessment: Assessment) -> dict[str, int]: ...

    def import_upload(
        self,
        assessment: Assessment,
        upload: data_io.ParsedUpload,
        actor: User,
        dry_run: bool,
        expected_versions: Mapping[str, int] | None = None,
    ) -> data_io.ImportReport: ...


@dataclass
class Step:
    """What a step found: the report to show, the pending token (None: nothing to confirm)."""

    report: data_io.ImportReport
    upload: data_io.ParsedUpload
    token: str | None
    status: int = 200
    conflicts: list[data_io.ImportConflict] = field(default_factory=list)
    done: bool = False


def require_value_editing(user: Any, assessment: Assessment) -> Assessment:
    """403 unless `user` may change the assessment's values (U4SSC and local alike)."""
    if not permissions.can_edit_values(user, assessment):
        abort(
            403,
            description=_(
                "You cannot change the values of this assessment: only the city's editors "
                "can, and only while it is a draft or returned to the city."
            ),
        )
    return assessment


def _remember(session_key: str, token: str, assessment_id: int | None) -> None:
    pending = dict(session.get(session_key, {}))
    if assessment_id is None:
        pending.pop(token, None)
    else:
        pending[token] = assessment_id
    session[session_key] = pending


def check_upload(
    assessment: Assessment,
    file: Any,
    actor: User,
    importer: Importer,
    session_key: str,
) -> Step:
    """Preview an uploaded file (raises ``data_io.UploadRejected`` when it cannot be read)."""
    # Read one byte past the limit: enough to know the file is too big, no more.
    data = file.stream.read(data_io.MAX_UPLOAD_BYTES + 1)
    parsed = data_io.parse_upload(file.filename or "", data)
    # Versions first: a value saved during the preview then counts as changed after it.
    versions = importer.value_versions(assessment)
    report = importer.import_upload(assessment, parsed, actor, dry_run=True)
    token = data_io.store_pending(assessment, parsed, versions) if report.ok else None
    if token:
        _remember(session_key, token, assessment.id)
    return Step(report, parsed, token, 200 if report.ok else 422)


def confirm_upload(
    assessment: Assessment,
    token: str,
    actor: User,
    importer: Importer,
    session_key: str,
) -> Step | None:
    """Import a pending upload of this session; None when it is unknown or expired."""
    owned = session.get(session_key, {}).get(token) == assessment.id
    parsed = data_io.load_pending(token, assessment) if owned else None
    if parsed is None:
        return None
    report = importer.import_upload(
        assessment,
        parsed,
        actor,
        dry_run=False,
        expected_versions=data_io.pending_versions(token, assessment),
    )
    if report.conflicts:
        # Like the category form's 409: nothing written, both values shown, and a fresh
        # preview of what the file would change now, to confirm again knowingly or cancel.
        versions = importer.value_versions(assessment)
        fresh = importer.import_upload(assessment, parsed, actor, dry_run=True)
        data_io.update_pending_versions(token, assessment, versions)
        return Step(fresh, parsed, token if fresh.ok else None, 409, list(report.conflicts))
    if report.written or (report.ok and not report.changes):
        data_io.discard_pending(token)
        _remember(session_key, token, None)
        return Step(report, parsed, None, 200, done=True)
    return Step(report, parsed, token if report.ok else None, 409)


def confirm_response(
    assessment: Assessment,
    form: Any,
    actor: User,
    importer: Importer,
    session_key: str,
    *,
    again_url: str,
    done_url: str,
    preview: Callable[[Step], ResponseReturnValue],
) -> ResponseReturnValue:
    """The confirm view's answer: back to the upload when the file is gone, to ``done_url``
    with a message once imported, else the preview again (409)."""
    step = (
        confirm_upload(assessment, form.token.data or "", actor, importer, session_key)
        if form.validate_on_submit()
        else None
    )
    if step is None:
        flash(_("That upload is no longer available: please upload the file again."), "error")
        return redirect(again_url)
    if not step.done:
        return preview(step)
    flash(
        _(
            "Imported %(count)s change(s) from %(file)s.",
            count=len(step.report.changes),
            file=step.upload.filename,
        ),
        "success",
    )
    return redirect(done_url)

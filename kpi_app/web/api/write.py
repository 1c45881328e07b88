# mypy: disable-error-code="untyped-decorator"
# (flask-smorest ships no type hints, so its decorators are untyped; the views are typed.)
"""Token-authenticated writes: submit values to a draft assessment (as the file import does).

Authentication is a personal API token in `Authorization: Bearer kpi_…` (never the session
cookie, which is why this blueprint can be CSRF-exempt). Authorisation is the UI's own rule,
`permissions.can_edit_values`, applied in `services.interop.submit_values`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, request
from flask_smorest import Blueprint, abort

from kpi_app.services import api_tokens, interop, local_kpi_import
from kpi_app.services.data_io import ImportProblem, ImportReport
from kpi_app.web.api import schemas

write_bp = Blueprint(
    "api_submissions",
    __name__,
    url_prefix="/api/v1",
    description="Submit values with a personal API token (Authorization: Bearer ...).",
)

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kpi-app"'}


@write_bp.before_request
def authenticate_token() -> None:
    secret = api_tokens.bearer_secret(request.headers.get("Authorization"))
    user = api_tokens.authenticate(secret) if secret else None
    if user is None:
        abort(
            401,
            message="a valid personal API token is required (Authorization: Bearer <token>)",
            headers=BEARER_CHALLENGE,
        )
    g.api_user = user


def _problem_record(problem: ImportProblem) -> dict[str, Any]:
    return {
        "row": problem.row or None,
        "column": problem.column or None,
        "message": str(problem.message),
        "severity": problem.severity,
        "code": problem.code,
    }


def report_payload(report: ImportReport) -> dict[str, Any]:
    """data_io's import report as the API shows it: errors, warnings and changes apart."""
    return {
        "applied": report.written,
        "dry_run": report.dry_run,
        "problems": [_problem_record(p) for p in report.errors],
        "warnings": [_problem_record(p) for p in report.warnings],
        "changes": [
            {
                "row": change.row,
                "code": change.code,
                "data_point": change.data_point,
                "label": change.label,
                "old_value": change.old_value,
                "new_value": change.new_value,
            }
            for change in report.changes
        ],
        "unchanged": report.unchanged,
    }


def _submission(path: str, body: type[Any]) -> Callable[[Callable[..., Any]], Any]:
    """Route and document a token write of rows (same answers for U4SSC and local values)."""

    def register(view: Callable[..., Any]) -> Any:
        view = write_bp.doc(security=[{"bearerAuth": []}])(view)
        for status, description in (
            (429, "Too many requests"),
            (404, "No such assessment visible to you"),
            (403, "Not allowed to edit this assessment"),
            (401, "Missing or invalid API token"),
        ):
            view = write_bp.alt_response(status, schema="Error", description=description)(view)
        view = write_bp.response(200, schemas.SubmitResultSchema)(view)
        view = write_bp.arguments(body)(view)
        route = f"/cities/<slug:slug>/assessments/<int(min=1900,max=2200):year>/{path}"
        return write_bp.route(route, methods=["POST"])(view)

    return register


@_submission("values", schemas.SubmitSchema)
def submit(body: dict[str, Any], slug: str, year: int) -> Any:
    """Validate the rows like a file import; write them all, or none if any row is wrong."""
    rows = [{k: v for k, v in row.items() if v is not None} for row in body["values"]]
    report = interop.submit_values(slug, year, g.api_user, rows, dry_run=body["dry_run"])
    return _answer(report)


@_submission("local-values", schemas.LocalSubmitSchema)
def submit_local(body: dict[str, Any], slug: str, year: int) -> Any:
    """Local KPI values (LOCAL:<city>:<CODE>), validated like the local-KPI file import.

    Same rules as the page's upload: the city's own active local KPIs only, the unit of the
    definition, all rows written or none (422 with every problem), each change audited and a
    changed value's verification decision cleared.
    """
    rows = [{k: v for k, v in row.items() if v is not None} for row in body["values"]]
    report = local_kpi_import.submit_values(slug, year, g.api_user, rows, dry_run=body["dry_run"])
    return _answer(report)


def _answer(report: ImportReport) -> dict[str, Any]:
    payload = report_payload(report)
    if payload["problems"]:
        abort(
            422,
            message=f"{len(payload['problems'])} problem(s) in the values; nothing was written",
            errors={"problems": payload["problems"], "warnings": payload["warnings"]},
        )
    return payload

"""Token-authenticated writes: submit values to a draft assessment (as the file import does).

Authentication is a personal API token in `Authorization: Bearer kpi_…` (never the session
cookie, which is why this blueprint can be CSRF-exempt). Authorisation is the UI's own rule,
`permissions.can_edit_values`, applied in `services.interop.submit_values`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flask import g, request
from flask_smorest import Blueprint, abort

from kpi_app.services import api_tokens, interop
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


def _as_dict(entry: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return dataclasses.asdict(entry)
    if isinstance(entry, Mapping):
        return dict(entry)
    return {"message": str(entry)}


def _severity(problem: dict[str, Any]) -> str:
    level = problem.get("severity", problem.get("level", "error"))
    return "warning" if str(level).lower().startswith("warn") else "error"


def _problem_record(problem: dict[str, Any]) -> dict[str, Any]:
    return {
        "row": problem.get("row"),
        "column": None if problem.get("column") is None else str(problem["column"]),
        "message": str(problem.get("message", "")),
        "severity": _severity(problem),
    }


def _change_record(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": str(change.get("code", "")),
        "data_point": str(change.get("data_point") or ""),
        "old": change.get("old"),
        "new": change.get("new"),
    }


def report_payload(report: Any, dry_run: bool) -> dict[str, Any]:
    """data_io's import report as the API shows it: errors, warnings and changes apart."""
    found = [_problem_record(_as_dict(p)) for p in getattr(report, "problems", [])]
    found += [
        {**_problem_record(_as_dict(w)), "severity": "warning"}
        for w in getattr(report, "warnings", [])
    ]
    errors = [p for p in found if p["severity"] == "error"]
    changes = [_change_record(_as_dict(c)) for c in getattr(report, "changes", [])]
    return {
        "applied": not dry_run and not errors,
        "dry_run": dry_run,
        "problems": errors,
        "warnings": [p for p in found if p["severity"] == "warning"],
        "changes": changes,
    }


@write_bp.route("/cities/<slug>/assessments/<int(min=1900,max=2200):year>/values", methods=["POST"])
@write_bp.arguments(schemas.SubmitSchema)
@write_bp.response(200, schemas.SubmitResultSchema)
@write_bp.alt_response(401, schema="Error", description="Missing or invalid API token")
@write_bp.alt_response(403, schema="Error", description="Not allowed to edit this assessment")
@write_bp.alt_response(404, schema="Error", description="No such assessment visible to you")
@write_bp.alt_response(429, schema="Error", description="Too many requests")
@write_bp.doc(security=[{"bearerAuth": []}])
def submit(body: dict[str, Any], slug: str, year: int) -> Any:
    """Validate the rows like a file import; write them all, or none if any row is wrong."""
    rows = [{k: v for k, v in row.items() if v is not None} for row in body["values"]]
    try:
        report = interop.submit_values(slug, year, g.api_user, rows, dry_run=body["dry_run"])
    except interop.NotFoundError as error:
        abort(404, message=str(error))
    except interop.AccessDeniedError as error:
        abort(403, message=str(error))
    payload = report_payload(report, body["dry_run"])
    if payload["problems"]:
        abort(
            422,
            message=f"{len(payload['problems'])} problem(s) in the values; nothing was written",
            errors={"problems": payload["problems"], "warnings": payload["warnings"]},
        )
    return payload

"""One error shape for every failure under /api/v1: {"error": {code, message, details}}.

A client that prefers ``application/problem+json`` (its Accept header) gets that media type,
with the RFC 9457 members ``type``, ``title``, ``status`` and ``detail`` beside ``error``.

The HTML error pages of the rest of the app are registered per status code at app level,
and Flask prefers a code-specific app handler to a class-wide blueprint handler; so the API
registers its handler per status code on each of its blueprints. Requests that match no API
route (404, 405) have no blueprint: `json_routing_errors` answers those before dispatch.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions

from kpi_app.extensions import db

API_PREFIX = "/api/v1"
PROBLEM_JSON = "application/problem+json"
ERROR_CODES = sorted(code for code in default_exceptions if code >= 400)


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "Machine-readable error code, e.g. not_found"}
    )
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    details = ma.fields.Raw(
        allow_none=True,
        metadata={"description": "Per-field validation messages or per-row import problems"},
    )
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


def error_code(exception: HTTPException) -> str:
    """`Unprocessable Entity` → `unprocessable_entity`; rate limits get a clearer name."""
    if exception.code == 429:
        return "rate_limited"
    if exception.code == 422:
        return "validation_failed"
    return re.sub(r"[^a-z0-9]+", "_", (exception.name or "error").lower()).strip("_")


def _message(exception: HTTPException, data: dict[str, Any]) -> str:
    if isinstance(data.get("message"), str):
        return str(data["message"])
    if exception.code == 429:
        return f"Too many requests: the limit is {exception.description}. Retry later."
    if exception.code == 422:
        return "The request parameters or body are not valid; see details."
    return exception.description or exception.name or "error"


def _wants_problem_json() -> bool:
    """`Accept: application/problem+json` preferred to plain JSON (plain JSON otherwise)."""
    accepted = request.accept_mimetypes
    return accepted[PROBLEM_JSON] > accepted["application/json"]


def error_response(exception: HTTPException) -> Response:
    data: dict[str, Any] = getattr(exception, "data", None) or {}
    details = data.get("errors", data.get("messages"))
    body = {
        "error": {
            "code": error_code(exception),
            "message": _message(exception, data),
            "details": details,
            "status": exception.code,
        }
    }
    response = jsonify(body)
    if _wants_problem_json():
        # RFC 9457 members beside the usual "error" object, for clients that ask for them.
        response = jsonify(
            {
                "type": "about:blank",
                "title": exception.name or "Error",
                "status": exception.code or 500,
                "detail": body["error"]["message"],
                **body,
            }
        )
        response.mimetype = PROBLEM_JSON
    response.status_code = exception.code or 500
    headers = dict(exception.get_headers())
    headers.pop("Content-Type", None)
    headers.update(data.get("headers") or {})
    if isinstance(exception, MethodNotAllowed) and exception.valid_methods:
        headers["Allow"] = ", ".join(sorted(exception.valid_methods))
    response.headers.update(headers)
    return response


def handle_http_error(exception: HTTPException) -> Response:
    if (exception.code or 500) >= 500:
        db.session.rollback()  # never leave a half-done unit of work behind a 500
    return error_response(exception)


def register_error_handlers(blueprint: Blueprint) -> None:
    for code in ERROR_CODES:
        blueprint.register_error_handler(code, handle_http_error)


def json_routing_errors() -> Response | None:
    """App-level before_request: unmatched /api/v1 URLs answer in JSON, not the HTML page."""
    failure = request.routing_exception
    if (
        isinstance(failure, HTTPException)
        and (failure.code or 0) >= 400
        and (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"))
    ):
        return error_response(failure)
    return None

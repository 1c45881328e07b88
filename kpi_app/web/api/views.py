"""The open data API (/api/v1): OpenAPI registry, blueprints, errors, ETags and rate limits.

The blueprint discovery calls `init_app(app)` here (instead of registering a `bp`), because
the API needs a per-app flask-smorest `Api` that builds the OpenAPI document from the
blueprints' schemas (served at /api/v1/openapi.json; a server-rendered reference page at
/api/v1/docs lists the same operations without any outside script).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.routing import BaseConverter

from kpi_app.extensions import csrf, limiter
from kpi_app.web.api.errors import ErrorSchema, json_routing_errors, register_error_handlers
from kpi_app.web.api.exchange import exchange_bp
from kpi_app.web.api.notify import notify_bp
from kpi_app.web.api.resources import catalogue_bp, results_bp
from kpi_app.web.api.write import write_bp

API_BLUEPRINTS: tuple[ApiBlueprint, ...] = (
    catalogue_bp,
    results_bp,
    exchange_bp,
    write_bp,
    notify_bp,
)
DEFAULT_RATE_LIMIT = "120 per minute"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

API_CONFIG: dict[str, Any] = {
    "API_TITLE": "U4SSC KPI open data API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "KPI_API_RATE_LIMIT": DEFAULT_RATE_LIMIT,
}

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

#: City slugs as services.cities creates them; the OpenAPI document states the same pattern.
SLUG_PATTERN = "^[a-z0-9]+(?:-[a-z0-9]+)*$"


class SlugConverter(BaseConverter):
    """`<slug:slug>`: a city slug (lower-case letters and digits, single hyphens between)."""

    regex = SLUG_PATTERN.strip("^$")


def _slug_schema(_converter: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 80, "example": "fjordby"}


class KpiApi(Api):
    """smorest's Api with this API's error shape, and no app-wide JSON error handler.

    smorest would make every HTTP error of the whole site JSON; the HTML pages keep their
    own handlers, and the API blueprints register theirs (see errors.py).
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


def api_rate_limit() -> str:
    return str(current_app.config.get("KPI_API_RATE_LIMIT") or DEFAULT_RATE_LIMIT)


def add_etag(response: Response) -> Response:
    """Strong ETag on successful reads; If-None-Match then gets a 304 without a body."""
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.add_etag()
        response.make_conditional(request)
    return response


def _prepare_blueprints() -> None:
    """Once per process: the blueprints are module objects shared by every app built."""
    api_limit = limiter.shared_limit(api_rate_limit, scope="api-v1")
    for blueprint in API_BLUEPRINTS:
        register_error_handlers(blueprint)
        blueprint.after_request(add_etag)
        api_limit(blueprint)
    # Writes authenticate with a bearer token, never the session cookie: no CSRF exposure.
    csrf.exempt(write_bp)
    csrf.exempt(notify_bp)


_prepare_blueprints()


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of the OpenAPI document, for the reference page."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation:
                found.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "tag": (operation.get("tags") or [""])[0],
                        "parameters": operation.get("parameters", []),
                        "responses": sorted(operation.get("responses", {})),
                        "secured": bool(operation.get("security")),
                    }
                )
    return found


@docs_bp.route("/docs")
def docs() -> str:
    api: KpiApi = current_app.extensions["kpi_api"]
    spec = api.spec.to_dict()
    return render_template(
        "api/docs.html",
        title=_("Open data API"),
        spec=spec,
        operations=operations(spec),
        tags={tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])},
    )


def init_app(app: Flask) -> None:
    app.url_map.converters.setdefault("slug", SlugConverter)
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = KpiApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Published results of cities assessed with the U4SSC Key Performance "
                    "Indicators (ITU-T Y.4903), the KPI catalogue and benchmark sets, and the "
                    "same data as NGSI-LD, SDMX-CSV and Frictionless Data Package. Reads are "
                    "public and show published data only; writes need a personal API token."
                ),
            }
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_converter(SlugConverter, _slug_schema)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.extensions["kpi_api"] = api
    app.register_blueprint(docs_bp)
    app.before_request(json_routing_errors)

# mypy: disable-error-code="untyped-decorator"
# (flask-smorest ships no type hints, so its decorators are untyped; the views are typed.)
"""Exchange-format endpoints: NGSI-LD entities and @context, SDMX-CSV, Data Package zip."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, url_for
from flask_smorest import Blueprint, abort

from kpi_app.services import interop
from kpi_app.web.api import schemas
from kpi_app.web.api.resources import read_endpoint

exchange_bp = Blueprint(
    "api_exchange",
    __name__,
    url_prefix="/api/v1",
    description="Published results in the exchange formats of the field.",
)

JSON_LD = "application/ld+json"
SDMX_CSV = "application/vnd.sdmx.data+csv; version=2.0.0"


def _context_url() -> str:
    return url_for("api_exchange.ngsi_context", _external=True)


def _json_ld(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=JSON_LD)


@exchange_bp.route("/ngsi-ld/context.jsonld")
@exchange_bp.response(200, content_type=JSON_LD, description="JSON-LD @context document")
@read_endpoint(exchange_bp)
def ngsi_context() -> Response:
    """The JSON-LD @context of the exported entities (model and U4SSC extension terms)."""
    return _json_ld(interop.ngsi_ld_context(url_for("api_exchange.ngsi_context", _external=True)))


def _page_link(offset: int, limit: int, rel: str) -> str:
    values: dict[str, Any] = {**request.args.to_dict(), "offset": offset, "limit": limit}
    url = url_for("api_exchange.ngsi_entities", _external=True, **values)
    return f'<{url}>; rel="{rel}"; type="{JSON_LD}"'


@exchange_bp.route("/ngsi-ld/entities")
@exchange_bp.arguments(schemas.NgsiArgs, location="query", as_kwargs=True, error_status_code=400)
@exchange_bp.response(
    200,
    content_type=JSON_LD,
    description=(
        "Array of KeyPerformanceIndicator entities (one page). Link headers rel=next/prev "
        "point at the neighbouring pages; NGSILD-Results-Count holds the total when count=true."
    ),
    headers={
        "NGSILD-Results-Count": {
            "description": "Total number of matching entities (with count=true)",
            "schema": {"type": "integer"},
        },
        "Link": {"description": "RFC 8288 links to the next and previous pages"},
    },
)
@exchange_bp.alt_response(400, schema="Error", description="A parameter is out of range")
@read_endpoint(exchange_bp)
def ngsi_entities(
    options: str,
    limit: int,
    offset: int,
    count: bool,
    year: int | None = None,
    city: str | None = None,
    kpiSet: str | None = None,  # the query parameter's name (NGSI-LD camelCase)
) -> Response:
    """FIWARE KeyPerformanceIndicator entities, one per city × KPI item × year.

    Paged like an NGSI-LD broker: `limit` (default 20, at most 1000), `offset`, `count=true`.
    Published local KPIs (city-defined, `localCode`) follow the U4SSC entities;
    `kpiSet=u4ssc` or `kpiSet=local` gives one set only.
    """
    entities, total = interop.ngsi_ld_page(
        _context_url(),
        year=year,
        city=city,
        key_values=options == "keyValues",
        offset=offset,
        limit=limit,
        kpi_set=kpiSet,
    )
    response = _json_ld(entities)
    links = []
    if limit and offset + limit < total:
        links.append(_page_link(offset + limit, limit, "next"))
    if limit and offset > 0:
        links.append(_page_link(max(0, min(offset, total) - limit), limit, "prev"))
    if links:
        response.headers["Link"] = ", ".join(links)
    if count:
        response.headers["NGSILD-Results-Count"] = str(total)
    return response


@exchange_bp.route("/sdmx/data.csv")
@exchange_bp.arguments(schemas.SdmxArgs, location="query", as_kwargs=True)
@exchange_bp.response(200, content_type=SDMX_CSV, description="SDMX-CSV 2.0 observations")
@read_endpoint(exchange_bp)
def sdmx(year: int | None = None, city: str | None = None) -> Response:
    """Published values as SDMX-CSV (one observation per city × year × KPI item)."""
    return Response(interop.sdmx_csv_data(year=year, city=city), mimetype=SDMX_CSV)


SDMX_STRUCTURE = "application/vnd.sdmx.structure+xml; version=2.1"


@exchange_bp.route("/sdmx/structure")
@exchange_bp.response(
    200,
    content_type=SDMX_STRUCTURE,
    description=(
        "SDMX-ML 2.1 structure message: the dataflow U4SSC:DF_U4SSC_KPI(1.0) of "
        "/sdmx/data.csv, its data structure definition, concepts and code lists"
    ),
)
@read_endpoint(exchange_bp)
def sdmx_structure() -> Response:
    """The SDMX structure (DSD, dataflow, code lists) that the SDMX-CSV rows name."""
    return Response(interop.sdmx_structure(), content_type=SDMX_STRUCTURE)


@exchange_bp.route("/sdmx/local/data.csv")
@exchange_bp.arguments(schemas.SdmxArgs, location="query", as_kwargs=True)
@exchange_bp.response(
    200,
    content_type=SDMX_CSV,
    description="SDMX-CSV 2.0 observations of the dataflow U4SSC:DF_U4SSC_LOCAL(1.0)",
)
@read_endpoint(exchange_bp)
def sdmx_local(year: int | None = None, city: str | None = None) -> Response:
    """Published local KPI values (city-defined, codes LOCAL_<city>_<CODE>) as SDMX-CSV of
    their own dataflow, apart from the U4SSC one."""
    return Response(interop.sdmx_local_csv_data(year=year, city=city), mimetype=SDMX_CSV)


@exchange_bp.route("/sdmx/local/structure")
@exchange_bp.response(
    200,
    content_type=SDMX_STRUCTURE,
    description=(
        "SDMX-ML 2.1 structure message: the dataflow U4SSC:DF_U4SSC_LOCAL(1.0) of "
        "/sdmx/local/data.csv, its DSD, concepts and code lists (CL_LOCAL_INDICATOR from "
        "the published local KPI definitions)"
    ),
)
@read_endpoint(exchange_bp)
def sdmx_local_structure() -> Response:
    """The SDMX structure of the local KPIs' dataflow (never mixed into CL_INDICATOR)."""
    return Response(interop.sdmx_local_structure(), content_type=SDMX_STRUCTURE)


@exchange_bp.route("/datapackage/<int(min=1900,max=2200):year>.zip")
@exchange_bp.response(200, content_type="application/zip", description="Zipped Data Package")
@exchange_bp.alt_response(404, schema="Error", description="Nothing published that year")
@read_endpoint(exchange_bp)
def datapackage(year: int) -> Response:
    """A Frictionless Data Package of one published cycle (all cities of that year)."""
    if not interop.has_published(year):
        abort(404, message=f"nothing is published for {year}")
    exported = interop.export("datapackage", year=year, context_url=_context_url())
    return Response(
        exported.content,
        mimetype=exported.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )

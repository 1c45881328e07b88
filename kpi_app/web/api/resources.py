# mypy: disable-error-code="untyped-decorator"
# (flask-smorest ships no type hints, so its decorators are untyped; the views are typed.)
"""Read endpoints of /api/v1: catalogue, benchmark sets, SDG links, and published results.

Thin views: parse the query (smorest + schemas), call one service function, page the list.
Everything comes from `services.interop`, which reads published snapshots only, so these
endpoints show the same to everyone, signed in or not.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint, abort

from kpi_app.catalogue import BenchmarkSet, text
from kpi_app.services import interop
from kpi_app.web.api import schemas
from kpi_app.web.api.paging import paginate

catalogue_bp = Blueprint(
    "api_catalogue",
    __name__,
    url_prefix="/api/v1",
    description="The KPI catalogue, benchmark sets, scoring methods and SDG links.",
)
results_bp = Blueprint(
    "api_results",
    __name__,
    url_prefix="/api/v1",
    description="Published cities, assessments, values and scores.",
)

NOT_MODIFIED = "Not modified: the If-None-Match ETag still matches."
RATE_LIMITED = "Too many requests (see the Retry-After header)."


def _ref(path: str) -> str:
    """An OpenAPI operationRef of the GET operation on `path` (JSON pointer escaping)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/get"


def links(**targets: tuple[str, dict[str, str]]) -> dict[str, Any]:
    """OpenAPI links of a 200 response: name → (path of the target GET, its parameters)."""
    return {
        "responses": {
            200: {  # an int, as smorest keys its own response docs: the two merge
                "links": {
                    name: {"operationRef": _ref(path), "parameters": parameters}
                    for name, (path, parameters) in targets.items()
                }
            }
        }
    }


ASSESSMENT_PATH = "/api/v1/cities/{slug}/assessments/{year}"


def read_endpoint(blueprint: Blueprint) -> Any:
    """Document what every read endpoint may answer besides 200: 304 and 429."""

    def decorate(view: Any) -> Any:
        view = blueprint.alt_response(304, description=NOT_MODIFIED)(view)
        return blueprint.alt_response(429, description=RATE_LIMITED, schema="Error")(view)

    return decorate


def _bad_filter(error: ValueError) -> None:
    abort(422, message=str(error), errors={"query": [str(error)]})


# --- catalogue ----------------------------------------------------------------------------


@catalogue_bp.route("/indicators")
@catalogue_bp.arguments(schemas.IndicatorArgs, location="query", as_kwargs=True)
@catalogue_bp.response(200, schemas.page_of(schemas.IndicatorSchema, "IndicatorPage"))
@read_endpoint(catalogue_bp)
def indicators(page: int, page_size: int, **filters: Any) -> Any:
    """The 91 U4SSC KPIs (one record per KPI, data points nested)."""
    try:
        records = interop.indicator_records(**filters)
    except ValueError as error:
        _bad_filter(error)
    return paginate(records, page, page_size)


def _set_summary(benchmarks: BenchmarkSet) -> dict[str, Any]:
    return {
        "id": benchmarks.id,
        "name": text(benchmarks.name, "en"),
        "version": benchmarks.version,
        "description": benchmarks.description,
        "entries": len(benchmarks.benchmarks),
    }


@catalogue_bp.route("/benchmark-sets")
@catalogue_bp.response(200, schemas.BenchmarkSetSchema(many=True))
@catalogue_bp.doc(
    **links(BenchmarkSet=("/api/v1/benchmark-sets/{set_id}", {"set_id": "$response.body#/0/id"}))
)
@read_endpoint(catalogue_bp)
def benchmark_sets() -> Any:
    """Named, versioned benchmark sets (targets with provenance)."""
    return [_set_summary(found) for found in interop.benchmark_set_list()]


@catalogue_bp.route("/benchmark-sets/<set_id>")
@catalogue_bp.response(200, schemas.BenchmarkSetDetailSchema)
@catalogue_bp.alt_response(404, schema="Error", description="No such benchmark set")
@read_endpoint(catalogue_bp)
def benchmark_set(set_id: str) -> Any:
    """One benchmark set with every target, its source and rationale."""
    found = interop.benchmark_set_detail(set_id)
    rows = found.to_frame().astype(object)
    benchmarks = rows.where(rows.notna(), None).to_dict(orient="records")
    return {**_set_summary(found), "benchmarks": benchmarks}


@catalogue_bp.route("/methods")
@catalogue_bp.response(200, schemas.MethodSchema(many=True))
@read_endpoint(catalogue_bp)
def methods() -> Any:
    """Scoring methods the engine offers: the U4SSC rule and the composite presets."""
    return interop.scoring_methods()


@catalogue_bp.route("/sdg-links")
@catalogue_bp.arguments(schemas.SdgArgs, location="query", as_kwargs=True)
@catalogue_bp.response(200, schemas.page_of(schemas.SdgLinkSchema, "SdgLinkPage"))
@read_endpoint(catalogue_bp)
def sdg_links(page: int, page_size: int, **filters: Any) -> Any:
    """Links from U4SSC KPIs to Sustainable Development Goal indicators."""
    try:
        links = interop.sdg_links(**filters)
    except ValueError as error:
        _bad_filter(error)
    return paginate(links, page, page_size)


# --- published results --------------------------------------------------------------------


@results_bp.route("/cities")
@results_bp.arguments(schemas.CityArgs, location="query", as_kwargs=True)
@results_bp.response(200, schemas.page_of(schemas.CitySchema, "CityPage"))
@results_bp.doc(**links(City=("/api/v1/cities/{slug}", {"slug": "$response.body#/data/0/slug"})))
@read_endpoint(results_bp)
def cities(page: int, page_size: int, country: str | None = None) -> Any:
    """Cities with at least one published assessment (paged in SQL)."""
    records, total = interop.public_city_records_page(
        country, offset=(page - 1) * page_size, limit=page_size
    )
    return paginate(records, page, page_size, total)


@results_bp.route("/cities/<slug:slug>")
@results_bp.response(200, schemas.CitySchema)
@results_bp.alt_response(404, schema="Error", description="No published city of that slug")
@read_endpoint(results_bp)
def city(slug: str) -> Any:
    return interop.city_record(*interop.public_city(slug))


@results_bp.route("/assessments")
@results_bp.arguments(schemas.AssessmentArgs, location="query", as_kwargs=True)
@results_bp.response(200, schemas.page_of(schemas.AssessmentSchema, "AssessmentPage"))
@results_bp.doc(
    **links(
        Assessment=(
            ASSESSMENT_PATH,
            {"slug": "$response.body#/data/0/city", "year": "$response.body#/data/0/year"},
        ),
        Scores=(
            ASSESSMENT_PATH + "/scores",
            {"slug": "$response.body#/data/0/city", "year": "$response.body#/data/0/year"},
        ),
    )
)
@read_endpoint(results_bp)
def assessments(page: int, page_size: int, **filters: Any) -> Any:
    """Published assessments (city × reporting year) with their snapshot fingerprint."""
    return paginate(interop.published_assessments(**filters), page, page_size)


@results_bp.route("/cities/<slug:slug>/assessments/<int(min=1900,max=2200):year>")
@results_bp.response(200, schemas.AssessmentSchema)
@results_bp.alt_response(404, schema="Error", description="Not published")
@read_endpoint(results_bp)
def assessment(slug: str, year: int) -> Any:
    return interop.published_assessment(slug, year)


@results_bp.route("/values")
@results_bp.arguments(schemas.ValueArgs, location="query", as_kwargs=True)
@results_bp.response(200, schemas.page_of(schemas.ValueSchema, "ValuePage"))
@read_endpoint(results_bp)
def values(page: int, page_size: int, **filters: Any) -> Any:
    """Published values, one per city × year × KPI item; filter by country, year, city, code."""
    try:
        found = interop.published_observations(**filters)
    except ValueError as error:
        _bad_filter(error)
    return paginate(found, page, page_size)


@results_bp.route("/cities/<slug:slug>/assessments/<int(min=1900,max=2200):year>/scores")
@results_bp.arguments(schemas.ScoreArgs, location="query", as_kwargs=True)
@results_bp.response(200, schemas.ScoreSchema)
@results_bp.alt_response(404, schema="Error", description="Not published")
@results_bp.alt_response(
    422,
    schema="Error",
    description="Bad parameters, no usable peer group (see peers), or unknown benchmark set",
)
@read_endpoint(results_bp)
def scores(
    slug: str, year: int, method: str, peers: str | None = None, benchmark_set: str | None = None
) -> Any:
    """Scores of a published assessment at every level, by the chosen method.

    Relative methods score the assessment among its peers (the year's published
    assessments, or those named in ``peers``) and list them in ``peers``. With
    ``benchmark_set``, an analysis against that set (not the published result).
    """
    peer_slugs = None if peers is None else [p for p in peers.split(",") if p.strip()]
    try:
        return interop.published_scores(
            slug, year, method, peers=peer_slugs, benchmark_set=benchmark_set
        )
    except interop.UnknownBenchmarkSet as error:
        abort(422, message=str(error), errors={"query": {"benchmark_set": [str(error)]}})
    except interop.PeerGroupError as error:
        abort(422, message=str(error), errors={"query": {"peers": [str(error)]}})

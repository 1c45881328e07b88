"""Dashboards: the city map and list, city profiles, comparisons, Member State and SDG views.

Every view parses the request and asks :mod:`.pages` for one page (or :mod:`.pdf` and
:mod:`kpi_app.services.reports` for a download). The reports service builds the data and
authorises through the permissions service; :mod:`.pages` renders the main content and caches
it (``dashboards/page.html`` lays it out), so a repeated view costs a few small queries.
Unknown or unauthorised addresses answer 404, so unpublished data never leaks through an
error message either.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from kpi_app.services import reports
from kpi_app.web.dashboards import pages, pdf, pdf_jobs
from kpi_app.web.numbers import int_arg

bp = Blueprint("dashboards", __name__)


@bp.record_once
def _render_published_pdfs_once(state: Any) -> None:
    """Publishing queues the published PDFs (a hook: services never import the web)."""
    from kpi_app.services.workflow import PUBLISHED_HOOKS

    state.app.extensions.setdefault(PUBLISHED_HOOKS, []).append(pdf_jobs.on_published)


F = TypeVar("F", bound=Callable[..., Any])


def not_found_on_missing_report(view: F) -> F:
    """Turn ReportNotFound (unknown, unpublished or forbidden) into a plain 404."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except reports.ReportNotFound:
            abort(404)

    return wrapper  # type: ignore[return-value]


def send(download: reports.Download) -> Response:
    disposition = "inline" if download.mimetype == reports.MIMETYPES["svg"] else "attachment"
    return Response(
        download.data,
        content_type=download.mimetype,  # verbatim: mimetype= would add a second charset
        headers={"Content-Disposition": f'{disposition}; filename="{download.filename}"'},
    )


def render_page(page: pages.Page) -> str:
    """Lay a cached page out in the site's layout (navigation, language, account menu)."""
    return render_template("dashboards/page.html", page=page)


@bp.context_processor
def band_legend() -> dict[str, Any]:
    """The four U4SSC band labels, translated, for legends on every dashboard page."""
    return {"band_labels": reports.translated_band_labels()}


def _year_arg() -> int | None:
    return int_arg("year")


@bp.route("/cities")
def cities() -> str:
    filters = reports.CityFilters(
        country=request.args.get("country", ""),
        region=request.args.get("region", ""),
        size=request.args.get("size", ""),
        status=request.args.get("status", ""),
        page=max(1, int_arg("page", 1) or 1),
    )
    return render_page(pages.directory_page(current_user, filters))


@bp.route("/cities/<slug>")
@bp.route("/cities/<slug>/<int:year>")
@not_found_on_missing_report
def city(slug: str, year: int | None = None) -> str:
    return render_page(
        pages.city_page(
            slug,
            year,
            current_user,
            request.args.get("source"),
            request.args.get("benchmark_set") or None,
        )
    )


@bp.route("/cities/<slug>/<int:year>/explain/<level>/<path:group_id>")
@not_found_on_missing_report
def explain(slug: str, year: int, level: str, group_id: str) -> str:
    explanation = reports.score_explanation(
        slug, year, level, group_id, current_user, request.args.get("source")
    )
    return render_template("dashboards/explain.html", explanation=explanation)


@bp.route("/cities/<slug>/<int:year>/download/<name>.<fmt>")
@not_found_on_missing_report
def city_download(slug: str, year: int, name: str, fmt: str) -> Response:
    source = request.args.get("source")
    if fmt == "pdf" and name in pdf_jobs.KINDS:
        return send_pdf(pdf_jobs.pdf_for(slug, year, name, current_user, source))
    return send(pdf.city_download(slug, year, name, fmt, current_user, source))


def send_pdf(found: pdf_jobs.PdfFile | pdf_jobs.PdfPending) -> Response:
    """The stored PDF (read from the file store, a few hundred KB), or a status page that
    reloads itself until the background job has made it (202; a plain reload works too)."""
    if isinstance(found, pdf_jobs.PdfFile):
        return send(reports.Download(found.filename, reports.MIMETYPES["pdf"], found.data()))
    status = 500 if found.failed else 202
    body = render_template("dashboards/pdf_status.html", pending=found)
    response = Response(body, status=status, mimetype="text/html")
    if not found.failed:
        response.headers["Refresh"] = str(found.refresh_seconds)
        response.headers["Retry-After"] = str(found.refresh_seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/compare")
def compare() -> str:
    page = pages.compare_page(
        request.args.getlist("city"),
        _year_arg(),
        current_user,
        int_arg("heatmap_page", 1) or 1,
        ranks=request.args.get("ranks") == "1",
    )
    return render_page(page)


@bp.route("/compare/download/<name>.<fmt>")
@not_found_on_missing_report
def compare_download(name: str, fmt: str) -> Response:
    return send(
        reports.compare_download(request.args.getlist("city"), _year_arg(), name, fmt, current_user)
    )


@bp.route("/countries/<iso2>")
@not_found_on_missing_report
def country(iso2: str) -> str:
    return render_page(pages.country_page(iso2, current_user))


@bp.route("/countries/<iso2>/download/<name>.<fmt>")
@not_found_on_missing_report
def country_download(iso2: str, name: str, fmt: str) -> Response:
    return send(reports.country_download(iso2, name, fmt, current_user))


@bp.route("/sdg")
def sdg() -> str:
    return render_page(pages.sdg_page(current_user))


@bp.route("/sdg/<ref>")
@not_found_on_missing_report
def sdg_target(ref: str) -> str:
    return render_page(pages.sdg_target_page(ref, current_user, int_arg("page", 1) or 1))


@bp.route("/sdg/download/<name>.<fmt>")
@not_found_on_missing_report
def sdg_download(name: str, fmt: str) -> Response:
    return send(reports.sdg_download(name, fmt, current_user))

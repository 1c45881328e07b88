"""Public views of the platform and its KPI catalogue."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.services import cities, reports
from kpi_app.services.catalogue import benchmark_set, current_catalogue

bp = Blueprint("public", __name__)


@bp.route("/")
def home() -> str:
    return render_template("public/home.html", cities=cities.list_cities())


@bp.route("/indicators")
def catalogue() -> str:
    return render_template("public/catalogue.html", benchmarks=benchmark_set())


@bp.route("/indicators/<path:code>")
def catalogue_indicator(code: str) -> str:
    try:
        indicator = current_catalogue().indicator(code)
    except (KeyError, ValueError):
        abort(404)
    benchmarks = benchmark_set()
    return render_template(
        "public/indicator.html",
        indicator=indicator,
        benchmarks=[b for b in benchmarks.benchmarks if b.code == indicator.code],
        benchmark_set=benchmarks,
        published=reports.indicator_values(indicator.code, current_user),
        band_labels=reports.translated_band_labels(),
    )


@bp.route("/indicators/<path:code>/values.<fmt>")
def catalogue_indicator_download(code: str, fmt: str) -> Response:
    """Every published value of one KPI as CSV or Excel (the table of its page)."""
    try:
        indicator = current_catalogue().indicator(code)
        download = reports.indicator_download(indicator.code, fmt, current_user)
    except (KeyError, ValueError, reports.ReportNotFound):
        abort(404)
    return Response(
        download.data,
        mimetype=download.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


@bp.route("/accessibility")
def accessibility() -> str:
    return render_template("public/accessibility.html")


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Browsers and feed readers that ask for /favicon.ico get the site's SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=302)

"""Public views of the platform and its KPI catalogue."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from kpi_app.services import cities, reports
from kpi_app.services.cache import files_digest, get_cache, page_key
from kpi_app.services.catalogue import benchmark_set, current_catalogue
from kpi_app.web.numbers import int_arg

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
    labels = reports.translated_band_labels()
    page = max(1, int_arg("page", 1) or 1)
    parts = reports.indicator_values_key(indicator.code)

    def render_published() -> str:
        return render_template(
            "public/_indicator_published.html",
            indicator=indicator,
            published=reports.indicator_values(
                indicator.code, current_user, page, parts["published"]
            ),
            band_labels=labels,
        )

    # The published block (a page of the values table, the band counts and the quartile
    # chart, read in SQL) is the same for every user: cached under what it shows (issue 20).
    templates = Path(current_app.root_path) / (current_app.template_folder or "templates")
    key = page_key(
        "indicator-values",
        {
            **parts,
            "page": page,
            "locale": reports.locale(),
            "root": request.script_root,
            "templates": files_digest([templates / d for d in ("public", "dashboards", "_macros")]),
        },
    )
    return render_template(
        "public/indicator.html",
        indicator=indicator,
        benchmarks=[b for b in benchmarks.benchmarks if b.code == indicator.code],
        benchmark_set=benchmarks,
        published_html=Markup(get_cache().get_or_compute(key, render_published)),
        band_labels=labels,
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

"""VLR annex: a city's indicators by SDG goal → target, as a page, a CSV and a PDF.

Same data rule as the city page (:mod:`kpi_app.services.reports`): the public sees the
published snapshot; whoever may see the assessment may ask for ``?source=live``. Unknown or
unauthorised addresses answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user

from kpi_app.services import reports, vlr

bp = Blueprint("vlr", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def _not_found_on_missing(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except reports.ReportNotFound:
            abort(404)

    return wrapper  # type: ignore[return-value]


def _annex(slug: str, year: int) -> vlr.VlrAnnex:
    return vlr.vlr_annex(slug, year, current_user, request.args.get("source"))


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        content_type=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/cities/<slug>/<int:year>/vlr")
@_not_found_on_missing
def annex(slug: str, year: int) -> str:
    return render_template("vlr/annex.html", annex=_annex(slug, year))


@bp.route("/cities/<slug>/<int:year>/vlr.csv")
@_not_found_on_missing
def annex_csv_download(slug: str, year: int) -> Response:
    annex = _annex(slug, year)
    return _attachment(vlr.annex_csv(annex), reports.MIMETYPES["csv"], f"{annex.filename_stem}.csv")


@bp.route("/cities/<slug>/<int:year>/vlr.pdf")
@_not_found_on_missing
def annex_pdf_download(slug: str, year: int) -> Response:
    annex = _annex(slug, year)
    html = render_template("vlr/pdf.html", annex=annex, lang=reports.locale())
    pdf = vlr.pdf_from_html(html, url_for("static", filename="", _external=True))
    return _attachment(pdf, reports.MIMETYPES["pdf"], f"{annex.filename_stem}.pdf")

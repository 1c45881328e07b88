"""The methods lab: an analyst's spec over a peer group of published assessments.

A plain GET form (works without JavaScript); the query string is the spec, so a lab view is a
shareable address. The spec downloads as JSON and uploads back (a plain multipart POST that
redirects to the query's address). The service :mod:`kpi_app.services.lab` parses, scores and
formats; the synergies and trade-offs of the same peer group are at ``/lab/correlations``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from kpi_app.services import lab, lab_files, lab_relations

bp = Blueprint("lab", __name__, url_prefix="/lab")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Not-significant pairs shown on the correlations page (all of them are in the CSV).
OTHER_PAIRS_SHOWN = 50


def _lang() -> str:
    return str(get_locale() or "en")


def _args() -> dict[str, list[str]]:
    # `lang` picks the page's language (any page takes it), it is not part of the spec.
    return {key: request.args.getlist(key) for key in request.args if key != "lang"}


def _bad(error: lab.LabError) -> Response:
    return Response(str(error) + "\n", status=400, content_type="text/plain; charset=utf-8")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@bp.get("/")
def index() -> tuple[str, int] | str:
    args = _args()
    if not args:
        return render_template("lab/index.html", page=lab.blank_page(current_user, lang=_lang()))
    try:
        page = lab.lab_page(args, current_user, _lang())
    except lab.LabError as error:
        return render_template(
            "lab/index.html", page=lab.blank_page(current_user, args, _lang()), error=str(error)
        ), 400
    return render_template("lab/index.html", page=page)


@bp.post("/spec")
def spec_upload() -> BaseResponse | tuple[str, int]:
    """Load a downloaded spec file: redirect to its query's address, or say what is wrong."""
    upload = request.files.get("spec_file")
    try:
        if upload is None or not upload.filename:
            raise lab.LabError("choose a spec file (JSON, as the lab downloads it) to load")
        query = lab_files.query_from_document(upload.read(lab_files.MAX_SPEC_BYTES + 1))
    except lab.LabError as error:
        page = lab.blank_page(current_user, {}, _lang())
        return render_template("lab/index.html", page=page, upload_error=str(error)), 400
    return redirect(url_for("lab.index") + "?" + query.query_string(), code=303)


@bp.get("/spec.json")
def spec_download() -> Response:
    try:
        query = lab.parse_query(_args())
    except lab.LabError as error:
        return _bad(error)
    return Response(
        json.dumps(query.to_dict(), indent=2, sort_keys=True) + "\n",
        content_type="application/json",
        headers=_attachment(f"lab-spec-{query.year}.json"),
    )


@bp.get("/results.csv")
def results_download() -> Response:
    try:
        result = lab.run_lab(lab.parse_query(_args()), current_user, _lang())
    except lab.LabError as error:
        return _bad(error)
    return Response(
        result.to_csv(),
        content_type="text/csv; charset=utf-8",
        headers=_attachment(f"lab-{result.query.year}.csv"),
    )


@bp.get("/results.xlsx")
def results_workbook() -> Response:
    try:
        result = lab.run_lab(lab.parse_query(_args()), current_user, _lang())
    except lab.LabError as error:
        return _bad(error)
    return Response(
        result.to_xlsx(),
        content_type=XLSX_TYPE,
        headers=_attachment(f"lab-{result.query.year}.xlsx"),
    )


@bp.get("/correlations")
def correlations() -> tuple[str, int] | str:
    """Synergies and trade-offs among the KPIs of the query's peer group."""
    args = _args()
    if "year" not in args:
        year = lab.latest_year(current_user)
        if year is not None:
            args["year"] = [str(year)]
    try:
        relations = lab_relations.run_relations(lab.parse_query(args), current_user, _lang())
    except lab.LabError as error:
        return render_template("lab/correlations.html", relations=None, error=str(error)), 400
    return render_template(
        "lab/correlations.html", relations=relations, others_shown=OTHER_PAIRS_SHOWN
    )


@bp.get("/correlations.csv")
def correlations_download() -> Response:
    try:
        relations = lab_relations.run_relations(lab.parse_query(_args()), current_user, _lang())
    except lab.LabError as error:
        return _bad(error)
    return Response(
        lab_relations.relations_csv(relations),
        content_type="text/csv; charset=utf-8",
        headers=_attachment(f"lab-correlations-{relations.query.year}.csv"),
    )

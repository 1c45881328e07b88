"""The methods lab: an analyst's spec over a peer group of published assessments.

A plain GET form (works without JavaScript); the query string is the spec, so a lab view is a
shareable address. The service :mod:`kpi_app.services.lab` parses, scores and formats.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from kpi_app.services import lab

bp = Blueprint("lab", __name__, url_prefix="/lab")


def _args() -> dict[str, list[str]]:
    return {key: request.args.getlist(key) for key in request.args}


def _bad(error: lab.LabError) -> Response:
    return Response(str(error) + "\n", status=400, content_type="text/plain; charset=utf-8")


@bp.get("/")
def index() -> tuple[str, int] | str:
    args = _args()
    if not args:
        return render_template("lab/index.html", page=lab.blank_page(current_user))
    try:
        page = lab.lab_page(args, current_user)
    except lab.LabError as error:
        return render_template(
            "lab/index.html", page=lab.blank_page(current_user, args), error=str(error)
        ), 400
    return render_template("lab/index.html", page=page)


@bp.get("/spec.json")
def spec_download() -> Response:
    try:
        query = lab.parse_query(_args())
    except lab.LabError as error:
        return _bad(error)
    return Response(
        json.dumps(query.to_dict(), indent=2, sort_keys=True) + "\n",
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="lab-spec-{query.year}.json"'},
    )


@bp.get("/results.csv")
def results_download() -> Response:
    try:
        result = lab.run_lab(lab.parse_query(_args()), current_user)
    except lab.LabError as error:
        return _bad(error)
    return Response(
        result.to_csv(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lab-{result.query.year}.csv"'},
    )

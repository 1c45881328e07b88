"""Scenario workspace pages: list, workspace, needle, projections, compare, correlations, sensors.

Views parse the request, authorise through ``services.scenarios`` / ``services.permissions``
and call one service function. A scenario the user may not view answers 404, so its existence
is not revealed; one they may view but not edit answers 403 on writes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from kpi_app.models import Scenario
from kpi_app.models.sensors import SensorImport
from kpi_app.services import permissions, scenarios, sensors
from kpi_app.services.catalogue import current_catalogue
from kpi_app.web.numbers import int_args, int_form
from kpi_app.web.scenarios.forms import (
    CreateScenarioForm,
    NeedleForm,
    RuleForm,
    SensorUploadForm,
    options,
    parse_item_values,
)

bp = Blueprint("scenarios", __name__, url_prefix="/scenarios")


@bp.before_request
@login_required
def require_login() -> None:
    """The whole workspace is for signed-in users."""


def _viewable(scenario_id: int) -> Scenario:
    scenario = scenarios.get_scenario(scenario_id)
    if scenario is None or not scenarios.can_view(current_user, scenario):
        abort(404)
    return scenario


def _editable(scenario_id: int) -> Scenario:
    scenario = _viewable(scenario_id)
    if not scenarios.can_edit(current_user, scenario):
        abort(403)
    return scenario


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


@bp.route("/")
def index() -> str:
    form = CreateScenarioForm()
    form.assessment.choices = _assessment_choices()
    return render_template(
        "scenarios/index.html",
        form=form,
        scenarios=scenarios.visible_scenarios(current_user),
        sensor_assessments=sensors.editable_assessments(current_user),
    )


def _assessment_choices() -> list[SelectChoice]:
    return options(
        [(a.id, f"{a.city.name} {a.year}") for a in scenarios.startable_assessments(current_user)]
    )


@bp.route("/new", methods=["POST"])
def create() -> Any:
    form = CreateScenarioForm()
    form.assessment.choices = _assessment_choices()
    if not form.validate_on_submit():
        return render_template(
            "scenarios/index.html",
            form=form,
            scenarios=scenarios.visible_scenarios(current_user),
        ), 400
    assessment = scenarios.get_assessment(form.assessment.data)
    if assessment is None:
        abort(404)
    scenario = scenarios.create_scenario(
        assessment, current_user, form.name.data or "", form.description.data
    )
    flash(_("Scenario created. Change values or add rules below."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id))


def _workspace(
    scenario: Scenario,
    *,
    errors: dict[str, str] | None = None,
    rule_form: RuleForm | None = None,
    status: int = 200,
) -> Any:
    evaluation = scenarios.evaluate(scenario)
    if rule_form is None:
        rule_form = RuleForm()
    rule_form.set_items(current_catalogue(), _lang())
    return render_template(
        "scenarios/workspace.html",
        scenario=scenario,
        evaluation=evaluation,
        describe=scenarios.describe,
        can_edit=scenarios.can_edit(current_user, scenario),
        can_upload=permissions.can_edit_values(current_user, scenario.assessment),
        source=scenarios.source_of(scenario),
        rule_form=rule_form,
        errors=errors or {},
        typed=request.form if errors else {},
    ), status


@bp.route("/<int:scenario_id>")
def show(scenario_id: int) -> Any:
    return _workspace(_viewable(scenario_id))


@bp.route("/<int:scenario_id>/values", methods=["POST"])
def save_values(scenario_id: int) -> Any:
    scenario = _editable(scenario_id)
    values, errors = parse_item_values(request.form, current_catalogue())
    horizon = int_form("horizon_year")
    if errors:
        return _workspace(scenario, errors=errors, status=400)
    problems = scenarios.set_values(scenario, current_user, values, horizon)
    if problems:
        for problem in problems:
            flash(problem, "error")
        return _workspace(scenario, status=400)
    flash(_("Scenario saved and recalculated."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id) + "#scores")


@bp.route("/<int:scenario_id>/preview", methods=["POST"])
def preview(scenario_id: int) -> Response:
    """JSON scores for unsaved values: the page's live recalculation (JS enhancement)."""
    scenario = _viewable(scenario_id)
    values, errors = parse_item_values(request.form, current_catalogue())
    evaluation = scenarios.preview(scenario, values)
    levels = scenarios.export_json(evaluation)["levels"]
    return jsonify(
        {"errors": errors, "dimensions": levels["dimensions"], "overall": levels["overall"]}
    )


@bp.route("/<int:scenario_id>/rules", methods=["POST"])
def add_rule(scenario_id: int) -> Any:
    scenario = _editable(scenario_id)
    form = RuleForm()
    form.set_items(current_catalogue(), _lang())
    if not form.validate_on_submit():
        return _workspace(scenario, rule_form=form, status=400)
    code, _sep, data_point = (form.item.data or "").partition("|")
    problems = scenarios.add_rule(
        scenario,
        current_user,
        {
            "kind": form.kind.data,
            "code": code,
            "data_point": data_point,
            "amount": float(form.amount.data) if form.amount.data is not None else None,
            "by_year": form.by_year.data,
        },
    )
    if problems:
        form.amount.errors = list(problems)
        return _workspace(scenario, rule_form=form, status=400)
    flash(_("Rule added."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id) + "#scores")


@bp.route("/<int:scenario_id>/adjustments/remove", methods=["POST"])
def remove_adjustment(scenario_id: int) -> Any:
    scenario = _editable(scenario_id)
    scenarios.remove_adjustment(
        scenario, current_user, request.form.get("code", ""), request.form.get("data_point", "")
    )
    flash(_("Change removed."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id) + "#adjustments")


@bp.route("/<int:scenario_id>/refresh", methods=["POST"])
def refresh(scenario_id: int) -> Any:
    scenario = _editable(scenario_id)
    scenarios.refresh_baseline(scenario, current_user)
    flash(_("Baseline copied again from the assessment."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id))


@bp.route("/<int:scenario_id>/delete", methods=["POST"])
def delete(scenario_id: int) -> Any:
    scenario = _editable(scenario_id)
    scenarios.delete_scenario(scenario, current_user)
    flash(_("Scenario deleted."), "success")
    return redirect(url_for("scenarios.index"))


@bp.route("/<int:scenario_id>/needle")
def needle(scenario_id: int) -> str:
    scenario = _viewable(scenario_id)
    catalogue = current_catalogue()
    form = NeedleForm(request.args)
    form.dimension.choices = options([(d.id, d.label(_lang())) for d in catalogue.dimensions])
    known = {d.id for d in catalogue.dimensions}
    dimension = form.dimension.data if form.dimension.data in known else catalogue.dimensions[0].id
    band = form.band.data if form.band.data in (2, 3, 4) else 3
    analysis = scenarios.needle_analysis(scenario, dimension, band)
    return render_template(
        "scenarios/needle.html",
        scenario=scenario,
        form=form,
        analysis=analysis,
        dimension=dimension,
        band=band,
    )


@bp.route("/<int:scenario_id>/projections")
def projections(scenario_id: int) -> str:
    scenario = _viewable(scenario_id)
    outlook = scenarios.outlook(current_user, scenario)
    return render_template("scenarios/projections.html", scenario=scenario, outlook=outlook)


@bp.route("/<int:scenario_id>/export.json")
def export_json(scenario_id: int) -> Response:
    scenario = _viewable(scenario_id)
    body = json.dumps(
        scenarios.export_json(scenarios.evaluate(scenario)), ensure_ascii=False, indent=2
    )
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="scenario-{scenario.id}.json"'},
    )


@bp.route("/<int:scenario_id>/export.csv")
def export_csv(scenario_id: int) -> Response:
    scenario = _viewable(scenario_id)
    return Response(
        scenarios.export_csv(scenarios.evaluate(scenario)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="scenario-{scenario.id}.csv"'},
    )


@bp.route("/compare")
def compare() -> str:
    chosen = [
        s
        for s in (scenarios.get_scenario(i) for i in int_args("ids"))
        if s is not None and scenarios.can_view(current_user, s)
    ]
    table = scenarios.compare(chosen) if chosen else None
    return render_template(
        "scenarios/compare.html",
        chosen=chosen,
        table=table,
        available=scenarios.visible_scenarios(current_user),
    )


@bp.route("/correlations")
def correlations() -> str:
    table = scenarios.correlations(current_user)
    return render_template("scenarios/correlations.html", table=table)


# --- sensors --------------------------------------------------------------------------------


def _sensor_assessment(assessment_id: int) -> Any:
    assessment = scenarios.get_assessment(assessment_id)
    if assessment is None or not permissions.can_view_assessment(current_user, assessment):
        abort(404)
    if not permissions.can_edit_values(current_user, assessment):
        abort(403)
    return assessment


@bp.route("/sensors/<int:assessment_id>", methods=["GET", "POST"])
def sensor_upload(assessment_id: int) -> Any:
    assessment = _sensor_assessment(assessment_id)
    form = SensorUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            record = sensors.upload(
                assessment,
                current_user,
                filename=upload.filename or "upload",
                payload=upload.read(),
                file_format=form.file_format.data or "csv",
                resolution=form.resolution.data or "hourly",
                timezone=(form.timezone.data or "UTC").strip(),
            )
        except sensors.SensorError as error:
            form.file.errors = [str(error)]
        else:
            return redirect(url_for("scenarios.sensor_review", import_id=record.id))
    status = 400 if form.errors else 200
    return render_template(
        "scenarios/sensors.html",
        form=form,
        assessment=assessment,
        imports=sensors.imports_for(assessment),
    ), status


def _sensor_import(import_id: int) -> SensorImport:
    record = sensors.get_import(import_id)
    if record is None or not permissions.can_view_assessment(current_user, record.assessment):
        abort(404)
    return record


@bp.route("/sensors/imports/<int:import_id>")
def sensor_review(import_id: int) -> str:
    record = _sensor_import(import_id)
    return render_template(
        "scenarios/sensor_review.html",
        record=record,
        results=sensors.results_of(record),
        can_accept=permissions.can_edit_values(current_user, record.assessment),
        item_key=sensors.item_key,
    )


@bp.route("/sensors/imports/<int:import_id>/accept", methods=["POST"])
def sensor_accept(import_id: int) -> Any:
    record = _sensor_import(import_id)
    if not permissions.can_edit_values(current_user, record.assessment):
        abort(403)
    keys = [tuple(k.split("|", 1)) for k in request.form.getlist("accept")]
    try:
        outcome = sensors.accept(record, current_user, [(k[0], k[1]) for k in keys if len(k) == 2])
    except sensors.SensorError as error:
        flash(str(error), "error")
        return redirect(url_for("scenarios.sensor_review", import_id=record.id))
    for problem in outcome.problems:
        flash(problem, "error")
    for conflict in outcome.conflicts:
        flash(
            _(
                "%(code)s was changed by someone else meanwhile: not overwritten.",
                code=conflict.code,
            ),
            "error",
        )
    if outcome.saved:
        flash(_("%(n)s value(s) saved into the assessment.", n=len(outcome.saved)), "success")
    return redirect(url_for("scenarios.sensor_review", import_id=record.id))

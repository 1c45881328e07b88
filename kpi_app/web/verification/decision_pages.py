"""Workflow steps on an assessment: submit, carry over the verifier, start the review,
return to the city, verify, publish (with the republication diff) and reopen."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.models import Assessment, Status
from kpi_app.services import permissions, snapshots, workflow
from kpi_app.services.workflow import Action, WorkflowDenied, WorkflowError
from kpi_app.web.verification.common import bp, load_assessment, load_verifiable, run_step
from kpi_app.web.verification.forms import ActionForm, ReasonForm, ReopenForm
from kpi_app.web.verification.review_pages import render_review


def _step(assessment: Assessment, action: Action, success: str, **kw: Any) -> Response:
    run_step(lambda: workflow.transition(assessment, action, current_user, **kw), success)
    return redirect(url_for("verification.review", assessment_id=assessment.id))


@bp.route("/assessments/<int:assessment_id>/submit", methods=["POST"])
def submit(assessment_id: int) -> Response:
    assessment = load_assessment(assessment_id)
    if not workflow.may_submit(current_user, assessment):
        abort(403)
    try:
        workflow.transition(assessment, Action.SUBMIT, current_user)
    except WorkflowDenied:
        abort(403)
    except workflow.SubmissionIncomplete as error:
        flash(str(error), "error")
        return redirect(_city_page(assessment) + "#submission-check")
    except WorkflowError as error:
        flash(str(error), "error")
        return redirect(_city_page(assessment))
    flash(_submitted_message(assessment), "success")
    return redirect(_city_page(assessment))


def _submitted_message(assessment: Assessment) -> str:
    """Who will review it, or that nobody is assigned yet (the truth, not a promise)."""
    names = ", ".join(v.name or v.email for v in assessment.verifiers if v.active)
    if names:
        return _("Submitted for verification. %(names)s will review it.", names=names)
    return _(
        "Submitted for verification. No verifier is assigned yet: the coordinators have it "
        "on their to-do list and must assign one before the review can start."
    )


def _city_page(assessment: Assessment) -> str:
    """Back to the data-entry page when it exists, else to the city's query list."""
    from flask import current_app

    if "assessments.show" in current_app.view_functions:
        return url_for("assessments.show", assessment_id=assessment.id)
    return url_for("verification.city_queries", assessment_id=assessment.id)


@bp.route("/assessments/<int:assessment_id>/carry-over", methods=["POST"])
def carry_over(assessment_id: int) -> Response:
    """The coordinator confirms that last year's verifier reviews this year too."""
    assessment = load_assessment(assessment_id)
    if not permissions.can_coordinate(current_user):
        abort(403)
    if ActionForm().validate_on_submit():
        run_step(
            lambda: workflow.carry_over_verifiers(assessment, current_user),
            _(
                "Last year's verifier is assigned to %(city)s %(year)d.",
                city=assessment.city.name,
                year=assessment.year,
            ),
        )
    return redirect(url_for("verification.inbox"))


@bp.route("/assessments/<int:assessment_id>/start-review", methods=["POST"])
def start_review(assessment_id: int) -> Response:
    assessment = load_verifiable(assessment_id)
    return _step(assessment, Action.START_REVIEW, _("Review started."))


@bp.route("/assessments/<int:assessment_id>/return", methods=["POST"])
def return_to_city(assessment_id: int) -> Any:
    assessment = load_verifiable(assessment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return render_review(assessment, return_form=form, status=400)
    return _step(
        assessment,
        Action.RETURN,
        _("Returned to the city with its queries."),
        reason=form.reason.data,
    )


@bp.route("/assessments/<int:assessment_id>/verify", methods=["POST"])
def verify(assessment_id: int) -> Response:
    assessment = load_verifiable(assessment_id)
    return _step(assessment, Action.VERIFY, _("The assessment is verified."))


@bp.route("/assessments/<int:assessment_id>/publish", methods=["POST"])
def publish(assessment_id: int) -> ResponseReturnValue:
    assessment = load_assessment(assessment_id)
    if not permissions.can_coordinate(current_user):
        abort(403)
    # A republication shows what changes against the published snapshot before it happens.
    changes = (
        snapshots.republication_changes(assessment)
        if assessment.status is Status.VERIFIED
        else None
    )
    if changes is not None and not changes.empty and request.form.get("confirm") != "1":
        return render_template(
            "verification/publish_confirm.html",
            a=assessment,
            changes=changes,
            diff=changes.targets,
            action_form=ActionForm(),
        )
    return _step(assessment, Action.PUBLISH, _("Published. The snapshot is frozen."))


@bp.route("/assessments/<int:assessment_id>/reopen", methods=["GET", "POST"])
def reopen(assessment_id: int) -> Any:
    assessment = load_assessment(assessment_id)
    if not permissions.can_coordinate(current_user):
        abort(403)
    form = ReopenForm()
    if form.validate_on_submit():
        done = run_step(
            lambda: workflow.transition(
                assessment,
                Action.REOPEN,
                current_user,
                reason=form.reason.data,
                target=form.target.data,
            ),
            _("Reopened. The published snapshot stays public until the next publication."),
        )
        if done:
            return redirect(url_for("verification.review", assessment_id=assessment.id))
    status = 400 if form.errors else 200
    return render_template("verification/reopen.html", form=form, a=assessment), status

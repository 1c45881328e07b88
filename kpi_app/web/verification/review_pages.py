"""Review pages: the to-do inbox, the review table (filters, per-row decisions, bulk
verify), one value (verification, reported flag) and the value and assessment history with
revert."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.models import Assessment, IndicatorValue
from kpi_app.services import (
    due_dates,
    evidence,
    history,
    permissions,
    reports,
    review_threads,
    todo,
    workflow,
)
from kpi_app.services import review as review_table
from kpi_app.services.workflow import Action, WorkflowDenied, WorkflowError
from kpi_app.web.verification.common import (
    bp,
    form_version,
    load_assessment,
    load_value,
    load_verifiable,
    load_verifiable_value,
    reply_form,
    review_url,
    row_name,
    run_step,
    thread_context,
)
from kpi_app.web.verification.forms import (
    ActionForm,
    BulkVerifyForm,
    DecisionForm,
    MessageForm,
    ReasonForm,
    ReportedForm,
    ResolveForm,
    RevertForm,
    VerificationForm,
)


@bp.route("/")
def inbox() -> str:
    return render_template(
        "verification/inbox.html",
        items=todo.todo_for(current_user),
        assessments=todo.working_set(current_user),
        can_verify=lambda a: permissions.can_verify(current_user, a),
    )


@bp.route("/assessments/<int:assessment_id>")
def review(assessment_id: int) -> ResponseReturnValue:
    assessment = load_verifiable(assessment_id)
    return render_review(assessment)


def render_review(
    assessment: Assessment, return_form: ReasonForm | None = None, status: int = 200
) -> ResponseReturnValue:
    filters = review_table.ReviewFilters.from_args(request.args)
    overview = workflow.review_overview(assessment, current_user)
    table = review_table.review_table(assessment, current_user, filters, overview.screening)
    return (
        render_template(
            "verification/review.html",
            overview=overview,
            table=table,
            filters=filters,
            a=assessment,
            action_form=ActionForm(),
            return_form=return_form or ReasonForm(),
            bulk_form=BulkVerifyForm(formdata=None),
            Action=Action,
            yes_codes=workflow.verification_code_choices(True),
            no_codes=workflow.verification_code_choices(False),
            next_flagged=table.next_flagged(),
            band_labels=reports.translated_band_labels(),
            evidence_files=evidence.for_assessment(assessment.id),
            due=due_dates.summary(assessment),
        ),
        status,
    )


@bp.route("/assessments/<int:assessment_id>/bulk-verify", methods=["POST"])
def bulk_verify(assessment_id: int) -> Response:
    assessment = load_verifiable(assessment_id)
    filters = review_table.ReviewFilters.from_args(request.form)
    form = BulkVerifyForm()
    if not form.validate_on_submit():
        flash(_("Choose the reason for the values you verify together."), "error")
        return redirect(review_url(assessment.id, filters, "bulk"))
    if form.scope.data == "shown":
        tokens = [form.shown.data or ""]
    else:
        tokens = request.form.getlist("select")
    selection = review_table.parse_selection(tokens)
    try:
        result = workflow.bulk_verify(
            assessment, current_user, selection, code=form.code.data or ""
        )
    except WorkflowDenied:
        abort(403)
    except WorkflowError as error:
        flash(str(error), "error")
        return redirect(review_url(assessment.id, filters, "bulk"))
    flash(_("%(n)d values verified.", n=len(result.verified)), "success")
    if result.skipped:
        flash(
            _(
                "%(n)d selected values were left for one-by-one review: %(flagged)d flagged by "
                "the screening, %(decided)d already decided, %(stale)d changed since the page "
                "was shown, %(own)d entered by you, %(unreported)d not reported.",
                n=result.skipped,
                flagged=result.flagged,
                decided=result.decided,
                stale=result.stale,
                own=result.own,
                unreported=result.not_reported,
            ),
            "warning",
        )
    following = review_table.review_table(assessment, current_user, filters).next_flagged()
    anchor = f"row-{following.value.id}" if following is not None else "values"
    return redirect(review_url(assessment.id, filters, anchor))


@bp.route("/values/<int:value_id>/decision", methods=["POST"])
def value_decision(value_id: int) -> Response:
    """A row of the review table: save the decision and return to the same filtered table."""
    item = load_verifiable_value(value_id)
    filters = review_table.ReviewFilters.from_args(request.form)
    form = DecisionForm(prefix=f"d{item.id}")
    anchor = f"row-{item.id}"
    code = form.code.data or ""
    if not form.validate_on_submit() or code not in workflow.VERIFICATION_CODES:
        flash(_("%(kpi)s: choose a decision from the list.", kpi=row_name(item)), "error")
        return redirect(review_url(item.assessment_id, filters, anchor))
    done = run_step(
        lambda: workflow.set_value_verification(
            item,
            current_user,
            verified=workflow.VERIFICATION_CODES[code][0],
            code=code,
            note=form.note.data,
            expected_version=form_version(form.version.data),
        ),
        _("%(kpi)s: decision saved.", kpi=row_name(item)),
    )
    if done:
        following = review_table.review_table(item.assessment, current_user, filters).next_flagged(
            after=item.id
        )
        if following is not None:
            anchor = f"row-{following.value.id}"
    return redirect(review_url(item.assessment_id, filters, anchor))


@bp.route("/assessments/<int:assessment_id>/history")
def assessment_history(assessment_id: int) -> str:
    assessment = load_assessment(assessment_id)
    return render_template(
        "verification/assessment_history.html",
        a=assessment,
        events=history.assessment_history(assessment),
    )


@bp.route("/values/<int:value_id>")
def value(value_id: int) -> ResponseReturnValue:
    item = load_value(value_id)
    if not permissions.can_verify(current_user, item.assessment):
        abort(403)
    return render_value(item)


def render_value(
    item: IndicatorValue,
    verification_form: VerificationForm | None = None,
    reported_form: ReportedForm | None = None,
    query_form: MessageForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    overview = workflow.value_overview(item, current_user)
    if verification_form is None:
        verification_form = VerificationForm(
            version=item.version,
            verified=None if item.verified is None else ("yes" if item.verified else "no"),
            code=item.verification_code or "",
            note=item.verification_note,
            formdata=None,
        )
    if reported_form is None:
        override = item.reported_override
        reported_form = ReportedForm(
            version=item.version,
            reported="auto" if override is None else ("yes" if override else "no"),
            reason=item.reported_override_reason,
            formdata=None,
        )
    return (
        render_template(
            "verification/value.html",
            o=overview,
            v=item,
            a=item.assessment,
            verification_form=verification_form,
            reported_form=reported_form,
            query_form=query_form or MessageForm(prefix="new"),
            reply_forms={q.id: reply_form(q) for q in overview.queries},
            resolve_forms={q.id: ResolveForm(prefix=f"r{q.id}") for q in overview.queries},
            may_reply=lambda q: review_threads.may_reply(current_user, q),
            may_resolve=lambda q: review_threads.may_resolve(current_user, q),
            evidence_files=evidence.for_value(item),
            **thread_context(overview.queries),
        ),
        status,
    )


@bp.route("/values/<int:value_id>/verification", methods=["POST"])
def value_verification(value_id: int) -> Any:
    item = load_verifiable_value(value_id)
    form = VerificationForm()
    if not form.validate_on_submit():
        return render_value(item, verification_form=form, status=400)
    done = run_step(
        lambda: workflow.set_value_verification(
            item,
            current_user,
            verified=form.verified.data == "yes",
            code=form.code.data or "",
            note=form.note.data,
            expected_version=form_version(form.version.data),
        ),
        _("Verification saved."),
    )
    if not done:
        return render_value(item, verification_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


@bp.route("/values/<int:value_id>/reported", methods=["POST"])
def value_reported(value_id: int) -> Any:
    item = load_verifiable_value(value_id)
    form = ReportedForm()
    if not form.validate_on_submit():
        return render_value(item, reported_form=form, status=400)
    choice = {"auto": None, "yes": True, "no": False}.get(form.reported.data or "auto")
    done = run_step(
        lambda: workflow.override_reported(
            item,
            current_user,
            reported=choice,
            reason=form.reason.data,
            expected_version=form_version(form.version.data),
        ),
        _("Reported flag saved."),
    )
    if not done:
        return render_value(item, reported_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


@bp.route("/values/<int:value_id>/history")
def value_history(value_id: int) -> str:
    item = load_value(value_id)
    may_revert = permissions.can_edit_values(current_user, item.assessment)
    entries = history.value_history(item)
    return render_template(
        "verification/value_history.html",
        v=item,
        a=item.assessment,
        label=workflow.item_label(item),
        entries=entries,
        may_revert=may_revert,
        revert_forms={
            e.event.id: RevertForm(prefix=f"e{e.event.id}", version=item.version)
            for e in entries
            if e.revertable
        },
    )


@bp.route("/values/<int:value_id>/revert/<int:event_id>", methods=["POST"])
def revert(value_id: int, event_id: int) -> Response:
    item = load_value(value_id)
    if not permissions.can_edit_values(current_user, item.assessment):
        abort(403)
    form = RevertForm(prefix=f"e{event_id}")
    if not form.validate_on_submit():
        flash(_("Say why you go back to this version."), "error")
    else:
        run_step(
            lambda: history.revert_value(
                item,
                event_id,
                current_user,
                expected_version=form_version(form.version.data),
                reason=form.reason.data,
            ),
            _("The earlier version is restored (recorded as a new change)."),
        )
    return redirect(url_for("verification.value_history", value_id=item.id))

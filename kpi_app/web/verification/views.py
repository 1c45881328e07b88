"""Verification views: to-do inbox, review workspace, workflow steps, queries, value history.

Every route authorises through services.permissions (via the services it calls): a user who
may not see an assessment gets 404 (its existence is not revealed), one who may see it but
not act gets 403. Workflow errors come back as a flashed message; nothing commits here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.extensions import login_manager
from kpi_app.models import Assessment, IndicatorValue, QueryStatus, Status, ValueQuery
from kpi_app.services import (
    due_dates,
    evidence,
    history,
    permissions,
    reports,
    review_threads,
    snapshots,
    todo,
    workflow,
)
from kpi_app.services import review as review_table
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow import Action, WorkflowDenied, WorkflowError
from kpi_app.web.verification.forms import (
    ActionForm,
    BulkVerifyForm,
    DecisionForm,
    MessageForm,
    ReasonForm,
    ReopenForm,
    ReplyForm,
    ReportedForm,
    ResolveForm,
    RevertForm,
    VerificationForm,
)

bp = Blueprint("verification", __name__, url_prefix="/verification")


@bp.before_request
def require_login() -> ResponseReturnValue | None:
    """Every page here is for signed-in users; anonymous visitors go to the login page."""
    if not current_user.is_authenticated:
        to_login: ResponseReturnValue = login_manager.unauthorized()
        return to_login
    return None


# Names of the recorded fields, for the history tables (the audit stores column names).
FIELD_LABELS = {
    "numerator": _l("Numerator"),
    "denominator": _l("Denominator"),
    "computed_value": _l("Computed value"),
    "override_value": _l("Value entered directly"),
    "override_reason": _l("Reason for the direct value"),
    "unit": _l("Unit"),
    "data_year": _l("Data year"),
    "source": _l("Source"),
    "source_url": _l("Source address"),
    "quality": _l("Data quality level"),
    "reported": _l("Reported"),
    "not_reported_reason": _l("Reason for not reporting"),
    "comment": _l("Comment"),
    "verified": _l("Verified"),
    "verification_code": _l("Verification reason"),
    "verification_note": _l("Verification note"),
    "reported_override": _l("Reported (verifier's override)"),
    "reported_override_reason": _l("Reason for the override"),
    "status": _l("Status"),
    "version": _l("Version"),
    "entry_due": _l("Data entry due"),
    "verification_due": _l("Verification due"),
}
FACT_LABELS = {"population": _l("population"), "households": _l("households"), "gdp": _l("GDP")}


@bp.context_processor
def template_helpers() -> dict[str, Any]:
    return {
        "status_label": workflow.status_label,
        "fact_label": lambda name: str(FACT_LABELS.get(name, name)),
        "verification_label": lambda code: (
            str(workflow.VERIFICATION_CODES[code][1])
            if code in workflow.VERIFICATION_CODES
            else code
        ),
        "history_changes": history.changes_of,
        "field_label": lambda name: str(FIELD_LABELS.get(name, name)),
        "edit_url": _edit_url,
    }


def _edit_url(item: IndicatorValue) -> str | None:
    """The data-entry form of the value's category, when the data-entry area provides one."""
    from flask import current_app

    if "assessments.category" not in current_app.view_functions:
        return None
    if not permissions.can_edit_values(current_user, item.assessment):
        return None
    try:
        category = current_catalogue().indicator(item.code).category
    except KeyError:
        return None
    # The data-entry area addresses a category by its id in lower case with dashes.
    slug = category.lower().replace(": ", "-")
    return url_for("assessments.category", assessment_id=item.assessment_id, slug=slug)


# --- loading with authorisation ------------------------------------------------------------


def _assessment(assessment_id: int) -> Assessment:
    assessment = workflow.get_assessment(assessment_id)
    if assessment is None or not permissions.can_view_assessment(current_user, assessment):
        abort(404)
    return assessment


def _verifiable(assessment_id: int) -> Assessment:
    assessment = _assessment(assessment_id)
    if not permissions.can_verify(current_user, assessment):
        abort(403)
    return assessment


def _value(value_id: int) -> IndicatorValue:
    value = workflow.get_value(value_id)
    if value is None or not permissions.can_view_assessment(current_user, value.assessment):
        abort(404)
    return value


def _query(query_id: int) -> ValueQuery:
    query = review_threads.get_query(query_id)
    if query is None or not permissions.can_view_assessment(current_user, query.value.assessment):
        abort(404)
    return query


def _version(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        abort(400)


def _run(step: Any, success: str) -> bool:
    """Call a service step: flash its outcome; a denial becomes 403."""
    try:
        step()
    except WorkflowDenied:
        abort(403)
    except WorkflowError as error:
        flash(str(error), "error")
        return False
    flash(success, "success")
    return True


# --- inbox and review ----------------------------------------------------------------------


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
    assessment = _verifiable(assessment_id)
    return _render_review(assessment)


def _render_review(
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


def _review_url(
    assessment_id: int, filters: review_table.ReviewFilters, anchor: str | None = None
) -> str:
    args: dict[str, Any] = dict(filters.query_args())
    return url_for("verification.review", assessment_id=assessment_id, _anchor=anchor, **args)


@bp.route("/assessments/<int:assessment_id>/bulk-verify", methods=["POST"])
def bulk_verify(assessment_id: int) -> Response:
    assessment = _verifiable(assessment_id)
    filters = review_table.ReviewFilters.from_args(request.form)
    form = BulkVerifyForm()
    if not form.validate_on_submit():
        flash(_("Choose the reason for the values you verify together."), "error")
        return redirect(_review_url(assessment.id, filters, "bulk"))
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
        return redirect(_review_url(assessment.id, filters, "bulk"))
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
    return redirect(_review_url(assessment.id, filters, anchor))


@bp.route("/values/<int:value_id>/decision", methods=["POST"])
def value_decision(value_id: int) -> Response:
    """A row of the review table: save the decision and return to the same filtered table."""
    item = _verifiable_value(value_id)
    filters = review_table.ReviewFilters.from_args(request.form)
    form = DecisionForm(prefix=f"d{item.id}")
    anchor = f"row-{item.id}"
    code = form.code.data or ""
    if not form.validate_on_submit() or code not in workflow.VERIFICATION_CODES:
        flash(_("%(kpi)s: choose a decision from the list.", kpi=_row_name(item)), "error")
        return redirect(_review_url(item.assessment_id, filters, anchor))
    done = _run(
        lambda: workflow.set_value_verification(
            item,
            current_user,
            verified=workflow.VERIFICATION_CODES[code][0],
            code=code,
            note=form.note.data,
            expected_version=_version(form.version.data),
        ),
        _("%(kpi)s: decision saved.", kpi=_row_name(item)),
    )
    if done:
        following = review_table.review_table(item.assessment, current_user, filters).next_flagged(
            after=item.id
        )
        if following is not None:
            anchor = f"row-{following.value.id}"
    return redirect(_review_url(item.assessment_id, filters, anchor))


def _row_name(item: IndicatorValue) -> str:
    return f"{item.code} · {item.data_point}" if item.data_point else item.code


def _step(assessment: Assessment, action: Action, success: str, **kw: Any) -> Response:
    _run(lambda: workflow.transition(assessment, action, current_user, **kw), success)
    return redirect(url_for("verification.review", assessment_id=assessment.id))


@bp.route("/assessments/<int:assessment_id>/submit", methods=["POST"])
def submit(assessment_id: int) -> Response:
    assessment = _assessment(assessment_id)
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
    assessment = _assessment(assessment_id)
    if not permissions.can_coordinate(current_user):
        abort(403)
    if ActionForm().validate_on_submit():
        _run(
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
    assessment = _verifiable(assessment_id)
    return _step(assessment, Action.START_REVIEW, _("Review started."))


@bp.route("/assessments/<int:assessment_id>/return", methods=["POST"])
def return_to_city(assessment_id: int) -> Any:
    assessment = _verifiable(assessment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _render_review(assessment, return_form=form, status=400)
    return _step(
        assessment,
        Action.RETURN,
        _("Returned to the city with its queries."),
        reason=form.reason.data,
    )


@bp.route("/assessments/<int:assessment_id>/verify", methods=["POST"])
def verify(assessment_id: int) -> Response:
    assessment = _verifiable(assessment_id)
    return _step(assessment, Action.VERIFY, _("The assessment is verified."))


@bp.route("/assessments/<int:assessment_id>/publish", methods=["POST"])
def publish(assessment_id: int) -> ResponseReturnValue:
    assessment = _assessment(assessment_id)
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
    assessment = _assessment(assessment_id)
    if not permissions.can_coordinate(current_user):
        abort(403)
    form = ReopenForm()
    if form.validate_on_submit():
        done = _run(
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


# --- the city's view of its queries --------------------------------------------------------


@bp.route("/assessments/<int:assessment_id>/queries")
def city_queries(assessment_id: int) -> ResponseReturnValue:
    return _render_city_queries(_assessment(assessment_id))


def _reply_form(query: ValueQuery) -> MessageForm | ReplyForm:
    """The city's editors may attach a file to a reply; everyone else writes a message."""
    if review_threads.may_attach(current_user, query):
        return ReplyForm(prefix=f"q{query.id}", formdata=None)
    return MessageForm(prefix=f"q{query.id}", formdata=None)


def _thread_context(threads: list[ValueQuery]) -> dict[str, Any]:
    """What the thread macro needs besides the threads: files brought by replies, limits."""
    return {
        "message_files": evidence.for_messages([m.id for q in threads for m in q.messages]),
        "human_size": evidence.human_size,
        "max_size": evidence.human_size(evidence.max_bytes()),
        "can_coordinate": permissions.can_coordinate(current_user),
    }


def _render_city_queries(
    assessment: Assessment,
    failed: tuple[int, ReplyForm | MessageForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    threads = review_threads.queries_for_assessment(assessment)
    reply_forms = {q.id: _reply_form(q) for q in threads}
    if failed is not None:
        reply_forms[failed[0]] = failed[1]  # the reply that failed, as it was written
    return (
        render_template(
            "verification/city_queries.html",
            a=assessment,
            threads=threads,
            labels={q.id: workflow.item_label(q.value) for q in threads},
            reply_forms=reply_forms,
            may_reply=lambda q: review_threads.may_reply(current_user, q),
            may_submit=workflow.may_submit(current_user, assessment)
            and assessment.status in (Status.DRAFT, Status.RETURNED),
            action_form=ActionForm(),
            **_thread_context(threads),
        ),
        status,
    )


@bp.route("/assessments/<int:assessment_id>/history")
def assessment_history(assessment_id: int) -> str:
    assessment = _assessment(assessment_id)
    return render_template(
        "verification/assessment_history.html",
        a=assessment,
        events=history.assessment_history(assessment),
    )


# --- one value ------------------------------------------------------------------------------


@bp.route("/values/<int:value_id>")
def value(value_id: int) -> ResponseReturnValue:
    item = _value(value_id)
    if not permissions.can_verify(current_user, item.assessment):
        abort(403)
    return _render_value(item)


def _render_value(
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
            reply_forms={q.id: _reply_form(q) for q in overview.queries},
            resolve_forms={q.id: ResolveForm(prefix=f"r{q.id}") for q in overview.queries},
            may_reply=lambda q: review_threads.may_reply(current_user, q),
            may_resolve=lambda q: review_threads.may_resolve(current_user, q),
            evidence_files=evidence.for_value(item),
            **_thread_context(overview.queries),
        ),
        status,
    )


def _verifiable_value(value_id: int) -> IndicatorValue:
    item = _value(value_id)
    if not permissions.can_verify(current_user, item.assessment):
        abort(403)
    return item


@bp.route("/values/<int:value_id>/verification", methods=["POST"])
def value_verification(value_id: int) -> Any:
    item = _verifiable_value(value_id)
    form = VerificationForm()
    if not form.validate_on_submit():
        return _render_value(item, verification_form=form, status=400)
    done = _run(
        lambda: workflow.set_value_verification(
            item,
            current_user,
            verified=form.verified.data == "yes",
            code=form.code.data or "",
            note=form.note.data,
            expected_version=_version(form.version.data),
        ),
        _("Verification saved."),
    )
    if not done:
        return _render_value(item, verification_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


@bp.route("/values/<int:value_id>/reported", methods=["POST"])
def value_reported(value_id: int) -> Any:
    item = _verifiable_value(value_id)
    form = ReportedForm()
    if not form.validate_on_submit():
        return _render_value(item, reported_form=form, status=400)
    choice = {"auto": None, "yes": True, "no": False}.get(form.reported.data or "auto")
    done = _run(
        lambda: workflow.override_reported(
            item,
            current_user,
            reported=choice,
            reason=form.reason.data,
            expected_version=_version(form.version.data),
        ),
        _("Reported flag saved."),
    )
    if not done:
        return _render_value(item, reported_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


@bp.route("/values/<int:value_id>/queries", methods=["POST"])
def open_query(value_id: int) -> Any:
    item = _verifiable_value(value_id)
    if request.form.get("return_to") == "review":
        return _row_query(item)
    form = MessageForm(prefix="new")
    if not form.validate_on_submit():
        return _render_value(item, query_form=form, status=400)
    if not _run(
        lambda: review_threads.open_query(item, current_user, form.body.data),
        _("Query sent to the city."),
    ):
        return _render_value(item, query_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


def _row_query(item: IndicatorValue) -> Response:
    """A question asked from a row of the review table: back to the same filtered table."""
    filters = review_table.ReviewFilters.from_args(request.form)
    form = MessageForm(prefix=f"q{item.id}")
    if not form.validate_on_submit():
        flash(_("%(kpi)s: write the question first.", kpi=_row_name(item)), "error")
    else:
        _run(
            lambda: review_threads.open_query(item, current_user, form.body.data),
            _("%(kpi)s: query sent to the city.", kpi=_row_name(item)),
        )
    return redirect(_review_url(item.assessment_id, filters, f"row-{item.id}"))


@bp.route("/values/<int:value_id>/history")
def value_history(value_id: int) -> str:
    item = _value(value_id)
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
    item = _value(value_id)
    if not permissions.can_edit_values(current_user, item.assessment):
        abort(403)
    form = RevertForm(prefix=f"e{event_id}")
    if not form.validate_on_submit():
        flash(_("Say why you go back to this version."), "error")
    else:
        _run(
            lambda: history.revert_value(
                item,
                event_id,
                current_user,
                expected_version=_version(form.version.data),
                reason=form.reason.data,
            ),
            _("The earlier version is restored (recorded as a new change)."),
        )
    return redirect(url_for("verification.value_history", value_id=item.id))


# --- query threads ---------------------------------------------------------------------------


def _back_to_thread(query: ValueQuery) -> str:
    target = request.form.get("next", "")
    if target == "city":
        return url_for(
            "verification.city_queries",
            assessment_id=query.value.assessment_id,
            _anchor=f"query-{query.id}",
        )
    return url_for("verification.value", value_id=query.value_id, _anchor=f"query-{query.id}")


@bp.route("/queries/<int:query_id>/reply", methods=["POST"])
def reply(query_id: int) -> ResponseReturnValue:
    query = _query(query_id)
    if (
        not review_threads.may_reply(current_user, query)
        and query.status is not QueryStatus.RESOLVED
    ):
        abort(403)
    if review_threads.may_attach(current_user, query):
        return _reply_with_file(query)
    form = MessageForm(prefix=f"q{query.id}")
    if not form.validate_on_submit():
        flash(_("Write a message."), "error")
    else:
        _run(lambda: review_threads.reply(query, current_user, form.body.data), _("Reply sent."))
    return redirect(_back_to_thread(query))


def _reply_with_file(query: ValueQuery) -> ResponseReturnValue:
    """The city's reply, which may bring a file: checked like an evidence upload. On any
    problem the page comes back with the message as written and the reason (nothing saved)."""
    # Like the evidence upload, this route accepts files up to the evidence limit.
    request.max_content_length = evidence.max_bytes() + 64 * 1024
    form = ReplyForm(prefix=f"q{query.id}")
    attachment = None
    valid = form.validate_on_submit()
    if valid and form.file.data:
        upload = form.file.data
        try:
            attachment = (upload.filename or "", upload.stream.read(evidence.max_bytes() + 1))
        finally:
            upload.close()
    if valid:
        try:
            review_threads.reply(query, current_user, form.body.data, attachment)
        except WorkflowDenied:
            abort(403)
        except evidence.EvidenceRejected as error:
            form.file.errors = [*form.file.errors, str(error)]
        except WorkflowError as error:
            form.body.errors = [*form.body.errors, str(error)]
        except OSError:
            form.file.errors = [
                *form.file.errors,
                _("The file could not be stored; nothing was sent. Try again later."),
            ]
        else:
            if attachment is not None:
                name = evidence.clean_filename(attachment[0])
                flash(_("Reply sent with %(name)s.", name=name), "success")
            else:
                flash(_("Reply sent."), "success")
            return redirect(_back_to_thread(query))
    return _render_city_queries(query.value.assessment, failed=(query.id, form), status=400)


@bp.route("/queries/<int:query_id>/resolve", methods=["POST"])
def resolve(query_id: int) -> Response:
    query = _query(query_id)
    if not permissions.can_verify(current_user, query.value.assessment):
        abort(403)
    form = ResolveForm(prefix=f"r{query.id}")
    if not form.validate_on_submit():  # CSRFProtect already checked the token; the note is optional
        flash(_("The closing note is too long."), "error")
    else:
        _run(
            lambda: review_threads.resolve(query, current_user, form.note.data),
            _("Query resolved."),
        )
    return redirect(_back_to_thread(query))

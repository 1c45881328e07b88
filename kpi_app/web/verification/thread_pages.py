"""Query threads: the city's list of its queries, opening a query (from the value page or a
row of the review table), replies (the city's may bring a file) and resolving."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kpi_app.models import Assessment, IndicatorValue, QueryStatus, Status, ValueQuery
from kpi_app.services import evidence, permissions, review_threads, workflow
from kpi_app.services import review as review_table
from kpi_app.services.workflow import WorkflowDenied, WorkflowError
from kpi_app.web.verification.common import (
    bp,
    load_assessment,
    load_query,
    load_verifiable_value,
    reply_form,
    review_url,
    row_name,
    run_step,
    thread_context,
)
from kpi_app.web.verification.forms import ActionForm, MessageForm, ReplyForm, ResolveForm
from kpi_app.web.verification.review_pages import render_value


@bp.route("/assessments/<int:assessment_id>/queries")
def city_queries(assessment_id: int) -> ResponseReturnValue:
    return _render_city_queries(load_assessment(assessment_id))


def _render_city_queries(
    assessment: Assessment,
    failed: tuple[int, ReplyForm | MessageForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    threads = review_threads.queries_for_assessment(assessment)
    reply_forms = {q.id: reply_form(q) for q in threads}
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
            **thread_context(threads),
        ),
        status,
    )


@bp.route("/values/<int:value_id>/queries", methods=["POST"])
def open_query(value_id: int) -> Any:
    item = load_verifiable_value(value_id)
    if request.form.get("return_to") == "review":
        return _row_query(item)
    form = MessageForm(prefix="new")
    if not form.validate_on_submit():
        return render_value(item, query_form=form, status=400)
    if not run_step(
        lambda: review_threads.open_query(item, current_user, form.body.data),
        _("Query sent to the city."),
    ):
        return render_value(item, query_form=form, status=400)
    return redirect(url_for("verification.value", value_id=item.id))


def _row_query(item: IndicatorValue) -> Response:
    """A question asked from a row of the review table: back to the same filtered table."""
    filters = review_table.ReviewFilters.from_args(request.form)
    form = MessageForm(prefix=f"q{item.id}")
    if not form.validate_on_submit():
        flash(_("%(kpi)s: write the question first.", kpi=row_name(item)), "error")
    else:
        run_step(
            lambda: review_threads.open_query(item, current_user, form.body.data),
            _("%(kpi)s: query sent to the city.", kpi=row_name(item)),
        )
    return redirect(review_url(item.assessment_id, filters, f"row-{item.id}"))


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
    query = load_query(query_id)
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
        run_step(
            lambda: review_threads.reply(query, current_user, form.body.data), _("Reply sent.")
        )
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
    query = load_query(query_id)
    if not permissions.can_verify(current_user, query.value.assessment):
        abort(403)
    form = ResolveForm(prefix=f"r{query.id}")
    if not form.validate_on_submit():  # CSRFProtect already checked the token; the note is optional
        flash(_("The closing note is too long."), "error")
    else:
        run_step(
            lambda: review_threads.resolve(query, current_user, form.note.data),
            _("Query resolved."),
        )
    return redirect(_back_to_thread(query))

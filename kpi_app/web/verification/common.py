"""The verification blueprint and what its pages share: sign-in, labels, loading with
authorisation (404 when the assessment may not be seen, 403 when it may not be acted on),
running a service step with its flashed outcome, the review-table address and the query
thread's forms.

The routes are in :mod:`.review_pages`, :mod:`.thread_pages` and :mod:`.decision_pages`,
all on :data:`bp` (``views.py`` imports them, so the blueprint is registered with every
route).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kpi_app.extensions import login_manager
from kpi_app.models import Assessment, IndicatorValue, ValueQuery
from kpi_app.services import evidence, history, permissions, review_threads, workflow
from kpi_app.services import review as review_table
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow import WorkflowDenied, WorkflowError
from kpi_app.web.verification.forms import MessageForm, ReplyForm

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


def load_assessment(assessment_id: int) -> Assessment:
    assessment = workflow.get_assessment(assessment_id)
    if assessment is None or not permissions.can_view_assessment(current_user, assessment):
        abort(404)
    return assessment


def load_verifiable(assessment_id: int) -> Assessment:
    assessment = load_assessment(assessment_id)
    if not permissions.can_verify(current_user, assessment):
        abort(403)
    return assessment


def load_value(value_id: int) -> IndicatorValue:
    value = workflow.get_value(value_id)
    if value is None or not permissions.can_view_assessment(current_user, value.assessment):
        abort(404)
    return value


def load_query(query_id: int) -> ValueQuery:
    query = review_threads.get_query(query_id)
    if query is None or not permissions.can_view_assessment(current_user, query.value.assessment):
        abort(404)
    return query


def form_version(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        abort(400)


def run_step(step: Any, success: str) -> bool:
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


def review_url(
    assessment_id: int, filters: review_table.ReviewFilters, anchor: str | None = None
) -> str:
    args: dict[str, Any] = dict(filters.query_args())
    return url_for("verification.review", assessment_id=assessment_id, _anchor=anchor, **args)


def row_name(item: IndicatorValue) -> str:
    return f"{item.code} · {item.data_point}" if item.data_point else item.code


def reply_form(query: ValueQuery) -> MessageForm | ReplyForm:
    """The city's editors may attach a file to a reply; everyone else writes a message."""
    if review_threads.may_attach(current_user, query):
        return ReplyForm(prefix=f"q{query.id}", formdata=None)
    return MessageForm(prefix=f"q{query.id}", formdata=None)


def thread_context(threads: list[ValueQuery]) -> dict[str, Any]:
    """What the thread macro needs besides the threads: files brought by replies, limits."""
    return {
        "message_files": evidence.for_messages([m.id for q in threads for m in q.messages]),
        "human_size": evidence.human_size,
        "max_size": evidence.human_size(evidence.max_bytes()),
        "can_coordinate": permissions.can_coordinate(current_user),
    }


def load_verifiable_value(value_id: int) -> IndicatorValue:
    item = load_value(value_id)
    if not permissions.can_verify(current_user, item.assessment):
        abort(403)
    return item

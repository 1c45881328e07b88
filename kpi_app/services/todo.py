"""In-app notifications: a to-do list per user, worked out from the data (no e-mail).

Nothing is stored: each item is computed from assessment statuses, query statuses,
assignments and reported values, so the list is always current and never needs clearing.

- city editor: assessments to complete (unreported core KPIs), assessments returned with
  queries, open queries waiting for an answer;
- verifier: assigned assessments submitted or in review, answered queries to resolve;
- coordinator and admin: submitted assessments with no verifier, verified ones to publish,
  assessments whose current stage is overdue;
- viewer: nothing to do.

Each item carries the due date of the stage it is about (`due`, services/due_dates.py); an
editor's assessment with a date due soon or overdue and nothing else to do gets a
`due_date` item of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kpi_app.extensions import db
from kpi_app.models import Assessment, QueryStatus, Role, Status, VerifierAssignment
from kpi_app.services import due_dates, permissions, review_threads, workflow
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow_terms import effective_reported

MISSING_CORE = "missing_core"
RETURNED = "returned"
OPEN_QUERIES = "open_queries"
AWAITING_REVIEW = "awaiting_review"
ANSWERED_QUERIES = "answered_queries"
AWAITING_ASSIGNMENT = "awaiting_assignment"
AWAITING_PUBLICATION = "awaiting_publication"
DUE_DATE = "due_date"
OVERDUE = "overdue"


@dataclass(frozen=True)
class TodoItem:
    """One thing to do on one assessment; `endpoint` + `args` say where to do it."""

    kind: str
    assessment: Assessment
    count: int = 0
    endpoint: str = "verification.review"
    args: dict[str, Any] = field(default_factory=dict)
    note: str | None = None  # the return reason of a returned assessment
    suggested: tuple[Any, ...] = ()  # last year's verifiers, for the coordinator to confirm
    due: due_dates.Deadline | None = None  # the due date of the stage this item is about


def todo_for(user: Any) -> list[TodoItem]:
    account = permissions._user(user)
    if account is None:
        return []
    match account.role:
        case Role.CITY_EDITOR:
            return editor_todo(account)
        case Role.VERIFIER:
            return verifier_todo(account)
        case Role.COORDINATOR | Role.ADMIN:
            return coordinator_todo()
    return []


def _visible(user: Any, statuses: frozenset[Status]) -> list[Assessment]:
    query = permissions.visible_assessments(user).where(Assessment.status.in_(statuses))
    return list(db.session.scalars(query.order_by(Assessment.year.desc(), Assessment.id)))


def editor_todo(user: Any) -> list[TodoItem]:
    editable = _visible(user, frozenset({Status.DRAFT, Status.RETURNED}))
    under_review = _visible(user, frozenset({Status.SUBMITTED, Status.IN_REVIEW}))
    core = [item.key for item in current_catalogue().items() if _is_core(item.code)]
    counts = review_threads.count_by_status([a.id for a in editable + under_review])
    dues = due_dates.summaries(editable)
    items: list[TodoItem] = []
    for assessment in editable:
        due = _set(dues[assessment.id].entry)
        before = len(items)
        if assessment.status is Status.RETURNED:
            items.append(
                TodoItem(
                    RETURNED,
                    assessment,
                    endpoint="verification.city_queries",
                    args={"assessment_id": assessment.id},
                    note=workflow.status_banner(assessment).return_reason,
                    due=due,
                )
            )
        missing = missing_core_count(assessment, core)
        if missing:
            items.append(
                TodoItem(
                    MISSING_CORE,
                    assessment,
                    missing,
                    endpoint=_entry_endpoint(),
                    args=_entry_args(assessment),
                    due=due,
                )
            )
        if len(items) == before and due is not None and due.state in _PRESSING:
            items.append(
                TodoItem(
                    DUE_DATE,
                    assessment,
                    endpoint=_entry_endpoint(),
                    args=_entry_args(assessment),
                    due=due,
                )
            )
    for assessment in editable + under_review:
        open_count = counts.get((assessment.id, QueryStatus.OPEN), 0)
        if open_count:
            items.append(
                TodoItem(
                    OPEN_QUERIES,
                    assessment,
                    open_count,
                    endpoint="verification.city_queries",
                    args={"assessment_id": assessment.id},
                )
            )
    return items


def verifier_todo(user: Any) -> list[TodoItem]:
    assigned = _visible(user, frozenset({Status.SUBMITTED, Status.IN_REVIEW}))
    counts = review_threads.count_by_status([a.id for a in assigned])
    dues = due_dates.summaries(assigned)
    items = [
        TodoItem(
            AWAITING_REVIEW,
            a,
            args={"assessment_id": a.id},
            due=_set(dues[a.id].verification),
        )
        for a in assigned
    ]
    for assessment in assigned:
        answered = counts.get((assessment.id, QueryStatus.ANSWERED), 0)
        if answered:
            items.append(
                TodoItem(
                    ANSWERED_QUERIES, assessment, answered, args={"assessment_id": assessment.id}
                )
            )
    return items


def coordinator_todo() -> list[TodoItem]:
    assigned_ids = db.select(VerifierAssignment.assessment_id)
    unassigned = list(
        db.session.scalars(
            db.select(Assessment)
            .where(
                Assessment.status.in_((Status.SUBMITTED, Status.IN_REVIEW)),
                Assessment.id.not_in(assigned_ids),
            )
            .order_by(Assessment.submitted_at, Assessment.id)
        )
    )
    verified = db.session.scalars(
        db.select(Assessment).where(Assessment.status == Status.VERIFIED).order_by(Assessment.id)
    )
    dues = due_dates.summaries(unassigned)
    return [
        *(
            TodoItem(
                AWAITING_ASSIGNMENT,
                a,
                endpoint="admin.verifiers",
                args={"assessment_id": a.id},
                suggested=tuple(workflow.previous_verifiers(a)),
                due=_set(dues[a.id].verification),
            )
            for a in unassigned
        ),
        *(TodoItem(AWAITING_PUBLICATION, a, args={"assessment_id": a.id}) for a in verified),
        *overdue_items(),
    ]


_PRESSING = frozenset({due_dates.DUE_SOON, due_dates.OVERDUE})


def _set(deadline: due_dates.Deadline) -> due_dates.Deadline | None:
    return deadline if deadline.due is not None else None


def overdue_items() -> list[TodoItem]:
    """Assessments whose current stage (data entry or verification) is overdue."""
    from kpi_app.models import AssessmentDueDates

    candidates = list(
        db.session.scalars(
            db.select(Assessment)
            .join(AssessmentDueDates, AssessmentDueDates.assessment_id == Assessment.id)
            .where(
                Assessment.status.in_(
                    due_dates.ACTIVE_STATUSES[due_dates.ENTRY]
                    | due_dates.ACTIVE_STATUSES[due_dates.VERIFICATION]
                )
            )
            .order_by(Assessment.id)
        )
    )
    by_id = {a.id: a for a in candidates}
    items = []
    for assessment_id, summary in due_dates.summaries(candidates).items():
        current = summary.current
        if current is not None and current.overdue:
            assessment = by_id[assessment_id]
            items.append(
                TodoItem(
                    OVERDUE,
                    assessment,
                    endpoint="admin.verifiers",
                    args={"assessment_id": assessment.id},
                    due=current,
                )
            )
    return items


def missing_core_count(assessment: Assessment, core: list[tuple[str, str]] | None = None) -> int:
    """Core KPI items without a reported value."""
    if core is None:
        core = [item.key for item in current_catalogue().items() if _is_core(item.code)]
    reported = {(v.code, v.data_point) for v in assessment.values if effective_reported(v)}
    return sum(key not in reported for key in core)


def _is_core(code: str) -> bool:
    return current_catalogue().indicator(code).tier == "core"


def _entry_endpoint() -> str:
    """The data-entry page when it exists (a colleague's blueprint), else the query list."""
    from flask import current_app

    if "assessments.show" in current_app.view_functions:
        return "assessments.show"
    return "verification.city_queries"


def _entry_args(assessment: Assessment) -> dict[str, Any]:
    return {"assessment_id": assessment.id}


def working_set(user: Any, limit: int = 200) -> list[Assessment]:
    """The assessments the user works on (unpublished access), for the inbox table."""
    from kpi_app.models import City

    query = (
        permissions.visible_assessments(user)
        .order_by(City.name, Assessment.year.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def landing_endpoint(user: Any) -> str:
    """Where a user lands after logging in: their own to-do list (viewers: the home page)."""
    account = permissions._user(user)
    if account is None or account.role is Role.VIEWER:
        return "public.home"
    return "verification.inbox"

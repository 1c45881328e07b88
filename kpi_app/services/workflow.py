"""The assessment workflow: status transitions, verifier assignment and per-value verification.

An assessment moves draft → submitted → in_review → returned (back to the city with queries)
or verified → published. A coordinator can reopen a verified or published assessment to draft
or returned, with a reason. Every change is validated here (an illegal move raises
WorkflowError with a message fit for the user), recorded in the audit trail, and committed
here: views call one function and never commit.

Who may act is decided by `services.permissions`; the few questions it does not answer
directly (who may submit regardless of the current status) are composed from it below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from flask import current_app

from kpi_app.extensions import db
from kpi_app.i18n import _, _l
from kpi_app.i18n import lazy_text as _text
from kpi_app.models import (
    Assessment,
    AuditEvent,
    City,
    IndicatorValue,
    QueryStatus,
    Role,
    Status,
    User,
    ValueQuery,
    VerifierAssignment,
)
from kpi_app.models.base import utcnow
from kpi_app.services import (
    assessments,
    audit,
    notifications,
    permissions,
    review_threads,
    screening,
    snapshots,
)
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.screening import Flag, ScreeningReport
from kpi_app.services.value_verification import (
    BULK_REASON,
    REVIEW_ACTIONS,
    VERIFICATION_CODES,
    BulkResult,
    CategoryGaps,
    MissingDetails,
    VerifiedShare,
    bulk_verify,
    entered_by,
    lacks_quality,
    lacks_source,
    override_reported,
    set_value_verification,
    submission_gaps,
    verification_code_choices,
    verified_share,
)
from kpi_app.services.workflow_terms import (
    StaleValue,
    WorkflowDenied,
    WorkflowError,
    effective_reported,
    item_label,
)

# The public names, with those `value_verification` and `workflow_terms` hold (callers import
# them from here).
__all__ = [
    "BULK_REASON",
    "REOPEN_TARGETS",
    "REVIEW_ACTIONS",
    "REVIEW_STATUSES",
    "STATUS_LABELS",
    "TRANSITIONS",
    "VERIFICATION_CODES",
    "Action",
    "BulkResult",
    "CategoryGaps",
    "DecisionsMissing",
    "MissingDetails",
    "ReviewOverview",
    "ReviewRow",
    "StaleValue",
    "StatusBanner",
    "SubmissionIncomplete",
    "Transition",
    "ValueOverview",
    "VerifiedShare",
    "WorkflowDenied",
    "WorkflowError",
    "active_verifiers",
    "assign_verifier",
    "available_actions",
    "bulk_verify",
    "carry_over_verifiers",
    "effective_reported",
    "entered_by",
    "find_assessment",
    "get_assessment",
    "get_value",
    "item_label",
    "lacks_quality",
    "lacks_source",
    "may_submit",
    "may_take",
    "open_assessment",
    "open_query_counts",
    "override_reported",
    "previous_verifiers",
    "review_overview",
    "review_rows",
    "set_value_verification",
    "status_banner",
    "status_label",
    "submission_gaps",
    "transition",
    "unassign_verifier",
    "unresolved_query_count",
    "value_overview",
    "verification_code_choices",
    "verified_share",
]


class SubmissionIncomplete(WorkflowError):
    """Reported values lack a source or a data-quality level; `gaps` lists them by category."""

    def __init__(self, message: str, gaps: list[CategoryGaps]) -> None:
        super().__init__(message)
        self.gaps = gaps


class DecisionsMissing(WorkflowError):
    """Reported values without a verification decision; `count` says how many."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


class Action(enum.StrEnum):
    SUBMIT = "submit"
    START_REVIEW = "start_review"
    RETURN = "return"
    VERIFY = "verify"
    PUBLISH = "publish"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: chosen by the caller (reopen to draft or returned)
    needs_reason: bool


TRANSITIONS: dict[Action, Transition] = {
    Action.SUBMIT: Transition(frozenset({Status.DRAFT, Status.RETURNED}), Status.SUBMITTED, False),
    Action.START_REVIEW: Transition(frozenset({Status.SUBMITTED}), Status.IN_REVIEW, False),
    Action.RETURN: Transition(
        frozenset({Status.SUBMITTED, Status.IN_REVIEW}), Status.RETURNED, True
    ),
    Action.VERIFY: Transition(frozenset({Status.IN_REVIEW}), Status.VERIFIED, False),
    Action.PUBLISH: Transition(frozenset({Status.VERIFIED}), Status.PUBLISHED, False),
    Action.REOPEN: Transition(frozenset({Status.VERIFIED, Status.PUBLISHED}), None, True),
}
REOPEN_TARGETS = (Status.DRAFT, Status.RETURNED)
#: app.extensions key: callables (city slug, year) run after a publication is committed.
PUBLISHED_HOOKS = "kpi_published_hooks"
REVIEW_STATUSES = frozenset({Status.SUBMITTED, Status.IN_REVIEW})

STATUS_LABELS: dict[Status, Any] = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted for verification"),
    Status.IN_REVIEW: _l("In review"),
    Status.RETURNED: _l("Returned to the city"),
    Status.VERIFIED: _l("Verified"),
    Status.PUBLISHED: _l("Published"),
}


def status_label(status: Status) -> str:
    return _text(STATUS_LABELS[status], status.value)


# --- who may act -------------------------------------------------------------------------


def may_submit(user: Any, assessment: Assessment) -> bool:
    """City editors of the assessment's city, and admins, whatever the current status.

    permissions.can_edit_values also requires an editable status; submitting needs the role
    check alone so that a second click says "already submitted" rather than "forbidden".
    """
    if not permissions.can_view_assessment(user, assessment):
        return False
    return bool(user.role in (Role.CITY_EDITOR, Role.ADMIN))


def may_take(user: Any, action: Action, assessment: Assessment) -> bool:
    if action is Action.SUBMIT:
        return may_submit(user, assessment)
    if action in (Action.START_REVIEW, Action.RETURN, Action.VERIFY):
        return permissions.can_verify(user, assessment)
    return permissions.can_coordinate(user)


def available_actions(user: Any, assessment: Assessment) -> list[Action]:
    """The steps this user could take now (what the review page offers as buttons)."""
    return [
        action
        for action, transition in TRANSITIONS.items()
        if assessment.status in transition.sources and may_take(user, action, assessment)
    ]


# --- transitions -------------------------------------------------------------------------


def transition(
    assessment: Assessment,
    action: Action | str,
    actor: User,
    *,
    reason: str | None = None,
    target: Status | str | None = None,
) -> Status:
    """Take one workflow step, audited and committed; returns the new status."""
    action = Action(action)
    if not may_take(actor, action, assessment):
        raise WorkflowDenied(_("You may not do this on this assessment."))
    _lock(assessment)
    try:
        new, old, reason = _validated_step(assessment, action, reason, target)
    except WorkflowError:
        db.session.rollback()  # releases the row lock at once
        raise
    _apply(assessment, action, new, actor)
    audit.record(
        "status_change",
        "assessment",
        assessment.id,
        actor=actor,
        old={"status": old.value},
        new={"status": new.value, "action": action.value},
        reason=reason,
        assessment_id=assessment.id,
    )
    notifications.on_transition(assessment, action.value, actor, reason)
    db.session.commit()
    if action is Action.PUBLISH:
        # After the commit: what the delivery layer registered (the published PDFs are
        # queued for rendering once, web/dashboards/pdf_jobs.py).
        for hook in current_app.extensions.get(PUBLISHED_HOOKS, ()):
            hook(assessment.city.slug, assessment.year)
    return new


def _validated_step(
    assessment: Assessment, action: Action, reason: str | None, target: Status | str | None
) -> tuple[Status, Status, str | None]:
    """(new status, old status, cleaned reason), or WorkflowError saying what is wrong."""
    rule = TRANSITIONS[action]
    old = assessment.status
    if old not in rule.sources:
        raise WorkflowError(
            _(
                "This step is not possible while the assessment is “%(status)s”.",
                status=status_label(old),
            )
        )
    reason = (reason or "").strip() or None
    if rule.needs_reason and reason is None:
        raise WorkflowError(_("Please give a reason for this step."))
    new = _target_status(rule, target)
    _check_preconditions(assessment, action)
    return new, old, reason


def _lock(assessment: Assessment) -> None:
    """Re-read the row under a lock (PostgreSQL), so two clicks cannot both publish."""
    db.session.refresh(assessment, with_for_update=True)


def _target_status(rule: Transition, target: Status | str | None) -> Status:
    if rule.target is not None:
        return rule.target
    try:
        chosen = Status(target) if target else None
    except ValueError:
        chosen = None
    if chosen not in REOPEN_TARGETS:
        raise WorkflowError(_("Reopen to “draft” or “returned”."))
    assert chosen is not None  # narrowed by the membership test above
    return chosen


def _check_preconditions(assessment: Assessment, action: Action) -> None:
    if action is Action.SUBMIT:
        if not any(effective_reported(v) for v in assessment.values):
            raise WorkflowError(_("Enter at least one value before submitting."))
        gaps = submission_gaps(assessment)
        if gaps:
            count = sum(len(gap.items) for gap in gaps)
            raise SubmissionIncomplete(
                _(
                    "%(n)d reported values lack a source or a data-quality level (in "
                    "%(c)d categories); complete them before submitting.",
                    n=count,
                    c=len(gaps),
                ),
                gaps,
            )
    if action in (Action.VERIFY, Action.PUBLISH):
        share = verified_share(assessment)
        if share.undecided:
            raise DecisionsMissing(
                _(
                    "%(n)d of %(t)d reported values have no verification decision yet: "
                    "verify each one, or mark it not verified with a reason.",
                    n=share.undecided,
                    t=share.reported,
                ),
                share.undecided,
            )
        from kpi_app.services import local_kpis  # local values are decided like U4SSC ones

        local_undecided = local_kpis.undecided_count(assessment)
        if local_undecided:
            raise DecisionsMissing(
                _(
                    "%(n)d reported local KPI values have no verification decision yet: "
                    "decide each one on the assessment's Local KPIs page.",
                    n=local_undecided,
                ),
                local_undecided,
            )
    if action is Action.VERIFY:
        open_count = unresolved_query_count(assessment)
        if open_count:
            raise WorkflowError(
                _(
                    "%(n)d query is still unresolved; resolve it before verifying.",
                    n=open_count,
                )
                if open_count == 1
                else _(
                    "%(n)d queries are still unresolved; resolve them before verifying.",
                    n=open_count,
                )
            )


def _apply(assessment: Assessment, action: Action, new: Status, actor: User) -> None:
    assessment.status = new
    if action is Action.SUBMIT:
        assessment.submitted_at = utcnow()
    if action is Action.PUBLISH:
        db.session.flush()
        # freeze() stamps published_at and records the snapshot hash in the audit trail.
        snapshots.freeze(assessment, actor)


def unresolved_query_count(assessment: Assessment) -> int:
    return int(
        db.session.scalar(
            db.select(db.func.count(ValueQuery.id))
            .join(IndicatorValue, ValueQuery.value_id == IndicatorValue.id)
            .where(
                IndicatorValue.assessment_id == assessment.id,
                ValueQuery.status != QueryStatus.RESOLVED,
            )
        )
        or 0
    )


# --- assessments (cycles) and verifier assignment ---------------------------------------


def open_assessment(city: City, year: int, actor: User) -> Assessment:
    """Open the assessment of a city for a reporting year (a coordinator starts a cycle)."""
    if not permissions.can_coordinate(actor):
        raise WorkflowDenied(_("Only coordinators open assessments."))
    try:
        return assessments.create_assessment(city, year, actor)
    except assessments.AssessmentError as error:
        raise WorkflowError(str(error)) from None


def _require_coordinator(actor: User | None) -> None:
    """Coordinators and admins; `None` is the operator at the command line (shell access)."""
    if actor is not None and not permissions.can_coordinate(actor):
        raise WorkflowDenied(_("Only coordinators assign verifiers."))


def assign_verifier(assessment: Assessment, verifier: User, actor: User | None) -> None:
    """Give a verifier access to an assessment (coordinators and admins only)."""
    _require_coordinator(actor)
    if verifier.role is not Role.VERIFIER or not verifier.active:
        raise WorkflowError(_("%(email)s is not an active verifier.", email=verifier.email))
    if permissions.is_assigned(verifier, assessment):
        raise WorkflowError(_("%(email)s is already assigned.", email=verifier.email))
    db.session.add(VerifierAssignment(assessment_id=assessment.id, user_id=verifier.id))
    audit.record(
        "assign_verifier",
        "assessment",
        assessment.id,
        actor=actor,
        new={"verifier": verifier.email},
        assessment_id=assessment.id,
    )
    notifications.on_assigned(assessment, verifier, actor)
    db.session.commit()
    db.session.refresh(assessment)


def unassign_verifier(assessment: Assessment, verifier: User, actor: User | None) -> None:
    _require_coordinator(actor)
    link = db.session.get(VerifierAssignment, (assessment.id, verifier.id))
    if link is None:
        raise WorkflowError(_("%(email)s is not assigned.", email=verifier.email))
    db.session.delete(link)  # an assignment is access, not data: the audit keeps the history
    audit.record(
        "unassign_verifier",
        "assessment",
        assessment.id,
        actor=actor,
        old={"verifier": verifier.email},
        assessment_id=assessment.id,
    )
    db.session.commit()
    db.session.refresh(assessment)


def active_verifiers() -> list[User]:
    return list(
        db.session.scalars(
            db.select(User)
            .where(User.role == Role.VERIFIER, User.active.is_(True))
            .order_by(User.email)
        )
    )


def previous_verifiers(assessment: Assessment) -> list[User]:
    """The active verifiers of the city's latest earlier assessment not assigned here yet
    (the coordinator confirms before they carry over)."""
    previous = db.session.scalar(
        db.select(Assessment)
        .where(Assessment.city_id == assessment.city_id, Assessment.year < assessment.year)
        .order_by(Assessment.year.desc())
        .limit(1)
    )
    if previous is None:
        return []
    assigned = {v.id for v in assessment.verifiers}
    return [
        v
        for v in previous.verifiers
        if v.role is Role.VERIFIER and v.active and v.id not in assigned
    ]


def carry_over_verifiers(assessment: Assessment, actor: User | None) -> list[User]:
    """Assign last year's verifiers to this assessment (a coordinator's confirmation)."""
    _require_coordinator(actor)
    chosen = previous_verifiers(assessment)
    if not chosen:
        raise WorkflowError(
            _("The previous assessment has no other active verifier to carry over.")
        )
    for verifier in chosen:
        assign_verifier(assessment, verifier, actor)
    return chosen


@dataclass(frozen=True)
class StatusBanner:
    """What the city sees at the top of its assessment page: where it stands and why."""

    status: Status
    verifiers: list[User]
    return_reason: str | None
    open_queries: int
    answered_queries: int


def status_banner(assessment: Assessment) -> StatusBanner:
    reason = None
    if assessment.status is Status.RETURNED:
        events = db.session.scalars(
            db.select(AuditEvent)
            .where(
                AuditEvent.assessment_id == assessment.id,
                AuditEvent.entity_type == "assessment",
                AuditEvent.action == "status_change",
            )
            .order_by(AuditEvent.id.desc())
        )
        latest = next(iter(events), None)
        if latest is not None and (latest.new or {}).get("status") == Status.RETURNED.value:
            reason = latest.reason
    counts = review_threads.count_by_status([assessment.id])
    return StatusBanner(
        status=assessment.status,
        verifiers=[v for v in assessment.verifiers if v.active],
        return_reason=reason,
        open_queries=counts.get((assessment.id, QueryStatus.OPEN), 0),
        answered_queries=counts.get((assessment.id, QueryStatus.ANSWERED), 0),
    )


# --- lookups for the views ---------------------------------------------------------------


def get_assessment(assessment_id: int) -> Assessment | None:
    return db.session.get(Assessment, assessment_id)


def find_assessment(city_slug: str, year: int) -> Assessment | None:
    return db.session.scalar(
        db.select(Assessment)
        .join(City, Assessment.city_id == City.id)
        .where(City.slug == city_slug, Assessment.year == year)
    )


def get_value(value_id: int) -> IndicatorValue | None:
    return db.session.get(IndicatorValue, value_id)


def open_query_counts(assessment: Assessment) -> dict[int, int]:
    """Open (not resolved) review threads per value id of the assessment."""
    return {
        value_id: int(count)
        for value_id, count in db.session.execute(
            db.select(ValueQuery.value_id, db.func.count(ValueQuery.id))
            .join(IndicatorValue, ValueQuery.value_id == IndicatorValue.id)
            .where(
                IndicatorValue.assessment_id == assessment.id,
                ValueQuery.status != QueryStatus.RESOLVED,
            )
            .group_by(ValueQuery.value_id)
        ).all()
    }


def review_rows(assessment: Assessment) -> list[ReviewRow]:
    """The assessment's values in catalogue order, with their query counts, for the review table."""
    catalogue = current_catalogue()
    order = {item.key: n for n, item in enumerate(catalogue.items())}
    counts = open_query_counts(assessment)
    rows = [
        ReviewRow(value=v, label=item_label(v), open_queries=int(counts.get(v.id, 0)))
        for v in assessment.values
    ]
    rows.sort(key=lambda row: order.get((row.value.code, row.value.data_point), len(order)))
    return rows


@dataclass(frozen=True)
class ReviewRow:
    value: IndicatorValue
    label: str
    open_queries: int

    @property
    def reported(self) -> bool:
        return effective_reported(self.value)


# --- page overviews (one call per page, so the views stay thin) ---------------------------


@dataclass(frozen=True)
class ReviewOverview:
    assessment: Assessment
    rows: list[ReviewRow]
    screening: ScreeningReport
    actions: list[Action]
    unresolved_queries: int
    flag_counts: dict[tuple[str, str], int]


def review_overview(assessment: Assessment, actor: User) -> ReviewOverview:
    """Everything the verifier's review page shows about one assessment."""
    report = screening.screen_assessment(assessment, actor)
    return ReviewOverview(
        assessment=assessment,
        rows=review_rows(assessment),
        screening=report,
        actions=available_actions(actor, assessment),
        unresolved_queries=unresolved_query_count(assessment),
        flag_counts=report.counts(),
    )


@dataclass(frozen=True)
class ValueOverview:
    value: IndicatorValue
    label: str
    reported: bool
    flags: list[Flag]
    queries: list[ValueQuery]
    can_judge: bool


def value_overview(value: IndicatorValue, actor: User) -> ValueOverview:
    """The verifier's page for one value: its data, screening hints and query threads."""
    report = screening.screen_assessment(value.assessment, actor)
    return ValueOverview(
        value=value,
        label=item_label(value),
        reported=effective_reported(value),
        flags=report.for_item(value.code, value.data_point),
        queries=review_threads.queries_for_value(value),
        can_judge=value.assessment.status is Status.IN_REVIEW,
    )

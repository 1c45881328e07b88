"""Verifying values: per-value decisions with reason codes, bulk verification, honest shares.

A verifier decides on each reported value (verified or not, with one of the documented reason
codes) or overrides whether it counts as reported; every decision is audited and optimistically
locked. :func:`verified_share` and :func:`submission_gaps` say how far an assessment is along;
`services.workflow` uses them in its transitions and re-exports these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context
from sqlalchemy.orm.exc import StaleDataError

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.i18n import lazy_text as _text
from kpi_app.models import (
    Assessment,
    AuditEvent,
    IndicatorValue,
    Status,
    User,
)
from kpi_app.services import (
    audit,
    permissions,
    screening,
)
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow_terms import (
    VERIFICATION_CODES,
    StaleValue,
    WorkflowDenied,
    WorkflowError,
    effective_reported,
    item_label,
)

# The documented reason codes a verifier gives with a verified yes/no. `True`/`False` say which
# answer the code supports, so "implausible" cannot be ticked as verified by mistake.


def verification_code_choices(verified: bool | None = None) -> list[tuple[str, str]]:
    """(code, label) pairs, optionally only those that support the given answer."""
    return [
        (code, str(label))
        for code, (supports, label) in VERIFICATION_CODES.items()
        if verified is None or supports is verified
    ]


# --- per-value verification --------------------------------------------------------------


def set_value_verification(
    value: IndicatorValue,
    actor: User,
    *,
    verified: bool,
    code: str,
    note: str | None,
    expected_version: int,
) -> None:
    """Record the verifier's verdict on one value, with a documented reason code."""
    _check_can_review_value(value, actor)
    if code not in VERIFICATION_CODES:
        raise WorkflowError(_("Choose a reason from the list."))
    supports, label = VERIFICATION_CODES[code]
    if supports is not verified:
        raise WorkflowError(
            _("The reason “%(reason)s” does not fit this answer.", reason=_text(label, code))
        )
    note = (note or "").strip() or None
    if not verified and note is None:
        raise WorkflowError(_("Say in a note what the city should fix."))
    _check_version(value, expected_version)
    _decide(value, verified=verified, code=code, note=note, actor=actor, reason=note)
    _commit_value()


def _decide(
    value: IndicatorValue,
    *,
    verified: bool,
    code: str,
    note: str | None,
    actor: User,
    reason: str | None,
) -> None:
    """Record a verifier's decision on one value, with its audit event (no commit)."""
    old = _verification_state(value)
    value.verified = verified
    value.verification_code = code
    value.verification_note = note
    value.updated_by = actor
    audit.record(
        "verify_value",
        "indicator_value",
        value.id,
        actor=actor,
        old=old,
        new=_verification_state(value),
        reason=reason,
        assessment_id=value.assessment_id,
    )


def override_reported(
    value: IndicatorValue,
    actor: User,
    *,
    reported: bool | None,
    reason: str | None,
    expected_version: int,
) -> None:
    """Override the automatic reported flag (None returns to automatic); needs a reason."""
    _check_can_review_value(value, actor)
    reason = (reason or "").strip() or None
    if reported is not None and reason is None:
        raise WorkflowError(_("Give a reason for overriding the reported flag."))
    _check_version(value, expected_version)
    old = _verification_state(value)
    value.reported_override = reported
    value.reported_override_reason = reason if reported is not None else None
    value.updated_by = actor
    audit.record(
        "override_reported",
        "indicator_value",
        value.id,
        actor=actor,
        old=old,
        new=_verification_state(value),
        reason=reason,
        assessment_id=value.assessment_id,
    )
    _commit_value()


def _check_can_review_value(value: IndicatorValue, actor: User) -> None:
    if not permissions.can_verify(actor, value.assessment):
        raise WorkflowDenied(_("You are not a verifier of this assessment."))
    if value.assessment.status is not Status.IN_REVIEW:
        raise WorkflowError(_("Start the review before judging values."))
    if entered_by(value, actor):
        raise WorkflowError(
            _("You entered or changed this value yourself; another person must verify it.")
        )


# Audit actions on a value that are the verifier's own, or attempts that were not applied.
REVIEW_ACTIONS = frozenset({"verify_value", "override_reported", "save_conflict"})


def entered_by(value: IndicatorValue, user: User) -> bool:
    """Did this user ever enter or change the value's data? (Verification must be independent:
    admins and coordinators may both edit and verify, but never the same value.)"""
    return bool(
        db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(
                AuditEvent.entity_type == "indicator_value",
                AuditEvent.entity_id == value.id,
                AuditEvent.actor_id == user.id,
                AuditEvent.action.not_in(REVIEW_ACTIONS),
            )
        )
    )


def _check_version(value: IndicatorValue, expected_version: int) -> None:
    if value.version != expected_version:
        raise StaleValue(
            _("Someone changed this value since you opened the page. Check it and try again.")
        )


def _commit_value() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleValue(
            _("Someone changed this value at the same moment. Check it and try again.")
        ) from None


def _verification_state(value: IndicatorValue) -> dict[str, Any]:
    return {
        "verified": value.verified,
        "verification_code": value.verification_code,
        "verification_note": value.verification_note,
        "reported_override": value.reported_override,
        "reported_override_reason": value.reported_override_reason,
    }


# --- honest verification: decisions on every value, complete submissions ----------------


@dataclass(frozen=True)
class VerifiedShare:
    """How many of the reported values were verified, not verified, or not yet decided."""

    reported: int
    verified: int
    not_verified: int

    @property
    def undecided(self) -> int:
        return self.reported - self.verified - self.not_verified

    @property
    def complete(self) -> bool:
        return self.reported > 0 and self.verified == self.reported


def verified_share(assessment: Assessment) -> VerifiedShare:
    """Decisions over the assessment's reported values (not reported ones need none)."""
    reported = [v for v in assessment.values if effective_reported(v)]
    return VerifiedShare(
        reported=len(reported),
        verified=sum(v.verified is True for v in reported),
        not_verified=sum(v.verified is False for v in reported),
    )


@dataclass(frozen=True)
class MissingDetails:
    """One reported value that cannot be submitted yet, and what it lacks."""

    value: IndicatorValue
    label: str
    missing_source: bool
    missing_quality: bool


@dataclass(frozen=True)
class CategoryGaps:
    category_id: str
    category_label: str
    items: list[MissingDetails]


def lacks_source(value: IndicatorValue) -> bool:
    return not ((value.source or "").strip() or (value.source_url or "").strip())


def lacks_quality(value: IndicatorValue) -> bool:
    return value.quality is None


def submission_gaps(assessment: Assessment) -> list[CategoryGaps]:
    """Reported values without a source (text or web address) or a data-quality level,
    grouped by category in catalogue order (what the city must complete before submitting)."""
    from flask_babel import get_locale

    catalogue = current_catalogue()
    lang = str(get_locale() or "en") if has_request_context() else "en"
    order = {item.key: n for n, item in enumerate(catalogue.items())}
    missing = sorted(
        (
            v
            for v in assessment.values
            if effective_reported(v) and (lacks_source(v) or lacks_quality(v))
        ),
        key=lambda v: order.get((v.code, v.data_point), len(order)),
    )
    groups: dict[str, CategoryGaps] = {}
    for value in missing:
        try:
            category = catalogue.category(catalogue.indicator(value.code).category)
            category_id, category_label = category.id, category.label(lang)
        except KeyError:
            category_id = category_label = value.code
        group = groups.setdefault(category_id, CategoryGaps(category_id, category_label, []))
        group.items.append(
            MissingDetails(value, item_label(value), lacks_source(value), lacks_quality(value))
        )
    return list(groups.values())


@dataclass
class BulkResult:
    """What a bulk verification did: the values verified and why others were left alone."""

    verified: list[int] = field(default_factory=list)
    flagged: int = 0
    decided: int = 0
    stale: int = 0
    own: int = 0
    not_reported: int = 0

    @property
    def skipped(self) -> int:
        return self.flagged + self.decided + self.stale + self.own + self.not_reported


BULK_REASON = "bulk verification of values without screening flags"


def bulk_verify(
    assessment: Assessment,
    actor: User,
    selection: Mapping[int, int],
    *,
    code: str,
) -> BulkResult:
    """Verify many values at once (value id → the version the verifier saw), one audit
    event each, in one transaction.

    Only values the screening did not flag are verified this way; flagged values, values
    already decided, values changed since the page was shown and values the verifier
    entered themselves are left for one-by-one review and counted in the result.
    """
    if not permissions.can_verify(actor, assessment):
        raise WorkflowDenied(_("You are not a verifier of this assessment."))
    if assessment.status is not Status.IN_REVIEW:
        raise WorkflowError(_("Start the review before judging values."))
    if code not in VERIFICATION_CODES or VERIFICATION_CODES[code][0] is not True:
        raise WorkflowError(_("Choose a reason that supports “verified”."))
    if not selection:
        raise WorkflowError(_("Select at least one value."))
    flagged = set(screening.screen_assessment(assessment, actor).counts())
    own = _values_entered_by(assessment, actor)
    by_id = {v.id: v for v in assessment.values}
    result = BulkResult()
    for value_id, seen_version in selection.items():
        value = by_id.get(value_id)
        if value is None:
            continue  # not a value of this assessment: ignore, reveal nothing
        if not effective_reported(value):
            result.not_reported += 1
        elif value.verified is not None:
            result.decided += 1
        elif value.version != seen_version:
            result.stale += 1
        elif value.id in own:
            result.own += 1
        elif (value.code, value.data_point) in flagged:
            result.flagged += 1
        else:
            _decide(value, verified=True, code=code, note=None, actor=actor, reason=BULK_REASON)
            result.verified.append(value.id)
    _commit_value()
    return result


def _values_entered_by(assessment: Assessment, user: User) -> set[int]:
    """Ids of the assessment's values this user ever entered or changed (see entered_by)."""
    return set(
        db.session.scalars(
            db.select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == "indicator_value",
                AuditEvent.assessment_id == assessment.id,
                AuditEvent.actor_id == user.id,
                AuditEvent.action.not_in(REVIEW_ACTIONS),
            )
        )
    )

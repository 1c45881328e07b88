"""The history of a value (and of an assessment) read from the audit trail, and reverting.

Every change to a value is an AuditEvent whose `old`/`new` hold the fields that changed.
The state a value had right after event E is rebuilt from the current row by undoing, newest
first, every later event (putting back its `old` fields). Reverting writes that state as a
NEW change: it is audited like any edit, goes through optimistic locking, and never removes
history, so a revert can itself be reverted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, AuditEvent, IndicatorValue, User
from kpi_app.services import audit, permissions
from kpi_app.services.values import AUDIT_FIELDS
from kpi_app.services.workflow_terms import StaleValue, WorkflowDenied, WorkflowError

# Entity names under which value changes are recorded (data entry and verification).
VALUE_ENTITY_TYPES = ("indicator_value", "value")
# Events that record an attempt that was NOT applied (a lost concurrent save): shown in the
# history, skipped when rebuilding earlier versions.
NOT_APPLIED_ACTIONS = frozenset({"save_conflict"})
# The fields a city reports; verification fields are the verifier's and are not reverted.
REVERTABLE_FIELDS = AUDIT_FIELDS


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    changes: tuple[Change, ...]

    @property
    def revertable(self) -> bool:
        """Does this event produce a version of the city's data one can go back to?"""
        if self.event.action in NOT_APPLIED_ACTIONS:
            return False
        return any(change.field in REVERTABLE_FIELDS for change in self.changes)


def changes_of(event: AuditEvent) -> tuple[Change, ...]:
    """Field-by-field old → new of one event (fields present in either dict)."""
    old, new = event.old or {}, event.new or {}
    fields = list(dict.fromkeys([*old, *new]))
    return tuple(
        Change(name, old.get(name), new.get(name))
        for name in fields
        if old.get(name) != new.get(name) or name not in old
    )


def value_events(value: IndicatorValue) -> list[AuditEvent]:
    """Every recorded change of this value, oldest first."""
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(
                AuditEvent.entity_type.in_(VALUE_ENTITY_TYPES),
                AuditEvent.entity_id == value.id,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def value_history(value: IndicatorValue) -> list[HistoryEntry]:
    """The value's history, newest first, for the history page."""
    return [HistoryEntry(event, changes_of(event)) for event in reversed(value_events(value))]


def assessment_history(assessment: Assessment, limit: int = 500) -> list[AuditEvent]:
    """Everything recorded for an assessment (status, values, queries), newest first."""
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.assessment_id == assessment.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def current_state(value: IndicatorValue) -> dict[str, Any]:
    return {name: getattr(value, name) for name in REVERTABLE_FIELDS}


def state_after(value: IndicatorValue, event_id: int) -> dict[str, Any]:
    """The value's data fields as they were right after event `event_id`."""
    events = [e for e in value_events(value) if e.action not in NOT_APPLIED_ACTIONS]
    positions = [n for n, event in enumerate(events) if event.id == event_id]
    if not positions:
        raise WorkflowError(_("This change does not belong to this value."))
    state = current_state(value)
    for later in reversed(events[positions[0] + 1 :]):
        old, new = later.old or {}, later.new or {}
        for name in REVERTABLE_FIELDS:
            if name in old:
                state[name] = old[name]
            elif name in new:
                state[name] = None  # set for the first time by that event: empty before it
    return state


def revert_value(
    value: IndicatorValue,
    event_id: int,
    actor: User,
    *,
    expected_version: int,
    reason: str | None,
) -> None:
    """Restore the value as it was right after `event_id`, as a new audited change."""
    if not permissions.can_edit_values(actor, value.assessment):
        raise WorkflowDenied(_("Values can only be changed by the city while it edits."))
    reason = (reason or "").strip() or None
    if reason is None:
        raise WorkflowError(_("Say why you go back to this version."))
    if value.version != expected_version:
        raise StaleValue(
            _("Someone changed this value since you opened the page. Check it and try again.")
        )
    target = state_after(value, event_id)
    _keep_computed_value_consistent(value, target)
    now = current_state(value)
    changed = [name for name in REVERTABLE_FIELDS if target[name] != now[name]]
    if not changed:
        raise WorkflowError(_("The value is already as it was in that version."))
    for name in changed:
        setattr(value, name, target[name])
    value.updated_by = actor
    audit.record(
        "revert",
        "indicator_value",
        value.id,
        actor=actor,
        old={name: now[name] for name in changed},
        new={**{name: target[name] for name in changed}, "reverted_to_event": event_id},
        reason=reason,
        assessment_id=value.assessment_id,
    )
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleValue(
            _("Someone changed this value at the same moment. Check it and try again.")
        ) from None


def _keep_computed_value_consistent(value: IndicatorValue, state: dict[str, Any]) -> None:
    """When the restored version has numerator and denominator, its value follows from them."""
    from kpi_app.services.catalogue import current_catalogue

    numerator, denominator = state["numerator"], state["denominator"]
    if numerator is None or denominator in (None, 0):
        return
    try:
        multiplier = current_catalogue().indicator(value.code).multiplier
    except KeyError:
        return
    if multiplier is not None:
        state["computed_value"] = float(numerator) / float(denominator) * multiplier

"""The audit trail: every change to a value, a status or a benchmark is one AuditEvent row."""

from __future__ import annotations

from typing import Any

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, User


def record(
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    actor: User | None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
    assessment_id: int | None = None,
) -> AuditEvent:
    """Add an event to the current unit of work (the caller commits)."""
    event = AuditEvent(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor.id if actor is not None else None,
        old=old,
        new=new,
        reason=reason,
        assessment_id=assessment_id,
    )
    db.session.add(event)
    return event

"""The audit trail: one row per recorded change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, utcnow
from kpi_app.models.user import User


class AuditEvent(Base):
    """One recorded change: who, when, what, old, new and why. Never updated or deleted."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()

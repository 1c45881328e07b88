"""Due dates of an assessment (data entry, verification) and the reminders sent about them.

One row per assessment holds its two dates (either may be unset). A reminder row records that
one reminder of one kind was sent for one due date: the unique key (assessment, kind, due
date) makes `kpi-app send-reminders` idempotent, and a changed date is reminded afresh.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kpi_app.models.base import Base, utcnow


class AssessmentDueDates(Base):
    __tablename__ = "assessment_due_dates"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), primary_key=True)
    entry_due: Mapped[date | None] = mapped_column(Date)
    verification_due: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DueReminder(Base):
    """One reminder sent: `kind` is entry_due_soon, entry_overdue, verification_due_soon or
    verification_overdue; `recipients` how many people were told."""

    __tablename__ = "due_reminder"
    __table_args__ = (UniqueConstraint("assessment_id", "kind", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

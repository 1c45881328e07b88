"""Assessments (city x reporting year), their status and their verifiers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, TimestampMixin
from kpi_app.models.city import City
from kpi_app.models.user import User

if TYPE_CHECKING:
    from kpi_app.models.values import IndicatorValue


class Status(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    RETURNED = "returned"
    VERIFIED = "verified"
    PUBLISHED = "published"

    @property
    def editable_by_city(self) -> bool:
        return self in (Status.DRAFT, Status.RETURNED)


class Assessment(TimestampMixin, Base):
    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("city_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[Status] = mapped_column(
        Enum(Status, native_enum=False, length=20), default=Status.DRAFT
    )
    catalogue_version: Mapped[str] = mapped_column(String(20))
    benchmark_set: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    city: Mapped[City] = relationship()
    values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="assessment", order_by="IndicatorValue.id"
    )
    verifiers: Mapped[list[User]] = relationship(secondary="verifier_assignment")


class VerifierAssignment(Base):
    __tablename__ = "verifier_assignment"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)

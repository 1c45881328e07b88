"""Assessments (city x reporting year) and their indicator values, one row per KPI item."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, TimestampMixin, utcnow
from kpi_app.models.city import City
from kpi_app.models.user import User


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


class DataQuality(enum.IntEnum):
    """The six U4SSC data-quality levels, best first."""

    ACCURATE_MEASUREMENT = 1
    CALCULATED_RELIABLE = 2
    ESTIMATED_RELIABLE = 3
    ESTIMATED_ASSUMPTIONS = 4
    ROUGH_ESTIMATE = 5
    UNKNOWN = 6


class IndicatorValue(TimestampMixin, Base):
    """What a city reports for one KPI item (a KPI or one of its data points) in one assessment."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("assessment_id", "code", "data_point"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    data_point: Mapped[str] = mapped_column(String(40), default="")
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    computed_value: Mapped[float | None] = mapped_column(Float)
    override_value: Mapped[float | None] = mapped_column(Float)
    override_reason: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(80))
    data_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))
    quality: Mapped[int | None] = mapped_column(Integer)
    reported: Mapped[bool] = mapped_column(Boolean, default=True)
    not_reported_reason: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    # Verification (issue 4): reported flag may be overridden by the verifier with a reason.
    reported_override: Mapped[bool | None] = mapped_column(Boolean)
    reported_override_reason: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    verification_code: Mapped[str | None] = mapped_column(String(40))
    verification_note: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Optimistic locking: SQLAlchemy raises StaleDataError when two writers race.
    version: Mapped[int] = mapped_column(Integer, default=1)

    assessment: Mapped[Assessment] = relationship(back_populates="values")
    updated_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is

    @property
    def value(self) -> float | None:
        """The value that counts: the override when given, else the computed or direct value."""
        if self.reported is False:  # None before the first flush means the default, True
            return None
        return self.override_value if self.override_value is not None else self.computed_value


class VerifierAssignment(Base):
    __tablename__ = "verifier_assignment"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)


class QueryStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class ValueQuery(TimestampMixin, Base):
    """A verifier's question on one value, with its thread of messages."""

    __tablename__ = "value_query"

    id: Mapped[int] = mapped_column(primary_key=True)
    value_id: Mapped[int] = mapped_column(ForeignKey("indicator_value.id"), index=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[QueryStatus] = mapped_column(
        Enum(QueryStatus, native_enum=False, length=20), default=QueryStatus.OPEN
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    value: Mapped[IndicatorValue] = relationship()
    opened_by: Mapped[User] = relationship()
    messages: Mapped[list[QueryMessage]] = relationship(
        back_populates="query", order_by="QueryMessage.id"
    )


class QueryMessage(Base):
    __tablename__ = "query_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("value_query.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    query: Mapped[ValueQuery] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()


class Snapshot(Base):
    """A published assessment frozen: values, catalogue version and benchmark set, hashed."""

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    catalogue_version: Mapped[str] = mapped_column(String(20))
    benchmark_set: Mapped[str] = mapped_column(String(80))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))

    assessment: Mapped[Assessment] = relationship()


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


class Scenario(TimestampMixin, Base):
    """A what-if copy of an assessment's values; never touches the assessment itself."""

    __tablename__ = "scenario"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    # {"changes": [{"code", "data_point", "value"}], "rules": [{...}]}
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    assessment: Mapped[Assessment] = relationship()
    owner: Mapped[User] = relationship()

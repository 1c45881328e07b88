"""Indicator values: what a city reports for one KPI item, one row per item."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, TimestampMixin
from kpi_app.models.user import User


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

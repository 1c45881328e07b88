"""Sensor uploads: one row per uploaded file of observations and the annual values computed.

Raw observations are not kept (a year of hourly readings per station and pollutant is large
and the city keeps it anyway); the file's SHA-256, the counts, the problems found and the
computed values with their provenance are, which is what review and audit need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, TimestampMixin
from kpi_app.models.user import User


class SensorImport(TimestampMixin, Base):
    """An uploaded observation file, its annual KPI values and what the editor accepted."""

    __tablename__ = "sensor_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(20))  # "csv" | "ngsi-ld"
    resolution: Mapped[str] = mapped_column(String(10))  # "hourly" | "daily"
    timezone: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [SensorValue.to_dict(), ...] for every parameter found in the file
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"<code>|<data_point>": {"value", "at", "by"}} for the values accepted into the assessment
    accepted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    assessment: Mapped[Assessment] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

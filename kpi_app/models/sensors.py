"""Sensor uploads: one row per uploaded file of observations and the annual values computed.

Raw observations are not kept (a year of hourly readings per station and pollutant is large
and the city keeps it anyway); the file's SHA-256, the counts, the problems found and the
computed values with their provenance are, which is what review and audit need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, TimestampMixin, utcnow
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


class SensorObservation(Base):
    """One reading received from a context broker, with where it came from.

    Unlike file uploads, notifications arrive a few readings at a time, so the readings are
    kept: the annual values are recomputed from all of a city's readings of the year after
    each notification (order of arrival does not matter). A reading is identified by its
    entity, parameter and ``observed_at``; a repeat is ignored.
    """

    __tablename__ = "sensor_observation"
    __table_args__ = (UniqueConstraint("city_id", "entity_id", "parameter", "observed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    entity_id: Mapped[str] = mapped_column(String(255))
    entity_type: Mapped[str] = mapped_column(String(64))  # AirQualityObserved, NoiseLevel…
    station: Mapped[str] = mapped_column(String(255))
    parameter: Mapped[str] = mapped_column(String(20))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # in the parameter's unit, converted on receipt (twin.sensors.parameter_unit: µg/m³ for
    # air pollutants, dB for sound levels, mg/l, µS/cm, NTU, pH or per 100 ml for water)
    value: Mapped[float] = mapped_column(Float)
    subscription_id: Mapped[str] = mapped_column(String(255))
    notification_id: Mapped[str] = mapped_column(String(255))
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

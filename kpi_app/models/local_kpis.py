"""Local KPIs: indicators a city defines beside the U4SSC set, their values and frozen copies.

Kept in tables of their own, never in ``indicator_value``: the U4SSC scoring reads only
``indicator_value`` rows and snapshot ``values``, so a local KPI cannot enter a U4SSC score,
ranking or comparison by construction (docs/local-kpis.md).

* :class:`LocalKpi`: one definition per (city, code); its public code is
  ``LOCAL:<city slug>:<code>``, a namespace no U4SSC code can have (theirs are
  ``EC: ICT: ICT: 1C``). Texts are ``{lang: text}`` maps. ``revision`` counts the edits.
* :class:`LocalKpiPolicy`: per city, whether the city's editors may define its local KPIs
  (the coordinator decides; without a row, only coordinators and admins may).
* :class:`LocalKpiValue`: what the city reports for one local KPI item in one assessment,
  verified like a U4SSC value.
* :class:`LocalKpiSnapshot`: at publication, the definitions and values as published,
  attached to the U4SSC snapshot of the same publication (whose content is untouched).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, TimestampMixin, utcnow
from kpi_app.models.city import City
from kpi_app.models.snapshots import Snapshot
from kpi_app.models.user import User

LOCAL_PREFIX = "LOCAL"


class LocalKpi(TimestampMixin, Base):
    """A city's own KPI: texts per language, unit, type, direction, SDG links, benchmark."""

    __tablename__ = "local_kpi"
    __table_args__ = (UniqueConstraint("city_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    #: The local part of the code (upper case letters, digits, "-" and "_").
    code: Mapped[str] = mapped_column(String(24))
    name: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    definition: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    unit: Mapped[str] = mapped_column(String(80), default="")
    value_type: Mapped[str] = mapped_column(String(20), default="count")
    direction: Mapped[str] = mapped_column(String(20), default="higher_better")
    numerator: Mapped[str | None] = mapped_column(Text)
    denominator: Mapped[str | None] = mapped_column(Text)
    multiplier: Mapped[float | None] = mapped_column(Float)
    #: [{"id": "female", "label": {"en": "Women"}, "target": 50.0 | None}]
    data_points: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sdg_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    benchmark_target: Mapped[float | None] = mapped_column(Float)
    benchmark_source: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    city: Mapped[City] = relationship()

    @property
    def full_code(self) -> str:
        return f"{LOCAL_PREFIX}:{self.city.slug}:{self.code}"


class LocalKpiPolicy(Base):
    """Whether a city's editors may define its local KPIs (set by a coordinator)."""

    __tablename__ = "local_kpi_policy"

    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), primary_key=True)
    editors_may_define: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class LocalKpiValue(TimestampMixin, Base):
    """One local KPI item's value in one assessment (data_point "" for a single value)."""

    __tablename__ = "local_kpi_value"
    __table_args__ = (UniqueConstraint("assessment_id", "local_kpi_id", "data_point"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    local_kpi_id: Mapped[int] = mapped_column(ForeignKey("local_kpi.id"), index=True)
    data_point: Mapped[str] = mapped_column(String(40), default="")
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    reported: Mapped[bool] = mapped_column(Boolean, default=True)
    not_reported_reason: Mapped[str | None] = mapped_column(Text)
    data_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(500))
    quality: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    verification_code: Mapped[str | None] = mapped_column(String(40))
    verification_note: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    assessment: Mapped[Assessment] = relationship()
    kpi: Mapped[LocalKpi] = relationship()
    updated_by: Mapped[User | None] = relationship()


class LocalKpiSnapshot(Base):
    """The local KPIs of one publication: definitions and values as published, hashed."""

    __tablename__ = "local_kpi_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"), unique=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: {"city", "year", "kpis": [definition records], "values": [value records]}
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))

    snapshot: Mapped[Snapshot] = relationship()

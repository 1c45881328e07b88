"""Published values in bulk: one row per value of a snapshot, written when it is frozen.

The snapshot's JSON stays the record of what was published (hashed, audited); these rows
are the same values laid out for SQL, so that pages and exports covering many cities read
the rows they need (one KPI, one year, one page of entities) instead of decoding every
snapshot (issue 20). They are frozen like the snapshot: written in the publishing
transaction and never updated, except when ``kpi-app freeze-snapshots`` completes a
snapshot published before freezing existed (its rows are then rewritten from it).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kpi_app.models.base import Base


class PublishedValue(Base):
    """One KPI item of one snapshot: the value as published, its frozen target and band."""

    __tablename__ = "published_value"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "code", "data_point"),
        Index("ix_published_value_year_code", "year", "code"),
        Index("ix_published_value_city_year", "city_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    year: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    data_point: Mapped[str] = mapped_column(String(40), default="")
    #: Position of the item in the catalogue the snapshot froze (-1: not in it).
    item_order: Mapped[int] = mapped_column(Integer, default=-1)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(80))
    data_year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer)
    reported: Mapped[bool] = mapped_column(Boolean, default=True)
    not_reported_reason: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    #: The target and direction frozen at publication (None: no target in the frozen set).
    target: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(20))
    #: The U4SSC rule on the frozen target: % of target and band (points 1-4, 0 not scored).
    percent_of_target: Mapped[float | None] = mapped_column(Float)
    points: Mapped[int] = mapped_column(Integer, default=0)

"""Published values in bulk: one row per value of a snapshot, written when it is frozen.

The snapshot's JSON stays the record of what was published (hashed, audited); these rows
are the same values laid out for SQL, so that pages and exports covering many cities read
the rows they need (one KPI, one year, one page of entities) instead of decoding every
snapshot (issue 20). They are frozen like the snapshot: written in the publishing
transaction and never updated, except when ``kpi-app freeze-snapshots`` completes a
snapshot published before freezing existed (its rows are then rewritten from it).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from kpi_app.models.base import Base


class PublishedValue(Base):
    """One KPI item of one snapshot: the value as published, its frozen target and band."""

    __tablename__ = "published_value"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "code", "data_point"),
        Index("ix_published_value_year_code", "year", "code"),
        Index("ix_published_value_city_year", "city_id", "year"),
        # Pages and exports read the latest published values of a KPI across every city:
        # this partial index finds them without a semi-join to the latest snapshots, and
        # on PostgreSQL it covers what the KPI summaries read (index-only scans).
        Index(
            "ix_published_value_latest_code",
            "code",
            "data_point",
            "year",
            postgresql_include=["id", "city_id", "value", "points", "reported"],
            postgresql_where=text("is_latest"),
            sqlite_where=text("is_latest = 1"),
        ),
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
    #: True for the rows of the latest snapshot of their assessment (what is published now).
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class PublishedScore(Base):
    """One group score of one snapshot (overall, a dimension, a sub-dimension or a category)
    by the default method (U4SSC) on the frozen targets, stored at publication so that pages
    listing many cities read it instead of scoring them (issue 20)."""

    __tablename__ = "published_score"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "level", "group_id"),
        Index("ix_published_score_level_city", "level", "city_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    year: Mapped[int] = mapped_column(Integer)
    #: "overall", "dimensions", "sub_dimensions" or "categories" (the ScoreResult frames).
    level: Mapped[str] = mapped_column(String(16))
    #: The dimension, sub-dimension or category id ("" for overall).
    group_id: Mapped[str] = mapped_column(String(40), default="")
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[int | None] = mapped_column(Integer)
    band_label: Mapped[str | None] = mapped_column(String(40))
    points: Mapped[float | None] = mapped_column(Float)
    max_points: Mapped[float | None] = mapped_column(Float)
    scored_items: Mapped[int] = mapped_column(Integer, default=0)
    total_items: Mapped[int] = mapped_column(Integer, default=0)
    coverage: Mapped[float | None] = mapped_column(Float)
    coverage_core: Mapped[float | None] = mapped_column(Float)
    coverage_advanced: Mapped[float | None] = mapped_column(Float)
    #: The method the score is by (its name; the frozen spec when the snapshot has one).
    method: Mapped[str] = mapped_column(String(40), default="u4ssc")

"""Published assessments frozen as snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, utcnow


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
    #: :func:`kpi_app.services.score_inputs.scoring_digest` of the content: names what the
    #: snapshot froze for scoring, so that published scores need not read the content
    #: (None: published before the column, until ``kpi-app init-db`` fills it, or unfrozen).
    frozen_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)

    assessment: Mapped[Assessment] = relationship()

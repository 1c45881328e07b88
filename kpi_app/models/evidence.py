"""Evidence files attached to one reported value (issue 15).

The bytes live outside the web root under KPI_UPLOAD_DIR, named by their SHA-256; this row
says which value they support, who uploaded them and when. A deleted attachment keeps its
row (marked) and its file: nothing is ever lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, utcnow
from kpi_app.models.user import User
from kpi_app.models.values import IndicatorValue


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    value_id: Mapped[int] = mapped_column(ForeignKey("indicator_value.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The query reply that brought the file, when it came with an answer to a verifier.
    query_message_id: Mapped[int | None] = mapped_column(ForeignKey("query_message.id"), index=True)

    value: Mapped[IndicatorValue] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])

"""Verifiers' question threads on one value: the query and its messages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, TimestampMixin, utcnow
from kpi_app.models.user import User
from kpi_app.models.values import IndicatorValue


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

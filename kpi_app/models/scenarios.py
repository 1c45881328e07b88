"""What-if scenarios: copies of an assessment's values to play with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.assessment import Assessment
from kpi_app.models.base import Base, TimestampMixin
from kpi_app.models.user import User


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

"""Builders shared by the workflow, queries, screening and history tests."""

from __future__ import annotations

from typing import Any

from kpi_app.extensions import db
from kpi_app.models import Assessment, IndicatorValue, Status, User
from kpi_app.services import audit


def add_value(
    assessment: Assessment,
    code: str,
    value: float | None,
    data_point: str = "",
    actor: User | None = None,
    **fields: Any,
) -> IndicatorValue:
    """A value as data entry would save it: the row plus its audited creation.

    A reported value gets a source and a data-quality level unless the test gives its own
    (pass ``source=None`` / ``quality=None`` to leave them out): submission requires both.
    """
    if value is not None:
        fields.setdefault("source", "Municipal statistics office")
        fields.setdefault("quality", 2)
    row = IndicatorValue(
        assessment=assessment,
        code=code,
        data_point=data_point,
        computed_value=value,
        reported=value is not None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "create",
        "indicator_value",
        row.id,
        actor=actor,
        new={"computed_value": value, "reported": value is not None, **fields},
        assessment_id=assessment.id,
    )
    db.session.commit()
    return row


def edit_value(row: IndicatorValue, actor: User | None, **changes: Any) -> None:
    """An audited edit, recording old and new of the fields it changes."""
    old = {name: getattr(row, name) for name in changes}
    for name, new in changes.items():
        setattr(row, name, new)
    audit.record(
        "update",
        "indicator_value",
        row.id,
        actor=actor,
        old=old,
        new=dict(changes),
        assessment_id=row.assessment_id,
    )
    db.session.commit()


def set_status(assessment: Assessment, status: Status) -> None:
    assessment.status = status
    db.session.commit()


def decide_all(assessment: Assessment, verified: bool = True) -> None:
    """Record a verification decision on every reported value directly (no workflow checks):
    for tests that set an assessment's status by hand and then publish it."""
    for row in assessment.values:
        if row.reported and row.value is not None and row.verified is None:
            row.verified = verified
            row.verification_code = "source_checked" if verified else "implausible"
    db.session.commit()

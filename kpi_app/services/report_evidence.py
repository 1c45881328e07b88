"""The evidence files listed in the verification report (issue 15), per value.

For each value of the assessment: its attachments with name, type, size, SHA-256 and who
uploaded them when. A report of the live data lists the current attachments; a report of the
published snapshot lists those attached at the moment of publication (uploaded before it and
not removed before it), so the report says what the publication rested on. Evidence is seen
only by those who may see the assessment's unpublished data (like the downloads); for anyone
else the listing is hidden and the report says so.

web/dashboards/pdf.py calls `report_context` (a one-line hook) and the template reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import Assessment, Evidence, IndicatorValue
from kpi_app.services import evidence, permissions, snapshots, workflow
from kpi_app.services.catalogue import current_catalogue

REPORT_KIND = "verification-report"


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    media_type: str
    size: int
    size_text: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True)
class ValueEvidence:
    code: str
    data_point: str
    label: str
    files: tuple[EvidenceFile, ...]


@dataclass(frozen=True)
class EvidenceListing:
    visible: bool  # False: the reader may not see evidence (the report says so)
    values: list[ValueEvidence] = field(default_factory=list)
    as_of: datetime | None = None  # the publication the listing is frozen at

    @property
    def file_count(self) -> int:
        return sum(len(v.files) for v in self.values)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _held_at(item: Evidence, moment: datetime | None) -> bool:
    """Was the file attached at `moment` (None: now)?"""
    if moment is None:
        return item.deleted_at is None
    if _utc(item.uploaded_at) > moment:
        return False
    return item.deleted_at is None or _utc(item.deleted_at) > moment


def listing(assessment: Assessment, user: Any, source: str) -> EvidenceListing:
    """The report's evidence section for `user`, of the live data or the published snapshot."""
    if not permissions.can_view_assessment(user, assessment):
        return EvidenceListing(visible=False)
    as_of = None
    if source == "published":
        snapshot = snapshots.latest(assessment.id)
        as_of = _utc(snapshot.created_at) if snapshot is not None else None
    rows = db.session.execute(
        select(Evidence, IndicatorValue)
        .join(IndicatorValue, Evidence.value_id == IndicatorValue.id)
        .where(IndicatorValue.assessment_id == assessment.id)
        .order_by(Evidence.id)
    ).all()
    grouped: dict[int, tuple[IndicatorValue, list[EvidenceFile]]] = {}
    for item, value in rows:
        if not _held_at(item, as_of):
            continue
        uploader = item.uploaded_by
        grouped.setdefault(value.id, (value, []))[1].append(
            EvidenceFile(
                filename=item.filename,
                media_type=item.media_type,
                size=item.size,
                size_text=evidence.human_size(item.size),
                sha256=item.sha256,
                uploaded_by=(uploader.name or uploader.email) if uploader is not None else "",
                uploaded_at=_utc(item.uploaded_at),
            )
        )
    order = {entry.key: n for n, entry in enumerate(current_catalogue().items())}
    values = sorted(
        (
            ValueEvidence(
                code=value.code,
                data_point=value.data_point,
                label=workflow.item_label(value),
                files=tuple(files),
            )
            for value, files in grouped.values()
        ),
        key=lambda v: (order.get((v.code, v.data_point), len(order)), v.code, v.data_point),
    )
    return EvidenceListing(visible=True, values=values, as_of=as_of)


def report_context(kind: str, profile: Any, user: Any) -> dict[str, Any]:
    """Extra template context of a city PDF (`profile`: reports.CityProfile): the evidence
    listing, for the verification report only."""
    if kind != REPORT_KIND:
        return {}
    assessment = db.session.scalar(
        select(Assessment).where(
            Assessment.city_id == profile.city.id, Assessment.year == profile.year
        )
    )
    if assessment is None:
        return {}
    return {"evidence": listing(assessment, user, str(profile.source))}

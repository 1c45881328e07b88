"""Published snapshots: the frozen values of an assessment, hashed, never changed afterwards.

Public pages, the API and exports read published results from the latest snapshot, so a
reopened assessment keeps showing what was published until it is published again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kpi_app.extensions import db
from kpi_app.models import Assessment, IndicatorValue, Snapshot, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit

SNAPSHOT_FIELDS = (
    "code",
    "data_point",
    "value",
    "unit",
    "data_year",
    "source",
    "quality",
    "reported",
    "not_reported_reason",
    "verified",
)


def value_record(value: IndicatorValue) -> dict[str, Any]:
    reported = value.reported if value.reported_override is None else value.reported_override
    reason = value.not_reported_reason if value.reported_override is None else None
    return {
        "code": value.code,
        "data_point": value.data_point,
        "value": value.value,
        "unit": value.unit,
        "data_year": value.data_year,
        "source": value.source,
        "quality": value.quality,
        "reported": reported,
        "not_reported_reason": None if reported else (value.reported_override_reason or reason),
        "verified": value.verified,
    }


def build_content(assessment: Assessment) -> dict[str, Any]:
    values = sorted(
        (value_record(v) for v in assessment.values), key=lambda r: (r["code"], r["data_point"])
    )
    return {
        "city": assessment.city.slug,
        "year": assessment.year,
        "catalogue_version": assessment.catalogue_version,
        "benchmark_set": assessment.benchmark_set,
        "values": values,
    }


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def freeze(assessment: Assessment, actor: User | None) -> Snapshot:
    """Add a snapshot of the assessment as it is now (the caller commits)."""
    content = build_content(assessment)
    snapshot = Snapshot(
        assessment_id=assessment.id,
        created_by_id=actor.id if actor else None,
        catalogue_version=assessment.catalogue_version,
        benchmark_set=assessment.benchmark_set,
        content=content,
        content_hash=content_hash(content),
    )
    db.session.add(snapshot)
    assessment.published_at = utcnow()
    db.session.flush()
    audit.record(
        "publish",
        "assessment",
        assessment.id,
        actor=actor,
        new={"snapshot_id": snapshot.id, "content_hash": snapshot.content_hash},
        assessment_id=assessment.id,
    )
    return snapshot


def latest(assessment_id: int) -> Snapshot | None:
    return db.session.scalar(
        db.select(Snapshot)
        .where(Snapshot.assessment_id == assessment_id)
        .order_by(Snapshot.id.desc())
        .limit(1)
    )

"""Local KPIs frozen with a publication: the copy written beside the U4SSC snapshot.

Called by ``snapshots.freeze`` (publishing); it sits below the read side
(:mod:`kpi_app.services.local_kpi_reports`), which reaches up to the page plans of reports,
so that publishing does not import the pages (the services form no import cycle). The U4SSC
snapshot's own content and hash are never touched (docs/local-kpis.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kpi_app.extensions import db
from kpi_app.models import Assessment, LocalKpi, LocalKpiSnapshot, LocalKpiValue, Snapshot
from kpi_app.services.local_kpis import city_kpis, definition_record, values_of


def value_record(row: LocalKpiValue, kpi: LocalKpi) -> dict[str, Any]:
    return {
        "kpi_id": kpi.id,
        "code": kpi.full_code,
        "data_point": row.data_point,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "value": row.value if row.reported else None,
        "reported": row.reported,
        "not_reported_reason": row.not_reported_reason,
        "data_year": row.data_year,
        "source": row.source,
        "source_url": row.source_url,
        "quality": row.quality,
        "comment": row.comment,
        "verified": row.verified,
        "verification_code": row.verification_code,
        "verification_note": row.verification_note,
    }


def live_content(assessment: Assessment) -> dict[str, Any]:
    """The assessment's local KPIs as they are now: definitions and values."""
    kpis = city_kpis(assessment.city, active_only=True)
    by_id = {k.id: k for k in kpis}
    values = [
        value_record(row, by_id[row.local_kpi_id])
        for row in sorted(values_of(assessment).values(), key=lambda r: r.id)
        if row.local_kpi_id in by_id
    ]
    return {
        "city": assessment.city.slug,
        "year": assessment.year,
        "kpis": [definition_record(k) for k in kpis],
        "values": values,
    }


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a content record in canonical JSON (what the frozen copy stores)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def freeze(assessment: Assessment, snapshot: Snapshot) -> LocalKpiSnapshot | None:
    """Freeze the local KPIs with a publication (called by snapshots.freeze; no commit).

    Nothing is stored for a city without local KPIs. The U4SSC snapshot's own content and
    hash are not touched.
    """
    content = live_content(assessment)
    if not content["kpis"]:
        return None
    frozen = LocalKpiSnapshot(
        snapshot_id=snapshot.id,
        assessment_id=assessment.id,
        content=content,
        content_hash=content_hash(content),
    )
    db.session.add(frozen)
    return frozen

"""Published snapshots: the frozen values of an assessment, hashed, never changed afterwards.

Public pages, the API and exports read published results from the latest snapshot, so a
reopened assessment keeps showing what was published until it is published again.

A snapshot freezes everything a published score depends on, under ``content["frozen"]``
(covered by the content hash): the catalogue items as scored (structure, direction, value
type, order) and the catalogue version, the benchmark set's id, version, fingerprint and
every entry (target, direction override, source), and the method spec. Editing the YAML
afterwards therefore changes no published figure. Snapshots published before freezing
existed are completed by :func:`backfill` (``kpi-app freeze-snapshots``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from kpi_app.catalogue import BenchmarkSet, Catalogue
from kpi_app.catalogue.benchmark_import import EntryDiff, diff_entries, entries_hash
from kpi_app.extensions import db
from kpi_app.models import Assessment, IndicatorValue, Snapshot, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit, local_kpi_snapshots, published_scores, published_values
from kpi_app.services.score_inputs import canonical_hash, scoring_digest

FROZEN_SCHEMA = 1
#: Catalogue columns a score reads; frozen per item so a changed file cannot move a score.
FROZEN_ITEM_COLUMNS = (
    "code",
    "data_point",
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "kind",
    "unit",
    "value_type",
    "direction",
    "multiplier",
    "order",
)

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
    frozen = frozen_context(assessment)
    return {
        "city": assessment.city.slug,
        "year": assessment.year,
        "catalogue_version": frozen["catalogue"]["version"],
        "benchmark_set": frozen["benchmarks"]["id"],
        "values": values,
        "frozen": frozen,
    }


def frozen_context(assessment: Assessment) -> dict[str, Any]:
    """What a score of this assessment depends on besides its values, as of now."""
    from kpi_app.scoring.spec import resolve_spec
    from kpi_app.services.catalogue import current_catalogue
    from kpi_app.services.scores import benchmarks_for

    catalogue = current_catalogue()
    benchmarks = benchmarks_for([assessment], None)
    method = str(current_app.config.get("DEFAULT_SCORING_METHOD", "u4ssc"))
    return {
        "schema": FROZEN_SCHEMA,
        "catalogue": frozen_catalogue(catalogue),
        "benchmarks": frozen_benchmarks(benchmarks),
        "method": resolve_spec(method).to_dict(),
    }


def frozen_catalogue(catalogue: Catalogue) -> dict[str, Any]:
    frame = catalogue.to_frame()
    columns = [column for column in FROZEN_ITEM_COLUMNS if column in frame.columns]
    records = frame[columns].astype(object).where(frame[columns].notna(), None)
    return {"version": catalogue.version, "items": records.to_dict("records")}


def frozen_benchmarks(benchmarks: BenchmarkSet) -> dict[str, Any]:
    return {
        "id": benchmarks.id,
        "version": benchmarks.version,
        "name": dict(benchmarks.name),
        "origin": benchmarks.origin,
        "fingerprint": entries_hash(benchmarks.benchmarks),
        "entries": [
            {
                "code": entry.code,
                "data_point": entry.data_point,
                "target": entry.target,
                "direction": str(entry.direction) if entry.direction else None,
                "source": entry.source,
            }
            for entry in benchmarks.benchmarks
        ],
    }


def frozen(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """The snapshot's frozen scoring context, or None (published before freezing)."""
    if snapshot is None:
        return None
    block = (snapshot.content or {}).get("frozen")
    return block if isinstance(block, dict) else None


@dataclass
class Republication:
    """What differs between the published snapshot and a publication made now."""

    previous: Snapshot
    targets: EntryDiff
    items_added: list[str]
    items_removed: list[str]
    catalogue_from: str
    catalogue_to: str
    set_from: str
    set_to: str

    @property
    def empty(self) -> bool:
        return (
            self.targets.empty
            and not self.items_added
            and not self.items_removed
            and self.set_from == self.set_to
        )


def republication_changes(assessment: Assessment) -> Republication | None:
    """Differences a republication would make, or None when never published before."""
    previous = latest(assessment.id)
    if previous is None:
        return None
    now = frozen_context(assessment)
    before = frozen(previous)
    if before is None:  # published before freezing: it is scored with the files as installed
        from kpi_app.services.catalogue import current_catalogue
        from kpi_app.services.scores import benchmarks_for

        before = {
            "catalogue": frozen_catalogue(current_catalogue()),
            "benchmarks": frozen_benchmarks(benchmarks_for([], previous.benchmark_set)),
        }
    old_items = {_label(i) for i in before["catalogue"]["items"]}
    new_items = {_label(i) for i in now["catalogue"]["items"]}
    return Republication(
        previous=previous,
        targets=diff_entries(before["benchmarks"]["entries"], now["benchmarks"]["entries"]),
        items_added=sorted(new_items - old_items),
        items_removed=sorted(old_items - new_items),
        catalogue_from=str(before["catalogue"]["version"]),
        catalogue_to=str(now["catalogue"]["version"]),
        set_from=f"{before['benchmarks']['id']} {before['benchmarks'].get('version', '')}".strip(),
        set_to=f"{now['benchmarks']['id']} {now['benchmarks']['version']}",
    )


def _label(item: dict[str, Any]) -> str:
    return str(item["code"]) + (f" [{item['data_point']}]" if item.get("data_point") else "")


def content_hash(content: dict[str, Any]) -> str:
    return canonical_hash(content)


def freeze(assessment: Assessment, actor: User | None) -> Snapshot:
    """Add a snapshot of the assessment as it is now (the caller commits)."""
    content = build_content(assessment)
    snapshot = Snapshot(
        assessment_id=assessment.id,
        created_by_id=actor.id if actor else None,
        catalogue_version=content["catalogue_version"],
        benchmark_set=content["benchmark_set"],
        content=content,
        content_hash=content_hash(content),
        frozen_digest=scoring_digest(content),
    )
    db.session.add(snapshot)
    assessment.published_at = utcnow()
    db.session.flush()
    published_values.write(snapshot, assessment)
    published_scores.write(snapshot, assessment)
    local_kpi_snapshots.freeze(assessment, snapshot)  # beside, never inside, the U4SSC content
    audit.record(
        "publish",
        "assessment",
        assessment.id,
        actor=actor,
        new={"snapshot_id": snapshot.id, "content_hash": snapshot.content_hash},
        assessment_id=assessment.id,
    )
    return snapshot


def fill_digests() -> int:
    """Write ``frozen_digest`` of every frozen snapshot without one (published before the
    column; ``kpi-app init-db`` and ``restore`` run it). Idempotent; the caller commits.
    Returns how many were written. Reads the content in batches of 500."""
    missing = sa.select(Snapshot.id).where(Snapshot.frozen_digest.is_(None)).order_by(Snapshot.id)
    ids = list(db.session.scalars(missing))
    written = 0
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        rows = db.session.execute(
            sa.select(Snapshot.id, Snapshot.content).where(Snapshot.id.in_(batch))
        ).all()
        updates = [
            {"id": snapshot_id, "frozen_digest": digest}
            for snapshot_id, content in rows
            if (digest := scoring_digest(content)) is not None
        ]
        if updates:
            db.session.execute(sa.update(Snapshot), updates)
            written += len(updates)
    return written


def latest(assessment_id: int) -> Snapshot | None:
    return db.session.scalar(
        db.select(Snapshot)
        .where(Snapshot.assessment_id == assessment_id)
        .order_by(Snapshot.id.desc())
        .limit(1)
    )


def backfill(actor: User | None = None) -> int:
    """Freeze snapshots published before freezing existed, with the catalogue and the set
    they name as installed now (the best record there is; audited with both hashes).
    The caller commits. Returns how many were completed."""
    done = 0
    for snapshot in db.session.scalars(select_unfrozen()):
        assessment = snapshot.assessment
        block = frozen_context(assessment)
        if block["benchmarks"]["id"] != snapshot.benchmark_set:
            # The set it names is gone: say so instead of pretending another set was used.
            block["benchmarks"]["substituted_for"] = snapshot.benchmark_set
        block["backfilled_at"] = utcnow().isoformat()
        content = {**snapshot.content, "frozen": block}
        old_hash = snapshot.content_hash
        snapshot.content = content
        snapshot.content_hash = content_hash(content)
        snapshot.frozen_digest = scoring_digest(content)
        published_values.rewrite(snapshot, assessment)
        published_scores.rewrite(snapshot, assessment)
        audit.record(
            "snapshot_backfill",
            "snapshot",
            snapshot.id,
            actor=actor,
            old={"content_hash": old_hash},
            new={
                "content_hash": snapshot.content_hash,
                "benchmark_set": block["benchmarks"]["id"],
                "benchmark_version": block["benchmarks"]["version"],
                "catalogue_version": block["catalogue"]["version"],
            },
            assessment_id=assessment.id,
        )
        done += 1
    return done


def select_unfrozen() -> Any:
    """Snapshots without a frozen context (JSON filtering differs per database: do it here)."""
    ids = [
        snapshot_id
        for snapshot_id, content in db.session.execute(db.select(Snapshot.id, Snapshot.content))
        if not isinstance((content or {}).get("frozen"), dict)
    ]
    return db.select(Snapshot).where(Snapshot.id.in_(ids)).order_by(Snapshot.id)

"""Benchmark sets as a managed choice: import, version, choose per assessment, compare.

Two kinds of sets, one namespace of ids:

* **built-in** sets are the YAML files under ``indicators/benchmarks/`` (reviewed like code);
* **imported** sets are rows of :class:`~kpi_app.models.BenchmarkSetRecord`, one per
  (id, version), imported by a coordinator from YAML, CSV or xlsx. The newest version of an
  id is the one assessments use; a version that a publication froze is never changed.

Publishing freezes the targets themselves into the snapshot (:mod:`kpi_app.services.snapshots`),
so neither a new version nor an edited file changes a published figure; :func:`drift_report`
says which publications were made under a different version than the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kpi_app.catalogue import BenchmarkSet, CatalogueError
from kpi_app.catalogue.benchmark_import import (
    EntryDiff,
    content_hash,
    diff_entries,
    entries_hash,
    entry_records,
    parse_benchmark_file,
)
from kpi_app.extensions import db
from kpi_app.models import Assessment, BenchmarkSetRecord, Snapshot, Status, User
from kpi_app.services import audit
from kpi_app.services.catalogue import benchmark_sets, current_catalogue, file_benchmark_sets
from kpi_app.services.errors import Invalid


class BenchmarkSetError(Invalid):
    """A user-facing problem with an import or a choice; ``problems`` lists each one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class ImportOutcome:
    record: BenchmarkSetRecord
    created: bool  # False: the same content was already stored under this version
    replaced: bool = False


def import_file(
    data: bytes,
    filename: str,
    actor: User | None,
    *,
    set_id: str | None = None,
    version: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> ImportOutcome:
    """Validate and store a set (commits, audited). BenchmarkSetError lists every problem."""
    catalogue = current_catalogue()
    overrides = {"id": set_id, "version": version, "name": name, "description": description}
    try:
        parsed = parse_benchmark_file(data, filename, catalogue, overrides=overrides)
    except CatalogueError as error:
        raise BenchmarkSetError(
            f"{len(error.problems)} problem(s) in {filename}", list(error.problems)
        ) from None
    if parsed.id in file_benchmark_sets():
        raise BenchmarkSetError(
            f"{parsed.id!r} is a built-in set (indicators/benchmarks/); import under another id"
        )
    digest = content_hash(parsed)
    existing = db.session.scalar(
        select(BenchmarkSetRecord).where(
            BenchmarkSetRecord.set_id == parsed.id, BenchmarkSetRecord.version == parsed.version
        )
    )
    if existing is not None and existing.content_hash == digest:
        return ImportOutcome(existing, created=False)
    if existing is not None:
        users = publications_using(parsed.id, parsed.version)
        if users:
            raise BenchmarkSetError(
                f"version {parsed.version} of {parsed.id!r} is used by {users} "
                "publication(s) and cannot change; import it as a new version"
            )
        old = {"content_hash": existing.content_hash}
        _fill(existing, parsed, filename, digest, actor)
        db.session.flush()
        audit.record(
            "benchmark_set_replace",
            "benchmark_set",
            existing.id,
            actor=actor,
            old=old,
            new=_summary(existing),
        )
        db.session.commit()
        return ImportOutcome(existing, created=False, replaced=True)
    record = BenchmarkSetRecord(set_id=parsed.id, version=parsed.version)
    _fill(record, parsed, filename, digest, actor)
    db.session.add(record)
    db.session.flush()
    audit.record(
        "benchmark_set_import", "benchmark_set", record.id, actor=actor, new=_summary(record)
    )
    db.session.commit()
    return ImportOutcome(record, created=True)


def _fill(
    record: BenchmarkSetRecord,
    parsed: BenchmarkSet,
    filename: str,
    digest: str,
    actor: User | None,
) -> None:
    record.name = dict(parsed.name)
    record.description = parsed.description
    record.entries = entry_records(parsed.benchmarks)
    record.content_hash = digest
    record.source_file = filename[-255:]
    record.imported_by_id = actor.id if actor is not None else None


def _summary(record: BenchmarkSetRecord) -> dict[str, Any]:
    targets = sum(1 for entry in record.entries if entry.get("target") is not None)
    return {
        "set_id": record.set_id,
        "version": record.version,
        "content_hash": record.content_hash,
        "file": record.source_file,
        "targets": targets,
    }


# --- reading (the stored sets are read in services.catalogue, below this module) ---------


def versions() -> list[BenchmarkSetRecord]:
    """Every imported version, newest first."""
    return list(
        db.session.scalars(select(BenchmarkSetRecord).order_by(BenchmarkSetRecord.id.desc()))
    )


def find(set_id: str) -> BenchmarkSet:
    sets = benchmark_sets()
    if set_id not in sets:
        known = ", ".join(sorted(sets))
        raise BenchmarkSetError(f"unknown benchmark set {set_id!r}; known: {known}")
    return sets[set_id]


def usage() -> dict[tuple[str, str], int]:
    """How many snapshots froze each (set id, version): one pass over the snapshots."""
    counts: dict[tuple[str, str], int] = {}
    for content in db.session.scalars(select(Snapshot.content)):
        bench = ((content or {}).get("frozen") or {}).get("benchmarks") or {}
        if bench.get("id"):
            key = (str(bench["id"]), str(bench.get("version")))
            counts[key] = counts.get(key, 0) + 1
    return counts


def publications_using(set_id: str, version: str) -> int:
    """How many snapshots froze this version of this set."""
    count = 0
    for content in db.session.scalars(
        select(Snapshot.content).where(Snapshot.benchmark_set == set_id)
    ):
        frozen = (content or {}).get("frozen") or {}
        if (frozen.get("benchmarks") or {}).get("version") == version:
            count += 1
    return count


# --- choosing a set for an assessment ----------------------------------------------------


def choosable_assessments() -> list[Assessment]:
    """Assessments whose set may be chosen now (not published), by city and year."""
    from sqlalchemy.orm import selectinload

    from kpi_app.models import City

    found = db.session.scalars(
        select(Assessment)
        .join(City, Assessment.city_id == City.id)
        .where(Assessment.status != Status.PUBLISHED)
        .options(selectinload(Assessment.city))
        .order_by(City.name, Assessment.year)
    )
    return list(found)


def choose(assessment: Assessment, set_id: str, actor: User | None) -> bool:
    """Make ``set_id`` the assessment's set (commits, audited); False when unchanged."""
    chosen = find(set_id)
    if assessment.status is Status.PUBLISHED:
        raise BenchmarkSetError(
            "the assessment is published and its targets are frozen; reopen it first "
            "(the published result stays until it is published again)"
        )
    if assessment.benchmark_set == chosen.id:
        return False
    old = assessment.benchmark_set
    assessment.benchmark_set = chosen.id
    audit.record(
        "benchmark_set_choose",
        "assessment",
        assessment.id,
        actor=actor,
        old={"benchmark_set": old},
        new={"benchmark_set": chosen.id, "version": chosen.version},
        assessment_id=assessment.id,
    )
    db.session.commit()
    return True


# --- comparing --------------------------------------------------------------------------


def diff_sets(old: BenchmarkSet, new: BenchmarkSet) -> EntryDiff:
    return diff_entries(entry_records(old.benchmarks), entry_records(new.benchmarks))


@dataclass
class Drift:
    set_id: str
    current_version: str | None  # None: the set no longer exists
    count: int  # published assessments frozen under a different version/content

    def message(self) -> str:
        if self.current_version is None:
            return (
                f"{self.count} published assessment(s) use set {self.set_id}, "
                "which this installation no longer has"
            )
        return (
            f"{self.count} published assessment(s) use a different version of set "
            f"{self.set_id} (current: {self.current_version})"
        )


@dataclass
class DriftReport:
    drifts: list[Drift]
    unfrozen: int  # latest snapshots published before targets were frozen

    def messages(self) -> list[str]:
        lines = [drift.message() for drift in self.drifts]
        if self.unfrozen:
            lines.append(
                f"{self.unfrozen} published assessment(s) have no frozen targets "
                "(published before freezing); run kpi-app freeze-snapshots"
            )
        return lines


def drift_report() -> DriftReport:
    """Published assessments whose frozen set differs from the set's current content."""
    from kpi_app.services.scores import latest_snapshots

    published = db.session.scalars(
        select(Assessment.id).where(Assessment.published_at.is_not(None))
    ).all()
    sets = benchmark_sets()
    counts: dict[str, int] = {}
    unfrozen = 0
    for snapshot in latest_snapshots(published).values():
        frozen = (snapshot.content or {}).get("frozen")
        if not frozen:
            unfrozen += 1
            continue
        bench = frozen["benchmarks"]
        current = sets.get(bench["id"])
        if current is None or entries_hash(current.benchmarks) != bench["fingerprint"]:
            counts[bench["id"]] = counts.get(bench["id"], 0) + 1
    drifts = [
        Drift(set_id, sets[set_id].version if set_id in sets else None, count)
        for set_id, count in sorted(counts.items())
    ]
    return DriftReport(drifts, unfrozen)

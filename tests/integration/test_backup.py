"""Backup and restore: a round trip reproduces every row, audit history included."""

from __future__ import annotations

import zipfile

from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Base, IndicatorValue, Snapshot
from kpi_app.services import seeding


def _dump() -> dict[str, list[tuple]]:
    return {
        table.name: [
            tuple(row)
            for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


def test_backup_then_restore_into_an_empty_database_is_identical(app, runner, tmp_path):
    seeding.seed_demo()
    before = _dump()
    assert before["audit_event"] and before["snapshot"] and before["indicator_value"]
    archive = tmp_path / "backup.zip"
    result = runner.invoke(args=["backup", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert "manifest.json" in names and "benchmarks/indicative-2026.yaml" in names

    db.session.remove()
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert _dump() == before

    # Ids continue after the restored ones (sequences reset on PostgreSQL).
    value = db.session.scalars(select(IndicatorValue).limit(1)).one()
    db.session.add(AuditEvent(action="probe", entity_type="test", entity_id=value.id))
    db.session.commit()
    assert db.session.scalar(select(db.func.max(AuditEvent.id))) == len(before["audit_event"]) + 1
    assert db.session.scalar(select(db.func.count(Snapshot.id))) == len(before["snapshot"])


def test_restore_refuses_a_non_empty_database_and_bad_archives(app, runner, tmp_path):
    seeding.seed_demo()
    archive = tmp_path / "b.zip"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    bad = runner.invoke(args=["restore", str(junk)])
    assert bad.exit_code == 1 and "not a kpi-app backup" in bad.output

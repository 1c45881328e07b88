"""Backup and restore: a round trip reproduces every row, audit history included."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, select

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Base, IndicatorValue, Snapshot, User
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


def test_a_table_added_to_the_schema_is_backed_up_and_restored_without_any_edit(
    app, runner, tmp_path
):
    """Other features add tables (2FA secrets, evidence files...): backup is generic."""
    extra = Table(
        "probe_new_feature",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", Integer, ForeignKey("user_account.id"), nullable=False),
        Column("secret", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    try:
        extra.create(db.engine)
        seeding.seed_demo()
        user_id = db.session.scalar(select(db.func.min(User.id)))
        when = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        db.session.execute(
            extra.insert(), [{"user_id": user_id, "secret": "s3cr3t", "created_at": when}]
        )
        db.session.commit()
        before = _dump()
        archive = tmp_path / "with-extra.zip"
        assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
        with zipfile.ZipFile(archive) as zipped:
            assert "tables/probe_new_feature.jsonl" in zipped.namelist()

        db.session.remove()
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        result = runner.invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert _dump() == before
        assert before["probe_new_feature"][0][1:3] == (user_id, "s3cr3t")
    finally:
        db.session.rollback()
        extra.drop(db.engine, checkfirst=True)
        Base.metadata.remove(extra)

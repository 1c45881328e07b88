"""`kpi-app backup` and `kpi-app restore` as an operator runs them: the console script in a
subprocess with DATABASE_URL, on a real database, restored into a second, empty one."""

from __future__ import annotations

import json
import stat
import zipfile
from typing import Any

from sqlalchemy import create_engine, select

from kpi_app.models import Base
from tests.integration.cli.process import ok, run_kpi_app

ASSESSMENTS = [("nordvik", 2024), ("fjellby", 2025)]


def dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the schema, in primary-key order."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*(table.primary_key.columns or table.columns))
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def outputs(database_url: str) -> dict[str, str]:
    """What users read: the assessment exports, the scores and an open-data export."""
    seen = {}
    for city, year in ASSESSMENTS:
        where = ["--city", city, "--year", str(year)]
        seen[f"export {city} {year}"] = ok(
            run_kpi_app(database_url, "export", *where, "--format", "json")
        )
        seen[f"score {city} {year}"] = ok(
            run_kpi_app(database_url, "score", *where, "--format", "json")
        )
    seen["sdmx 2024"] = ok(
        run_kpi_app(database_url, "export-interop", "--format", "sdmx-csv", "--year", "2024")
    )
    return seen


def test_backup_and_restore_into_a_new_empty_database_through_the_cli(new_database, tmp_path):
    source = new_database("source")
    quiet = {"KPI_DEMO_CREDENTIALS_DIR": str(tmp_path)}
    ok(run_kpi_app(source, "init-db"))
    ok(run_kpi_app(source, "seed-demo", extra_env=quiet))
    # An operator's change on top of the demo data, so the audit has a CLI-made event too.
    ok(run_kpi_app(source, "create-city", "backup-town", "--name", "Backup", "--country", "NO"))
    before = dump(source)
    assert before["audit_event"] and before["snapshot"] and before["indicator_value"]
    shown_before = outputs(source)
    assert json.loads(shown_before["score nordvik 2024"])

    archive = tmp_path / "kpi.zip"
    result = run_kpi_app(source, "backup", "--output", str(archive))
    out = ok(result)
    assert f"Backup written to {archive}" in out, out
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
    assert manifest["schema_revision"]  # a migrated database: its revision is recorded
    assert set(manifest["tables"]) == {t.name for t in Base.metadata.sorted_tables}
    assert manifest["row_counts"]["audit_event"] == len(before["audit_event"])
    assert not list(tmp_path.glob("*.partial"))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # password hashes inside

    # The second database is brand new: no tables at all. restore creates the schema first.
    target = new_database("target")
    restored = run_kpi_app(target, "restore", str(archive))
    out = ok(restored)
    assert "Created the schema" in out and "Restored" in out, out
    assert "Traceback" not in restored.stderr
    assert dump(target) == before
    assert outputs(target) == shown_before

    # The restored database takes new rows (sequences continue after the restored ids).
    ok(run_kpi_app(target, "create-city", "after-restore", "--name", "After", "--country", "SE"))
    again = run_kpi_app(target, "restore", str(archive))
    assert again.returncode == 1
    assert "not empty" in again.stderr and "Traceback" not in again.stderr


def test_backup_of_a_database_without_schema_and_bad_archives_fail_clearly(new_database, tmp_path):
    empty = new_database("empty")
    result = run_kpi_app(empty, "backup", "--output", str(tmp_path / "x.zip"))
    assert result.returncode == 1
    assert "init-db" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.zip").exists()

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really a zip")
    refused = run_kpi_app(empty, "restore", str(junk))
    assert refused.returncode == 1
    assert "not a kpi-app backup" in refused.stderr and "Traceback" not in refused.stderr
    # A refused archive does not migrate the database on the way.
    assert dump_tables(empty) == []


def dump_tables(database_url: str) -> list[str]:
    from sqlalchemy import inspect

    engine = create_engine(database_url)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_restore_names_init_db_for_a_half_made_schema(new_database, tmp_path):
    source = new_database("half")
    ok(run_kpi_app(source, "init-db"))
    archive = tmp_path / "empty.zip"
    ok(run_kpi_app(source, "backup", "--output", str(archive)))
    target = new_database("partial")
    engine = create_engine(target)
    first = Base.metadata.sorted_tables[0]
    first.create(engine)  # one table, no migration history: not safe to complete
    engine.dispose()
    result = run_kpi_app(target, "restore", str(archive))
    assert result.returncode == 1
    assert "kpi-app init-db" in result.stderr and "Traceback" not in result.stderr

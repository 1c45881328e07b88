"""An import killed half-way (SIGKILL, mid-transaction) leaves nothing behind (PostgreSQL)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, IndicatorValue

BIN = Path(sys.executable).parent


def _write_file(path: Path, catalogue) -> int:
    items = [i for i in catalogue.items() if i.value_type == "percentage"][:40]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "data_point", "value", "source"])
        for n, item in enumerate(items):
            writer.writerow([item.code, item.data_point, 10 + n, "killed import test"])
    return len(items)


def _wait_for_lock_wait(engine, pid: int, deadline: float) -> set[str]:
    """Return the tables the import's transaction has already written, once it is blocked."""
    while time.time() < deadline:
        with engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT a.pid FROM pg_stat_activity a "
                    "WHERE a.wait_event_type = 'Lock' AND a.application_name = :name"
                ),
                {"name": f"killed-import-{pid}"},
            ).first()
            if waiting:
                rows = connection.execute(
                    text(
                        "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE l.pid = :pid AND l.granted AND l.mode = 'RowExclusiveLock'"
                    ),
                    {"pid": waiting[0]},
                )
                return {r[0] for r in rows}
        time.sleep(0.1)
    raise AssertionError("the import never reached the locked table")


def _wait_for_backend_gone(engine, pid: int, deadline: float) -> None:
    """Wait until no server process serves the killed import (its transaction is rolled back)."""
    while time.time() < deadline:
        with engine.connect() as connection:
            alive = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": f"killed-import-{pid}"},
            ).scalar()
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError("the killed import's server process is still there")


def test_import_killed_mid_transaction_writes_nothing(
    app, backend, database_url, make_city, make_assessment, catalogue, tmp_path
):
    if backend != "postgresql":
        pytest.skip("needs a second connection holding a table lock: PostgreSQL")
    city = make_city("halfway")
    make_assessment(city, 2024)
    path = tmp_path / "values.csv"
    rows = _write_file(path, catalogue)
    assert rows == 40
    before_values = db.session.scalar(select(func.count(IndicatorValue.id)))
    before_audit = db.session.scalar(select(func.count(AuditEvent.id)))
    db.session.commit()

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    blocker_engine = create_engine(database_url)
    blocker = blocker_engine.connect()
    transaction = blocker.begin()
    # Inserts into audit_event wait for this lock: the import blocks after writing values.
    blocker.execute(text("LOCK TABLE audit_event IN SHARE ROW EXCLUSIVE MODE"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PGAPPNAME": f"killed-import-{os.getpid()}",
        "KPI_ENV": "development",
    }
    process = subprocess.Popen(
        [str(BIN / "kpi-app"), "import", str(path), "--city", "halfway", "--year", "2024"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        written = _wait_for_lock_wait(engine, os.getpid(), time.time() + 60)
        assert "indicator_value" in written  # it really was half-way: values already written
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        transaction.rollback()
        blocker.close()
        blocker_engine.dispose()
    assert process.returncode == -signal.SIGKILL
    # The server notices the dead client, rolls back its transaction and ends its backend.
    _wait_for_backend_gone(engine, os.getpid(), time.time() + 30)
    with engine.connect() as connection:
        values_after = connection.execute(text("SELECT count(*) FROM indicator_value")).scalar()
        audit_after = connection.execute(text("SELECT count(*) FROM audit_event")).scalar()
    engine.dispose()
    assert values_after == before_values
    assert audit_after == before_audit

"""Complete, versioned backups (data, audit, snapshots, benchmark sets) and restore.

An archive is a zip: `manifest.json` (format version, schema revision, catalogue version, row
counts and a SHA-256 per member), one JSON-lines file per table in dependency order, and the
catalogue's benchmark-set files as they were, and every evidence file the `evidence` table
names (`evidence/<sha256>`, removed attachments included). Generic over the metadata, so a new
table is backed up without any edit here.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Table, func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from kpi_app.extensions import db
from kpi_app.models import Base, Evidence
from kpi_app.models.base import utcnow
from kpi_app.services import evidence
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Invalid

FORMAT_VERSION = 1
ALEMBIC_TABLE = "alembic_version"
EVIDENCE_PREFIX = "evidence/"


class BackupError(Invalid):
    """A user-facing problem with a backup archive or the target database."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(row)
    for column in table.columns:
        raw = decoded.get(column.name)
        if raw is None:
            continue
        if isinstance(column.type, DateTime):
            decoded[column.name] = datetime.fromisoformat(raw)
        elif isinstance(column.type, Date):
            decoded[column.name] = date.fromisoformat(raw)
    return decoded


def _schema_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(ALEMBIC_TABLE):
        return None  # the schema was made by create_all (tests)
    revision: str | None = connection.execute(
        text(f"SELECT version_num FROM {ALEMBIC_TABLE}")
    ).scalar()
    return revision


def _snapshot(connection: Connection) -> Connection:
    """One consistent read of every table, so the tables of an archive agree with each other.

    PostgreSQL: a read-only REPEATABLE READ transaction, chosen *before* its first query (the
    isolation level cannot change once a query ran). SQLite: an explicit BEGIN, so every
    SELECT reads the same database state (the driver would run each in autocommit).
    """
    if connection.dialect.name == "postgresql":
        return connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
    return connection


def create_backup(destination: Path) -> dict[str, Any]:
    """Write the archive; returns its manifest."""
    missing = missing_tables()
    if missing:
        raise BackupError(
            f"the database has no table {', '.join(missing)}: is DATABASE_URL right, and was "
            "`kpi-app init-db` run?"
        )
    tables = Base.metadata.sorted_tables
    members: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    with db.engine.connect() as raw_connection:
        connection = _snapshot(raw_connection)
        revision = _schema_revision(connection)
        for table in tables:
            order = list(table.primary_key.columns) or list(table.columns)
            lines = []
            for row in connection.execute(select(table).order_by(*order)).mappings():
                lines.append(json.dumps({k: _encode(v) for k, v in row.items()}, sort_keys=True))
            members[f"tables/{table.name}.jsonl"] = ("\n".join(lines) + "\n").encode()
            counts[table.name] = len(lines)
        digests = sorted(set(connection.execute(select(Evidence.sha256)).scalars()))
    for digest in digests:
        try:
            members[f"{EVIDENCE_PREFIX}{digest}"] = evidence.read_bytes(digest)
        except OSError:
            raise BackupError(
                f"the evidence file {digest} is missing from {evidence.upload_dir()} "
                "(KPI_UPLOAD_DIR): restore it there, or point KPI_UPLOAD_DIR at the right folder"
            ) from None
    catalogue = current_catalogue()
    benchmark_dir = Path(catalogue.path) / "benchmarks"
    for path in sorted(benchmark_dir.glob("*.yaml")):
        members[f"benchmarks/{path.name}"] = path.read_bytes()
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_at": utcnow().isoformat(),
        "schema_revision": revision,
        "catalogue_version": catalogue.version,
        "tables": [t.name for t in tables],
        "row_counts": counts,
        "evidence_files": len(digests),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the destination, then renamed: a failed write never leaves half an archive.
    # Owner-only (0600): the archive holds password hashes and unpublished values.
    partial = destination.with_name(destination.name + ".partial")
    try:
        with (
            open(partial, "wb", opener=lambda path, flags: os.open(path, flags, 0o600)) as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, data in members.items():
                archive.writestr(name, data)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    """The archive's manifest, checked in shape: anything else is a BackupError."""
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            members = set(archive.namelist())
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BackupError(f"{source} is not a kpi-app backup archive ({error})") from None
    if not isinstance(manifest, dict):
        raise BackupError(f"{source} is not a kpi-app backup archive (its manifest is no object)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format {manifest.get('format_version')!r} is not supported "
            f"(this version reads format {FORMAT_VERSION})"
        )
    tables, digests = manifest.get("tables"), manifest.get("sha256")
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise BackupError("the manifest's table list is missing or malformed")
    if not isinstance(digests, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in digests.items()
    ):
        raise BackupError("the manifest's checksums are missing or malformed")
    for name in tables:
        member = f"tables/{name}.jsonl"
        if member not in digests or member not in members:
            raise BackupError(f"the archive lacks {member} (or its checksum)")
    absent = sorted(set(digests) - members)
    if absent:
        raise BackupError(f"the archive lacks {', '.join(absent)}")
    return manifest


def _rows(table: Table, name: str, payload: bytes) -> list[dict[str, Any]]:
    """The decoded rows of one table member; a row that does not fit is a BackupError."""
    columns = {column.name for column in table.columns}
    rows = []
    for number, line in enumerate(payload.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not set(row) <= columns:
            raise BackupError(f"{name}, line {number}: not a row of table {table.name}")
        rows.append(_decode(table, row))
    return rows


def missing_tables() -> list[str]:
    """The tables of this version's schema that the database does not have (yet)."""
    with db.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
    return [t.name for t in Base.metadata.sorted_tables if t.name not in present]


def prepare_schema() -> str | None:
    """Before a restore: create the schema of an empty database with the migrations.

    Returns the revision migrated to, or None when the schema was already complete. A
    database with some of the tables but no migration history cannot be completed safely;
    that is a BackupError naming the command to run.
    """
    missing = missing_tables()
    if not missing:
        return None
    with db.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
    if present - {ALEMBIC_TABLE} and ALEMBIC_TABLE not in present:
        raise BackupError(
            f"the database has an incomplete schema without migration history (missing tables: "
            f"{', '.join(missing)}); restore into an empty database, or run `kpi-app init-db` "
            "on one first"
        )
    from flask_migrate import upgrade

    upgrade()
    db.engine.dispose()  # the migration ran on its own connection; start from a fresh pool
    still_missing = missing_tables()
    if still_missing:
        raise BackupError(
            f"the migrations did not create the tables {', '.join(still_missing)}; "
            "run `kpi-app init-db` and check its output"
        )
    with db.engine.connect() as connection:
        return _schema_revision(connection)


def restore_backup(source: Path) -> dict[str, int]:
    """Load an archive into an empty database with the current schema; all or nothing.

    Call :func:`prepare_schema` first for a database without tables.
    """
    manifest = read_manifest(source)
    missing = missing_tables()
    if missing:
        raise BackupError(
            f"the database has no schema for tables {', '.join(missing)}: run `kpi-app init-db`"
        )
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    unknown = set(manifest["tables"]) - set(tables)
    if unknown:
        raise BackupError(f"the archive has tables this version does not know: {sorted(unknown)}")
    with zipfile.ZipFile(source) as archive:
        payloads = {}
        for name, digest in manifest["sha256"].items():
            data = archive.read(name)
            if hashlib.sha256(data).hexdigest() != digest:
                raise BackupError(f"{name} is corrupt (checksum mismatch)")
            payloads[name] = data
    restored: dict[str, int] = {}
    listed = set(manifest["tables"])
    try:
        with db.engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                if connection.execute(select(func.count()).select_from(table)).scalar():
                    raise BackupError(f"the database is not empty (table {table.name} has rows)")
            for table in Base.metadata.sorted_tables:  # parents before children
                if table.name not in listed:
                    continue
                member = f"tables/{table.name}.jsonl"
                rows = _rows(table, member, payloads[member])
                if rows:
                    connection.execute(insert(table), rows)
                restored[table.name] = len(rows)
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection)
            # Inside the transaction: a file that cannot be written undoes the whole restore.
            for name, data in payloads.items():
                if name.startswith(EVIDENCE_PREFIX):
                    _restore_evidence_file(name, data)
    except (ValueError, TypeError, SQLAlchemyError, OSError) as error:
        if isinstance(error, BackupError):
            raise
        detail = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
        raise BackupError(
            f"the archive's rows do not fit this database; nothing was restored ({detail})"
        ) from None
    from kpi_app.services import published_values, snapshots

    snapshots.fill_digests()  # an archive older than ``snapshot.frozen_digest``
    if "published_value" not in listed:  # an archive older than the published-value rows
        published_values.backfill()
    else:  # an archive older than ``is_latest`` restores every row as the latest one
        published_values.mark_latest(None)
    db.session.commit()
    if "published_score" not in listed:  # an archive older than the published scores
        from kpi_app.services import published_scores

        published_scores.backfill()
        db.session.commit()
    return restored


def _restore_evidence_file(name: str, data: bytes) -> None:
    digest = name.removeprefix(EVIDENCE_PREFIX)
    if hashlib.sha256(data).hexdigest() != digest:
        raise BackupError(f"{name} does not hold the file its name says (checksum mismatch)")
    evidence.store_bytes(data)


def _reset_sequences(connection: Connection) -> None:
    """After inserting explicit ids, move each serial sequence past the largest id."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                sequence = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    connection.execute(
                        text(
                            f"SELECT setval('{sequence}', "
                            f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, '
                            "false)"
                        )
                    )

"""Operations commands: backup and restore, the background worker."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail
from kpi_app.models.base import utcnow
from kpi_app.services import backup


@click.command("backup")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="archive path (default: instance/backups/kpi-backup-<timestamp>.zip)",
)
@with_appcontext
def backup_command(output: Path | None) -> None:
    """Write a complete, versioned archive: data, audit, snapshots and benchmark sets."""
    from flask import current_app

    if output is None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        output = Path(current_app.instance_path) / "backups" / f"kpi-backup-{stamp}.zip"
    try:
        manifest = backup.create_backup(output)
    except backup.BackupError as error:
        fail(str(error))
        return
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
        return
    total = sum(manifest["row_counts"].values())
    click.echo(f"Backup written to {output}: {total} rows in {len(manifest['tables'])} tables.")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore an archive into an empty database (its schema is created first if missing)."""
    try:
        backup.read_manifest(archive)  # a bad archive is refused before any migration runs
        revision = backup.prepare_schema()
        if revision is not None:
            click.echo(f"Created the schema (migrations up to {revision}).")
        restored = backup.restore_backup(archive)
    except backup.BackupError as error:
        fail(str(error))
        return
    click.echo(f"Restored {sum(restored.values())} rows into {len(restored)} tables.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="process the queued jobs, then exit")
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=19,
    show_default=True,
    help="lower the worker's CPU priority by this much, so that on a shared host the web "
    "workers' requests go first (0: same priority)",
)
@with_appcontext
def worker_command(burst: bool, niceness: int) -> None:
    """Run the background worker: PDFs made by RQ jobs on REDIS_URL (queue kpi-pdf)."""
    import os

    from flask import current_app

    from kpi_app.web.dashboards import pdf_jobs

    if not current_app.config.get("REDIS_URL"):
        fail("the worker needs REDIS_URL (without it PDFs are made in the request)")
        return
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)  # a PDF may wait a little; a page someone is reading should not
    pdf_jobs.work(burst=burst)


COMMANDS = [backup_command, restore_command, worker_command]

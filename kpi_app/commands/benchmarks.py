"""Benchmark-set commands: import a set, choose one for an assessment, compare two sets,
freeze old snapshots. Each calls services/benchmark_sets.py or services/snapshots.py; the
audit actor is empty (the system), as for the other administrative commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail


@click.command("import-benchmarks")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "set_id", default=None, help="the set's id (required for CSV/xlsx)")
@click.option("--version", default=None, help="the set's version (required for CSV/xlsx)")
@click.option("--name", default=None, help="a display name (default: the id)")
@click.option("--description", default=None)
@with_appcontext
def import_benchmarks(
    file: str, set_id: str | None, version: str | None, name: str | None, description: str | None
) -> None:
    """Import a benchmark set from YAML, CSV or xlsx: validated, versioned, audited."""
    from kpi_app.services import benchmark_sets

    path = Path(file)
    try:
        outcome = benchmark_sets.import_file(
            path.read_bytes(),
            path.name,
            None,
            set_id=set_id,
            version=version,
            name=name,
            description=description,
        )
    except benchmark_sets.BenchmarkSetError as error:
        for problem in error.problems:
            click.secho(problem, fg="red", err=True)
        fail(str(error))
        return
    record = outcome.record
    targets = sum(1 for entry in record.entries if entry.get("target") is not None)
    if outcome.created:
        verb = "Imported"
    elif outcome.replaced:
        verb = "Replaced (not used by any publication)"
    else:
        verb = "Already imported, unchanged:"
    click.echo(
        f"{verb} {record.set_id} version {record.version}: "
        f"{len(record.entries)} entries, {targets} targets"
    )


@click.command("set-benchmarks")
@click.argument("slug")
@click.option("--year", type=int, required=True)
@click.option("--set", "set_id", required=True, help="the benchmark set's id")
@with_appcontext
def set_benchmarks(slug: str, year: int, set_id: str) -> None:
    """Choose the benchmark set of one city's assessment (audited)."""
    from kpi_app.services import benchmark_sets, scores

    try:
        assessment = scores.find_assessment(slug, year)
        changed = benchmark_sets.choose(assessment, set_id, None)
    except (scores.ScoresError, benchmark_sets.BenchmarkSetError) as error:
        fail(str(error))
        return
    chosen = benchmark_sets.find(set_id)
    state = "now uses" if changed else "already uses"
    click.echo(f"{slug} {year} {state} benchmark set {chosen.id} version {chosen.version}")


@click.command("diff-benchmarks")
@click.argument("old")
@click.argument("new")
@with_appcontext
def diff_benchmarks(old: str, new: str) -> None:
    """List the targets that differ between two benchmark sets."""
    from kpi_app.services import benchmark_sets

    try:
        diff = benchmark_sets.diff_sets(benchmark_sets.find(old), benchmark_sets.find(new))
    except benchmark_sets.BenchmarkSetError as error:
        fail(str(error))
        return
    for row in diff.changed:
        click.echo(
            f"changed  {_item(row)}: {_num(row['old_target'])} -> {_num(row['new_target'])}"
            + (
                f" (direction {row['old_direction']} -> {row['new_direction']})"
                if row["old_direction"] != row["new_direction"]
                else ""
            )
        )
    for row in diff.added:
        click.echo(f"added    {_item(row)}: {_num(row['target'])}")
    for row in diff.removed:
        click.echo(f"removed  {_item(row)}: {_num(row['target'])}")
    click.echo(f"{len(diff.changed)} changed, {len(diff.added)} added, {len(diff.removed)} removed")


def _item(row: dict[str, object]) -> str:
    return f"{row['code']}" + (f" [{row['data_point']}]" if row["data_point"] else "")


def _num(value: object) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


@click.command("freeze-snapshots")
@with_appcontext
def freeze_snapshots() -> None:
    """Freeze the targets and catalogue items of snapshots published before freezing."""
    from kpi_app.extensions import db
    from kpi_app.services import snapshots

    done = snapshots.backfill(None)
    db.session.commit()
    click.echo(f"Froze {done} snapshot(s) published before freezing.")


COMMANDS = [import_benchmarks, set_benchmarks, diff_benchmarks, freeze_snapshots]

"""`kpi-app import` and `kpi-app export`: the spreadsheet exchange from the command line.

Both call `services.data_io` (with ``--local``, the city's local KPIs:
`services.local_kpi_import` and `services.local_kpi_reports`), the same code as the upload
pages and the API, so a file that imports here imports there. Imports run as no user (the
audit records actor = none) and respect the assessment's status: a submitted or published
assessment is not changed.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail, refuse_control_characters
from kpi_app.extensions import db
from kpi_app.models import Assessment, City


def _assessment(city_slug: str, year: int) -> Assessment:
    refuse_control_characters("city slug", city_slug)
    city = db.session.scalar(db.select(City).where(City.slug == city_slug))
    if city is None:
        fail(f"no city with slug {city_slug!r}")
    assessment: Assessment | None = db.session.scalar(
        db.select(Assessment).where(Assessment.city_id == city.id, Assessment.year == year)
    )
    if assessment is None:
        fail(
            f"{city_slug} has no assessment for {year}: "
            f"run `kpi-app open-assessment {city_slug} --year {year}`"
        )
        raise SystemExit(1)  # fail() has exited already; this tells the type checker
    return assessment


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--city", "city_slug", required=True, help="slug of the city")
@click.option("--year", type=int, required=True, help="reporting year")
@click.option("--dry-run", is_flag=True, help="check and show the changes, write nothing")
@click.option("--local", is_flag=True, help="the city's local KPIs (codes LOCAL:<city>:<CODE>)")
@with_appcontext
def import_values(file: Path, city_slug: str, year: int, dry_run: bool, local: bool) -> None:
    """Import values from an .xlsx, .csv or .json file (all rows or none)."""
    from kpi_app.services import data_io, local_kpi_import

    assessment = _assessment(city_slug, year)
    try:
        upload = data_io.parse_upload(file.name, file.read_bytes()[: data_io.MAX_UPLOAD_BYTES + 1])
    except data_io.UploadRejected as error:
        fail(str(error))
        return
    for note in upload.notes:
        click.echo(f"Note: {note}")
    if local:
        report = local_kpi_import.import_upload(assessment, upload, actor=None, dry_run=dry_run)
    else:
        report = data_io.import_upload(assessment, upload, actor=None, dry_run=dry_run)
    for problem in report.problems:
        where = f"row {problem.row}" if problem.row else "file"
        column = f", column {problem.column}" if problem.column else ""
        click.echo(f"{problem.severity.upper()}: {where}{column}: {problem.message}", err=True)
    for change in report.changes:
        point = f" [{change.data_point}]" if change.data_point else ""
        click.echo(
            f"row {change.row}: {change.code}{point}: {change.old_value} -> {change.new_value}"
        )
    if not report.ok:
        fail(f"{len(report.errors)} error(s); nothing was imported")
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{report.rows} row(s) read: {verb} {len(report.changes)}, unchanged {report.unchanged}."
    )


@click.command("export")
@click.option("--city", "city_slug", required=True, help="slug of the city")
@click.option("--year", type=int, required=True, help="reporting year")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="file to write (default: standard output; required for xlsx)",
)
@click.option("--local", is_flag=True, help="the city's local KPIs (codes LOCAL:<city>:<CODE>)")
@with_appcontext
def export_values(city_slug: str, year: int, fmt: str, output: Path | None, local: bool) -> None:
    """Export an assessment's values as CSV, JSON or the .xlsx template."""
    from kpi_app.services import data_io, local_kpi_reports

    assessment = _assessment(city_slug, year)
    if local:
        content = local_kpi_reports.export(assessment, "live", fmt)
        filename = f"{assessment.city.slug}-{assessment.year}-local-kpis.{fmt}"
    else:
        content, _mimetype, filename = data_io.export_bytes(assessment, fmt)
    if output is None:
        if fmt == "xlsx":
            fail("an .xlsx export needs --output FILE")
        click.echo(content.decode("utf-8-sig"), nl=False)
        return
    output.write_bytes(content)
    click.echo(f"Wrote {output} ({len(content)} bytes; suggested name {filename})", err=True)


COMMANDS = [import_values, export_values]

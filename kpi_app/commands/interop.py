"""`kpi-app export-interop` and `kpi-app import-interop`: exchange formats from the shell."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import current_app, url_for
from flask.cli import with_appcontext

from kpi_app.commands.core import fail
from kpi_app.interop import InteropFormatError
from kpi_app.services import interop
from kpi_app.services.data_io import ImportProblem

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def _context_url(given: str | None, fmt: str) -> str:
    """The extension @context URL exported entities name.

    Outside a request the URL is built from SERVER_NAME (or localhost). A localhost URL is
    useless to whoever receives the file, so NGSI-LD exports refuse it unless --context-url
    says where the context is published.
    """
    if given:
        parts = urlsplit(given)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fail(f"--context-url must be an absolute http(s) URL, not {given!r}")
        return given
    with current_app.test_request_context():
        derived = str(url_for("api_exchange.ngsi_context", _external=True))
    if fmt == "ngsi-ld" and (urlsplit(derived).hostname or "") in LOCAL_HOSTS:
        fail(
            f"the entities would name the @context {derived}, which no one else can read: set "
            "SERVER_NAME to the public host name, or pass --context-url "
            "https://<your host>/api/v1/ngsi-ld/context.jsonld"
        )
    return derived


@click.command("export-interop")
@click.option("--format", "fmt", type=click.Choice(interop.EXPORT_FORMATS), required=True)
@click.option(
    "--year",
    type=int,
    default=None,
    help="Reporting year (published cycle); required except for sdmx-structure",
)
@click.option("--city", default=None, help="One city's slug (not for datapackage)")
@click.option("--key-values", is_flag=True, help="NGSI-LD: plain values, not Property objects")
@click.option(
    "--kpi-set",
    type=click.Choice(interop.KPI_SETS),
    default="all",
    show_default=True,
    help=(
        "NGSI-LD: the U4SSC KPIs' entities, the published local KPIs' (localCode), or both "
        "(local after U4SSC)"
    ),
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--context-url",
    default=None,
    envvar="KPI_NGSI_CONTEXT_URL",
    help=(
        "NGSI-LD: public URL of the U4SSC extension @context, e.g. "
        "https://kpi.example.org/api/v1/ngsi-ld/context.jsonld (env KPI_NGSI_CONTEXT_URL; "
        "default: from SERVER_NAME, refused when that is localhost)"
    ),
)
@with_appcontext
def export_interop(
    fmt: str,
    year: int | None,
    city: str | None,
    key_values: bool,
    kpi_set: str,
    output: Path | None,
    context_url: str | None,
) -> None:
    """Export the published values of a year as NGSI-LD, SDMX-CSV or a Data Package, or the
    SDMX structure message (DSD, dataflow, code lists) of the SDMX-CSV; sdmx-local-csv and
    sdmx-local-structure are the published local KPIs' own SDMX dataflow."""
    if year is None and fmt not in ("sdmx-structure", "sdmx-local-structure"):
        fail(f"--year is required for {fmt}")
        return
    try:
        exported = interop.export(
            fmt,
            year=year,
            city=city,
            context_url=_context_url(context_url, fmt),
            key_values=key_values,
            kpi_set=kpi_set,
        )
    except ValueError as error:
        fail(str(error))
        return
    if output is None and fmt == "datapackage":
        output = Path(exported.filename)
    if output is None:
        click.echo(exported.content.decode("utf-8"), nl=False)
        return
    output.write_bytes(exported.content)
    click.echo(f"Wrote {output} ({len(exported.content)} bytes)", err=True)


def _problem_line(problem: ImportProblem) -> str:
    where = " ".join(
        part for part in (f"row {problem.row}" if problem.row else "", problem.column) if part
    )
    return f"{where}: {problem.message}" if where else str(problem.message)


@click.command("import-interop")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--city", required=True, help="City slug")
@click.option("--year", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(interop.FORMATS), default=None)
@click.option("--dry-run", is_flag=True, help="Validate and show changes; write nothing")
@with_appcontext
def import_interop(file: Path, city: str, year: int, fmt: str | None, dry_run: bool) -> None:
    """Import values from NGSI-LD entities, SDMX-CSV or a Data Package (all or nothing)."""
    data = file.read_bytes()
    chosen = fmt or interop.guess_format(file.name, data)
    try:
        report = interop.import_interop(data, chosen, city, year, None, dry_run=dry_run)
    except InteropFormatError as error:
        fail("\n".join(error.problems))
        return
    except (interop.NotFoundError, interop.AccessDeniedError) as error:
        fail(str(error))
        return
    for warning in report.warnings:
        click.secho(f"warning: {_problem_line(warning)}", fg="yellow", err=True)
    if not report.ok:
        for problem in report.errors:
            click.secho(_problem_line(problem), fg="red", err=True)
        fail(f"{len(report.errors)} problem(s); nothing was written")
        return
    verb = "Would change" if dry_run else "Changed"
    click.echo(
        f"{verb} {len(report.changes)} value(s), {report.unchanged} unchanged, of {city} {year} "
        f"from {file.name} ({chosen})"
    )


COMMANDS = [export_interop, import_interop]

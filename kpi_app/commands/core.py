"""Core commands: schema, demo data, catalogue, cities and users. Each calls one service."""

from __future__ import annotations

import csv
import io
import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from kpi_app.catalogue import CatalogueError, load_benchmark_sets, load_catalogue
from kpi_app.catalogue.translations import missing_translations
from kpi_app.extensions import db


def fail(message: str) -> None:
    """Print a clear error and exit 1 (used by every command module)."""
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


def refuse_control_characters(label: str, value: str | None) -> None:
    """A NUL or other control character in a slug or e-mail: exit 1 (PostgreSQL rejects NUL)."""
    if value and any(ord(char) < 32 or ord(char) == 127 for char in value):
        fail(f"the {label} contains a control character")


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from flask_migrate import upgrade

    from kpi_app.services import published_scores, published_values, sealed, snapshots

    upgrade()
    # Snapshots published before ``frozen_digest`` get it (once): scoring reads them faster.
    digested = snapshots.fill_digests()
    db.session.commit()
    if digested:
        click.echo(f"Frozen digests written for {digested} earlier snapshot(s)")
    # Snapshots published before the published_value table existed get their rows (once).
    written = published_values.backfill()
    db.session.commit()
    if written:
        click.echo(f"Published values written for {written} earlier snapshot(s)")
    # Likewise their stored scores (the published_score table came later).
    scored = published_scores.backfill()
    db.session.commit()
    if scored:
        click.echo(f"Published scores written for {scored} earlier snapshot(s)")
    # Second-factor secrets stored before they were sealed at rest are sealed now (once).
    resealed = sealed.seal_legacy_totp_secrets()
    db.session.commit()
    if resealed:
        click.echo(f"Two-factor secrets sealed at rest for {resealed} account(s)")
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow seeding outside development/testing.")
@with_appcontext
def seed_demo(force: bool) -> None:
    """Load the fictional demo cities, values and users (safe to run again)."""
    from kpi_app.services import seeding

    if current_app.config.get("SESSION_COOKIE_SECURE") and not force:
        fail("refusing to load demo users into a production configuration (use --force)")
    report = seeding.seed_demo()
    click.echo(report.summary())
    if report.credentials:
        click.echo("\nDemo accounts (fictional data only; change or delete before real use):")
        for email, role, password in report.credentials:
            click.echo(f"  {role:<12} {email:<34} {password}")
        if report.credentials_file is not None:
            click.echo(f"\nThese accounts are also kept in {report.credentials_file}")


@click.command("catalogue")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "--lang",
    default="en",
    show_default=True,
    help="Language of the texts (en, fr, es, ar, zh, ru); codes and numbers never change.",
)
@with_appcontext
def catalogue(fmt: str, lang: str) -> None:
    """Print the whole KPI catalogue, one record per KPI."""
    loaded = load_catalogue(current_app.config["CATALOGUE_DIR"])
    if lang not in loaded.languages:
        fail(f"unknown catalogue language {lang!r} (available: {', '.join(loaded.languages)})")
        return
    records = loaded.records(lang)
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(
            {
                key: ";".join(item["id"] if isinstance(item, dict) else str(item) for item in value)
                if isinstance(value, list)
                else value
                for key, value in record.items()
            }
        )
    click.echo(out.getvalue(), nl=False)


@click.command("check-catalogue")
@click.option("--path", type=click.Path(file_okay=False), default=None)
@click.option(
    "--strict-translations",
    is_flag=True,
    help="Treat missing translations as errors (exit 1) instead of warnings.",
)
@with_appcontext
def check_catalogue(path: str | None, strict_translations: bool) -> None:
    """Validate indicators/ and its benchmark sets; exit 1 listing every problem.

    Missing translations are listed per language as warnings (the English text is shown
    instead); --strict-translations makes them errors.
    """
    try:
        loaded = load_catalogue(path or current_app.config["CATALOGUE_DIR"])
        sets = load_benchmark_sets(loaded)
    except CatalogueError as error:
        for problem in error.problems:
            click.secho(problem, fg="red", err=True)
        fail(f"{len(error.problems)} problem(s) in the catalogue")
        return
    click.echo(
        f"Catalogue {loaded.version}: {len(loaded.indicators)} KPIs, {len(loaded.items())} items, "
        f"benchmark sets: {', '.join(sorted(sets))}. OK"
    )
    _report_drift()
    missing_total = 0
    for missing in missing_translations(loaded, sets):
        if not missing.count:
            click.echo(f"Translations {missing.lang}: {missing.total} of {missing.total} texts")
            continue
        missing_total += missing.count
        examples = "; ".join(missing.places[:5])
        more = f" and {missing.count - 5} more" if missing.count > 5 else ""
        click.secho(
            f"{'Error' if strict_translations else 'Warning'}: translations {missing.lang}: "
            f"{missing.count} of {missing.total} texts missing (English shown instead), "
            f"e.g. {examples}{more}",
            fg="red" if strict_translations else "yellow",
            err=True,
        )
    if missing_total and strict_translations:
        fail(f"{missing_total} missing translation(s) in the catalogue")


def _report_drift() -> None:
    """Published assessments frozen under another version of their set (needs the database)."""
    from sqlalchemy.exc import SQLAlchemyError

    from kpi_app.services import benchmark_sets

    try:
        report = benchmark_sets.drift_report()
    except SQLAlchemyError:
        db.session.rollback()
        click.echo("Publications not checked (no database).")
        return
    for line in report.messages():
        click.secho(line, fg="yellow")


@click.command("create-city")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. NO")
@click.option("--population", type=click.IntRange(min=0, max=2**31 - 1), default=None)
@click.option("--area", "area_km2", type=click.FloatRange(min=0), default=None)
@with_appcontext
def create_city(
    slug: str, name: str, country: str, population: int | None, area_km2: float | None
) -> None:
    """Register a city."""
    from kpi_app.services import cities

    try:
        city = cities.create_city(slug, name, country, population=population, area_km2=area_km2)
    except cities.CityError as error:
        fail(str(error))
        return
    click.echo(f"Created city {city.slug} ({city.name}, {city.country.name})")


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, help="admin, coordinator, verifier, city_editor or viewer")
@click.option("--city", "city_slug", default=None, help="the city a city_editor edits")
@click.option("--country", default=None, help="Member State (ISO2) a viewer represents")
@click.option("--name", default="")
@click.option(
    "--password",
    default=None,
    help="at least 10 characters and hard to guess; generated and printed when left out",
)
@with_appcontext
def create_user(
    email: str,
    role: str,
    city_slug: str | None,
    country: str | None,
    name: str,
    password: str | None,
) -> None:
    """Create a user account."""
    from kpi_app.services import users

    try:
        user, secret = users.create_user(
            email, role, password=password, name=name, city_slug=city_slug, country_iso2=country
        )
    except users.AccountError as error:
        fail(str(error))
        return
    click.echo(f"Created {user.role.value} {user.email}")
    if password is None:
        click.echo(f"Password: {secret}")


COMMANDS = [init_db, seed_demo, catalogue, check_catalogue, create_city, create_user]

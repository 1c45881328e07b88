"""`kpi-app open-assessment`: start a city's reporting year from the command line.

The same service as the web form "Open a reporting year" (`services.assessments`): the same
year range, the same refusal of a second assessment for a year, the same audit event. The
operator at the command line acts as the system (audit actor empty) unless `--by` names the
coordinator or city editor on whose behalf the year is opened (checked like the web form).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail, refuse_control_characters
from kpi_app.models import User


@click.command("open-assessment")
@click.argument("slug")
@click.option("--year", type=int, required=True, help="reporting year, e.g. 2026")
@click.option(
    "--by",
    "by_email",
    default=None,
    help="e-mail of the coordinator or city editor recorded as opening it (default: none)",
)
@with_appcontext
def open_assessment(slug: str, year: int, by_email: str | None) -> None:
    """Open (create) the draft assessment of a city for a reporting year."""
    from kpi_app.services import assessments, cities, users, values

    refuse_control_characters("city slug", slug)
    refuse_control_characters("--by e-mail", by_email)
    try:
        city = cities.get_city(slug)
    except cities.CityError as error:
        fail(f"{error} (see `kpi-app create-city`)")
        return
    actor: User | None = None
    if by_email is not None:
        actor = users.find_user(by_email)
        if actor is None:
            fail(f"no user with e-mail {by_email}")
            return
        if not actor.active or not values.may_open_assessment(actor, city):
            fail(f"{actor.email} may not open reporting years for {city.slug}")
            return
    try:
        assessment = assessments.create_assessment(city, year, actor)
    except assessments.AssessmentError as error:
        fail(str(error))
        return
    click.echo(
        f"Opened {city.slug} {assessment.year} ({city.name}): {assessment.status.value}, "
        f"catalogue {assessment.catalogue_version}, benchmark set {assessment.benchmark_set}"
    )


COMMANDS = [open_assessment]

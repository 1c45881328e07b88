"""Workflow commands: assign verifiers, show an assessment's status trail, screen it, to-do.

The operator at the command line has shell access to the server, so these commands act as
the system (audit actor empty) rather than impersonating a coordinator.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail, refuse_control_characters
from kpi_app.models import Assessment, User

if TYPE_CHECKING:
    from kpi_app.services.due_dates import Deadline


def _assessment(city: str, year: int) -> Assessment:
    from kpi_app.services import workflow

    refuse_control_characters("city slug", city)
    assessment = workflow.find_assessment(city, year)
    if assessment is None:
        fail(
            f"no assessment for city {city!r} and year {year} "
            f"(`kpi-app open-assessment {city} --year {year}` opens one)"
        )
    assert assessment is not None
    return assessment


def _user(email: str) -> User:
    from kpi_app.services import users

    refuse_control_characters("e-mail", email)
    user = users.find_user(email)
    if user is None:
        fail(f"no user with e-mail {email}")
    assert user is not None
    return user


@click.command("assign-verifier")
@click.argument("email")
@click.option("--city", required=True, help="city slug")
@click.option("--year", required=True, type=int)
@click.option("--remove", is_flag=True, help="withdraw the assignment instead")
@with_appcontext
def assign_verifier(email: str, city: str, year: int, remove: bool) -> None:
    """Give a verifier (by e-mail) access to the assessment of a city and year."""
    from kpi_app.services import workflow

    assessment, verifier = _assessment(city, year), _user(email)
    try:
        if remove:
            workflow.unassign_verifier(assessment, verifier, actor=None)
        else:
            workflow.assign_verifier(assessment, verifier, actor=None)
    except workflow.WorkflowError as error:
        fail(str(error))
    verb = "Removed" if remove else "Assigned"
    click.echo(f"{verb} {verifier.email} {'from' if remove else 'to'} {city} {year}")


@click.command("workflow-status")
@click.option("--city", required=True, help="city slug")
@click.option("--year", required=True, type=int)
@with_appcontext
def workflow_status(city: str, year: int) -> None:
    """Print an assessment's status, verifiers, due dates, open queries and status history."""
    from kpi_app.services import due_dates, history, workflow

    assessment = _assessment(city, year)
    click.echo(f"{city} {year}: {assessment.status.value}")
    click.echo("verifiers: " + (", ".join(v.email for v in assessment.verifiers) or "none"))
    click.echo(f"unresolved queries: {workflow.unresolved_query_count(assessment)}")
    for deadline in due_dates.summary(assessment).deadlines:
        if deadline.due is not None:
            click.echo(f"{deadline.kind} due: {deadline.due.isoformat()} ({_state(deadline)})")
    share = workflow.verified_share(assessment)
    click.echo(
        f"{share.verified} of {share.reported} reported values verified"
        f" ({share.not_verified} not verified, {share.undecided} without a decision)"
    )
    for gap in workflow.submission_gaps(assessment):
        for missing in gap.items:
            lacking = [
                name
                for name, absent in (
                    ("source", missing.missing_source),
                    ("data-quality level", missing.missing_quality),
                )
                if absent
            ]
            point = f" [{missing.value.data_point}]" if missing.value.data_point else ""
            click.echo(
                f"  missing before submission: {gap.category_id} / {missing.value.code}{point}: "
                + ", ".join(lacking)
            )
    for event in reversed(history.assessment_history(assessment)):
        if event.action == "status_change" and event.old and event.new:
            who = event.actor.email if event.actor else "system"
            why = f" ({event.reason})" if event.reason else ""
            click.echo(
                f"  {event.at:%Y-%m-%d %H:%M} {event.old['status']} -> {event.new['status']}"
                f" by {who}{why}"
            )


@click.command("screen")
@click.option("--city", required=True, help="city slug")
@click.option("--year", required=True, type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@with_appcontext
def screen(city: str, year: int, fmt: str) -> None:
    """Run the verifier's screening checks on an assessment."""
    from kpi_app.services import screening

    report = screening.screen_assessment(_assessment(city, year), actor=None)
    done = report.completeness
    if fmt == "json":
        payload = {
            "completeness": {
                "reported_core": done.reported_core,
                "total_core": done.total_core,
                "reported_advanced": done.reported_advanced,
                "total_advanced": done.total_advanced,
            },
            "peers": [{"city": slug, "year": year} for slug, year in report.peer_list],
            "flags": [
                {
                    "code": f.code,
                    "data_point": f.data_point,
                    "kind": f.kind,
                    "severity": f.severity,
                    "rule": f.rule,
                    "params": f.params,
                }
                for f in report.flags
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(
        f"core {done.reported_core}/{done.total_core}, "
        f"advanced {done.reported_advanced}/{done.total_advanced} reported"
    )
    for flag in report.flags:
        point = f" [{flag.data_point}]" if flag.data_point else ""
        click.echo(f"{flag.severity:<8} {flag.code}{point}: {flag.kind} {flag.rule} {flag.params}")


@click.command("todo")
@click.argument("email")
@with_appcontext
def todo_list(email: str) -> None:
    """Print a user's to-do list (what the Verification inbox shows them)."""
    from kpi_app.services import todo

    items = todo.todo_for(_user(email))
    if not items:
        click.echo("Nothing to do.")
    for item in items:
        count = f" ({item.count})" if item.count else ""
        due = f" [{item.due.kind} due {item.due.due}: {_state(item.due)}]" if item.due else ""
        click.echo(f"{item.kind}{count}: {item.assessment.city.slug} {item.assessment.year}{due}")


def _state(deadline: Deadline) -> str:
    """A due date's state in words: "overdue by 2 days", "due in 3 days", "due today"."""
    left = deadline.days_left or 0
    if deadline.state == "overdue":
        return f"overdue by {-left} day{'s' if left != -1 else ''}"
    if deadline.state in ("due_soon", "upcoming"):
        return "due today" if left == 0 else f"due in {left} day{'s' if left != 1 else ''}"
    return "not the current stage"


COMMANDS = [assign_verifier, workflow_status, screen, todo_list]

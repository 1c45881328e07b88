"""Due-date reminders: `kpi-app send-reminders`, meant to run once a day from cron.

Idempotent: each reminder (assessment, kind, due date) is sent once, so running it twice a
day, or after a missed day, never repeats one. Example crontab line (07:00 UTC every day):

    0 7 * * *  cd /srv/kpi && DATABASE_URL=... MAIL_SERVER=... .venv/bin/kpi-app send-reminders

E-mails carry a link to the assessment when KPI_SERVER_NAME (and KPI_PREFERRED_URL_SCHEME) name the
public address; in-app notices are listed under Notifications either way.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from kpi_app.services.due_dates import Reminder


@click.command("send-reminders")
@click.option(
    "--date",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="judge the due dates as of this day (YYYY-MM-DD; default: today in UTC)",
)
@click.option(
    "--days",
    type=click.IntRange(min=0, max=365),
    default=None,
    help="send 'due soon' this many days ahead (default: KPI_REMINDER_DAYS, 3)",
)
@click.option("--dry-run", is_flag=True, help="list the reminders without sending any")
@with_appcontext
def send_reminders(on: datetime | None, days: int | None, dry_run: bool) -> None:
    """Send the 'due soon' and 'overdue' reminders of assessment due dates (once each)."""
    from kpi_app.services import due_dates

    today = on.date() if on is not None else None
    # With a public host name, a request context lets the e-mails carry full links.
    scope = (
        current_app.test_request_context("/")
        if current_app.config.get("SERVER_NAME")
        else contextlib.nullcontext()
    )
    with scope:
        if dry_run:
            pending = due_dates.due_reminders(today, days)
            for reminder in pending:
                click.echo(_line("would send", reminder))
            click.echo(f"{len(pending)} reminders to send (dry run: none sent)")
            return
        run = due_dates.send_reminders(today, days)
    for reminder in run.sent:
        click.echo(_line("sent", reminder))
    click.echo(f"{len(run.sent)} reminders sent, {run.already_sent} already sent before")


def _line(verb: str, reminder: Reminder) -> str:
    a = reminder.assessment
    people = ", ".join(u.email for u in reminder.recipients) or "nobody"
    return (
        f"{verb} {reminder.kind} for {a.city.slug} {a.year} "
        f"(due {reminder.due.isoformat()}) to {len(reminder.recipients)}: {people}"
    )


COMMANDS = [send_reminders]

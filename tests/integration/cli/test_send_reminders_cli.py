"""`kpi-app send-reminders` as cron runs it (issue 15): the console script in a subprocess on a
migrated database, mail received by a local SMTP server (aiosmtpd), and a second run that
sends nothing again."""

from __future__ import annotations

from datetime import date

from aiosmtpd.controller import Controller

from kpi_app.extensions import db
from kpi_app.models import Notification, Role
from kpi_app.services import cities, due_dates, users, workflow
from tests.conftest import build_app
from tests.integration.cli.process import ok, run_kpi_app
from tests.smtp_server import Inbox, free_port


def test_send_reminders_mails_each_reminder_once(new_database):
    url = new_database("reminders")
    ok(run_kpi_app(url, "init-db"))  # the migrations, this one's included, build the schema
    app = build_app(url)
    with app.app_context():
        city = cities.create_city("nordvik", "Nordvik", "NO", population=50_000)
        users.create_user("editor@example.org", Role.CITY_EDITOR, city_slug="nordvik")
        users.create_user("quiet@example.org", Role.CITY_EDITOR, city_slug="nordvik")
        coordinator, _ = users.create_user("coord@example.org", Role.COORDINATOR)
        quiet = users.find_user("quiet@example.org")
        assert quiet is not None
        from kpi_app.services import notifications

        notifications.set_email_enabled(quiet, False)
        assessment = workflow.open_assessment(city, 2026, coordinator)
        due_dates.set_due_dates(
            assessment, coordinator, entry_due=date(2027, 3, 31), verification_due=None
        )
        db.session.remove()
        db.engine.dispose()

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mail_env = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(controller.port),
        "MAIL_FROM": "kpi@example.org",
        "KPI_SERVER_NAME": "kpi.example.org",
    }
    try:
        early = ok(run_kpi_app(url, "send-reminders", "--date", "2027-03-20", extra_env=mail_env))
        assert "0 reminders sent" in early and inbox.messages == []

        dry = ok(
            run_kpi_app(
                url, "send-reminders", "--date", "2027-03-29", "--dry-run", extra_env=mail_env
            )
        )
        assert "would send entry_due_soon for nordvik 2026 (due 2027-03-31)" in dry
        assert inbox.messages == []

        first = ok(run_kpi_app(url, "send-reminders", "--date", "2027-03-29", extra_env=mail_env))
        assert "sent entry_due_soon for nordvik 2026 (due 2027-03-31) to 2" in first
        assert "1 reminders sent, 0 already sent before" in first
        # the opted-out editor gets the notice in the app only
        assert [m["To"] for m in inbox.messages] == ["editor@example.org"]
        body = Inbox.body(inbox.messages[0])
        assert "Data entry for Nordvik 2026 is due on 2027-03-31." in body
        assert "http://kpi.example.org/assessments/" in body  # a link, thanks to KPI_SERVER_NAME

        second = ok(run_kpi_app(url, "send-reminders", "--date", "2027-03-29", extra_env=mail_env))
        assert "0 reminders sent, 1 already sent before" in second
        assert len(inbox.messages) == 1

        # KPI_REMINDER_DAYS and --days move the "due soon" window; overdue goes to coordinators
        late = ok(run_kpi_app(url, "send-reminders", "--date", "2027-04-01", extra_env=mail_env))
        assert "sent entry_overdue for nordvik 2026" in late
        assert sorted(m["To"] for m in inbox.messages[1:]) == [
            "coord@example.org",
            "editor@example.org",
        ]
    finally:
        controller.stop()

    status = ok(run_kpi_app(url, "workflow-status", "--city", "nordvik", "--year", "2026"))
    assert "entry due: 2027-03-31 (" in status
    todo = ok(run_kpi_app(url, "todo", "editor@example.org"))
    assert "[entry due 2027-03-31: " in todo

    bad = run_kpi_app(url, "send-reminders", "--date", "2027-02-30")
    assert bad.returncode != 0 and "2027-02-30" in bad.stderr

    with app.app_context():
        notices = db.session.scalars(db.select(Notification.kind).order_by(Notification.id)).all()
        db.session.remove()
        db.engine.dispose()
    # editor, quiet: due soon; editor, quiet, coordinator: overdue
    assert sorted(notices) == sorted(["entry_due_soon"] * 2 + ["entry_overdue"] * 3)

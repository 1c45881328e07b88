"""Due dates per assessment and their reminders (issue 15): validation, audit, states at the
thresholds, to-do lists, and reminders sent once each (in-app and by e-mail, opt-out kept).

E-mail is received by a real SMTP server (aiosmtpd) started by the test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, DueReminder, Notification, Role, Status
from kpi_app.services import due_dates, notifications, todo, workflow
from kpi_app.services.workflow import WorkflowDenied
from tests import smtp_server
from tests.factories import add_value
from tests.smtp_server import Inbox

smtp = smtp_server.smtp  # the fixture: a real SMTP server for the test

ENTRY_DUE = date(2027, 3, 31)
VERIFICATION_DUE = date(2027, 5, 31)


@pytest.fixture
def world(make_city, make_user):
    city = make_city("alpha", name="Alpha")
    editor = make_user(Role.CITY_EDITOR, city, email="editor@example.org")
    verifier = make_user(Role.VERIFIER, email="verifier@example.org")
    coordinator = make_user(Role.COORDINATOR, email="coordinator@example.org")
    assessment = workflow.open_assessment(city, 2026, coordinator)
    add_value(assessment, "EC: ICT: ICT: 1C", 80.0, actor=editor)
    return assessment, editor, verifier, coordinator


def kinds(user):
    return [
        n.kind
        for n in db.session.scalars(
            db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def test_coordinator_sets_due_dates_audited(world):
    assessment, editor, _verifier, coordinator = world
    assert due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=VERIFICATION_DUE
    )
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "set_due_dates")
    ).one()
    assert event.actor_id == coordinator.id and event.assessment_id == assessment.id
    assert event.old == {"entry_due": None, "verification_due": None}
    assert event.new == {"entry_due": "2027-03-31", "verification_due": "2027-05-31"}
    # the same dates again change nothing and record nothing
    assert not due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=VERIFICATION_DUE
    )
    # clearing one is a change of its own
    assert due_dates.set_due_dates(
        assessment, coordinator, entry_due=None, verification_due=VERIFICATION_DUE
    )
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "set_due_dates").order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    assert events[1].old["entry_due"] == "2027-03-31" and events[1].new["entry_due"] is None
    with pytest.raises(WorkflowDenied):
        due_dates.set_due_dates(assessment, editor, entry_due=ENTRY_DUE, verification_due=None)


def test_verification_before_data_entry_is_refused(world):
    assessment, _editor, _verifier, coordinator = world
    with pytest.raises(due_dates.DueDateError, match="before the data-entry due date") as error:
        due_dates.set_due_dates(
            assessment,
            coordinator,
            entry_due=ENTRY_DUE,
            verification_due=ENTRY_DUE - timedelta(days=1),
        )
    assert error.value.field == "verification_due"
    # the same day is allowed
    assert due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=ENTRY_DUE
    )
    with pytest.raises(due_dates.DueDateError, match="not a plausible due date"):
        due_dates.set_due_dates(
            assessment, coordinator, entry_due=date(27, 3, 31), verification_due=None
        )


@pytest.mark.parametrize(
    ("today", "state", "days_left"),
    [
        (ENTRY_DUE - timedelta(days=4), due_dates.UPCOMING, 4),
        (ENTRY_DUE - timedelta(days=3), due_dates.DUE_SOON, 3),  # KPI_REMINDER_DAYS = 3
        (ENTRY_DUE, due_dates.DUE_SOON, 0),  # due today is not overdue yet
        (ENTRY_DUE + timedelta(days=1), due_dates.OVERDUE, -1),
    ],
)
def test_states_at_the_thresholds(world, today, state, days_left):
    assessment, _editor, _verifier, coordinator = world
    due_dates.set_due_dates(assessment, coordinator, entry_due=ENTRY_DUE, verification_due=None)
    entry = due_dates.summary(assessment, today).entry
    assert (entry.state, entry.days_left) == (state, days_left)
    assert due_dates.summary(assessment, today).verification.state == due_dates.UNSET


def test_each_date_counts_only_during_its_stage(world):
    assessment, editor, verifier, coordinator = world
    due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=VERIFICATION_DUE
    )
    late = VERIFICATION_DUE + timedelta(days=10)
    draft = due_dates.summary(assessment, late)
    assert (draft.entry.state, draft.verification.state) == ("overdue", "inactive")
    workflow.assign_verifier(assessment, verifier, coordinator)
    value = assessment.values[0]
    value.source, value.quality = "Census", 1
    db.session.commit()
    workflow.transition(assessment, "submit", editor)
    submitted = due_dates.summary(assessment, late)
    assert (submitted.entry.state, submitted.verification.state) == ("inactive", "overdue")
    assert submitted.current == submitted.verification


def test_to_do_lists_carry_the_due_dates(world, app):
    assessment, editor, _verifier, coordinator = world
    due_dates.set_due_dates(
        assessment,
        coordinator,
        entry_due=due_dates.today_utc() - timedelta(days=2),
        verification_due=None,
    )
    editor_items = todo.todo_for(editor)
    assert {i.kind for i in editor_items} == {todo.MISSING_CORE}
    assert all(i.due is not None and i.due.overdue for i in editor_items)
    overdue = [i for i in todo.todo_for(coordinator) if i.kind == todo.OVERDUE]
    assert [i.assessment.id for i in overdue] == [assessment.id]
    assert overdue[0].due is not None and overdue[0].due.days_overdue == 2


def _submit(assessment, editor):
    value = assessment.values[0]
    value.source, value.quality = "Census", 1
    db.session.commit()
    workflow.transition(assessment, "submit", editor)


def test_reminders_are_sent_once_in_app_and_by_mail(world, smtp: Inbox):
    assessment, editor, _verifier, coordinator = world
    due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=VERIFICATION_DUE
    )
    # four days before: nothing yet
    assert due_dates.send_reminders(ENTRY_DUE - timedelta(days=4)).sent == []
    # three days before: "due soon" to the city's editors only
    run = due_dates.send_reminders(ENTRY_DUE - timedelta(days=3))
    assert [(r.kind, [u.email for u in r.recipients]) for r in run.sent] == [
        ("entry_due_soon", ["editor@example.org"])
    ]
    assert kinds(editor) == ["entry_due_soon"]
    mail = smtp.to("editor@example.org")
    assert len(mail) == 1 and "Alpha 2026" in mail[0]["Subject"]
    assert "Data entry for Alpha 2026 is due on 2027-03-31." in Inbox.body(mail[0])
    # the next day (and again the same day) repeats nothing
    again = due_dates.send_reminders(ENTRY_DUE - timedelta(days=2))
    assert again.sent == [] and again.already_sent == 1
    assert kinds(editor) == ["entry_due_soon"] and len(smtp.to("editor@example.org")) == 1
    # overdue: the editors and the coordinators, once
    late = ENTRY_DUE + timedelta(days=1)
    assert [r.kind for r in due_dates.send_reminders(late).sent] == ["entry_overdue"]
    assert due_dates.send_reminders(late).sent == []
    assert kinds(editor) == ["entry_due_soon", "entry_overdue"]
    assert kinds(coordinator) == ["entry_overdue"]
    overdue_mail = smtp.to("coordinator@example.org")
    assert len(overdue_mail) == 1
    assert "Overdue: data entry for Alpha 2026 was due on 2027-03-31." in Inbox.body(
        overdue_mail[0]
    )
    # a new due date is reminded afresh
    due_dates.set_due_dates(
        assessment,
        coordinator,
        entry_due=ENTRY_DUE + timedelta(days=7),
        verification_due=VERIFICATION_DUE,
    )
    assert [r.kind for r in due_dates.send_reminders(ENTRY_DUE + timedelta(days=5)).sent] == [
        "entry_due_soon"
    ]
    assert db.session.scalar(db.select(db.func.count(DueReminder.id))) == 3


def test_verification_reminders_go_to_the_verifiers(world, smtp: Inbox):
    assessment, editor, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    due_dates.set_due_dates(
        assessment, coordinator, entry_due=ENTRY_DUE, verification_due=VERIFICATION_DUE
    )
    _submit(assessment, editor)
    assert assessment.status is Status.SUBMITTED
    before = len(smtp.to("verifier@example.org"))
    # the data-entry date no longer counts once submitted: only the verification one
    run = due_dates.send_reminders(VERIFICATION_DUE - timedelta(days=1))
    assert [(r.kind, [u.email for u in r.recipients]) for r in run.sent] == [
        ("verification_due_soon", ["verifier@example.org"])
    ]
    assert len(smtp.to("verifier@example.org")) == before + 1
    body = Inbox.body(smtp.to("verifier@example.org")[-1])
    assert "The verification of Alpha 2026 is due on 2027-05-31." in body
    run = due_dates.send_reminders(VERIFICATION_DUE + timedelta(days=1))
    assert [r.kind for r in run.sent] == ["verification_overdue"]
    assert {u.email for u in run.sent[0].recipients} == {
        "verifier@example.org",
        "coordinator@example.org",
    }
    assert notifications.link_endpoint("verification_overdue") == "verification.review"


def test_opt_out_stops_the_reminder_mail_not_the_notice(world, smtp: Inbox):
    assessment, editor, _verifier, coordinator = world
    notifications.set_email_enabled(editor, False)
    due_dates.set_due_dates(assessment, coordinator, entry_due=ENTRY_DUE, verification_due=None)
    assert len(due_dates.send_reminders(ENTRY_DUE).sent) == 1
    assert kinds(editor) == ["entry_due_soon"]
    assert smtp.to("editor@example.org") == []


def test_a_reminder_recorded_by_a_concurrent_run_is_not_sent_twice(world, smtp: Inbox, monkeypatch):
    assessment, editor, _verifier, coordinator = world
    due_dates.set_due_dates(assessment, coordinator, entry_due=ENTRY_DUE, verification_due=None)
    pending = due_dates.due_reminders(ENTRY_DUE)
    assert [r.kind for r in pending] == ["entry_due_soon"]
    # another process records the same reminder between our reading and our commit
    db.session.add(
        DueReminder(
            assessment_id=assessment.id, kind="entry_due_soon", due_date=ENTRY_DUE, recipients=1
        )
    )
    db.session.commit()
    monkeypatch.setattr(due_dates, "_pending", lambda today, soon: (pending, 0))  # stale read
    run = due_dates.send_reminders(ENTRY_DUE)
    assert run.sent == [] and run.already_sent == 1
    assert kinds(editor) == [] and smtp.to("editor@example.org") == []

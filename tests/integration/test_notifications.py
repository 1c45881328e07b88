"""Notifications: who is told about each workflow step and query, in the app and by e-mail.

E-mail is received by a real SMTP server (aiosmtpd) started by the test.
"""

from __future__ import annotations

import logging

import pytest

from kpi_app.extensions import db
from kpi_app.models import Notification, Role, Status
from kpi_app.services import notifications, review_threads, workflow
from tests import smtp_server
from tests.factories import add_value
from tests.smtp_server import Inbox

smtp = smtp_server.smtp  # the fixture: a real SMTP server for the test


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha", name="Alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city, email="editor@example.org")
    other_city_editor = make_user(Role.CITY_EDITOR, make_city("beta"), email="beta@example.org")
    verifier = make_user(Role.VERIFIER, email="verifier@example.org")
    coordinator = make_user(Role.COORDINATOR, email="coordinator@example.org")
    add_value(assessment, "EC: ICT: ICT: 1C", 80.0, actor=editor)
    return assessment, editor, other_city_editor, verifier, coordinator


def kinds(user):
    return [
        n.kind
        for n in db.session.scalars(
            db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def test_submit_without_verifier_tells_the_coordinators(world):
    assessment, editor, _other, verifier, coordinator = world
    workflow.transition(assessment, "submit", editor)
    assert kinds(coordinator) == ["submitted_unassigned"]
    assert kinds(verifier) == [] and kinds(editor) == []


def test_whole_cycle_tells_each_role_and_mails_them(world, smtp: Inbox):
    assessment, editor, other, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    assert kinds(verifier) == ["assigned"]
    workflow.transition(assessment, "submit", editor)
    assert kinds(verifier) == ["assigned", "submitted"]
    workflow.transition(assessment, "start_review", verifier)
    value = assessment.values[0]
    query = review_threads.open_query(value, verifier, "Which table of the census?")
    assert kinds(editor) == ["question_asked"]
    review_threads.reply(query, editor, "Table 4")
    assert kinds(verifier)[-1] == "question_answered"
    workflow.transition(assessment, "return", verifier, reason="Attach the census table")
    assert kinds(editor)[-1] == "returned"
    assert kinds(other) == []  # another city's editor hears nothing
    # the reason reaches the city in the message
    note = db.session.scalars(
        db.select(Notification).where(
            Notification.user_id == editor.id, Notification.kind == "returned"
        )
    ).one()
    assert "Attach the census table" in notifications.message_text(note.kind, note.params)
    # every step above arrived by e-mail too
    assert len(smtp.to("verifier@example.org")) == 3
    assert len(smtp.to("editor@example.org")) == 2
    returned = smtp.to("editor@example.org")[-1]
    assert returned["From"] == "kpi@example.org"
    assert "Alpha 2024" in returned["Subject"]
    assert "Attach the census table" in Inbox.body(returned)
    assert smtp.to("beta@example.org") == []


def test_verified_and_published_are_announced(world, smtp: Inbox):
    assessment, editor, _other, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    workflow.transition(assessment, "submit", editor)
    workflow.transition(assessment, "start_review", verifier)
    value = assessment.values[0]
    value.verified = True
    value.verification_code = "source_checked"
    db.session.commit()
    workflow.transition(assessment, "verify", verifier)
    assert kinds(editor)[-1] == "verified" and kinds(coordinator)[-1] == "verified"
    workflow.transition(assessment, "publish", coordinator)
    assert kinds(editor)[-1] == "published" and kinds(verifier)[-1] == "published"
    assert "published" in Inbox.body(smtp.to("editor@example.org")[-1])


def test_opt_out_stops_mail_not_the_in_app_notice(world, smtp: Inbox):
    assessment, _editor, _other, verifier, coordinator = world
    notifications.set_email_enabled(verifier, False)
    workflow.assign_verifier(assessment, verifier, coordinator)
    assert kinds(verifier) == ["assigned"]
    assert smtp.to("verifier@example.org") == []


def test_no_mail_server_no_mail_but_notice(world, app):
    assessment, _editor, _other, verifier, coordinator = world
    assert app.config["MAIL_SERVER"] is None
    workflow.assign_verifier(assessment, verifier, coordinator)
    assert kinds(verifier) == ["assigned"]
    assert db.session().info.get(notifications.PENDING_KEY) is None


def test_mail_failure_keeps_the_workflow_change_and_is_logged(world, app, caplog):
    from tests.smtp_server import free_port

    assessment, editor, _other, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens
    with caplog.at_level(logging.ERROR, logger="kpi_app.services.notifications"):
        workflow.transition(assessment, "submit", editor)
    db.session.expire_all()
    assert db.session.get(type(assessment), assessment.id).status is Status.SUBMITTED
    assert kinds(verifier)[-1] == "submitted"
    assert any("verifier@example.org" in r.getMessage() for r in caplog.records)


def test_a_refused_step_tells_nobody(world, smtp: Inbox):
    assessment, editor, _other, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    with pytest.raises(workflow.WorkflowError):
        workflow.transition(assessment, "publish", coordinator)
    assert kinds(editor) == []
    assert len(smtp.messages) == 1  # only the assignment


def test_mark_read_counts_only_own_notifications(world):
    assessment, editor, _other, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    workflow.transition(assessment, "submit", editor)
    assert notifications.unread_count(verifier) == 2
    mine = notifications.for_user(verifier)
    assert notifications.mark_read(editor, mine[0].id) == 0  # not the editor's
    assert notifications.mark_read(verifier, mine[0].id) == 1
    assert notifications.unread_count(verifier) == 1
    assert notifications.mark_read(verifier) == 1
    assert notifications.unread_count(verifier) == 0

"""Notification pages, the header count, e-mail opt-out and password reset, through the client.

Mail is received by a real local SMTP server (aiosmtpd) started by the test.
"""

from __future__ import annotations

import re

import pytest

from kpi_app.extensions import db
from kpi_app.models import Role, User
from kpi_app.services import notifications, users, workflow
from tests import smtp_server
from tests.factories import PASSWORD, add_value, login
from tests.smtp_server import Inbox

smtp = smtp_server.smtp  # the fixture: a real SMTP server for the test
NEW_PASSWORD = "quiet-harbour-lantern-47"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha", name="Alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city, email="editor@example.org")
    verifier = make_user(Role.VERIFIER, email="verifier@example.org")
    coordinator = make_user(Role.COORDINATOR, email="coordinator@example.org")
    add_value(assessment, "EC: ICT: ICT: 1C", 80.0, actor=editor)
    return assessment, editor, verifier, coordinator


def test_header_count_list_and_mark_read(client, world):
    assessment, editor, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    workflow.transition(assessment, "submit", editor)
    login(client, verifier.email)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "(2 unread)" in page  # in the header, as text
    assert "You were assigned to verify Alpha 2024." in page
    assert "Alpha 2024 was submitted for verification." in page
    assert f'href="/verification/assessments/{assessment.id}"' in page
    first = notifications.for_user(verifier)[0]
    response = client.post(f"/notifications/{first.id}/read", follow_redirects=True)
    assert "(1 unread)" in response.get_data(as_text=True)
    response = client.post("/notifications/read-all", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "(0 unread)" in text and "Nothing unread." in text


def test_someone_elses_notification_cannot_be_marked(client, world):
    assessment, editor, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    note = notifications.for_user(verifier)[0]
    login(client, editor.email)
    response = client.post(f"/notifications/{note.id}/read", follow_redirects=True)
    assert "already read or is not yours" in response.get_data(as_text=True)
    db.session.expire_all()
    assert notifications.unread_count(verifier) == 1


def test_mark_read_needs_csrf(world, app):
    assessment, _editor, verifier, coordinator = world
    workflow.assign_verifier(assessment, verifier, coordinator)
    note = notifications.for_user(verifier)[0]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        client.post(
            "/auth/login",
            data={"email": verifier.email, "password": PASSWORD, "csrf_token": token[1]},
        )
        assert client.post(f"/notifications/{note.id}/read").status_code == 400
        db.session.expire_all()
        assert notifications.unread_count(verifier) == 1
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_account_page_turns_email_off(client, world, smtp: Inbox):
    assessment, _editor, verifier, coordinator = world
    login(client, verifier.email)
    page = client.get("/auth/account").get_data(as_text=True)
    assert "Turn e-mail notifications off" in page
    response = client.post(
        "/auth/account/email-notifications", data={"email": "off"}, follow_redirects=True
    )
    assert "E-mail notifications are off." in response.get_data(as_text=True)
    workflow.assign_verifier(assessment, verifier, coordinator)
    assert smtp.to(verifier.email) == []
    assert notifications.unread_count(verifier) == 1


def test_forgot_password_mails_a_single_use_link(client, world, smtp: Inbox):
    _assessment, editor, _verifier, _coordinator = world
    login_page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot"' in login_page and "Forgot your password?" in login_page
    known = client.post("/auth/forgot", data={"email": editor.email}, follow_redirects=True)
    unknown = client.post(
        "/auth/forgot", data={"email": "nobody@example.org"}, follow_redirects=True
    )
    message = "If an account uses this address, a reset link is on its way."
    assert message in known.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)  # the same answer: nothing revealed
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == editor.email
    link = re.search(r"http://localhost(/auth/reset/\S+)", Inbox.body(smtp.messages[0]))
    assert link is not None
    path = link[1]
    weak = client.post(path, data={"new": "password12", "confirm": "password12"})
    assert weak.status_code == 200 and "too easy to guess" in weak.get_data(as_text=True)
    done = client.post(
        path, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True
    )
    assert "Your password was changed." in done.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, editor.id)
    assert users.check_password(user, NEW_PASSWORD)
    again = client.get(path, follow_redirects=True)
    assert "already used or is no longer valid" in again.get_data(as_text=True)
    assert "Log out" not in login(client, editor.email).get_data(as_text=True)  # old password
    assert "Log out" in login(client, editor.email, NEW_PASSWORD).get_data(as_text=True)


def test_reset_link_expires_and_forgery_is_refused(client, world, app, smtp: Inbox):
    _assessment, editor, _verifier, _coordinator = world
    client.post("/auth/forgot", data={"email": editor.email})
    path = re.search(r"http://localhost(/auth/reset/\S+)", Inbox.body(smtp.messages[0]))
    assert path is not None
    tampered = path[1][:-3] + ("AAA" if not path[1].endswith("AAA") else "BBB")
    bad = client.get(tampered, follow_redirects=True).get_data(as_text=True)
    assert "This reset link is not valid." in bad
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    expired = client.get(path[1], follow_redirects=True).get_data(as_text=True)
    assert "This reset link has expired." in expired

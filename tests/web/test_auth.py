"""Logging in and out, and logout everywhere on password change (throttle: test_login_throttle)."""

from __future__ import annotations

from kpi_app.models import Role
from tests.factories import PASSWORD, login


def test_login_and_logout(client, make_user):
    user = make_user(Role.VERIFIER)
    page = login(client, user.email)
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 200
    assert client.get("/auth/logout").status_code == 405  # logging out needs a POST
    client.post("/auth/logout")
    assert client.get("/auth/account").status_code == 302


def test_the_auth_fixture_logs_in_as_a_role_in_one_line(client, auth):
    verifier = auth.login(Role.VERIFIER)
    assert verifier.role is Role.VERIFIER
    assert verifier.email in client.get("/auth/account").get_data(as_text=True)
    auth.logout()
    assert client.get("/auth/account").status_code == 302


def test_wrong_password_says_so_without_naming_which_part(client, make_user):
    user = make_user(Role.VIEWER)
    page = login(client, user.email, "not-the-password")
    assert "E-mail or password is not correct." in page.get_data(as_text=True)
    unknown = login(client, "nobody@example.org", "whatever-password")
    assert "E-mail or password is not correct." in unknown.get_data(as_text=True)


def test_password_change_logs_out_other_sessions(app, make_user):
    user = make_user(Role.COORDINATOR)
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    login(second, user.email)
    response = first.post(
        "/auth/account",
        data={"current": PASSWORD, "new": "a-brand-new-secret", "confirm": "a-brand-new-secret"},
        follow_redirects=True,
    )
    assert "Password changed" in response.get_data(as_text=True)
    assert first.get("/auth/account").status_code == 200
    assert second.get("/auth/account").status_code == 302  # the other session is gone


def test_open_redirects_are_refused(client, make_user):
    user = make_user(Role.VIEWER)
    response = client.post(
        "/auth/login?next=https://evil.example/",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

"""TOTP second factor for admins, coordinators and verifiers (issue 14 item 10).

The whole flow through the client, the way a user goes through it: forced enrolment, QR code
and key, confirmation, recovery codes shown once, login asking for the code, replayed and
wrong codes, recovery codes used once. Codes are computed with pyotp, as the phone would.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, RecoveryCode, Role
from tests.factories import PASSWORD, login


@pytest.fixture
def required(app):
    app.config["REQUIRE_2FA"] = True
    return app


def _text(response) -> str:
    return response.get_data(as_text=True)


def _enrol(client) -> tuple[pyotp.TOTP, list[str]]:
    page = _text(client.get("/auth/two-factor"))
    secret = re.search(r'<code class="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    done = client.post("/auth/two-factor", data={"code": totp.now()})
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", _text(done))
    assert len(codes) == 10
    return totp, codes


def _password_step(client, email: str):
    return client.post("/auth/login", data={"email": email, "password": PASSWORD})


def test_a_verifier_must_enrol_then_logs_in_with_a_code(required, client, make_user):
    verifier = make_user(Role.VERIFIER)
    login(client, verifier.email)
    # Before enrolling, every page leads to the set-up.
    blocked = client.get("/verification/")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/auth/two-factor")
    page = _text(client.get("/auth/two-factor"))
    assert '<svg role="img" aria-label="' in page  # the QR code, drawn on the server
    assert "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", ""
    )  # no outside image service
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert '<label for="code">' in page
    wrong = client.post("/auth/two-factor", data={"code": "000000"})
    assert wrong.status_code == 400 and "not correct" in _text(wrong)
    totp, codes = _enrol(client)
    assert client.get("/verification/").status_code == 200
    stored = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept

    client.post("/auth/logout")
    step = _password_step(client, verifier.email)
    assert step.status_code == 302 and step.headers["Location"].endswith("/auth/login/code")
    assert client.get("/auth/account").status_code == 302  # not logged in after the password
    code_page = _text(client.get("/auth/login/code"))
    assert 'autocomplete="one-time-code"' in code_page
    # The code used to enrol cannot be replayed; a wrong one is refused with a message.
    replay = client.post("/auth/login/code", data={"code": totp.now()})
    assert "not correct or was already used" in _text(replay)
    assert "not correct" in _text(client.post("/auth/login/code", data={"code": "123456"}))
    # The next step's code (the phone a few seconds ahead) opens the session.
    ok = client.post("/auth/login/code", data={"code": totp.at(time.time() + 30)})
    assert ok.status_code == 302
    assert client.get("/verification/").status_code == 200


def test_recovery_codes_work_once(required, client, make_user):
    coordinator = make_user(Role.COORDINATOR)
    login(client, coordinator.email)
    _totp, codes = _enrol(client)
    client.post("/auth/logout")
    _password_step(client, coordinator.email)
    used = client.post(
        "/auth/login/code", data={"code": codes[0].upper().replace("-", " ")}, follow_redirects=True
    )
    assert "You used a recovery code; 9 are left." in _text(used)
    client.post("/auth/logout")
    _password_step(client, coordinator.email)
    again = client.post("/auth/login/code", data={"code": codes[0]})
    assert "not correct or was already used" in _text(again)
    assert client.get("/auth/account").status_code == 302
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert "two_factor_enable" in actions and "recovery_code_used" in actions


def test_new_recovery_codes_replace_the_old_ones(required, client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin.email)
    _totp, old = _enrol(client)
    refused = client.post(
        "/auth/two-factor/recovery-codes",
        data={"password": "not-the-password"},
        follow_redirects=True,
    )
    assert "The password is not correct." in _text(refused)
    fresh = client.post("/auth/two-factor/recovery-codes", data={"password": PASSWORD})
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", _text(fresh))
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/auth/logout")
    _password_step(client, admin.email)
    assert "not correct" in _text(client.post("/auth/login/code", data={"code": old[1]}))
    assert client.post("/auth/login/code", data={"code": new[1]}).status_code == 302
    # A role that needs the second factor cannot turn it off.
    off = client.post(
        "/auth/two-factor/disable", data={"password": PASSWORD}, follow_redirects=True
    )
    assert "cannot be turned off" in _text(off) or "stays on" in _text(off)
    db.session.refresh(admin)
    assert admin.has_two_factor


def test_wrong_codes_are_throttled_like_passwords(required, app, client, make_user):
    verifier = make_user(Role.VERIFIER)
    login(client, verifier.email)
    totp, _codes = _enrol(client)
    client.post("/auth/logout")
    _password_step(client, verifier.email)
    free = app.config["LOGIN_FREE_FAILURES"]
    statuses = [
        client.post("/auth/login/code", data={"code": f"{n:06d}"}).status_code
        for n in range(free + 1)
    ]
    assert statuses == [200] * free + [429]
    # Even the right code waits now: guessing 10^6 codes is out of reach.
    assert (
        client.post("/auth/login/code", data={"code": totp.at(time.time() + 30)}).status_code == 429
    )


def test_viewers_are_not_forced_and_may_opt_in_and_out(required, client, make_user):
    viewer = make_user(Role.VIEWER)
    login(client, viewer.email)
    assert client.get("/auth/account").status_code == 200
    _enrol(client)
    off = client.post(
        "/auth/two-factor/disable", data={"password": PASSWORD}, follow_redirects=True
    )
    assert "Two-factor authentication is off." in _text(off)
    client.post("/auth/logout")
    assert _password_step(client, viewer.email).headers["Location"] == "/"


def test_the_code_step_expires_and_needs_the_password_first(app, client, make_user):
    verifier = make_user(Role.VERIFIER)
    assert client.get("/auth/login/code").status_code == 302  # nothing pending
    login(client, verifier.email)
    _enrol(client)  # opt-in works with the requirement off too
    client.post("/auth/logout")
    _password_step(client, verifier.email)
    with client.session_transaction() as session:
        pending = dict(session["pending_2fa"])
        pending["at"] -= 301  # five minutes and a second ago
        session["pending_2fa"] = pending
    expired = client.get("/auth/login/code")
    assert expired.status_code == 302 and expired.headers["Location"].endswith("/auth/login")


def test_journeys_without_the_requirement_are_unchanged(app, client, make_user):
    assert app.config["REQUIRE_2FA"] is False  # TestingConfig: tests and journeys log in plainly
    verifier = make_user(Role.VERIFIER)
    login(client, verifier.email)
    assert client.get("/verification/").status_code == 200


def test_codes_typed_with_arabic_indic_digits_are_read_as_digits(required, client, make_user):
    verifier = make_user(Role.VERIFIER)
    login(client, verifier.email)
    totp, _codes = _enrol(client)
    client.post("/auth/logout")
    _password_step(client, verifier.email)
    code = totp.at(time.time() + 30)
    arabic = "".join(chr(0x0660 + int(digit)) for digit in code)  # what an Arabic keyboard types
    assert client.post("/auth/login/code", data={"code": arabic}).status_code == 302
    assert client.get("/verification/").status_code == 200


def test_an_admin_resets_a_lost_second_factor(required, app, make_user):
    admin = make_user(Role.ADMIN)
    verifier = make_user(Role.VERIFIER)
    theirs = app.test_client()
    login(theirs, verifier.email)
    _enrol(theirs)
    mine = app.test_client()
    login(mine, admin.email)
    _enrol(mine)
    users_page = mine.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{verifier.id}/reset-two-factor"' in users_page
    done = mine.post(f"/admin/users/{verifier.id}/reset-two-factor", follow_redirects=True)
    assert "Second factor removed" in _text(done)
    assert theirs.get("/verification/").status_code == 302  # their sessions ended
    # They log in with the password alone and must set the factor up again.
    fresh = app.test_client()
    landing = _password_step(fresh, verifier.email).headers["Location"]
    assert landing == "/verification/"  # a verifier's to-do list
    assert fresh.get("/verification/").headers["Location"].endswith("/auth/two-factor")
    again = mine.post(f"/admin/users/{verifier.id}/reset-two-factor", follow_redirects=True)
    assert "no second factor to reset" in _text(again)
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "two_factor_reset"))
    assert event.actor_id == admin.id and event.entity_id == verifier.id


def test_the_operator_resets_a_second_factor_from_the_command_line(tmp_path):
    """The only admin lost phone and codes: `kpi-app reset-two-factor EMAIL`, run as an operator."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_") and k != "SECRET_KEY"}
    env.update(
        KPI_INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'ops.sqlite3'}",
    )

    def kpi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir / "kpi-app"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert kpi("init-db").returncode == 0
    assert (
        kpi("create-user", "boss@example.org", "--role", "admin", "--password", PASSWORD).returncode
        == 0
    )
    missing = kpi("reset-two-factor", "nobody@example.org")
    assert missing.returncode == 1 and "no account" in missing.stderr
    nothing = kpi("reset-two-factor", "boss@example.org")
    assert nothing.returncode == 1 and "no second factor" in nothing.stderr
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE user_account SET totp_secret = 'JBSWY3DPEHPK3PXP', "
                "totp_enabled_at = CURRENT_TIMESTAMP"
            )
        )
    done = kpi("reset-two-factor", "boss@example.org")
    assert done.returncode == 0, done.stderr
    with engine.connect() as connection:
        assert connection.execute(text("SELECT totp_secret FROM user_account")).scalar() is None
    engine.dispose()

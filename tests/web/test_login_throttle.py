"""Failed logins slow the failing client down, never lock the owner out (issue 14 item 8).

Each client is a test client with its own REMOTE_ADDR, as two machines on the internet.
"""

from __future__ import annotations

from datetime import timedelta

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, LoginThrottle, Role
from kpi_app.models.base import utcnow
from tests.factories import PASSWORD

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, email: str, password: str):
    return client.post("/auth/login", data={"email": email, "password": password})


def test_an_attacker_cannot_lock_an_admin_out(app, make_user):
    admin = make_user(Role.ADMIN)
    attacker = _client(app, ATTACKER)
    statuses = [_login(attacker, admin.email, f"guess-{n}-wrong").status_code for n in range(12)]
    # The first failures are answered normally, then the attacker's address must wait.
    free = app.config["LOGIN_FREE_FAILURES"]
    assert statuses[:free] == [200] * free
    assert set(statuses[free:]) == {429}
    # Even the right password is refused from the attacker's address while it waits ...
    refused = _login(attacker, admin.email, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in refused.get_data(as_text=True)
    assert _client(app, ATTACKER).get("/auth/account").status_code == 302
    # ... while the owner, elsewhere, logs in at once.
    owner = _client(app, OWNER)
    welcome = _login(owner, admin.email, PASSWORD)
    assert welcome.status_code == 302
    assert owner.get("/auth/account").status_code == 200
    throttled = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "login_throttled")
    ).all()
    assert [event.entity_id for event in throttled] == [admin.id]


def test_the_wait_doubles_with_each_further_failure(app, make_user):
    user = make_user(Role.VIEWER)
    attacker = _client(app, ATTACKER)
    free = app.config["LOGIN_FREE_FAILURES"]
    base = app.config["LOGIN_BACKOFF_SECONDS"]
    waits = []
    for n in range(free + 3):
        row = db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.client == ATTACKER))
        if row is not None and row.blocked_until is not None:
            # Let the wait pass (as if time went by) and try again.
            row.blocked_until = utcnow() - timedelta(seconds=1)
            db.session.commit()
        _login(attacker, user.email, f"wrong-{n}-guess")
        db.session.expire_all()
        row = db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.client == ATTACKER))
        if row.blocked_until is not None:
            until = row.blocked_until
            if until.tzinfo is None:
                until = until.replace(tzinfo=utcnow().tzinfo)
            waits.append(round((until - utcnow()).total_seconds() / base))
    assert waits == [1, 2, 4, 8]


def test_unknown_addresses_are_throttled_alike(app):
    attacker = _client(app, ATTACKER)
    free = app.config["LOGIN_FREE_FAILURES"]
    statuses = [
        _login(attacker, "nobody@example.org", "whatever-1").status_code for _ in range(free + 1)
    ]
    assert statuses == [200] * free + [429]  # no difference that would reveal who exists


def test_a_successful_login_forgets_that_clients_failures(app, make_user):
    user = make_user(Role.VIEWER)
    client = _client(app, OWNER)
    free = app.config["LOGIN_FREE_FAILURES"]
    for n in range(free - 1):
        _login(client, user.email, f"typo-{n}-password")
    assert _login(client, user.email, PASSWORD).status_code == 302
    client.post("/auth/logout")
    for n in range(free - 1):
        assert _login(client, user.email, f"typo-{n}-again").status_code == 200
    assert _login(client, user.email, PASSWORD).status_code == 302


def test_an_admin_password_reset_lifts_the_throttle(app, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.VIEWER)
    attacker = _client(app, ATTACKER)
    for n in range(app.config["LOGIN_FREE_FAILURES"]):
        _login(attacker, user.email, f"wrong-{n}-pw")
    assert _login(attacker, user.email, PASSWORD).status_code == 429
    admin_client = _client(app, OWNER)
    _login(admin_client, admin.email, PASSWORD)
    page = admin_client.post(f"/admin/users/{user.id}/reset-password").get_data(as_text=True)
    new = page.split('id="generated-password">')[1].split("<")[0]
    assert _login(attacker, user.email, new).status_code == 302


def test_pairs_quiet_for_a_day_are_forgotten(app, make_user):
    user = make_user(Role.VIEWER)
    attacker = _client(app, ATTACKER)
    for n in range(app.config["LOGIN_FREE_FAILURES"]):
        _login(attacker, user.email, f"wrong-{n}-pw")
    row = db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.client == ATTACKER))
    row.last_failure_at = utcnow() - timedelta(days=2)
    row.blocked_until = utcnow() - timedelta(days=1)
    db.session.commit()
    _login(_client(app, OWNER), "someone-else@example.org", "typo-password-1")
    db.session.expire_all()
    remaining = db.session.scalars(db.select(LoginThrottle.client)).all()
    assert remaining == [OWNER]
    assert _login(attacker, user.email, PASSWORD).status_code == 302

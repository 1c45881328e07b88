"""TOTP secrets are sealed at rest: the database (and so every backup of it) holds no secret
that would let its reader compute a user's second-factor codes.

Enrolment through the client as the user does it; the stored column read with plain SQL, as
an attacker holding a dump would; key rotation with KPI_DATA_KEYS; a changed key refused with
a clear message; secrets stored before sealing still work and `kpi-app init-db` (run as a
subprocess, as an operator runs it) seals them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from kpi_app.extensions import db
from kpi_app.models import Role, User
from kpi_app.services import sealed, two_factor
from kpi_app.services.sealed import SealError
from tests.factories import PASSWORD, login


def _stored(user_id: int) -> str:
    return str(
        db.session.execute(
            text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user_id}
        ).scalar()
    )


def _enrol(client) -> str:
    page = client.get("/auth/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    secret = secret.replace(" ", "")
    done = client.post("/auth/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    return secret


def test_an_enrolled_secret_is_stored_sealed_and_still_logs_in(app, client, make_user):
    verifier = make_user(Role.VERIFIER)
    login(client, verifier.email)
    secret = _enrol(client)
    stored = _stored(verifier.id)
    assert stored.startswith(sealed.PREFIX)
    assert secret not in stored and secret.lower() not in stored.lower()
    client.post("/auth/logout")
    step = client.post("/auth/login", data={"email": verifier.email, "password": PASSWORD})
    assert step.status_code == 302 and "/auth/login/code" in step.headers["Location"]
    # Next step's code: the enrolment code's step is spent (a code is never accepted twice).
    done = client.post("/auth/login/code", data={"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert done.status_code == 302, done.get_data(as_text=True)[:500]


def test_a_new_key_seals_and_the_old_one_still_opens(app, make_user):
    user = make_user(Role.VERIFIER)
    secret = two_factor.start_enrolment(user)
    old = _stored(user.id)
    new_key = Fernet.generate_key().decode()
    app.config["KPI_DATA_KEYS"] = new_key
    # Sealed under the SECRET_KEY-derived key before: still opens beside the new first key.
    assert sealed.unseal(old) == secret
    resealed = sealed.seal(secret)
    assert Fernet(new_key.encode()).decrypt(resealed[len(sealed.PREFIX) :].encode()).decode() == (
        secret
    )
    app.config["KPI_DATA_KEYS"] = "not-a-key"
    with pytest.raises(SealError, match="Fernet keys"):
        sealed.seal(secret)


def test_a_changed_key_is_refused_with_a_clear_message(app, make_user):
    user = make_user(Role.VERIFIER)
    two_factor.start_enrolment(user)
    stored = _stored(user.id)
    app.config["SECRET_KEY"] = "another-secret-key-of-at-least-32-characters"
    with pytest.raises(SealError, match="cannot be opened with this server's keys"):
        sealed.unseal(stored)


def test_a_secret_stored_before_sealing_works_and_init_db_seals_it(tmp_path):
    """An instance upgraded from a release that kept secrets in plain text, as operators run it."""
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_") and k != "SECRET_KEY"}
    database = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    env.update(KPI_INSTANCE_DIR=str(tmp_path / "instance"), DATABASE_URL=database)

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
    made = kpi("create-user", "boss@example.org", "--role", "admin", "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    engine = create_engine(database)
    plain = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE user_account SET totp_secret = :s, totp_enabled_at = CURRENT_TIMESTAMP"),
            {"s": plain},
        )
    done = kpi("init-db")
    assert done.returncode == 0, done.stderr
    assert "Two-factor secrets sealed at rest for 1 account(s)" in done.stdout
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT totp_secret FROM user_account")).scalar()
    assert stored.startswith(sealed.PREFIX) and plain not in stored
    again = kpi("init-db")
    assert again.returncode == 0 and "sealed at rest" not in again.stdout
    engine.dispose()
    # The sealed secret opens with the instance's own key (instance/secret_key).
    from kpi_app import create_app
    from kpi_app.config import DevelopmentConfig, instance_secret

    app = create_app(
        DevelopmentConfig,
        SQLALCHEMY_DATABASE_URI=database,
        SECRET_KEY=instance_secret(tmp_path / "instance"),
    )
    with app.app_context():
        user = db.session.scalars(db.select(User)).one()
        assert sealed.unseal(str(user.totp_secret)) == plain
        totp = pyotp.TOTP(plain)
        assert two_factor.verify(user, totp.now()) == "totp"

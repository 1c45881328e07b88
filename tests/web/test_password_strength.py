"""Weak passwords are refused wherever a password is set (issue 14 item 9).

Length alone let `password1234`, `aaaaaaaaaaaa` and the user's own e-mail through; zxcvbn
now judges every new password with the account's e-mail and name as context.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_app.models import Role
from kpi_app.services import users
from tests.factories import PASSWORD, login

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
EMAIL = "maria.lopez@puerto-azul.example"
WEAK = ["password1234", "aaaaaaaaaaaa", EMAIL, "MariaLopez2026", "qwertyuiop123", "1234567890"]


@pytest.mark.parametrize("password", WEAK)
def test_the_service_refuses_weak_and_personal_passwords(app, password):
    with pytest.raises(users.WeakPassword):
        users.check_password_strength(password, email=EMAIL, name="Maria Lopez")


def test_a_strong_password_passes(app):
    users.check_password_strength("velvet-harbour-quince-71", email=EMAIL, name="Maria Lopez")


def test_the_reasons_are_clear(app):
    with pytest.raises(users.WeakPassword, match="very common password"):
        users.check_password_strength("password1234", email=EMAIL)
    with pytest.raises(users.WeakPassword, match="e-mail address"):
        users.check_password_strength(EMAIL + "!", email=EMAIL)
    with pytest.raises(users.WeakPassword, match="at least 10 characters"):
        users.check_password_strength("Xq7!", email=EMAIL)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_") and k != "SECRET_KEY"}
    env.update(
        {
            "KPI_ENV": "development",
            "KPI_INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        }
    )
    subprocess.run([str(BIN / "kpi-app"), "init-db"], env=env, cwd=ROOT, check=True, timeout=120)
    return env


def _create_user(env: dict[str, str], email: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "kpi-app"), "create-user", email, "--role", "viewer", "--password", password],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_user_cli_refuses_weak_passwords(cli_env):
    for password in ("password1234", "aaaaaaaaaaaa", "someone@example.org"):
        result = _create_user(cli_env, "someone@example.org", password)
        assert result.returncode == 1, (password, result.stdout)
        assert "Traceback" not in result.stderr
        assert "too easy to guess" in result.stderr or "e-mail address" in result.stderr
    created = _create_user(cli_env, "someone@example.org", "velvet-harbour-quince-71")
    assert created.returncode == 0, created.stderr


def test_password_change_form_refuses_weak_passwords(client, make_user):
    user = make_user(Role.VERIFIER)
    login(client, user.email)
    for weak in ("password1234", "aaaaaaaaaaaa", user.email):
        page = client.post(
            "/auth/account", data={"current": PASSWORD, "new": weak, "confirm": weak}
        ).get_data(as_text=True)
        assert "Password changed" not in page
        assert 'id="new-error"' in page  # the message sits on the new-password field
        assert "too easy to guess" in page or "e-mail address" in page
    # The account still opens with its old password.
    assert "Welcome" in login(client.application.test_client(), user.email).get_data(as_text=True)
    strong = "velvet-harbour-quince-71"
    done = client.post(
        "/auth/account",
        data={"current": PASSWORD, "new": strong, "confirm": strong},
        follow_redirects=True,
    )
    assert "Password changed" in done.get_data(as_text=True)

"""Sessions and the production guard rails, tested as they are run (issue 14 items 5, 6, 7).

* Logging out ends the session on the server: a copy of the cookie opens nothing afterwards.
* `kpi-app run` without SECRET_KEY signs with a random secret of the instance (instance/,
  mode 0600, reused on restart), never with a constant anyone could forge cookies with.
* Production refuses per-process rate-limit storage (several workers would each allow the
  full login limit) unless KPI_ALLOW_LOCAL_RATE_LIMITS=1 says there is one worker.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from kpi_app import create_app
from kpi_app.config import DEFAULT_SECRET, SECRET_FILE, ProductionConfig, instance_secret
from kpi_app.models import Role
from tests.factories import PASSWORD, login

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


# --- 5. logout ends the session server-side ----------------------------------------------


def test_a_copied_cookie_is_dead_after_logout(app, make_user):
    user = make_user(Role.COORDINATOR)
    browser = app.test_client()
    login(browser, user.email)
    copied = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/auth/account").status_code == 200  # the copy works while logged in
    browser.post("/auth/logout")
    assert browser.get("/auth/account").status_code == 302
    assert thief.get("/auth/account").status_code == 302  # and not after logout
    # Logging in again gives a fresh, working session.
    login(browser, user.email)
    assert browser.get("/auth/account").status_code == 200


# --- 6. a random development secret under instance/ --------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "REDIS_URL", "KPI_ENV", "FLASK_DEBUG"}
        and not key.startswith("KPI_")
    }
    env.update(
        {
            "KPI_ENV": "development",
            "KPI_INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        }
    )
    env.update(extra)
    return env


def _kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "kpi-app"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _wait_up(base: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


class _Server:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err.decode("utf-8", "replace")


@pytest.fixture
def dev_instance(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = _env(tmp_path)
    assert _kpi(env, "init-db").returncode == 0
    created = _kpi(
        env, "create-user", "admin@example.org", "--role", "viewer", "--password", PASSWORD
    )
    assert created.returncode == 0, created.stderr
    yield env


def _kpi_run(env: dict[str, str]) -> _Server:
    server = _Server([str(BIN / "kpi-app"), "run", "--port", "{port}", "--no-reload"], env)
    _wait_up(server.base, server.process, time.time() + 60)
    return server


def _forged_cookie(secret: str) -> str:
    """What an attacker builds from a known secret: the session of user 1 (session version 1)."""
    forger = Flask("forger")
    forger.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    return str(serializer.dumps({"_user_id": "1:1", "_fresh": True}))


def _get(base: str, path: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}{path}")
    if cookie:
        request.add_header("Cookie", f"session={cookie}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def _login_over_http(base: str) -> CookieJar:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/auth/login", timeout=10).read().decode()
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    body = urllib.parse.urlencode(
        {"csrf_token": token, "email": "admin@example.org", "password": PASSWORD}
    ).encode()
    opener.open(f"{base}/auth/login", data=body, timeout=10).read()
    return jar


def _session_cookie(jar: CookieJar) -> str:
    return next(cookie.value for cookie in jar if cookie.name == "session")


def test_kpi_app_run_without_secret_key_uses_a_random_instance_secret(dev_instance, tmp_path):
    server = _kpi_run(dev_instance)
    try:
        # A cookie signed with the old constant is refused: no forged sessions.
        assert _get(server.base, "/auth/account", _forged_cookie(DEFAULT_SECRET))[0] == 302
        cookie = _session_cookie(_login_over_http(server.base))
        assert _get(server.base, "/auth/account", cookie)[0] == 200
    finally:
        server.stop()
    secret_file = tmp_path / "instance" / SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32 and secret != DEFAULT_SECRET
    # A restart reuses the secret: the session survives it.
    server = _kpi_run(dev_instance)
    try:
        assert _get(server.base, "/auth/account", cookie)[0] == 200
    finally:
        server.stop()
    assert secret_file.read_text().strip() == secret


def test_each_instance_has_its_own_secret(tmp_path):
    first, second = instance_secret(tmp_path / "a"), instance_secret(tmp_path / "b")
    assert first != second
    assert instance_secret(tmp_path / "a") == first


def test_the_testing_config_keeps_its_own_secret(app):
    assert app.config["SECRET_KEY"] == "testing-secret"


# --- 7. production refuses per-process rate limits ---------------------------------------


def _production(monkeypatch: pytest.MonkeyPatch, **settings: object) -> None:
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "p" * 40)
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", "sqlite://")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    for name, value in settings.items():
        monkeypatch.setattr(ProductionConfig, name, value, raising=False)


def test_production_refuses_memory_rate_limits(monkeypatch):
    _production(monkeypatch, RATELIMIT_STORAGE_URI="memory://", ALLOW_LOCAL_RATE_LIMITS=False)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app(ProductionConfig)


def test_production_accepts_shared_storage_or_the_explicit_override(monkeypatch):
    _production(monkeypatch, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    assert create_app(ProductionConfig).config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    _production(monkeypatch, RATELIMIT_STORAGE_URI="memory://", ALLOW_LOCAL_RATE_LIMITS=True)
    assert create_app(ProductionConfig).config["RATELIMIT_STORAGE_URI"] == "memory://"


def _gunicorn(workers: int, env: dict[str, str]) -> _Server:
    return _Server(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            "127.0.0.1:{port}",
            "kpi_app:create_app()",
        ],
        env,
    )


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return _env(
        tmp_path,
        KPI_ENV="production",
        SECRET_KEY="s" * 48,
        KPI_SESSION_COOKIE_SECURE="false",
        **extra,
    )


def _login_statuses(base: str, attempts: int) -> list[int]:
    statuses = []
    for n in range(attempts):
        # A new address each time: only the per-client rate limit is measured here (the
        # per-account throttle would refuse a sixth try at one address on its own).
        body = urllib.parse.urlencode({"email": f"nobody{n}@example.org", "password": "x"})
        try:
            with urllib.request.urlopen(
                f"{base}/auth/login", data=body.encode(), timeout=10
            ) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


@pytest.mark.slow
def test_gunicorn_in_production_without_redis_refuses_to_start(tmp_path):
    env = _production_env(tmp_path)
    assert _kpi(env, "init-db").returncode == 0
    server = _gunicorn(3, env)
    try:
        server.process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn kept serving with per-process rate limits")
    finally:
        errors = server.stop()
    assert server.process.returncode != 0
    assert "KPI_ALLOW_LOCAL_RATE_LIMITS" in errors


@pytest.mark.slow
def test_gunicorn_workers_share_the_login_limit_through_redis(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    env = _production_env(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/0",
        KPI_RATELIMIT_KEY_PREFIX=f"test-login-{os.getpid()}-{time.time_ns()}",
        KPI_WTF_CSRF_ENABLED="false",
    )
    assert _kpi(env, "init-db").returncode == 0
    server = _gunicorn(3, env)
    try:
        _wait_up(server.base, server.process, time.time() + 90)
        statuses = _login_statuses(server.base, 40)
    finally:
        server.stop()
    # 10 per minute for the whole installation, whichever worker answers.
    assert statuses.count(429) == 30, statuses

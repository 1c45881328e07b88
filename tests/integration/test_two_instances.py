"""Two app instances on one PostgreSQL and one Redis agree (issue 20, "past one machine").

Two gunicorn processes (the production server of ``make serve``, one sync worker each) on
two ports share the test's PostgreSQL database and a dedicated Redis database. A browser
(one cookie jar, so each request may land on either instance as behind a load balancer)
checks that:

- sessions agree: logged in through A, it is logged in on B; logged out through B, the old
  session cookie no longer works on A either;
- rate limits agree: the API limit is counted once across both instances;
- caches agree: a page rendered by A is served to B from Redis without rendering again;
- edits agree: a value submitted through A is what B exports at once.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kpi_app.extensions import db
from kpi_app.models import Role
from kpi_app.services import api_tokens
from tests.conftest import PASSWORD
from tests.factories import published_city

requests = pytest.importorskip("requests")
redis = pytest.importorskip("redis")

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 13  # this test's own Redis database (the shared-cache test uses 15)
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
API_LIMIT = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen, deadline: float) -> None:
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} did not come up")


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    yield client
    client.flushdb()


@pytest.fixture
def world(backend, database_url, make_city, make_assessment, make_user):
    if backend != "postgresql":
        pytest.skip("several instances share one PostgreSQL (SQLite is one process's file)")
    published = published_city(make_city, make_assessment, "tvillingby", country="NO")
    draft = make_assessment(published.city, year=2025)
    editor = make_user("city_editor", city=published.city)
    assert editor.role is Role.CITY_EDITOR
    token = api_tokens.create_token(editor, "two instances").secret
    db.session.commit()
    return {"url": database_url, "editor": editor.email, "token": token, "draft": draft.id}


@pytest.fixture
def instances(world, redis_db) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "DATABASE_URL": world["url"],
        "REDIS_URL": REDIS_URL,
        "KPI_ENV": "production",
        "SECRET_KEY": "two-instances-" + "x" * 40,  # the one secret every instance shares
        "KPI_SESSION_COOKIE_SECURE": "false",  # plain http on 127.0.0.1
        "KPI_REMEMBER_COOKIE_SECURE": "false",
        "KPI_API_RATE_LIMIT": f"{API_LIMIT} per minute",
        "KPI_REQUIRE_2FA": "0",
    }
    processes: list[subprocess.Popen] = []
    bases = []
    try:
        for _ in range(2):
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [
                        str(BIN / "gunicorn"),
                        "--workers",
                        "1",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--log-level",
                        "warning",
                        "kpi_app:create_app()",
                    ],
                    env=env,
                    cwd=ROOT,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            wait_until_up(base, process, time.time() + 90)
        yield bases[0], bases[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_sessions_agree(world, instances):
    a, b = instances
    browser = requests.Session()  # cookies are per host, not per port: both get them
    form = browser.get(f"{a}/auth/login", timeout=30)
    done = browser.post(
        f"{a}/auth/login",
        data={"email": world["editor"], "password": PASSWORD, "csrf_token": csrf(form.text)},
        timeout=30,
        allow_redirects=False,
    )
    assert done.status_code == 302, done.text[:500]
    account = browser.get(f"{b}/auth/account", timeout=30, allow_redirects=False)
    assert account.status_code == 200  # B knows the session A started
    assert world["editor"] in account.text
    stolen = dict(browser.cookies)
    out = browser.post(f"{b}/auth/logout", data={"csrf_token": csrf(account.text)}, timeout=30)
    assert out.status_code == 200
    replay = requests.get(f"{a}/auth/account", cookies=stolen, timeout=30, allow_redirects=False)
    assert replay.status_code == 302 and "/auth/login" in replay.headers["Location"]


def test_rate_limits_agree(instances):
    a, b = instances
    answers = [
        requests.get(f"{(a, b)[n % 2]}/api/v1/indicators", timeout=30).status_code
        for n in range(API_LIMIT + 2)
    ]
    # One limit over both instances: the first API_LIMIT pass, then 429 on either of them.
    assert answers[:API_LIMIT] == [200] * API_LIMIT
    assert answers[API_LIMIT:] == [429, 429]


def test_caches_agree(instances, redis_db):
    a, b = instances
    first = requests.get(f"{a}/cities/tvillingby", timeout=60)
    assert first.status_code == 200
    pages = set(redis_db.scan_iter(match="kpi:page:*"))
    assert pages  # A rendered the page and kept it in Redis
    second = requests.get(f"{b}/cities/tvillingby", timeout=60)
    assert second.status_code == 200
    assert set(redis_db.scan_iter(match="kpi:page:*")) == pages  # B rendered nothing new
    assert "Tvillingby" in second.text


def test_edits_agree(world, instances):
    a, b = instances
    url = "/api/v1/cities/tvillingby/assessments/2025/values"
    headers = {"Authorization": f"Bearer {world['token']}"}
    for value in (64.5, 71.25):
        sent = requests.post(
            f"{a}{url}",
            json={"values": [{"code": "EC: ICT: ICT: 1C", "value": value, "source": "Census"}]},
            headers=headers,
            timeout=60,
        )
        assert sent.status_code == 200, sent.text[:500]
        browser = requests.Session()
        form = browser.get(f"{b}/auth/login", timeout=30)
        browser.post(
            f"{b}/auth/login",
            data={"email": world["editor"], "password": PASSWORD, "csrf_token": csrf(form.text)},
            timeout=30,
        )
        exported = browser.get(f"{b}/assessments/{world['draft']}/export.csv", timeout=60)
        assert exported.status_code == 200
        row = next(line for line in exported.text.splitlines() if "EC: ICT: ICT: 1C" in line)
        assert f"{value:g}" in row  # B exports what A stored a moment ago, never a stale copy

"""Load test: gunicorn + PostgreSQL on this machine, a mix of dashboard views, API reads and
data-entry saves, for a fixed time. Prints requests/s, latency percentiles, errors, and the
ratio of dashboard throughput to a trivial endpoint (/healthz) measured in the same run.

    .venv/bin/python bench/load.py [--clients 20] [--seconds 20] [--workers 3] [--threads 1]

Everything runs against 127.0.0.1 only; the request loops are bounded in time and stop by
themselves. A throwaway database `kpi_load_<pid>` is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "KPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PUBLISHED = [("nordvik", 2024), ("valmorena", 2024), ("puerto-azul", 2024), ("al-nahra", 2024)]
EDITABLE = ("kisoro-bay", 2025)  # a draft in the demo data
#: One KPI per client (up to 20 clients): two clients saving the same value at the same moment
#: is a real edit conflict, which the API rightly refuses (422), not a load failure.
SAVE_CODES = [
    "EC: ICT: ICT: 1C", "EC: ICT: ICT: 2C", "EC: P: EM: 1C", "EC: P: EM: 2C",
    "EC: I: WS: 1C", "EC: I: WS: 2C", "EN: E: E: 1C", "SC: EH: ED: 1C",
    "SC: EH: ED: 2C", "SC: SH: SI: 3C", "EC: I: ES: 3C", "EN: EN: PSN: 1C",
    "EC: ICT: ICT: 3C", "EC: ICT: ICT: 5C", "EC: ICT: WS: 1C", "EC: ICT: ES: 1C",
    "EC: ICT: T: 1C", "EC: P: IN: 1C", "EC: I: WS: 3C", "EC: I: ES: 1C",
]  # fmt: skip


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Failed requests by (kind, HTTP status or exception name): what went wrong.
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, outcome: str) -> None:
        """``outcome``: the HTTP status code, or the exception's name when none came back."""
        with self.lock:
            self.latencies[kind].append(seconds)
            if not (outcome.isdigit() and int(outcome) < 400):
                self.errors[kind] += 1
                self.failures[(kind, outcome)] += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(env: dict[str, str]) -> str:
    """Schema, demo data, an editor of the draft city and an API token for the saves."""
    run([str(BIN / "kpi-app"), "init-db"], env)
    run([str(BIN / "kpi-app"), "seed-demo", "--force"], env)
    script = (
        "from kpi_app import create_app\n"
        "from kpi_app.services import api_tokens, users\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    user, _ = users.create_user('load@bench.test', 'city_editor', "
        f"password='quartz-meadow-lantern-58', city_slug='{EDITABLE[0]}')\n"
        "    print(api_tokens.create_token(user, 'load bench').secret)\n"
    )
    return run([sys.executable, "-c", script], env).strip().splitlines()[-1]


def wait_until_up(base: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or workers still booting
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def client_loop(base: str, until: float, stats: Stats, mix: str, token: str, index: int) -> None:
    session = requests.Session()
    rng = random.Random(index)
    code = SAVE_CODES[index % len(SAVE_CODES)]
    city, year = EDITABLE
    while time.time() < until:
        if mix == "health":
            kind, method, url, body = "health", "GET", f"{base}/healthz", None
        else:
            roll = rng.random()
            slug, pub_year = rng.choice(PUBLISHED)
            if roll < 0.5:
                kind, method, body = "dashboard", "GET", None
                url = rng.choice(
                    [
                        f"{base}/cities/{slug}/{pub_year}",
                        f"{base}/cities",
                        f"{base}/compare?city=nordvik&city=valmorena&city=al-nahra&year=2024",
                    ]
                )
            elif roll < 0.8:
                kind, method, body = "api_read", "GET", None
                url = rng.choice(
                    [
                        f"{base}/api/v1/cities",
                        f"{base}/api/v1/cities/{slug}/assessments/{pub_year}/scores",
                        f"{base}/api/v1/indicators",
                    ]
                )
            else:
                kind, method = "save", "POST"
                url = f"{base}/api/v1/cities/{city}/assessments/{year}/values"
                value = round(rng.uniform(40, 95), 2)
                body = {"values": [{"code": code, "value": value, "source": "load bench"}]}
        headers = {"Authorization": f"Bearer {token}"} if kind == "save" else {}
        started = time.perf_counter()
        try:
            response = session.request(method, url, json=body, headers=headers, timeout=30)
            outcome = str(response.status_code)
        except requests.RequestException as error:
            outcome = type(error).__name__
        stats.record(kind, time.perf_counter() - started, outcome)


def phase(base: str, clients: int, seconds: float, mix: str, token: str) -> tuple[Stats, float]:
    stats = Stats()
    until = time.time() + seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(target=client_loop, args=(base, until, stats, mix, token, i))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(title: str, stats: Stats, elapsed: float) -> dict[str, float]:
    print(f"\n{title} ({elapsed:.1f} s)")
    print(f"  {'kind':<10} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}")  # fmt: skip
    rates = {}
    for kind, values in sorted(stats.latencies.items()):
        rate = len(values) / elapsed
        rates[kind] = rate
        print(
            f"  {kind:<10} {len(values):>8} {rate:>8.1f} {percentile(values, 50) * 1000:>8.1f} "
            f"{percentile(values, 95) * 1000:>8.1f} {percentile(values, 99) * 1000:>8.1f} "
            f"{stats.errors.get(kind, 0):>6}"
        )
    for (kind, outcome), count in sorted(stats.failures.items()):
        print(f"  failed: {kind} -> {outcome} × {count}")
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=3)
    # Sync workers (1 thread): for these CPU-bound requests they gave the lowest tail
    # latency on 2 cores (docs/performance.md, "Load test").
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    name = f"kpi_load_{os.getpid()}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KPI_ENV": "production",
        "SECRET_KEY": "load-bench-" + "x" * 32,
        "KPI_SESSION_COOKIE_SECURE": "false",
        "KPI_API_RATE_LIMIT": "100000 per minute",
        "KPI_LOGIN_RATE_LIMIT": "100000 per minute",
        # Limits are not what is measured; without REDIS_URL production needs the override.
        "KPI_ALLOW_LOCAL_RATE_LIMITS": "1",
    }
    server = None
    try:
        token = prepare(env)
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"), "--workers", str(args.workers), "--threads",
                str(args.threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                "kpi_app:create_app()",
            ],
            env=env, cwd=ROOT, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, time.time() + 60)
        phase(base, args.clients, 3, "mix", token)  # warm caches and connections
        health, health_elapsed = phase(base, args.clients, args.seconds / 2, "health", token)
        mix, mix_elapsed = phase(base, args.clients, args.seconds, "mix", token)
        health_rates = report("Baseline: /healthz only", health, health_elapsed)
        mix_rates = report(f"Mix at {args.clients} concurrent clients", mix, mix_elapsed)
        errors = sum(mix.errors.values()) + sum(health.errors.values())
        dashboard = mix.latencies.get("dashboard", [])
        p95 = percentile(dashboard, 95) * 1000 if dashboard else float("nan")
        total_rate = sum(mix_rates.values())
        print(f"\ntotal_requests_per_s: {total_rate:.1f}")
        print(f"dashboard_p95_ms: {p95:.1f}")
        print(f"errors: {errors}")
        print(
            "ratio_vs_baseline: "
            f"{mix_rates.get('dashboard', 0) / health_rates['health']:.3f}"
            "  (dashboard req/s in the mix ÷ /healthz req/s alone)"
        )
        print(f"workers: {args.workers} × {args.threads} threads, cores: {os.cpu_count()}")
        return 0 if errors == 0 else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

"""Cost of the local KPIs in the open-data exports, as ratios in one run (issue 21).

Builds a throwaway SQLite database of N published cities, each with the test factories'
U4SSC values and, for half of them, two local KPIs (three local values), then times through
the test client (median of ``--repeat``):

* an NGSI-LD page of 100 entities with ``kpiSet=u4ssc`` (what the endpoint read before local
  KPIs existed: the baseline), without ``kpiSet`` (both sets: one more query) and with
  ``kpiSet=local``;
* the cached SDMX-CSV of the U4SSC dataflow and of the local one (a repeated download: the
  fingerprint queries only) and the local one rebuilt (cache cleared).

Run: ``.venv/bin/python bench/local_exports_bench.py [--cities N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kpi_app import create_app  # noqa: E402
from kpi_app.config import TestingConfig  # noqa: E402
from kpi_app.extensions import db  # noqa: E402
from kpi_app.models import Role  # noqa: E402
from kpi_app.services.cache import get_cache  # noqa: E402
from kpi_app.services.catalogue import benchmark_set  # noqa: E402
from tests import factories  # noqa: E402


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def build(n_cities: int) -> None:
    admin = factories.new_user(Role.ADMIN, "admin@bench.example")
    for index in range(n_cities):
        city = factories.new_city(f"bench-{index:03d}", country="NO")
        assessment = factories.new_assessment(city, 2024, benchmark_set().id)
        factories.add_values(assessment)
        if index % 2 == 0:
            factories.add_local_kpis(assessment, admin)
        factories.publish(assessment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            build(args.cities)
            print(f"database: {args.cities} cities built in {time.perf_counter() - started:.1f} s")
        client = app.test_client()

        def median(path: str, *, clear: bool = False) -> float:
            def get() -> None:
                if clear:
                    with app.app_context():
                        get_cache().clear()
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            get()
            return statistics.median(timed(get) for _ in range(args.repeat))

        page = "/api/v1/ngsi-ld/entities?year=2024&limit=100&offset=100&count=true"
        rows = {
            "NGSI-LD page, kpiSet=u4ssc (baseline)": median(f"{page}&kpiSet=u4ssc"),
            "NGSI-LD page, both sets": median(page),
            "NGSI-LD page, kpiSet=local": median(
                "/api/v1/ngsi-ld/entities?year=2024&limit=100&kpiSet=local"
            ),
            "SDMX-CSV U4SSC, cached": median("/api/v1/sdmx/data.csv?year=2024"),
            "SDMX-CSV local, cached": median("/api/v1/sdmx/local/data.csv?year=2024"),
            "SDMX-CSV local, rebuilt": median("/api/v1/sdmx/local/data.csv?year=2024", clear=True),
        }
        machine = f"{platform.machine()}, {os.cpu_count()} CPU"
        print(f"machine: {machine}, Python {platform.python_version()}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        baseline = rows["NGSI-LD page, kpiSet=u4ssc (baseline)"]
        print(f"{'request':40} {'median ms':>10} {'/ baseline':>11}")
        for name, seconds in rows.items():
            print(f"{name:40} {seconds * 1000:10.2f} {seconds / baseline:11.2f}")


if __name__ == "__main__":
    main()

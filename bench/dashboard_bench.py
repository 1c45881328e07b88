"""Server time of the dashboards with many cities (default 200 synthetic published cities).

Builds a throwaway SQLite database with N fictional cities, each with a published assessment
holding a value for every catalogue item, then times requests through the Flask test client
(no network): the map/list view, the compare view with 10 cities and with all N cities (first
heatmap page), a city profile and the SDG page. Each is timed three ways:

* cold: the first request (empty cache, templates not yet compiled);
* recomputed: median of --repeat requests with the cache emptied before each one, i.e. what
  the first view after an edit or a publication costs (scores and page rebuilt);
* warm: median of --repeat repeated requests (the whole page served from the cache);

and warm is divided by the median time of a trivial endpoint in the same process.

    .venv/bin/python bench/dashboard_bench.py [--cities 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kpi_app import create_app
from kpi_app.config import TestingConfig
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Country, IndicatorValue, Status
from kpi_app.services import snapshots
from kpi_app.services.cache import get_cache
from kpi_app.services.catalogue import benchmark_set, current_catalogue

REGIONS = ("Europe", "Africa", "Americas", "Asia", "Oceania")
COUNTRIES = ("NO", "ES", "CO", "KE", "SN", "AE", "IN", "CA", "BR", "JP")


def build_database(n_cities: int, seed: int = 7) -> None:
    """N published assessments with plausible random values (fraction of the target)."""
    rng = np.random.default_rng(seed)
    catalogue = current_catalogue()
    benchmarks = benchmark_set()
    countries = [
        Country(iso2=iso2, name=f"Country {iso2}", region=REGIONS[i % len(REGIONS)])
        for i, iso2 in enumerate(COUNTRIES)
    ]
    db.session.add_all(countries)
    items = catalogue.items()
    for index in range(n_cities):
        city = City(
            slug=f"synthetic-{index:03d}",
            name=f"Synthetic {index:03d}",
            country=countries[index % len(countries)],
            population=int(rng.integers(20_000, 3_000_000)),
            latitude=float(rng.uniform(-50, 65)),
            longitude=float(rng.uniform(-150, 150)),
            fictional=True,
        )
        assessment = Assessment(
            city=city,
            year=2024,
            status=Status.PUBLISHED,
            catalogue_version=catalogue.version,
            benchmark_set=benchmarks.id,
        )
        db.session.add(assessment)
        db.session.flush()
        for item in items:
            target = benchmarks.target(item.code, item.data_point) or 100.0
            reported = rng.random() > 0.2
            if item.is_boolean:  # yes/no items take 1.0 or 0.0
                value = float(rng.integers(0, 2))
            else:
                value = float(abs(target) * rng.uniform(0.1, 1.2))
            db.session.add(
                IndicatorValue(
                    assessment_id=assessment.id,
                    code=item.code,
                    data_point=item.data_point,
                    computed_value=value if reported else None,
                    reported=reported,
                    quality=int(rng.integers(1, 7)),
                    verified=reported,
                )
            )
        db.session.flush()
        db.session.refresh(assessment)
        snapshots.freeze(assessment, actor=None)
    db.session.commit()


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(client: object, app: object, url: str, repeat: int) -> tuple[float, float, float]:
    """(cold, recomputed median, warm median) seconds for one URL."""

    def get() -> None:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200, (url, response.status_code)

    def get_uncached() -> None:
        with app.app_context():  # type: ignore[attr-defined]
            get_cache().clear()
        get()

    cold = timed(get)
    recomputed = statistics.median(timed(get_uncached) for _ in range(repeat))
    get()  # fill the cache again
    warm = statistics.median(timed(get) for _ in range(repeat))
    return cold, recomputed, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)

        @app.route("/_bench/ping")
        def ping() -> str:  # the trivial endpoint every ratio is taken against
            return "ok"

        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            build_database(args.cities)
            print(f"database: {args.cities} cities built in {time.perf_counter() - started:.1f} s")
        client = app.test_client()
        trivial = statistics.median(timed(lambda: client.get("/_bench/ping")) for _ in range(50))
        ten = "&".join(f"city=synthetic-{i:03d}" for i in range(10))
        every = "&".join(f"city=synthetic-{i:03d}" for i in range(args.cities))
        views = {
            "map + list (/cities)": "/cities",
            "compare, 10 cities": f"/compare?{ten}",
            f"compare, {args.cities} cities": f"/compare?{every}",
            "city profile": "/cities/synthetic-000/2024",
            "SDG 11": "/sdg",
        }
        machine = f"{platform.machine()}, {os.cpu_count()} CPU"
        print(f"machine: {machine}, Python {platform.python_version()}")
        print(f"trivial endpoint: {trivial * 1000:.2f} ms")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'view':28} {'cold s':>8} {'recomputed s':>13} {'warm s':>8} {'warm/trivial':>13}")
        for name, path in views.items():
            cold, recomputed, warm = measure(client, app, path, args.repeat)
            print(f"{name:28} {cold:8.2f} {recomputed:13.3f} {warm:8.3f} {warm / trivial:13.0f}")


if __name__ == "__main__":
    main()

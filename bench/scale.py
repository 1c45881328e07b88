"""Scale bench: many cities × years of published assessments, many users at once.

    .venv/bin/python bench/scale.py [--cities 1000] [--years 10] [--clients 100] [--duration 60]

Creates a throwaway PostgreSQL database `kpi_scale_<pid>` on 127.0.0.1:5432 (dropped at the end,
also on failure), loads the schema and the demo data, then bulk-loads synthetic, plausible cities
× years of *published* assessments stored exactly as publishing stores them: indicator values, a
snapshot built by the app's own `snapshots.build_content` (so the bench follows the snapshot shape
when the code changes it), the snapshot hash and the `publish` audit event. It then starts the
production server as `make serve` does (gunicorn, 3 sync workers, KPI_ENV=production, Redis on a
free database number), checks once that every public page answers 200 for the synthetic cities,
and drives N concurrent users, each pausing 1 s between requests, for a bounded time over public
pages (city, compare, country, SDG, indicator, city list, published PDFs), API reads and an
editor's saves through the API. A /healthz phase with the same users runs in the same process so
that the pages' latencies can be read as ratios.

Prints `cities: N`, `clients: N`, the offered load, `dashboard_p95_ms: X`, per-page p50/p95,
`errors: N` and the workers' RSS. Exit status 0 only with no errors.

`--load-only --database-url URL` loads the synthetic data into an existing, migrated and seeded
database and exits (used by the test, and handy for profiling by hand).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "KPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PAUSE_S = 1.0
#: Cities generated and copied in per chunk of the load (bounds its memory).
CHUNK_CITIES = 50
#: Page kinds that count as dashboards for `dashboard_p95_ms`.
DASHBOARD_KINDS = ("city", "compare", "country", "sdg", "cities")
SYLLABLES = (
    "al", "ber", "cas", "dor", "el", "fen", "gra", "hol", "is", "jun", "kar", "lin", "mor",
    "nor", "ost", "pra", "quin", "ros", "sal", "tor", "ul", "ven", "wes", "yar", "zel",
)  # fmt: skip
SUFFIXES = ("", "a", "en", "ia", "ville", "burg", "stad", "polis", "ton", "ford")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """What the load produced: the synthetic cities and years, for the clients to visit."""

    cities: list[tuple[str, str, str]] = field(default_factory=list)  # (slug, name, iso2)
    years: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    values: int = 0
    seconds: float = 0.0
    #: Editors' saves: a draft assessment, an API token of its city editor, single-point KPIs.
    draft: tuple[str, int] | None = None
    token: str = ""
    save_codes: list[str] = field(default_factory=list)


def _city_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        name = (name + rng.choice(SUFFIXES)).capitalize()
        if name not in taken:
            taken.add(name)
            return name


def _slugify(name: str, index: int) -> str:
    return f"{name.lower()}-{index:04d}"


def load(database_url: str, n_cities: int, n_years: int, seed: int = 20) -> Loaded:
    """Bulk-load `n_cities` × `n_years` published assessments into a migrated, seeded database."""
    from kpi_app import create_app
    from kpi_app.extensions import db
    from kpi_app.models import (
        Assessment,
        AuditEvent,
        City,
        CityYearFacts,
        Country,
        IndicatorValue,
        PublishedScore,
        PublishedValue,
        Snapshot,
        Status,
    )
    from kpi_app.services import published_scores, published_values, snapshots
    from kpi_app.services.catalogue import current_catalogue
    from kpi_app.services.score_inputs import scoring_digest

    started = time.perf_counter()
    rng = random.Random(seed)
    app = create_app(SQLALCHEMY_DATABASE_URI=database_url)
    loaded = Loaded()
    with app.app_context():
        catalogue = current_catalogue()
        items = {item.key: item for ind in catalogue.indicators for item in ind.items()}
        loaded.codes = sorted({ind.code for ind in catalogue.indicators})
        benchmark_set = app.config["DEFAULT_BENCHMARK_SET"]
        # Templates: the demo's published assessments (values as a city really reports them).
        templates: list[tuple[City, list[IndicatorValue]]] = []
        for assessment in db.session.scalars(
            db.select(Assessment).where(Assessment.status == Status.PUBLISHED)
        ):
            templates.append((assessment.city, list(assessment.values)))
        if not templates:
            raise SystemExit("no published demo assessment to learn from: run seed-demo first")
        countries = list(db.session.scalars(db.select(Country).order_by(Country.id)))
        last_year = max(a.year for a in db.session.scalars(db.select(Assessment)))
        loaded.years = list(range(last_year - n_years + 1, last_year + 1))

        def next_id(model: Any) -> int:
            return int(db.session.scalar(db.select(db.func.max(model.id))) or 0) + 1

        city_id, assessment_id = next_id(City), next_id(Assessment)
        value_id, snapshot_id = next_id(IndicatorValue), next_id(Snapshot)
        facts_id, event_id = next_id(CityYearFacts), next_id(AuditEvent)
        now = datetime.now(UTC)
        taken = set(db.session.scalars(db.select(City.name)))
        city_rows, facts_rows, assessment_rows, snapshot_rows, event_rows = [], [], [], [], []
        value_rows: list[tuple[Any, ...]] = []
        # Per assessment id: a light copy (no values) with its city, for the row builders.
        pair_of: dict[int, Assessment] = {}
        # Every synthetic assessment is published now under one set: its frozen context
        # (catalogue items, targets, method) is the same, so it is built once, as
        # snapshots.frozen_context builds it, and its canonical JSON is written once.
        frozen_once = snapshots.frozen_context(
            SimpleNamespace(benchmark_set=benchmark_set)  # type: ignore[arg-type]
        )
        frozen_text = _canonical(frozen_once)
        # What publishing stores beside the content: the digest of its scoring context.
        frozen_digest = scoring_digest({"frozen": frozen_once})
        original_frozen_context = snapshots.frozen_context
        snapshots.frozen_context = lambda _assessment: frozen_once  # type: ignore[assignment]
        counters = {"published_value": next_id(PublishedValue), "published_score": 0}
        counters["published_score"] = next_id(PublishedScore)

        def write_chunk() -> None:
            """COPY what the loop made since the last chunk (in foreign-key order), with
            the published values and scores of its snapshots, then forget it."""
            connection = db.session.connection()
            for model, rows in (
                (City, city_rows), (CityYearFacts, facts_rows), (Assessment, assessment_rows),
            ):  # fmt: skip
                _copy(connection, model.__table__, rows)
            columns = (
                "id, assessment_id, code, data_point, computed_value, unit, data_year, source, "
                "quality, reported, not_reported_reason, verified, version, created_at, "
                "updated_at"
            )
            cursor = connection.connection.cursor()
            with cursor.copy(f"COPY indicator_value ({columns}) FROM STDIN") as copy:
                for row in value_rows:
                    copy.write_row(row)
            _copy(connection, Snapshot.__table__, snapshot_rows)
            _copy(connection, AuditEvent.__table__, event_rows)
            # Published values and scores, as publishing writes them: the app's own row
            # builders (the chunk's snapshots scored in one engine call), copied in.
            pairs = [(Snapshot(**row), pair_of.pop(row["assessment_id"])) for row in snapshot_rows]
            for model, rows in (
                (PublishedValue, published_values.value_rows(pairs)),
                (PublishedScore, published_scores.score_rows(pairs)),
            ):
                table = model.__table__.name
                for row in rows:
                    row["id"], counters[table] = counters[table], counters[table] + 1
                _copy(connection, model.__table__, rows)
            loaded.values += len(value_rows)
            for made in (city_rows, facts_rows, assessment_rows, value_rows, snapshot_rows,
                         event_rows):  # fmt: skip
                made.clear()

        for index in range(n_cities):
            if index and index % CHUNK_CITIES == 0:
                write_chunk()
            template_city, template_values = templates[index % len(templates)]
            country = countries[index % len(countries)]
            name = _city_name(rng, taken)
            slug = _slugify(name, index)
            population = max(
                5_000, round((template_city.population or 100_000) * rng.lognormvariate(0, 0.6))
            )
            area = round((template_city.area_km2 or 200.0) * rng.uniform(0.5, 2.0), 1)
            city_rows.append(
                {
                    "id": city_id, "slug": slug, "name": name, "country_id": country.id,
                    "population": population, "area_km2": area,
                    "latitude": round((template_city.latitude or 0.0) + rng.uniform(-2, 2), 4),
                    "longitude": round((template_city.longitude or 0.0) + rng.uniform(-2, 2), 4),
                    "fictional": True, "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
            loaded.cities.append((slug, name, country.iso2))
            transient_city = City(id=city_id, slug=slug, name=name, country_id=country.id)
            level = rng.uniform(0.8, 1.2)  # this city against its template
            for year in loaded.years:
                growth = 1.008 ** (year - last_year)
                facts_rows.append(
                    {
                        "id": facts_id, "city_id": city_id, "year": year,
                        "population": round(population * growth),
                        "households": round(population * growth / 2.3), "area_km2": area,
                        "gdp": round(population * growth * rng.uniform(8_000, 80_000)),
                        "currency": "USD", "created_at": now, "updated_at": now,
                    }
                )  # fmt: skip
                facts_id += 1
                published_at = now - timedelta(days=365 * (last_year - year) + rng.randint(0, 90))
                light = Assessment(
                    id=assessment_id, city_id=city_id, year=year, benchmark_set=benchmark_set
                )
                light.city = transient_city
                pair_of[assessment_id] = light
                values = []
                trend = 1 + 0.01 * (year - last_year)
                for template in template_values:
                    item = items.get((template.code, template.data_point))
                    number = template.value
                    if number is not None and item is not None and not item.is_boolean:
                        number = number * level * trend * rng.uniform(0.95, 1.05)
                        if item.plausible_max is not None:
                            number = min(number, item.plausible_max)
                        if item.plausible_min is not None:
                            number = max(number, item.plausible_min)
                        number = round(number, 2)
                    value = _Value(
                        code=template.code,
                        data_point=template.data_point,
                        computed_value=number,
                        unit=template.unit,
                        data_year=year,
                        source=template.source,
                        quality=template.quality,
                        reported=template.reported,
                        not_reported_reason=template.not_reported_reason,
                        verified=template.verified,
                    )
                    values.append(value)
                    value_rows.append(
                        (
                            value_id, assessment_id, value.code, value.data_point, number,
                            value.unit, year, value.source, value.quality, value.reported,
                            value.not_reported_reason, value.verified, 1, published_at,
                            published_at,
                        )
                    )  # fmt: skip
                    value_id += 1
                # The app's own snapshot builder: the shape follows the code. It reads the
                # values and the city; the frozen context is built once per set (see above).
                content = snapshots.build_content(
                    SimpleNamespace(city=transient_city, year=year, values=values,
                                    benchmark_set=benchmark_set)
                )  # fmt: skip
                content = _Content(content, frozen_text)
                content_hash = hashlib.sha256(content.text.encode("utf-8")).hexdigest()
                assessment_rows.append(
                    {
                        "id": assessment_id, "city_id": city_id, "year": year,
                        "status": Status.PUBLISHED, "catalogue_version": catalogue.version,
                        "benchmark_set": benchmark_set, "submitted_at": published_at,
                        "published_at": published_at, "created_at": published_at,
                        "updated_at": published_at,
                    }
                )  # fmt: skip
                snapshot_rows.append(
                    {
                        "id": snapshot_id, "assessment_id": assessment_id,
                        "created_at": published_at, "created_by_id": None,
                        "catalogue_version": catalogue.version, "benchmark_set": benchmark_set,
                        "content": content, "content_hash": content_hash,
                        "frozen_digest": frozen_digest,
                    }
                )  # fmt: skip
                event_rows.append(
                    {
                        "id": event_id, "at": published_at, "actor_id": None,
                        "entity_type": "assessment", "entity_id": assessment_id,
                        "assessment_id": assessment_id, "action": "publish", "old": None,
                        "new": {"snapshot_id": snapshot_id, "content_hash": content_hash},
                        "reason": None,
                    }
                )  # fmt: skip
                assessment_id += 1
                snapshot_id += 1
                event_id += 1
            city_id += 1
        write_chunk()
        snapshots.frozen_context = original_frozen_context
        db.session.expunge_all()
        connection = db.session.connection()
        for table in (
            "city", "city_year_facts", "assessment", "indicator_value", "snapshot", "audit_event",
            "published_value", "published_score",
        ):  # fmt: skip
            connection.execute(
                db.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        db.session.commit()
        connection = db.session.connection()
        connection.execute(db.text("ANALYZE"))
        db.session.commit()
    loaded.seconds = time.perf_counter() - started
    return loaded


EDITOR_SCRIPT = """
import json
import secrets
from kpi_app import create_app
from kpi_app.extensions import db
from kpi_app.models import Assessment, Status
from kpi_app.services import api_tokens, users
from kpi_app.services.catalogue import current_catalogue
app = create_app()
with app.app_context():
    draft = db.session.scalars(
        db.select(Assessment).where(Assessment.status == Status.DRAFT).order_by(Assessment.id)
    ).first()
    user, _ = users.create_user('scale-editor@bench.test', 'city_editor',
                                password=secrets.token_urlsafe(24), city_slug=draft.city.slug)
    codes = sorted(i.code for i in current_catalogue().indicators
                   if not i.is_boolean and not i.data_points)
    print(json.dumps({"slug": draft.city.slug, "year": draft.year, "codes": codes,
                      "token": api_tokens.create_token(user, 'scale bench').secret}))
"""


def prepare_editor(env: dict[str, str], loaded: Loaded) -> None:
    """A city editor of a demo draft with an API token, for the saves in the mix."""
    done = subprocess.run(
        [sys.executable, "-c", EDITOR_SCRIPT],
        env={**env, "KPI_ENV": "development"}, cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"could not prepare the editor:\n{done.stderr}")
    editor = json.loads(done.stdout.strip().splitlines()[-1])
    loaded.draft = (editor["slug"], int(editor["year"]))
    loaded.token = editor["token"]
    loaded.save_codes = editor["codes"]


def _copy(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts of column values) into ``table``, each value encoded by its
    column's SQLAlchemy type as an INSERT would bind it (enum names, JSON text)."""
    if not rows:
        return
    from sqlalchemy import JSON

    names = list(rows[0])
    dialect = connection.dialect
    processors = [
        _json_text if isinstance(table.c[name].type, JSON)
        else table.c[name].type.bind_processor(dialect)
        for name in names
    ]  # fmt: skip
    cursor = connection.connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    row[name] if process is None or row[name] is None else process(row[name])
                    for name, process in zip(names, processors, strict=True)
                ]
            )


def _json_text(value: Any) -> str:
    text = getattr(value, "text", None)  # a _Content carries its canonical JSON already
    return text if text is not None else json.dumps(value, separators=(",", ":"), default=str)


def _canonical(content: Any) -> str:
    """``snapshots.content_hash``'s canonical JSON (sorted keys, compact, not ASCII-only)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


FROZEN_MARK = "@@frozen-context@@"


class _Content(dict):  # type: ignore[type-arg]
    """A snapshot's content with its canonical JSON, the frozen block's text spliced in
    (it is the same for every synthetic snapshot: dumped once instead of 10,000 times)."""

    def __init__(self, content: dict[str, Any], frozen_text: str) -> None:
        super().__init__(content)
        head = _canonical({**content, "frozen": FROZEN_MARK})
        self.text = head.replace(json.dumps(FROZEN_MARK), frozen_text, 1)


@dataclass
class _Value:
    """What ``snapshots.value_record`` reads of an IndicatorValue, without the ORM's
    instrumentation (constructing a million mapped objects was a third of the load)."""

    code: str
    data_point: str
    computed_value: float | None
    unit: str | None
    data_year: int | None
    source: str | None
    quality: int | None
    reported: bool
    not_reported_reason: str | None
    verified: bool | None
    override_value: float | None = None
    reported_override: bool | None = None
    reported_override_reason: str | None = None

    @property
    def value(self) -> float | None:
        """The model's own rule for the value that counts."""
        from kpi_app.models import IndicatorValue

        return IndicatorValue.value.fget(self)  # type: ignore[attr-defined]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# --------------------------------------------------------------------------------------------
# Serving and driving
# --------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, outcome: str) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not (outcome.isdigit() and int(outcome) < 400):
                self.failures[(kind, outcome)] += 1

    @property
    def errors(self) -> int:
        return sum(self.failures.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_redis_db() -> int:
    """A Redis database number nobody uses now (no keys), picked at random among the free ones."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    count = int(client.config_get("databases").get("databases", 16))
    used = {int(name[2:]) for name in client.info("keyspace")}
    # 12 to 15 belong to the test suite's Redis tests, which may run beside this one.
    free = [n for n in range(1, min(count, 12)) if n not in used]
    if not free:
        raise SystemExit("no free Redis database number")
    return random.SystemRandom().choice(free)


def flush_redis_db(number: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()


def get(
    conn: http.client.HTTPConnection,
    path: str,
    body: dict[str, Any] | None = None,
    token: str = "",
) -> tuple[int, bytes]:
    """GET `path`, or POST `body` as JSON with a bearer token when a body is given."""
    if body is None:
        conn.request("GET", path)
    else:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def pick(rng: random.Random, loaded: Loaded, countries: list[str]) -> tuple[str, str]:
    """One request of the public mix: (kind, path)."""
    slug, _name, _iso2 = rng.choice(loaded.cities)
    year = rng.choice(loaded.years)
    roll = rng.random()
    if roll < 0.25:
        return "city", f"/cities/{slug}/{year}"
    if roll < 0.40:
        others = rng.sample(loaded.cities, min(len(loaded.cities), rng.choice((2, 3, 5, 10))))
        query = urlencode([("city", c[0]) for c in others] + [("year", year)])
        return "compare", f"/compare?{query}"
    if roll < 0.50:
        return "country", f"/countries/{rng.choice(countries)}"
    if roll < 0.55:
        return "sdg", "/sdg"
    if roll < 0.65:
        return "indicator", f"/indicators/{quote(rng.choice(loaded.codes))}"
    if roll < 0.72:
        return "cities", "/cities"
    if roll < 0.82:
        return "api_cities", "/api/v1/cities"
    if roll < 0.90:
        return "api_scores", f"/api/v1/cities/{slug}/assessments/{year}/scores"
    if roll < 0.96:
        return "api_assessment", f"/api/v1/cities/{slug}/assessments/{year}"
    if roll < 0.98:
        return "pdf", f"/cities/{slug}/{year}/download/snapshot.pdf"
    return "save", ""


def client_loop(
    port: int, until: float, stats: Stats, loaded: Loaded, mix: str, index: int
) -> None:
    rng = random.Random(index)
    countries = sorted({c[2] for c in loaded.cities})
    # One KPI per user: two users saving the same value at the same moment is a real edit
    # conflict (422), not a load failure; users beyond the number of KPIs do not save.
    code = loaded.save_codes[index] if index < len(loaded.save_codes) else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    time.sleep(rng.uniform(0, PAUSE_S))  # spread the users' first requests over a second
    while time.time() < until:
        kind, path = ("health", "/healthz") if mix == "health" else pick(rng, loaded, countries)
        body = None
        if kind == "save":
            if code is None or loaded.draft is None:
                continue
            path = f"/api/v1/cities/{loaded.draft[0]}/assessments/{loaded.draft[1]}/values"
            value = round(rng.uniform(40, 95), 2)
            body = {"values": [{"code": code, "value": value, "source": "scale bench"}]}
        started = time.perf_counter()
        try:
            status, _ = get(conn, path, body, loaded.token)
            outcome = str(status)
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        stats.record(kind, time.perf_counter() - started, outcome)
        time.sleep(PAUSE_S)
    conn.close()


def phase(port: int, clients: int, seconds: float, loaded: Loaded, mix: str) -> tuple[Stats, float]:
    stats = Stats()
    until = time.time() + seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(target=client_loop, args=(port, until, stats, loaded, mix, i), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - started


def smoke(port: int, loaded: Loaded) -> list[str]:
    """Every public page once for the synthetic cities: 200 and the city actually shown."""
    problems = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    (slug, name, iso2), (slug2, name2, _) = loaded.cities[0], loaded.cities[-1]
    year = loaded.years[-1]
    checks = [
        (f"/cities/{slug}/{year}", name),
        (f"/compare?{urlencode([('city', slug), ('city', slug2), ('year', year)])}", name2),
        (f"/countries/{iso2}", name),
        ("/cities", name),
        ("/sdg", None),
        (f"/indicators/{quote(loaded.codes[0])}", None),
        (f"/api/v1/cities?{urlencode({'country': iso2})}", None),
        (f"/api/v1/cities/{slug}", name),
        (f"/api/v1/cities/{slug}/assessments/{year}/scores", None),
        (f"/cities/{slug}/{year}/download/snapshot.pdf", None),
    ]
    for path, expected in checks:
        try:
            status, body = get(conn, path)
        except (OSError, http.client.HTTPException) as error:
            problems.append(f"{path}: {type(error).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        deadline = time.time() + 180
        while status == 202 and time.time() < deadline:  # a PDF the worker is making
            time.sleep(1)
            status, body = get(conn, path)
        text = body.decode("utf-8", "replace")
        if status != 200:
            problems.append(f"{path}: HTTP {status}")
        elif expected is not None and expected not in text:
            problems.append(f"{path}: {expected!r} not on the page")
    conn.close()
    return problems


def wait_until_up(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if get(conn, "/healthz")[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory of the gunicorn master's children (the workers), in MB."""
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields["PPid"]) == master:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def cpu_seconds(master: int, worker: int) -> dict[str, float]:
    """CPU time (user + system, s) used so far by each part of the served system: the
    gunicorn workers, the PDF worker, PostgreSQL, Redis and this bench (its 100 users)."""
    tick = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = defaultdict(float)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, used = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
            pid = int(entry.name)
            if ppid == master or pid == master:
                groups["web workers"] += used
            elif pid == worker:
                groups["pdf worker"] += used
            elif name.startswith("postgres"):
                groups["postgresql"] += used
            elif name.startswith("redis"):
                groups["redis"] += used
    own = os.times()
    groups["bench users"] = own.user + own.system
    return dict(groups)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def report(args: argparse.Namespace, loaded: Loaded, mix: Stats, elapsed: float, health: Stats,
           smoke_problems: list[str], rss: list[float],
           cpu: dict[str, float] | None = None) -> int:  # fmt: skip
    health_values = health.latencies.get("health", [])
    h50 = percentile(health_values, 50) * 1000 if health_values else float("nan")
    h95 = percentile(health_values, 95) * 1000 if health_values else float("nan")
    total = sum(len(v) for v in mix.latencies.values())
    dashboard = [s for k in DASHBOARD_KINDS for s in mix.latencies.get(k, [])]
    p95 = percentile(dashboard, 95) * 1000 if dashboard else float("nan")
    errors = mix.errors + health.errors + len(smoke_problems)
    print(f"\ncities: {len(loaded.cities) + args.demo_cities}")
    print(f"years: {len(loaded.years)} ({loaded.years[0]}-{loaded.years[-1]})")
    print(f"published_values: {loaded.values} (loaded in {loaded.seconds:.1f} s)")
    print(f"clients: {args.clients}")
    print(
        f"offered_load: about {args.clients / PAUSE_S:.0f} req/s at most ({args.clients} users, "
        f"each pausing {PAUSE_S:.0f} s between requests); served {total / elapsed:.1f} req/s "
        f"over {elapsed:.1f} s"
    )
    print(f"dashboard_p95_ms: {p95:.1f}")
    print(f"healthz_p50_ms: {h50:.1f}  healthz_p95_ms: {h95:.1f}  (same users, same run)")
    print(f"  {'page':<15} {'requests':>8} {'p50 ms':>9} {'p95 ms':>9} {'p50/hz':>7} "
          f"{'p95/hz':>7} {'errors':>6}")  # fmt: skip
    for kind, values in sorted(mix.latencies.items()):
        k50, k95 = percentile(values, 50) * 1000, percentile(values, 95) * 1000
        kind_errors = sum(n for (k, _), n in mix.failures.items() if k == kind)
        print(
            f"  {kind:<15} {len(values):>8} {k50:>9.1f} {k95:>9.1f} {k50 / h50:>7.1f} "
            f"{k95 / h95:>7.1f} {kind_errors:>6}"
        )
    for (kind, outcome), count in sorted(mix.failures.items()):
        print(f"  failed: {kind} -> {outcome} × {count}")
    for problem in smoke_problems:
        print(f"  smoke check failed: {problem}")
    print(f"errors: {errors}")
    print(
        "worker_rss_mb: "
        + ", ".join(f"{size:.0f}" for size in rss)
        + (f"  (max {max(rss):.0f})" if rss else "")
    )
    if cpu and total:
        # Where the two cores went during the mix (a PostgreSQL backend that ended during
        # it is not counted; the app keeps its connections pooled).
        print(
            "cpu_ms_per_request: "
            + ", ".join(f"{k} {v * 1000 / total:.1f}" for k, v in sorted(cpu.items()))
            + f"  (all {sum(cpu.values()) * 1000 / total:.1f}; "
            f"{sum(cpu.values()) / elapsed:.2f} of {os.cpu_count()} cores busy)"
        )
    with contextlib.suppress(OSError):
        load1, load5, _ = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, load average {load1:.1f} (1 min) {load5:.1f} (5 min)"
        )
    return 0 if errors == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=1000, help="synthetic cities (1000)")
    parser.add_argument("--years", type=int, default=10, help="published years per city (10)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent users (100)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (3)")
    parser.add_argument("--load-only", action="store_true", help="only load --database-url")
    parser.add_argument("--database-url", help="with --load-only: a migrated, seeded database")
    args = parser.parse_args()
    if args.cities < 2 or args.years < 1:
        parser.error("--cities must be at least 2 and --years at least 1")
    if args.load_only:
        if not args.database_url:
            parser.error("--load-only needs --database-url")
        loaded = load(args.database_url, args.cities, args.years)
        summary = {
            "cities": [c[0] for c in loaded.cities],
            "years": loaded.years,
            "values": loaded.values,
            "seconds": round(loaded.seconds, 1),
        }
        print(json.dumps(summary))
        return 0

    from sqlalchemy import create_engine, make_url, text

    name = f"kpi_scale_{os.getpid()}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    redis_db = free_redis_db()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KPI_ENV": "production",
        "SECRET_KEY": "scale-bench-" + os.urandom(16).hex(),
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "KPI_SESSION_COOKIE_SECURE": "false",
        # The bench's users all come from 127.0.0.1: per-client limits would measure the limiter.
        "KPI_API_RATE_LIMIT": "1000000 per minute",
        "KPI_LOGIN_RATE_LIMIT": "1000000 per minute",
    }
    server = worker = None
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        print(f"database {name}, redis db {redis_db}, port {port}", flush=True)
        run([str(BIN / "kpi-app"), "init-db"], env)
        run([str(BIN / "kpi-app"), "seed-demo", "--force"], env)
        with create_engine(url).connect() as connection:
            args.demo_cities = connection.execute(text("SELECT count(*) FROM city")).scalar_one()
        loaded = load(url, args.cities, args.years)
        prepare_editor(env, loaded)
        print(
            f"loaded {args.cities} cities × {args.years} years = {loaded.values} values "
            f"in {loaded.seconds:.1f} s",
            flush=True,
        )
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"), "--workers", str(args.workers), "--threads", "1",
                "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120",
                "kpi_app:create_app()",
            ],
            env=env, cwd=ROOT, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # The background worker of the PDFs (RQ on the same Redis), as production runs it.
        worker = subprocess.Popen(
            [str(BIN / "kpi-app"), "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(port, time.time() + 120)
        problems = smoke(port, loaded)  # also warms each worker a little
        health, _ = phase(port, args.clients, max(5.0, args.duration / 4), loaded, "health")
        cpu_before = cpu_seconds(server.pid, worker.pid)
        mix, elapsed = phase(port, args.clients, args.duration, loaded, "mix")
        cpu_after = cpu_seconds(server.pid, worker.pid)
        cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
        rss = worker_rss_mb(server.pid)
        return report(args, loaded, mix, elapsed, health, problems, rss, cpu)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
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
        with contextlib.suppress(Exception):
            flush_redis_db(redis_db)


if __name__ == "__main__":
    raise SystemExit(main())

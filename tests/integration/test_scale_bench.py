"""bench/scale.py: its loader stores published assessments exactly as publishing does, the public
pages and API serve the loaded cities, and the whole bench runs end to end and cleans up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, make_url, text

from kpi_app.extensions import db
from kpi_app.models import (
    Assessment,
    AuditEvent,
    City,
    PublishedScore,
    PublishedValue,
    Snapshot,
    Status,
)
from kpi_app.services import published_scores, published_values, scores, snapshots
from tests.conftest import POSTGRES_ADMIN_URL, build_app
from tests.integration.cli.process import ok, run_kpi_app

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCALE = ROOT / "bench" / "scale.py"


def _bench_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "FLASK_"))}
    env["KPI_TEST_POSTGRES_URL"] = POSTGRES_ADMIN_URL
    return env


@pytest.fixture
def seeded_url() -> Iterator[str]:
    """A migrated database with the demo data, as the bench prepares it; dropped afterwards."""
    name = f"kpi_scale_test_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        ok(run_kpi_app(url, "init-db"))
        ok(run_kpi_app(url, "seed-demo", "--force"))
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def published_rows(snapshot_id: int) -> list[tuple]:
    return [
        (r.code, r.data_point, r.value, r.target, r.direction, r.percent_of_target, r.points)
        for r in db.session.scalars(
            db.select(PublishedValue)
            .where(PublishedValue.snapshot_id == snapshot_id)
            .order_by(PublishedValue.code, PublishedValue.data_point)
        )
    ]


def score_rows(snapshot_id: int) -> dict[tuple[str, str], tuple]:
    return {
        (r.level, r.group_id): (r.score, r.band, r.coverage, r.scored_items, r.method)
        for r in db.session.scalars(
            db.select(PublishedScore).where(PublishedScore.snapshot_id == snapshot_id)
        )
    }


def test_loader_stores_published_assessments_that_the_public_pages_serve(seeded_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCALE), "--load-only", "--database-url", seeded_url,
         "--cities", "3", "--years", "2"],
        env=_bench_env(), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(loaded["cities"]) == 3
    assert len(loaded["years"]) == 2

    app = build_app(seeded_url)
    with app.app_context():
        try:
            synthetic = list(
                db.session.scalars(db.select(City).where(City.slug.in_(loaded["cities"])))
            )
            assert len(synthetic) == 3
            for city in synthetic:
                assessments = list(
                    db.session.scalars(db.select(Assessment).where(Assessment.city_id == city.id))
                )
                assert sorted(a.year for a in assessments) == loaded["years"]
                for assessment in assessments:
                    assert assessment.status is Status.PUBLISHED
                    assert assessment.published_at is not None
                    assert len(assessment.values) > 50
                    snapshot = snapshots.latest(assessment.id)
                    assert snapshot is not None
                    # Exactly what publishing would freeze from these stored values, hashed.
                    assert snapshot.content == snapshots.build_content(assessment)
                    assert snapshot.content_hash == snapshots.content_hash(snapshot.content)
                    # The published-value rows are what publishing writes for this snapshot.
                    stored = published_rows(snapshot.id)
                    db.session.execute(
                        db.delete(PublishedValue).where(PublishedValue.snapshot_id == snapshot.id)
                    )
                    published_values.write(snapshot, assessment)
                    assert published_rows(snapshot.id) == stored
                    assert len(stored) == len(snapshot.content["values"])
                    # So are the stored scores (every level), and they are the live score.
                    scored = score_rows(snapshot.id)
                    assert len(scored) > 30
                    db.session.execute(
                        db.delete(PublishedScore).where(PublishedScore.snapshot_id == snapshot.id)
                    )
                    published_scores.write(snapshot, assessment)
                    assert score_rows(snapshot.id) == scored
                    live = scores.score_city_year(city.slug, assessment.year, source="published")
                    assert scored[("overall", "")][0] == float(live.overall["score"].iloc[0])
                    db.session.rollback()
                    event = db.session.scalar(
                        db.select(AuditEvent).where(
                            AuditEvent.assessment_id == assessment.id,
                            AuditEvent.action == "publish",
                        )
                    )
                    assert event is not None
                    assert event.new == {
                        "snapshot_id": snapshot.id,
                        "content_hash": snapshot.content_hash,
                    }
            # New rows after the bulk load get fresh ids (sequences were moved past the load).
            assert db.session.scalar(
                text("SELECT nextval(pg_get_serial_sequence('snapshot', 'id'))")
            ) > db.session.scalar(db.select(db.func.max(Snapshot.id)))

            client = app.test_client()
            first, last = synthetic[0], synthetic[-1]
            year = loaded["years"][-1]
            for url, shown in [
                (f"/cities/{first.slug}/{year}", first.name),
                (f"/compare?city={first.slug}&city={last.slug}&year={year}", last.name),
                (f"/countries/{first.country.iso2}", first.name),
                ("/cities", last.name),
                ("/sdg", None),
                (f"/api/v1/cities/{first.slug}", first.name),
                (f"/api/v1/cities/{first.slug}/assessments/{year}/scores", None),
            ]:
                response = client.get(url)
                assert response.status_code == 200, url
                if shown is not None:
                    assert shown in response.get_data(as_text=True), url
        finally:
            db.session.remove()
            db.engine.dispose()


def test_whole_bench_runs_and_drops_its_database() -> None:
    done = subprocess.run(
        [sys.executable, str(SCALE), "--cities", "3", "--years", "1", "--clients", "2",
         "--duration", "3"],
        env=_bench_env(), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    demo = yaml.safe_load((ROOT / "seeds" / "cities.yaml").read_text(encoding="utf-8"))
    assert re.search(rf"^cities: {len(demo['cities']) + 3}$", out, re.M), out  # demo + loaded
    assert re.search(r"^clients: 2$", out, re.M)
    assert re.search(r"^dashboard_p95_ms: \d+\.\d$", out, re.M)
    assert re.search(r"^errors: 0$", out, re.M)
    assert re.search(r"^worker_rss_mb: \d+, \d+, \d+", out, re.M)
    name = re.search(r"^database (kpi_scale_\d+),", out, re.M)
    assert name is not None
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                {"name": name.group(1)},
            ).scalar_one()
    finally:
        admin.dispose()
    assert left == 0

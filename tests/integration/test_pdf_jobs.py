"""City PDFs out of the request path (issue 20), with a real RQ worker.

The app runs with ``PDF_JOBS = "rq"`` on a dedicated Redis database; the worker is
``kpi-app worker --burst`` started as a subprocess on the same database, Redis and file
store, as an operator runs it. Checked: publishing enqueues the published PDFs and the
worker renders them once (afterwards the request renders nothing: rendering is switched off
in the test process); a PDF not made yet answers a status page that reloads itself (202,
``Refresh`` header and ``<meta http-equiv="refresh">``); two requests share one job; a live
verification report is made in the background and a changed value asks for a new one; the
worker's file is byte-for-byte what rendering in the request gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role, Status
from kpi_app.services import reports, workflow
from kpi_app.web.dashboards import pdf, pdf_jobs
from tests.conftest import login
from tests.factories import SAMPLE_VALUES, add_values

redis = pytest.importorskip("redis")
pytest.importorskip("rq")

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 12  # this test's own Redis database
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
SNAPSHOT = "/cities/fjordby/2024/download/snapshot.pdf"
LIVE_REPORT = "/cities/fjordby/2024/download/verification-report.pdf?source=live"


@pytest.fixture
def jobs_app(app, database_url, tmp_path):
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.flushdb()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    uploads = tmp_path / "uploads"
    app.config.update(REDIS_URL=REDIS_URL, PDF_JOBS="rq", KPI_UPLOAD_DIR=str(uploads))
    app.extensions.pop("kpi_cache", None)  # the page cache follows REDIS_URL too
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "KPI_ENV": "development",
        "KPI_UPLOAD_DIR": str(uploads),
        "SECRET_KEY": "pdf-jobs-" + "y" * 40,
    }
    app.config["TEST_WORKER_ENV"] = env
    yield app
    connection.flushdb()
    app.extensions.pop("kpi_cache", None)


def run_worker(app) -> None:
    done = subprocess.run(
        [str(BIN / "kpi-app"), "worker", "--burst"],
        env=app.config["TEST_WORKER_ENV"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def verified(jobs_app, make_city, make_assessment, make_user):
    city = make_city("fjordby", country="NO")
    assessment = make_assessment(city, year=2024)
    add_values(assessment, [v for v in SAMPLE_VALUES if v[2] is not None])
    assessment.status = Status.VERIFIED
    db.session.commit()
    return assessment


def queued() -> int:
    return pdf_jobs.queue().count


def test_publishing_renders_the_published_pdfs_once_in_the_background(
    client, verified, make_user, monkeypatch
):
    coordinator = make_user(Role.COORDINATOR)
    workflow.transition(verified, "publish", coordinator)
    assert queued() == 2  # the snapshot and the verification report, default language
    pending = client.get(SNAPSHOT)
    assert pending.status_code == 202
    assert pending.headers["Refresh"] == str(pdf_jobs.REFRESH_SECONDS)
    page = pending.get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page and "fjordby-2024-published-snapshot.pdf" in page
    assert queued() == 2  # the request joined the job publishing queued
    run_worker(verified_app := client.application)
    assert queued() == 0

    def no_rendering(*_args, **_kwargs):
        raise AssertionError("a PDF was rendered in the request")

    monkeypatch.setattr(pdf, "render_pdf", no_rendering)
    for url in (SNAPSHOT, SNAPSHOT.replace("snapshot.pdf", "verification-report.pdf")):
        done = client.get(url)
        assert done.status_code == 200, url
        assert done.mimetype == "application/pdf" and done.data.startswith(b"%PDF")
        assert "attachment" in done.headers["Content-Disposition"]
    monkeypatch.undo()
    # Deterministic: rendering the same profile in this process gives the worker's bytes.
    with verified_app.test_request_context("/?lang=en"):
        profile = reports.city_profile("fjordby", 2024, None, "published")
        assert pdf.render_pdf(profile, "snapshot") == client.get(SNAPSHOT).data


def test_a_live_report_is_made_by_a_job_and_follows_the_values(client, verified, make_user):
    editor = make_user(Role.CITY_EDITOR, city=verified.city)
    login(client, editor.email)
    first = client.get(LIVE_REPORT)
    second = client.get(LIVE_REPORT)
    assert first.status_code == second.status_code == 202
    assert queued() == 1  # two requests, one job
    assert "fjordby-2024-live-verification-report.pdf" in first.get_data(as_text=True)
    run_worker(client.application)
    ready = client.get(LIVE_REPORT)
    assert ready.status_code == 200 and ready.data.startswith(b"%PDF")
    value = db.session.scalar(
        db.select(IndicatorValue).where(IndicatorValue.assessment_id == verified.id)
    )
    value.computed_value = (value.computed_value or 0) + 1
    db.session.commit()
    assert client.get(LIVE_REPORT).status_code == 202  # changed data: a new file is made
    run_worker(client.application)
    again = client.get(LIVE_REPORT)
    assert again.status_code == 200 and again.data != ready.data


def test_anonymous_visitors_never_get_a_live_report(client, verified):
    response = client.get(LIVE_REPORT)
    # Not published and not theirs: nothing to show, and no job was queued for it.
    assert response.status_code == 404
    assert queued() == 0


def niceness_of(pid: int) -> int:
    """The nice value of a running process (field 19 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize(("options", "expected"), [([], 19), (["--nice", "0"], 0)])
def test_the_worker_yields_the_cpu_to_the_web_workers(jobs_app, options, expected):
    """``kpi-app worker`` lowers its own priority (19, the lowest, by default): on a host
    it shares with gunicorn, rendering a PDF does not slow the pages being served."""
    import time

    worker = subprocess.Popen(
        [str(BIN / "kpi-app"), "worker", *options],
        env=jobs_app.config["TEST_WORKER_ENV"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = niceness_of(os.getpid())
        deadline = time.time() + 60
        # The worker is up once it has registered itself on the queue's Redis.
        from rq import Worker

        while not Worker.all(connection=pdf_jobs.queue().connection):
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            assert time.time() < deadline, "the worker did not start"
            time.sleep(0.2)
        assert niceness_of(worker.pid) == min(19, base + expected)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)  # waits, and closes its stderr pipe


def test_the_worker_refuses_a_priority_out_of_range(jobs_app):
    done = subprocess.run(
        [str(BIN / "kpi-app"), "worker", "--burst", "--nice", "25"],
        env=jobs_app.config["TEST_WORKER_ENV"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--nice" in done.stderr and "0<=x<=19" in done.stderr

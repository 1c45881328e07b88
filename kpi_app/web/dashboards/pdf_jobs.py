"""City PDFs out of the request path (issue 20): rendered by background jobs, stored once.

The rendering itself is :mod:`.pdf`; this module decides where a PDF comes from.

A PDF (the city snapshot or the verification report, published or live) is stored in a file
store under ``KPI_UPLOAD_DIR/pdf/``, named by a fingerprint of everything it shows: the
scores' key (the published snapshots or the live values' versions), the assessment, the
city's facts, its local KPIs (``local_kpi_reports.fingerprint``: the frozen copy or the live
content), the kind, the language and the templates. A request finds the file and sends it,
or asks for it to be made and answers with a status page that refreshes itself until the
file is there (a plain reload works without JavaScript). The same fingerprint never needs
rendering twice, and a changed value asks for a new file, so nothing is ever stale.

Jobs run on RQ (``rq``) over the production Redis (``PDF_JOBS = "rq"``, the default when
``REDIS_URL`` is set; ``kpi-app worker`` processes them). In development and tests
(``"sync"``, the default without Redis) the request renders the PDF itself, as before.
Publishing enqueues the published PDFs of the new snapshot in the default language, so a
published PDF is rendered once at publication and served from the store afterwards.
WeasyPrint's output for one input is byte-for-byte the same (no creation date is written;
the test suite checks it), so any instance or worker renders the same file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app, has_app_context

from kpi_app.services import local_kpi_reports, report_evidence, reports, users
from kpi_app.services.cache import files_digest, page_key
from kpi_app.web.dashboards import pdf

log = logging.getLogger(__name__)

KINDS = ("snapshot", "verification-report")
QUEUE_NAME = "kpi-pdf"
JOB_TIMEOUT_SECONDS = 300
RESULT_TTL_SECONDS = 3600  # the job record only; the file stays in the store
REFRESH_SECONDS = 2  # how often the status page reloads itself


@dataclass(frozen=True)
class PdfFile:
    """A stored PDF, ready to send."""

    path: Path
    filename: str

    def data(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class PdfPending:
    """A PDF being made: the job's state ("queued", "started", "failed", ...)."""

    state: str
    filename: str
    refresh_seconds: int = REFRESH_SECONDS

    @property
    def failed(self) -> bool:
        return self.state in ("failed", "stopped", "canceled")


@dataclass(frozen=True)
class _Plan:
    digest: str
    filename: str
    source: str
    lang: str


def pdf_for(
    slug: str, year: int, kind: str, user: Any, requested_source: str | None
) -> PdfFile | PdfPending:
    """The stored PDF, or the state of the job making it (ReportNotFound when this user
    may not see it). Needs a request context (the reader's language)."""
    if kind not in KINDS:
        raise reports.ReportNotFound(kind)
    plan = _plan(slug, year, kind, user, requested_source)
    path = store() / f"{plan.digest}.pdf"
    if path.exists():
        return PdfFile(path, plan.filename)
    if mode() == "sync":
        _write(path, _render(slug, year, kind, user, requested_source))
        return PdfFile(path, plan.filename)
    user_id = getattr(user, "id", None) if plan.source == "live" else None
    job = enqueue(slug, year, kind, plan.source, plan.lang, user_id, plan.digest)
    state = str(job.get_status(refresh=False) or "queued")
    if state == "finished" and path.exists():
        return PdfFile(path, plan.filename)
    return PdfPending(state, plan.filename)


def _plan(slug: str, year: int, kind: str, user: Any, requested_source: str | None) -> _Plan:
    profile_plan = reports.plan_profile(slug, year, user, requested_source)
    parts = profile_plan.key_parts()
    # The verification report lists the evidence files this user may see (issue 15): what
    # it lists is part of the file's name, so no one is served another reader's listing.
    extra = _extra(kind, profile_plan, user)
    key = page_key(
        "pdf",
        {
            "kind": kind,
            # What the PDF shows; not who asks (a published PDF is the same for everyone).
            "scores": parts["scores"],
            "assessment": parts["assessment"],
            "source": parts["source"],
            "city": parts["city"],
            "analysis_set": parts["analysis_set"],
            # The local KPIs section: the frozen copy (published) or the live content.
            "local": local_kpi_reports.fingerprint(profile_plan.assessment, profile_plan.source),
            "lang": reports.locale(),
            "extra": repr(sorted(extra.items())),
            "templates": _templates_digest(),
            # Ids are only unique within one database: name it (a restore or a test
            # database elsewhere never meets this database's files).
            "database": _database_name(),
        },
    )
    digest = key.rsplit(":", 1)[-1]
    source = profile_plan.source
    filename = f"{slug}-{profile_plan.assessment.year}-{source}-{kind}.pdf"
    return _Plan(digest, filename, source, reports.locale())


def _database_name() -> str:
    from sqlalchemy import make_url

    return str(make_url(str(current_app.config["SQLALCHEMY_DATABASE_URI"])).database or "")


def _templates_digest() -> str:
    root = Path(current_app.root_path) / "templates"
    return files_digest([root / "dashboards", root / "_macros"])


def _extra(kind: str, plan: Any, user: Any) -> dict[str, Any]:
    """The extra template context of the PDF (``report_evidence``) for a profile plan."""
    profile = SimpleNamespace(city=plan.city, year=plan.assessment.year, source=plan.source)
    return report_evidence.report_context(kind, profile, user)


def _render(slug: str, year: int, kind: str, user: Any, requested_source: str | None) -> bytes:
    profile = reports.city_profile(slug, year, user, requested_source)
    extra = report_evidence.report_context(kind, profile, user)
    return pdf.render_pdf(profile, kind, **extra)


def store() -> Path:
    """Where PDFs are kept: ``KPI_UPLOAD_DIR/pdf`` (shared by instances, like evidence)."""
    folder = Path(current_app.config["KPI_UPLOAD_DIR"]) / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write(path: Path, data: bytes) -> None:
    """Write atomically: a reader never sees half a file, two writers leave one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


# --- jobs -------------------------------------------------------------------------------


def mode() -> str:
    """ "rq" (background jobs on Redis) or "sync" (render in the request)."""
    chosen = current_app.config.get("PDF_JOBS")
    if chosen in ("rq", "sync"):
        return str(chosen)
    return "rq" if current_app.config.get("REDIS_URL") else "sync"


def queue() -> Any:
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(str(current_app.config["REDIS_URL"]))
    return Queue(QUEUE_NAME, connection=connection)


def enqueue(
    slug: str, year: int, kind: str, source: str, lang: str, user_id: int | None, digest: str
) -> Any:
    """The job making this PDF: the one already queued or running for the same file, or a
    new one (its id is the file's fingerprint, so simultaneous requests share one job)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    jobs = queue()
    job_id = f"pdf-{digest}"
    try:
        job = Job.fetch(job_id, connection=jobs.connection)
        if str(job.get_status()) not in ("failed", "stopped", "canceled"):
            return job
        job.delete()
    except NoSuchJobError:
        pass
    return jobs.enqueue(
        render_job,
        slug,
        year,
        kind,
        source,
        lang,
        user_id,
        job_id=job_id,
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=RESULT_TTL_SECONDS,
        description=f"{kind} PDF of {slug} {year} ({source}, {lang})",
    )


def on_published(slug: str, year: int) -> None:
    """After a publication is committed: render its published PDFs once, in the default
    language (background jobs; in "sync" mode the first request renders them)."""
    if mode() != "rq":
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lang = str(app.config["BABEL_DEFAULT_LOCALE"])
    try:
        with app.test_request_context(f"/?lang={lang}"):
            for kind in KINDS:
                plan = _plan(slug, year, kind, None, "published")
                if not (store() / f"{plan.digest}.pdf").exists():
                    enqueue(slug, year, kind, "published", lang, None, plan.digest)
    except Exception as error:  # the publication stands; the PDF is made on first request
        log.warning("could not enqueue the published PDFs of %s %s: %s", slug, year, error)


_worker_app: Flask | None = None


def render_job(slug: str, year: int, kind: str, source: str, lang: str, user_id: int | None) -> str:
    """RQ job: render one PDF into the store; returns the file's name. Runs in the worker,
    with the configuration of its environment (the same DATABASE_URL, REDIS_URL and
    KPI_UPLOAD_DIR as the web instances)."""
    app = current_app._get_current_object() if has_app_context() else _app()  # type: ignore[attr-defined]
    # A fresh app context per job: its database session is removed when the job ends.
    with app.app_context(), app.test_request_context(f"/?lang={lang}"):
        user = users.get_user(user_id) if user_id is not None else None
        plan = _plan(slug, year, kind, user, source)
        path = store() / f"{plan.digest}.pdf"
        if not path.exists():
            _write(path, _render(slug, year, kind, user, source))
        return path.name


def _app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from kpi_app import create_app

        _worker_app = create_app()
    return _worker_app


def work(burst: bool = False) -> None:
    """Process PDF jobs (``kpi-app worker``): one job at a time in this process."""
    from rq import SimpleWorker

    jobs = queue()
    SimpleWorker([jobs], connection=jobs.connection).work(burst=burst, with_scheduler=False)

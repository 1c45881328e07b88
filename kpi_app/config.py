"""Configuration classes; every secret and location comes from the environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from babel import Locale

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Local state (SQLite database, generated secret, demo credentials); KPI_INSTANCE_DIR moves it.
INSTANCE_DIR = Path(os.environ.get("KPI_INSTANCE_DIR") or PROJECT_ROOT / "instance")
DEFAULT_SQLITE_NAME = "kpi.sqlite3"
DEFAULT_SECRET = "dev-only-not-secret"  # never used to sign anything; refused in production
SECRET_FILE = "secret_key"
#: Rate limits kept in each process: several workers would each allow the full limit.
LOCAL_RATE_LIMIT_STORAGE = ("memory://",)


def _autonym(code: str) -> str:
    """A language's own name from CLDR (Babel), first letter capitalised: "Français"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants postgresql+psycopg.
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return f"sqlite:///{INSTANCE_DIR / DEFAULT_SQLITE_NAME}"


class Config:
    """Defaults shared by every environment."""

    # Left unset, a development instance generates one under instance/ (see instance_secret).
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    CATALOGUE_DIR = os.environ.get("KPI_CATALOGUE_DIR", str(PROJECT_ROOT / "indicators"))
    DEFAULT_BENCHMARK_SET = os.environ.get("KPI_BENCHMARK_SET", "indicative-2026")
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("KPI_LOGIN_RATE_LIMIT", "10 per minute")
    KPI_API_RATE_LIMIT = os.environ.get("KPI_API_RATE_LIMIT", "120 per minute")
    # Failed logins are throttled per (account, client address), never by locking the owner
    # out: after LOGIN_FREE_FAILURES failures that client waits LOGIN_BACKOFF_SECONDS, doubled
    # on each further failure up to LOGIN_BACKOFF_MAX_SECONDS.
    LOGIN_FREE_FAILURES = 5
    LOGIN_BACKOFF_SECONDS = 30
    LOGIN_BACKOFF_MAX_SECONDS = 3600
    # TOTP second factor: required for admins, coordinators and verifiers when on.
    REQUIRE_2FA = os.environ.get("KPI_REQUIRE_2FA", "0") == "1"
    TWO_FACTOR_ISSUER = os.environ.get("KPI_2FA_ISSUER", "U4SSC KPI")
    ALLOW_LOCAL_RATE_LIMITS = os.environ.get("KPI_ALLOW_LOCAL_RATE_LIMITS", "0") == "1"
    # E-mail (notifications, password reset) through smtplib; none is sent when unset.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
    MAIL_FROM = os.environ.get("MAIL_FROM", "U4SSC KPIs <noreply@localhost>")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("KPI_PASSWORD_RESET_MAX_AGE") or 3600)
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # uploads: 5 MB is ample for a 91-KPI workbook
    # Evidence files (issue 15): kept outside the web root, named by their SHA-256. The
    # evidence upload route alone raises the request limit to this size (plus form overhead).
    KPI_UPLOAD_DIR = os.environ.get("KPI_UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
    KPI_EVIDENCE_MAX_BYTES = int(os.environ.get("KPI_EVIDENCE_MAX_BYTES") or 10 * 1024 * 1024)
    # Due dates: "due soon" reminders go out this many days before (kpi-app send-reminders).
    KPI_REMINDER_DAYS = int(os.environ.get("KPI_REMINDER_DAYS") or 3)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A long data-entry session must not lose its form to a CSRF token timeout.
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    # Language names are CLDR autonyms from Babel (never hand-written), capitalised for menus.
    LANGUAGES: ClassVar[dict[str, str]] = {
        code: _autonym(code) for code in ("en", "fr", "es", "ar", "zh", "ru")
    }
    DEBUG = False
    TESTING = False


class DevelopmentConfig(Config):
    """`make run`: the embedded SQLite database under instance/."""

    DEBUG = False  # the reloader/debugger is opt-in with `kpi-app run --debug`


class TestingConfig(Config):
    """pytest: a throwaway database named by DATABASE_URL_TEST or in-memory SQLite."""

    TESTING = True
    SECRET_KEY = "testing-secret"
    MAIL_SERVER = None  # a test that needs mail starts its own SMTP server
    REQUIRE_2FA = False  # a test that needs it turns it on
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL_TEST", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    # seed-demo in the test process keeps its per-database password files out of instance/;
    # each pytest-xdist worker (and the subprocesses it starts) gets folders of its own.
    _RUN = os.environ.get("PYTEST_XDIST_WORKER", "main")
    DEMO_CREDENTIALS_DIR = os.path.join(tempfile.gettempdir(), f"kpi-test-demo-credentials-{_RUN}")
    KPI_UPLOAD_DIR = os.path.join(tempfile.gettempdir(), f"kpi-test-uploads-{_RUN}")


class ProductionConfig(Config):
    """Production: refuses to start with a default secret, debug on or per-process limits."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REQUIRE_2FA = os.environ.get("KPI_REQUIRE_2FA", "1") == "1"

    @classmethod
    def check(cls, settings: Mapping[str, Any] | None = None) -> None:
        """Refuse unsafe settings (the final app config when given, else this class)."""
        get = settings.get if settings is not None else (lambda name: getattr(cls, name, None))
        secret = get("SECRET_KEY")
        if not isinstance(secret, str) or secret == DEFAULT_SECRET or len(secret) < 32:
            raise RuntimeError("SECRET_KEY must be set to a random value of 32+ characters")
        if os.environ.get("FLASK_DEBUG") in {"1", "true", "True"} or get("DEBUG"):
            raise RuntimeError("debug mode must be off in production")
        storage = str(get("RATELIMIT_STORAGE_URI") or "memory://")
        if (
            get("RATELIMIT_ENABLED") is not False
            and storage.startswith(LOCAL_RATE_LIMIT_STORAGE)
            and not get("ALLOW_LOCAL_RATE_LIMITS")
        ):
            raise RuntimeError(
                "rate limits are kept per process (no REDIS_URL): with several workers each "
                "one allows the full login limit. Set REDIS_URL, or KPI_ALLOW_LOCAL_RATE_LIMITS=1 "
                "when this instance runs exactly one worker process"
            )


def instance_secret(instance_dir: Path) -> str:
    """This instance's own random SECRET_KEY, created (mode 0600) on first start, then reused.

    Creation is atomic and never overwrites: a complete file is linked into place, so
    workers starting together all end up with the one secret that won.
    """
    path = instance_dir / SECRET_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        temporary = instance_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):  # another process won: use its secret
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret: delete it to generate a new one")
    return secret


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

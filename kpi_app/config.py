"""Configuration classes; every secret and location comes from the environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import ClassVar

from babel import Locale

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_SQLITE_NAME = "kpi.sqlite3"
DEFAULT_SECRET = "dev-only-not-secret"


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

    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    CATALOGUE_DIR = os.environ.get("KPI_CATALOGUE_DIR", str(PROJECT_ROOT / "indicators"))
    DEFAULT_BENCHMARK_SET = os.environ.get("KPI_BENCHMARK_SET", "indicative-2026")
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("KPI_LOGIN_RATE_LIMIT", "10 per minute")
    KPI_API_RATE_LIMIT = os.environ.get("KPI_API_RATE_LIMIT", "120 per minute")
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 15
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # uploads: 5 MB is ample for a 91-KPI workbook
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
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL_TEST", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    # seed-demo in the test process keeps its per-database password files out of instance/
    DEMO_CREDENTIALS_DIR = os.path.join(tempfile.gettempdir(), "kpi-test-demo-credentials")


class ProductionConfig(Config):
    """Production: refuses to start with a default secret or with debug on."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls) -> None:
        if cls.SECRET_KEY == DEFAULT_SECRET or len(cls.SECRET_KEY) < 32:
            raise RuntimeError("SECRET_KEY must be set to a random value of 32+ characters")
        if os.environ.get("FLASK_DEBUG") in {"1", "true", "True"}:
            raise RuntimeError("debug mode must be off in production")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

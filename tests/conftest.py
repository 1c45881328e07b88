"""Shared fixtures: app (on every configured database), client, runner, builders, catalogue.

The integration and web tests run once per database backend named in KPI_TEST_BACKENDS
(default: "sqlite,postgresql"). PostgreSQL gets a throwaway database per pytest process, so
several runs on one machine never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, make_url, text

from kpi_app import create_app
from kpi_app.catalogue import Catalogue, load_catalogue
from kpi_app.config import TestingConfig
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Role, User
from tests import factories
from tests.factories import PASSWORD, login

__all__ = ["PASSWORD", "AuthActions", "build_app", "login"]

BACKENDS = [b.strip() for b in os.environ.get("KPI_TEST_BACKENDS", "sqlite,postgresql").split(",")]
POSTGRES_ADMIN_URL = os.environ.get(
    "KPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this pytest process, dropped at the end."""
    name = f"kpi_test_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# What extensions cache on `g` per request: the logged-in user, the chosen language.
PER_REQUEST_CACHES = ("_login_user", "_flask_babel")


class IsolatedClient(FlaskClient):
    """A test client whose requests never see another client's logged-in user.

    The `app` fixture keeps one app context pushed for the whole test (so tests can use
    db.session), and requests reuse it; Flask-Login caches the user and Flask-Babel the locale
    in `g`, which lives on that shared context. Clearing them around each request gives every
    request its own user and language, as in production.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not has_app_context():
            return super().open(*args, **kwargs)
        for cached in PER_REQUEST_CACHES:
            g.pop(cached, None)
        try:
            return super().open(*args, **kwargs)
        finally:
            for cached in PER_REQUEST_CACHES:
                g.pop(cached, None)


def build_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    app.test_client_class = IsolatedClient
    return app


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    if backend == "sqlite":
        # A file, not :memory:, so live-server threads and subprocesses see the same data.
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    raise pytest.UsageError(f"unknown backend {backend!r} in KPI_TEST_BACKENDS")


@pytest.fixture
def app_factory(database_url: str) -> Iterator[Callable[..., Flask]]:
    """`app_factory(**config)`: an app on this test's database with its tables, context pushed.

    For tests that need a setting the `app` fixture does not have (rate limits, CSRF on...);
    every app built is torn down like `app` at the end of the test.
    """
    built: list[tuple[Flask, Any]] = []

    def make(**overrides: Any) -> Flask:
        app = build_app(database_url, **overrides)
        context = app.app_context()
        context.push()
        db.create_all()
        built.append((app, context))
        return app

    try:
        yield make
    finally:
        for _app, context in reversed(built):
            try:
                db.session.rollback()
                db.session.remove()
                if db.engine.dialect.name == "postgresql":
                    _truncate_all()
                else:
                    db.drop_all()
                db.engine.dispose()
            finally:
                context.pop()


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def make_city(app: Flask) -> Callable[..., City]:
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, country: str = "NO", **kw: Any) -> City:
        return factories.new_city(slug or f"city-{next(counter)}", country, **kw)

    return make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.CITY_EDITOR, city: City | None = None, **kw: Any) -> User:
        email = kw.pop("email", f"{Role(role).value}-{next(counter)}@example.org")
        return factories.new_user(role, email, city, **kw)

    return make


@pytest.fixture
def make_assessment(app: Flask) -> Callable[..., Assessment]:
    def make(city: City, year: int = 2024, **kw: Any) -> Assessment:
        return factories.new_assessment(city, year, app.config["DEFAULT_BENCHMARK_SET"], **kw)

    return make


class AuthActions:
    """Log the test client in as a new user of a role, in one line: ``auth.login("verifier")``."""

    def __init__(self, client: FlaskClient, make_user: Callable[..., User]) -> None:
        self._client = client
        self._make_user = make_user

    def login(
        self, role: Role | str = Role.CITY_EDITOR, city: City | None = None, **kw: Any
    ) -> User:
        user = self._make_user(role, city, **kw)
        response = login(self._client, user.email)
        assert response.status_code == 200, response.status_code
        return user

    def logout(self) -> Any:
        return self._client.post("/auth/logout", follow_redirects=True)


@pytest.fixture
def auth(client: FlaskClient, make_user: Callable[..., User]) -> AuthActions:
    return AuthActions(client, make_user)

"""Fixtures for the tests that run `kpi-app` in a subprocess: new, empty databases."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import BACKENDS, POSTGRES_ADMIN_URL

DatabaseFactory = Callable[[str], str]


@pytest.fixture(params=BACKENDS)
def cli_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(cli_backend: str, tmp_path: Path) -> Iterator[DatabaseFactory]:
    """make(label) → the URL of a new, empty database on the backend; all dropped afterwards."""
    created: list[str] = []
    admin = (
        create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        if cli_backend == "postgresql"
        else None
    )

    def make(label: str) -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'{label}.sqlite3'}"
        name = f"kpi_cli_{label}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        created.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)

    try:
        yield make
    finally:
        if admin is not None:
            with admin.connect() as connection:
                for name in created:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()

"""The `kpi-app` console script: Flask's own commands plus the project's (kpi_app/commands/)."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from kpi_app import create_app


def _make_app() -> Flask:
    # One process (a command, or `kpi-app run`'s threaded server): limits kept in memory are
    # exact here; only a multi-worker server (gunicorn) needs shared storage.
    return create_app(ALLOW_LOCAL_RATE_LIMITS=True)


main = FlaskGroup(create_app=_make_app, help="U4SSC KPI self-assessment platform.")

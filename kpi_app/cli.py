"""The `kpi-app` console script: Flask's own commands plus the project's (see commands.py)."""

from __future__ import annotations

from flask.cli import FlaskGroup

from kpi_app import create_app


def _make_app() -> object:
    return create_app()


main = FlaskGroup(create_app=_make_app, help="U4SSC KPI self-assessment platform.")

"""The `kpi-app` console script: Flask's own commands plus the project's (kpi_app/commands/)."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from kpi_app import create_app


def _make_app() -> Flask:
    return create_app()


main = FlaskGroup(create_app=_make_app, help="U4SSC KPI self-assessment platform.")

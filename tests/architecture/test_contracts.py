"""The layer contracts of `make lint` hold, and the name contract catches every spelling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.architecture.contracts import forbidden_uses

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
FORBIDDEN = {"flask.render_template", "flask.request", "flask.url_for", "kpi_app.extensions.db"}


def _names(source: str, module: str = "kpi_app.services.example", package: bool = False) -> list:
    return [(u.name, u.line) for u in forbidden_uses(module, source, FORBIDDEN, package)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from flask import current_app, render_template\n", [("flask.render_template", 1)]),
        ("from flask import (\n    current_app,\n    url_for,\n)\n", [("flask.url_for", 1)]),
        ("import flask\n\nflask.request.args.get('x')\n", [("flask.request", 3)]),
        ("import flask as f\nx = f.url_for('a')\n", [("flask.url_for", 2)]),
        ("from flask import request as r\n", [("flask.request", 1)]),
        ("from kpi_app import extensions\nextensions.db.session\n", [("kpi_app.extensions.db", 2)]),
        ("from ..extensions import db\n", [("kpi_app.extensions.db", 1)]),
        ("def f():\n    from kpi_app.extensions import db\n", [("kpi_app.extensions.db", 2)]),
    ],
)
def test_name_contract_finds_each_spelling(source: str, expected: list) -> None:
    assert _names(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "from flask import current_app, has_request_context\n",
        "from kpi_app.extensions import limiter\n",
        "def scores_for(request):\n    return request.key\n",  # a parameter, not flask's
        "import flask\nflask.current_app.config\n",
    ],
)
def test_name_contract_allows_other_names(source: str) -> None:
    assert _names(source) == []


def test_relative_import_from_a_package_resolves_to_its_siblings() -> None:
    source = "from .extensions import db\n"
    assert _names(source, module="kpi_app", package=True) == [("kpi_app.extensions.db", 1)]


def test_lint_imports_keeps_every_contract() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 broken" in result.stdout

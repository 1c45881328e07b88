"""The pure core (catalogue, scoring, charts, twin) never loads Flask or SQLAlchemy."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

PURE_PACKAGES = ["kpi_app.catalogue", "kpi_app.scoring", "kpi_app.charts", "kpi_app.twin"]


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_package_imports_neither_flask_nor_sqlalchemy(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} does not exist yet")
    code = (
        f"import sys, {package}\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'flask', 'sqlalchemy', "
        "'flask_sqlalchemy', 'werkzeug'})\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} loads {result.stdout.strip()}"

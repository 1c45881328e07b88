"""The pure core (catalogue, scoring, charts, twin, interop) never loads Flask or SQLAlchemy."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

PURE_PACKAGES = [
    "kpi_app.catalogue",
    "kpi_app.scoring",
    "kpi_app.charts",
    "kpi_app.twin",
    "kpi_app.interop",
]


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_package_imports_neither_flask_nor_sqlalchemy(package: str) -> None:
    # A renamed or removed package must fail here, not pass silently with nothing checked.
    assert importlib.util.find_spec(package) is not None, f"{package} is missing"
    # Every module of the package, not only what its __init__ happens to import.
    code = (
        f"import importlib, pkgutil, sys, {package} as root\n"
        "for m in pkgutil.walk_packages(root.__path__, root.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'flask', 'sqlalchemy', "
        "'flask_sqlalchemy', 'werkzeug'})\n"
        "print(' '.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} loads {result.stdout.strip()}"

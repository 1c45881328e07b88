"""The catalogue is pure core: importing and using it must not pull in Flask or SQLAlchemy.

Each check runs in a fresh interpreter, because this test process may already have
imported the web app through other tests' fixtures.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import kpi_app.catalogue

PACKAGE_ROOT = Path(kpi_app.catalogue.__file__).resolve().parents[1]
FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE_ROOT.parent,
        check=False,
    )


def test_catalogue_package_works_with_web_libraries_blocked() -> None:
    # Make Flask and SQLAlchemy unimportable, and stand in for the top-level kpi_app
    # package (whose __init__ builds the Flask app), so only the catalogue's own imports
    # are exercised: any Flask/SQLAlchemy import inside kpi_app.catalogue fails loudly.
    result = run_python(
        f"""
        import importlib.abc, sys, types

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {FORBIDDEN!r}:
                    raise ImportError(f"pure core imported {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        stub = types.ModuleType("kpi_app")
        stub.__path__ = [{str(PACKAGE_ROOT)!r}]
        sys.modules["kpi_app"] = stub

        from kpi_app.catalogue import load_benchmark_sets, load_catalogue
        catalogue = load_catalogue()
        load_benchmark_sets(catalogue)["indicative-2026"].to_frame()
        catalogue.to_frame(); catalogue.records()
        assert not any(name.split(".")[0] in {FORBIDDEN!r} for name in sys.modules)
        print(len(catalogue.indicators))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "91"


def test_importing_kpi_app_catalogue_loads_neither_flask_nor_sqlalchemy() -> None:
    result = run_python(
        f"""
        import sys
        import kpi_app.catalogue
        loaded = sorted(n for n in sys.modules if n.split(".")[0] in {FORBIDDEN!r})
        print(" ".join(loaded))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""

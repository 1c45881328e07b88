"""Fixtures for the catalogue tests: the real catalogue, the reference CSV and editable copies.

``tests/fixtures/reference/u4ssc_kpis.csv`` is a snapshot of the project's reference list of the 91
U4SSC KPIs (the shared reference folder), kept here so the tests are self-contained. The
catalogue tests compare the YAML against it, so any drift between the two shows up.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kpi_app.catalogue import DEFAULT_CATALOGUE_DIR, Catalogue, CatalogueError, load_catalogue

REFERENCE_CSV = Path(__file__).parents[2] / "fixtures" / "reference" / "u4ssc_kpis.csv"


@pytest.fixture(scope="session")
def reference_rows() -> list[dict[str, str]]:
    """The 91 rows of the reference CSV, in published order."""
    with REFERENCE_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The real catalogue from indicators/."""
    return load_catalogue()


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    """A fresh copy of indicators/ (named ``indicators`` so messages match the real paths)."""
    target = tmp_path / "indicators"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, target)
    return target


Edit = Callable[[str, str, str], None]


@pytest.fixture
def edit(catalogue_copy: Path) -> Edit:
    """Replace the first occurrence of ``old`` by ``new`` in a file of the copy.

    Fails loudly when ``old`` is absent, so a test never passes because its edit silently
    did nothing.
    """

    def apply(file_name: str, old: str, new: str) -> None:
        path = catalogue_copy / file_name
        content = path.read_text(encoding="utf-8")
        assert old in content, f"{old!r} not found in {file_name}"
        path.write_text(content.replace(old, new, 1), encoding="utf-8")

    return apply


@pytest.fixture
def problems_of() -> Callable[[Path], list[str]]:
    """Load a catalogue that must be broken and return its problem messages."""

    def load(path: Path) -> list[str]:
        with pytest.raises(CatalogueError) as caught:
            load_catalogue(path)
        assert str(caught.value) == "\n".join(caught.value.problems)
        return caught.value.problems

    return load

"""The Data Package names its licence and its sources (issue 17), and still validates."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from frictionless import Package, validate

from kpi_app.models import Assessment, City
from kpi_app.services import interop
from tests.factories import published_city


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    return published_city(make_city, make_assessment, "fjordby", country="NO")


def _unpacked(tmp_path: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(interop.datapackage_zip(2024))).extractall(tmp_path)
    return tmp_path / "datapackage.json"


def test_package_carries_licence_and_sources(published: Assessment, tmp_path: Path) -> None:
    descriptor = _unpacked(tmp_path)
    report = validate(str(descriptor))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = Package(str(descriptor))
    assert [(lic["name"], lic["path"]) for lic in package.licenses] == [
        ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
    ]
    titles = [source["title"] for source in package.sources]
    assert titles[0].startswith("U4SSC Key Performance Indicators")
    assert "Self-assessment of Fjordby (NO), 2024" in titles[1]
    assert "snapshot" in package.sources[1]["description"]


def test_the_licence_is_the_operator_s_choice(
    app: Flask, published: Assessment, tmp_path: Path
) -> None:
    app.config["KPI_DATA_LICENSE"] = "CC0-1.0"
    package = Package(str(_unpacked(tmp_path)))
    assert package.licenses[0]["name"] == "CC0-1.0"
    app.config["KPI_DATA_LICENSE"] = "all rights reserved"
    with pytest.raises(ValueError, match="unknown data licence"):
        interop.datapackage_zip(2024)

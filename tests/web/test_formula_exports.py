"""Spreadsheet-bound exports never carry a city name that a spreadsheet would run as a formula.

Issue 14 item 11: the compare heatmap (xlsx and csv) and the Data Package's data/cities.csv
are opened by their users in Excel or LibreOffice; the tests open them with openpyxl and csv.
"""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest

from kpi_app.extensions import db
from kpi_app.models import City
from kpi_app.services import seeding

HOSTILE = {
    "nordvik": '=HYPERLINK("https://evil.example","x")',
    "valmorena": "+1+2",
    "fjellby": "@SUM(1)",
    "puerto-azul": "-2+3",
}


@pytest.fixture
def hostile_names(app):
    seeding.seed_demo()
    for slug, name in HOSTILE.items():
        city = db.session.scalar(db.select(City).where(City.slug == slug))
        city.name = name
    db.session.commit()
    return app


def _compare_query() -> str:
    return "&".join(f"city={slug}" for slug in HOSTILE) + "&year=2024"


def test_compare_heatmap_xlsx_has_no_formula_cells(client, hostile_names):
    response = client.get(f"/compare/download/heatmap.xlsx?{_compare_query()}")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    texts = [str(cell.value) for cell in cells if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    # The names are there, as text (the apostrophe is how spreadsheets show literal text).
    assert any(HOSTILE["nordvik"] in text for text in texts)
    assert not any(text.startswith(("=", "+", "-", "@")) for text in texts)


def test_compare_heatmap_csv_is_defused(client, hostile_names):
    response = client.get(f"/compare/download/heatmap.csv?{_compare_query()}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert any(HOSTILE["valmorena"] in cell for cell in cells)
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_data_package_cities_csv_is_defused_and_values_still_reimport(client, hostile_names):
    response = client.get("/api/v1/datapackage/2024.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    rows = list(csv.DictReader(io.StringIO(archive.read("data/cities.csv").decode("utf-8"))))
    names = {row["slug"]: row["name"] for row in rows}
    assert names["nordvik"] == "'" + HOSTILE["nordvik"]
    # Text never starts a formula; numbers (a negative longitude) stay numbers.
    assert not [row["name"] for row in rows if row["name"].startswith(("=", "+", "-", "@"))]
    # The values resource reads back to the same data (the package importer undoes the prefix).
    from kpi_app.interop import datapackage

    parsed = datapackage.parse_package(response.data)
    assert parsed and {value.city for value in parsed} >= {"nordvik", "valmorena"}

"""Public indicator pages like Open SDG's: published values across cities and years."""

from __future__ import annotations

import csv
import io
import statistics

import pytest

from kpi_app.services import seeding

CODE = "EC: ICT: ICT: 1C"


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


def test_indicator_page_shows_published_values_chart_table_and_bands(client, demo):
    html = client.get(f"/indicators/{CODE}").get_data(as_text=True)
    assert "Higher values are better" in html and "higher_better" not in html
    chart = html.split('id="indicator-values"')[1].split("</figure>")[0]
    # Drawn by the server, no script: the median and quartiles of the cities per year (three
    # lines at any number of cities), not one line per city.
    assert "<svg" in chart and "Median" in chart and "75th percentile" in chart
    assert "Nordvik" not in chart
    download = client.get(f"/indicators/{CODE}/values.csv").get_data(as_text=True)
    values = list(csv.DictReader(io.StringIO(download.lstrip("\ufeff"))))
    for year in {r["year"] for r in values}:
        median = statistics.median(float(r["value"]) for r in values if r["year"] == year)
        assert f">{median:.4g}<" in chart
    table = html.split('id="indicator-values-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 12  # header + the 12 published (city, year) values
    assert 'Nordvik</a></th><td class="num">2024' in table
    assert "SDG 17.8 universal access" in html  # the target's source
    bands = html.split('id="band-distribution-table"')[1].split("</table>")[0]
    assert "95%+ Target" in bands and "Not scored" in bands
    # Unpublished years (Nordvik 2025 is only submitted) never appear.
    assert "2025" not in table


def test_indicator_values_download_as_csv(client, demo):
    response = client.get(f"/indicators/{CODE}/values.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 12
    nordvik = [r for r in rows if r["city"] == "nordvik"]
    assert {r["year"] for r in nordvik} == {"2023", "2024"}
    assert all(r["band_label"] for r in rows)
    assert client.get(f"/indicators/{CODE}/values.pdf").status_code == 404
    assert client.get("/indicators/XX: NO: PE: 1C/values.csv").status_code == 404


def test_indicator_without_published_values_says_so(client, app):
    html = client.get(f"/indicators/{CODE}").get_data(as_text=True)
    assert "No city has published a value for this KPI yet." in html

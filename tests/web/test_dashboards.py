"""Dashboards through the test client, on the demo data: content, permissions, downloads."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, Role
from kpi_app.services import seeding
from tests.factories import login

HOUSEHOLD_INTERNET = "EC: ICT: ICT: 1C"


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


def test_city_list_filters_and_links(client, demo):
    page = client.get("/cities").get_data(as_text=True)
    assert "Nordvik" in page and "Valmorena" in page
    assert "plotly" not in page  # the map is drawn by the server
    norway = client.get("/cities?country=NO").get_data(as_text=True)
    assert "Nordvik" in norway and "Fjellby" in norway
    assert "Valmorena" not in norway
    drawn = inline_svg(norway, "city-map")
    names = [t.text for t in drawn.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Nordvik", "Fjellby"} <= set(names) and "Valmorena" not in names
    assert len(drawn.find("{http://www.w3.org/2000/svg}path").get("d")) > 1000  # coastlines


def inline_svg(html: str, chart_id: str) -> ET.Element:
    """The SVG drawn by the server inside the chart container ``chart_id``."""
    match = re.search(rf'<div class="chart-svg[^"]*" id="{chart_id}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no inline SVG for {chart_id}"
    return ET.fromstring(match.group(1))


def test_city_profile_shows_the_wheel_and_tables(client, demo, catalogue):
    response = client.get("/cities/nordvik/2024")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The wheel and the bars are in the HTML itself: readable without JavaScript, and the
    # 1.5 MB charting library is not loaded at all.
    wheel = inline_svg(html, "wheel")
    items = wheel.findall(".//{http://www.w3.org/2000/svg}g[@data-item]")
    assert len(items) == len(catalogue.items())
    assert inline_svg(html, "dimension-bars").find("{http://www.w3.org/2000/svg}title") is not None
    assert "plotly" not in html and "<script" not in html
    assert "Benchmarking wheel" in html
    assert "95%+ Target" in html and "Less than 33% of Target" in html  # legend in text
    assert '<table id="kpi-table">' in html and "<caption>" in html
    assert "Showing the published results." in html
    assert "<script>" not in html  # no inline scripts, only JSON data blocks and files


def test_anonymous_users_never_see_unpublished_data(client, demo):
    assert client.get("/cities/nordvik/2025").status_code == 404  # submitted, not published
    assert client.get("/cities/nordvik/2025/download/kpis.csv").status_code == 404
    assert client.get("/cities/nordvik/2025/explain/overall/overall").status_code == 404
    # Asking for live data anonymously still shows the published snapshot.
    html = client.get("/cities/nordvik/2024?source=live").get_data(as_text=True)
    assert "Showing the published results." in html


def test_editor_may_switch_to_live_data(client, demo, make_user):
    nordvik = db.session.scalar(db.select(City).where(City.slug == "nordvik"))
    editor = make_user(Role.CITY_EDITOR, city=nordvik)
    assessment = db.session.scalar(
        db.select(Assessment).where(Assessment.city_id == nordvik.id, Assessment.year == 2024)
    )
    value = db.session.scalar(
        db.select(IndicatorValue).where(
            IndicatorValue.assessment_id == assessment.id, IndicatorValue.code == HOUSEHOLD_INTERNET
        )
    )
    value.computed_value = 12.345  # changed after publishing
    value.reported = True
    db.session.commit()

    assert "12.345" not in client.get("/cities/nordvik/2024/download/kpis.csv").get_data(
        as_text=True
    )
    login(client, editor.email)
    live = client.get("/cities/nordvik/2024?source=live").get_data(as_text=True)
    assert "Showing live data" in live
    csv_text = client.get("/cities/nordvik/2024/download/kpis.csv?source=live").get_data(
        as_text=True
    )
    assert "12.345" in csv_text
    assert client.get("/cities/nordvik/2025").status_code == 200  # own unpublished year


def test_downloads(client, demo, catalogue):
    csv_response = client.get("/cities/nordvik/2024/download/kpis.csv")
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    lines = csv_response.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 1 + len(catalogue.items())
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/cities/nordvik/2024/download/dimensions.xlsx").data)
    )
    names = [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert names == [d.label("en") for d in catalogue.dimensions]
    svg = client.get("/cities/nordvik/2024/download/wheel.svg")
    assert svg.mimetype == "image/svg+xml"
    groups = len(catalogue.dimensions) + len(catalogue.sub_dimensions) + len(catalogue.categories)
    assert svg.get_data(as_text=True).count("data-band=") == groups + len(catalogue.items())
    assert client.get("/cities/nordvik/2024/download/passwords.csv").status_code == 404


def test_explanation_tree_reaches_the_raw_values(client, demo):
    html = client.get("/cities/nordvik/2024/explain/dimension/EN").get_data(as_text=True)
    assert "How the score of Environment is made" in html
    assert "Air Pollution" in html  # an item row of the environment dimension
    assert client.get("/cities/nordvik/2024/explain/dimension/XX").status_code == 404


def test_compare_lists_the_chosen_cities(client, demo):
    html = client.get("/compare?city=nordvik&city=valmorena&year=2024").get_data(as_text=True)
    heatmap = inline_svg(html, "heatmap")
    columns = [t.text for t in heatmap.iter("{http://www.w3.org/2000/svg}text")][:2]
    assert columns == ["Nordvik (2024)", "Valmorena (2024)"]
    assert "plotly" not in html
    assert "Same country" in html
    assert "Fjellby" in html  # Nordvik's peer in Norway


def test_compare_shows_the_rank_intervals_on_request(client, demo, monkeypatch):
    """The Monte Carlo ranks cost more than the rest of the page: it offers them behind a
    link (a plain link, no script), and computes them only when it is followed."""
    from html import unescape

    from kpi_app.services.reports import compare

    calls = []
    real = compare.monte_carlo_ranks
    monkeypatch.setattr(
        compare, "monte_carlo_ranks", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    html = client.get("/compare?city=nordvik&city=valmorena&year=2024").get_data(as_text=True)
    assert "Ranking with rank interval" not in html and calls == []
    link = re.search(r'<a id="ranking-link" href="([^"]+)"', html)
    assert link, "the page offers the rank intervals"
    href = unescape(link.group(1))
    assert "ranks=1" in href and "city=nordvik" in href and "year=2024" in href
    ranked = client.get(href).get_data(as_text=True)
    assert calls == [1]
    assert "Ranking with rank interval" in ranked and 'id="ranking-link"' not in ranked
    table = re.search(r'<table id="ranking-table">.*?</table>', ranked, re.S)
    assert table and table.group(0).count('<th scope="row">') == 2
    # One city has no rank to speak of: neither the link nor the section.
    alone = client.get("/compare?city=nordvik&year=2024").get_data(as_text=True)
    assert "ranking-link" not in alone and "Ranking and its uncertainty" not in alone


def test_country_and_sdg_views(client, demo):
    country = client.get("/countries/NO").get_data(as_text=True)
    assert "Completeness of reporting" in country
    assert "Nordvik" in country and "Fjellby" in country
    assert client.get("/countries/ZZ").status_code == 404
    sdg = client.get("/sdg").get_data(as_text=True)
    assert "Target 11.6" in sdg and "Target 11.c" in sdg
    target_116 = client.get("/sdg/11.6").get_data(as_text=True)
    assert "Air Pollution" in target_116.split('id="sdg-11-6"')[1].split("</table>")[0]


def test_sdg11_summary_counts_progress_per_target_and_links_one_page_each(client, demo):
    html = client.get("/sdg").get_data(as_text=True)
    summary = html.split('id="sdg-summary"')[1].split("</table>")[0]
    rows = summary.split("<tbody>")[1].split("</tr>")[:-1]
    assert len(rows) == 10  # 11.1 to 11.7, 11.a to 11.c
    assert 'href="/sdg/11.2"' in rows[1]
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', rows[1])]
    assert counts[0] >= 1 and sum(counts[1:]) > 0  # linked items, then one count per class
    assert "<table" not in html.split("</table>")[1]  # one table: the page is a summary
    assert "link from reviewer notes" not in html
    target = client.get("/sdg/11.2").get_data(as_text=True)
    assert "Dynamic Public Transport Information" in target
    assert "link from reviewer notes" not in target
    assert client.get("/sdg/17").status_code == 200
    assert client.get("/sdg/11.9").status_code == 404
    assert client.get("/sdg/nonsense").status_code == 404


def test_compare_picks_cities_with_checkboxes_and_warns_about_mixed_years(client, demo):
    html = client.get("/compare?city=nordvik&city=kisoro-bay").get_data(as_text=True)
    form = html.split('class="filters">')[1].split("</form>")[0]
    assert "<select" not in form and "multiple" not in form  # no Ctrl/Cmd multi-select
    assert re.search(
        r'<input type="checkbox" id="c-city-nordvik" name="city" value="nordvik" checked>', html
    )
    assert '<label for="c-city-nordvik">Nordvik</label>' in html
    assert re.search(
        r'<input type="checkbox" id="c-city-fjellby" name="city" value="fjellby" >', html
    )
    assert 'type="search" id="c-filter"' in html  # shown by charts.js
    warning = html.split('id="mixed-years"')[1].split("</p>")[0]
    assert "2023, 2024" in warning
    assert "Kisoro Bay (2023)" in html and "Nordvik (2024)" in html
    same = client.get("/compare?city=nordvik&city=valmorena").get_data(as_text=True)
    assert 'id="mixed-years"' not in same and "All results are from 2024." in same

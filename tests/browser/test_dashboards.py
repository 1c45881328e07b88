"""Dashboards in headless Chromium on the demo data: charts drawn, right content, no outside URL."""

from __future__ import annotations

import pytest

from kpi_app.services import seeding


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


@pytest.fixture
def requests_seen(page):
    """Every URL the page asks for: proves no CDN or tile server is contacted."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def wait_for_chart(page, chart_id: str) -> None:
    page.wait_for_selector(f"#{chart_id}[data-drawn='true']", timeout=20_000)


def test_city_profile_wheel_has_one_segment_per_kpi_item(
    page, demo, catalogue, live_server, requests_seen
):
    page.goto("/cities/nordvik/2024")
    wait_for_chart(page, "wheel")
    groups = len(catalogue.dimensions) + len(catalogue.sub_dimensions) + len(catalogue.categories)
    slices = page.locator("#wheel g.slice").count()
    assert slices == groups + len(catalogue.items())
    assert page.get_by_role("heading", name="Benchmarking wheel").is_visible()
    assert page.locator("#overall-score").inner_text().endswith("%")
    assert page.locator("#kpi-table tbody tr").count() == len(catalogue.items())
    assert all(url.startswith(live_server.url) for url in requests_seen)


def test_map_is_drawn_from_local_topojson(page, demo, live_server, requests_seen):
    page.goto("/cities")
    wait_for_chart(page, "city-map")
    assert page.locator("#city-map .scattergeo .point").count() >= 9
    assert any(url.endswith("/static/vendor/topojson/world_110m.json") for url in requests_seen)
    assert all(url.startswith(live_server.url) for url in requests_seen)
    # The country filter works with a keyboard-only form submit too.
    page.get_by_label("Country").select_option("NO")
    page.wait_for_url("**/cities?country=NO*")
    assert page.locator("table tbody tr").count() == 2


def test_compare_heatmap_lists_the_chosen_cities(page, demo):
    page.goto("/compare")
    page.get_by_label("Cities").select_option(["nordvik", "valmorena", "al-nahra"])
    page.get_by_role("button", name="Compare").click()
    wait_for_chart(page, "heatmap")
    columns = page.evaluate("document.getElementById('heatmap').data[0].x")
    assert sorted(columns) == sorted(["Nordvik (2024)", "Valmorena (2024)", "Al-Nahra (2024)"])
    ticks = page.locator("#heatmap .xtick text").evaluate_all("els => els.map(e => e.textContent)")
    assert {"Nordvik (2024)", "Valmorena (2024)"} <= set(ticks)
    assert page.locator("#ranking-table tbody tr").count() == 3


def test_sdg11_page_lists_linked_kpis(page, demo):
    page.goto("/sdg")
    heading = page.get_by_role("heading", name="Target 11.2", exact=False)
    assert heading.is_visible()
    table = page.locator("#sdg-11-2")
    assert table.locator("caption").inner_text() == "KPIs linked to target 11.2"
    text = table.inner_text()
    assert "Dynamic Public Transport Information" in text
    assert "Travel Time Index" in text


def test_score_link_opens_the_explanation(page, demo):
    page.goto("/cities/nordvik/2024")
    page.get_by_role("link", name="How is this score made?").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("How the score of")
    assert page.locator(".tree table").count() >= 20  # one item table per category

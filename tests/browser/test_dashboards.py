"""Dashboards in headless Chromium on the demo data: charts drawn, right content, no outside URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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


@pytest.fixture
def page_without_js(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=False
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_city_profile_wheel_has_one_segment_per_kpi_item(
    page_without_js, demo, catalogue, live_server
):
    """Drawn by the server: the wheel and the bars are there with JavaScript switched off."""
    page = page_without_js
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto("/cities/nordvik/2024")
    groups = len(catalogue.dimensions) + len(catalogue.sub_dimensions) + len(catalogue.categories)
    assert page.locator("#wheel svg path[data-band]").count() == groups + len(catalogue.items())
    assert page.locator("#wheel svg g[data-item]").count() == len(catalogue.items())
    expect(page.locator("#wheel svg")).to_be_visible()
    expect(page.locator("#dimension-bars svg")).to_be_visible()
    expect(page.get_by_role("heading", name="Benchmarking wheel")).to_be_visible()
    assert page.locator("#overall-score").inner_text().endswith("%")
    assert page.locator("#kpi-table tbody tr").count() == len(catalogue.items())
    assert all(url.startswith(live_server.url) for url in seen)
    assert not [url for url in seen if "plotly" in url or url.endswith(".js")]


def test_wheel_fits_a_phone_and_scrolls_sideways(browser, demo, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 375, "height": 812}
    )
    page = context.new_page()
    try:
        page.goto("/cities/nordvik/2024")
        # The page itself never scrolls sideways; the wheel region does, at a readable size.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        region = page.locator("#wheel")
        assert region.get_attribute("tabindex") == "0"
        assert (
            page.evaluate("document.querySelector('#wheel svg').getBoundingClientRect().width")
            >= 900
        )
        header = page.evaluate(
            "document.querySelector('.site-header').getBoundingClientRect().height"
        )
        assert header < 100  # the menu is folded into its disclosure
        page.get_by_text("Menu", exact=True).click()
        expect(page.get_by_role("link", name="Compare")).to_be_visible()
    finally:
        context.close()


def test_map_is_drawn_on_the_server(page, demo, live_server, requests_seen):
    page.goto("/cities")
    assert page.locator("#city-map svg circle").count() >= 9
    assert all(url.startswith(live_server.url) for url in requests_seen)
    assert not [url for url in requests_seen if "plotly" in url or "topojson" in url]
    # The country filter works with a keyboard-only form submit too.
    page.get_by_label("Country").select_option("NO")
    page.wait_for_url("**/cities?country=NO*")
    assert page.locator("table tbody tr").count() == 2


def test_compare_picks_cities_by_checkbox_with_a_search_box(page, demo):
    page.goto("/compare")
    search = page.get_by_label("Find a city")
    search.fill("nord")
    expect(page.get_by_label("Valmorena")).to_be_hidden()
    page.get_by_label("Nordvik").check()
    search.fill("")
    page.get_by_label("Valmorena").check()
    page.get_by_label("Al-Nahra").check()
    search.fill("zzz")
    expect(page.get_by_label("Nordvik")).to_be_visible()  # ticked cities stay in view
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("#heatmap svg")
    columns = page.locator("#heatmap svg > text").evaluate_all("els => els.map(e => e.textContent)")
    assert sorted(columns[:3]) == sorted(["Nordvik (2024)", "Valmorena (2024)", "Al-Nahra (2024)"])
    page.get_by_role("link", name="Show the rank intervals").click()
    page.wait_for_selector("#ranking-table")
    assert page.locator("#ranking-table tbody tr").count() == 3


def test_sdg11_page_lists_linked_kpis(page, demo):
    page.goto("/sdg")
    page.get_by_role("link", name="Target 11.2", exact=False).click()
    heading = page.get_by_role("heading", name="Target 11.2", exact=False)
    expect(heading).to_be_visible()
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

"""An analyst's journey through the methods lab in headless Chromium, JavaScript off (the lab
is plain forms): choose peers by region, set a weight, pick a city for leave-one-KPI-out, run,
download the results CSV and the spec, and load the spec back by upload."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.web.test_lab_spec import EUROPE, regional_world  # noqa: F401  (fixture)


@pytest.fixture
def analyst_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=False, accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_lab_journey_peers_weights_run_download_and_reload(
    analyst_page,
    regional_world,  # noqa: F811
    tmp_path: Path,
):
    page = analyst_page
    page.goto("/lab/?year=2024")
    page.get_by_label(EUROPE).check()
    page.get_by_label("Normalisation").select_option("min_max")
    page.locator("#lab-weights summary").click()
    page.locator('input[name="w_dimension:EC"]').fill("2")
    page.get_by_label("City whose rank drivers to show (leave one KPI out)").select_option("amby")
    page.get_by_label("Monte Carlo draws (1 to 1000)").fill("20")
    page.get_by_role("button", name="Run").click()
    page.wait_for_load_state()

    assert "region=Europe" in page.url and "w_dimension%3AEC=2" in page.url
    rows = page.locator("#lab-overall tbody tr")
    assert rows.count() == 2  # amby and bmby: cmby is in Western Asia
    assert {rows.nth(i).locator("th").inner_text() for i in range(2)} == {"Amby", "Bmby"}
    fingerprint = page.locator("#lab-fingerprint").inner_text()
    assert len(fingerprint) == 64
    assert page.locator("#lab-drivers, #lab-drivers-none").count() == 1
    # The weight typed in stays in the form of the result page.
    assert page.locator('input[name="w_dimension:EC"]').input_value() == "2"

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download the results (CSV)").click()
    csv_path = tmp_path / "results.csv"
    csv_download.value.save_as(csv_path)
    table = list(csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()))
    assert {r["city"] for r in table} == {"amby", "bmby"}
    assert {r["level"] for r in table} >= {"overall", "dimension", "category"}

    with page.expect_download() as spec_download:
        page.get_by_role("link", name="Download the spec (JSON)").click()
    spec_path = tmp_path / "spec.json"
    spec_download.value.save_as(spec_path)
    document = json.loads(spec_path.read_text())
    assert document["fingerprint"] == fingerprint
    assert document["spec"]["weights"] == {"dimension": {"EC": 2.0}}

    # The same peer group's synergies and trade-offs (two cities: too few for any).
    page.get_by_role("link", name="Synergies and trade-offs of this peer group").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Synergies and trade-offs", exact=True).is_visible()
    assert "Peer group: 2 cities, year 2024." in page.locator("main").inner_text()
    assert page.locator("#relations-none").is_visible()

    # A fresh visit, then the spec file loads the same query back.
    page.goto("/lab/")
    page.get_by_label("Load a spec file (JSON downloaded from the lab)").set_input_files(
        str(spec_path)
    )
    page.get_by_role("button", name="Load spec").click()
    page.wait_for_load_state()
    assert page.locator("#lab-fingerprint").inner_text() == fingerprint
    assert page.locator("#lab-overall tbody tr").count() == 2
    assert page.get_by_label(EUROPE).is_checked()

    # A broken file is refused with a message, not an error page.
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    page.get_by_label("Load a spec file (JSON downloaded from the lab)").set_input_files(
        str(broken)
    )
    page.get_by_role("button", name="Load spec").click()
    page.wait_for_load_state()
    assert "the spec file is not valid JSON" in page.locator("#lab-upload-error").inner_text()

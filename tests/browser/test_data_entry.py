"""A city official fills a category, downloads the template, uploads it back, and sees a
row-level report for a broken file, all in headless Chromium against a live server."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from kpi_app.extensions import db
from kpi_app.models import Role
from kpi_app.services import data_io, values
from tests.browser.conftest import log_in

SHARE = "EC: ICT: ICT: 1C"
DIRECT = "EC: ICT: ICT: 5C"


@pytest.fixture
def official(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("brightwater", name="Brightwater")
    editor = make_user(Role.CITY_EDITOR, city=city, email="official@brightwater.example")
    assessment = make_assessment(city, 2024)
    return {"editor": editor, "assessment": assessment}


def stored(assessment_id: int, code: str) -> Any:
    db.session.expire_all()
    assessment = values.get_assessment(assessment_id)
    return values.records_by_key(assessment).get((code, ""))


def test_fill_a_category_then_round_trip_the_template(
    page: Any, official: dict[str, Any], tmp_path: Path
) -> None:
    assessment_id = official["assessment"].id
    log_in(page, official["editor"].email)
    page.get_by_role("link", name="Data entry").first.click()
    page.get_by_role("link", name="Brightwater", exact=True).click()
    assert "0 of 112 reported" in page.locator("#overall-completeness").inner_text()

    # Fill one KPI of the ICT Infrastructure category; the live preview shows the value.
    page.get_by_role("link", name="ICT Infrastructure").click()
    item = page.locator("fieldset#item_ec_ict_ict_1c")
    item.get_by_label("Numerator").fill("95 424")
    item.get_by_label("Denominator").fill("200 000")
    assert "47.712" in item.locator(".live-preview").inner_text()
    item.get_by_label("Data quality").select_option("2")
    item.get_by_label("Source", exact=True).fill("National household survey")
    page.get_by_role("button", name="Save this category").click()
    page.wait_for_load_state()
    assert "read as 95424" in page.locator(".flashes").inner_text()
    assert "47.712" in page.locator("fieldset#item_ec_ict_ict_1c .computed-value").inner_text()
    assert "1 of" in page.locator("#category-completeness").inner_text()
    assert stored(assessment_id, SHARE).computed_value == pytest.approx(47.712)

    # Completeness moved on the assessment page.
    page.get_by_role("link", name="Back to Brightwater 2024").click()
    assert "1 of 112 reported" in page.locator("#overall-completeness").inner_text()

    # Download the Excel template, change a value in it, upload it back.
    with page.expect_download() as download_info:
        page.get_by_role(
            "link", name="Download the Excel template with the current values (.xlsx)"
        ).click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    workbook = load_workbook(template)
    sheet = workbook["Values"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == DIRECT:
            row[data_io.COLUMNS.index("value")].value = 120
            row[data_io.COLUMNS.index("source")].value = "City IT department"
    workbook.save(template)
    page.get_by_role("link", name="Upload a filled-in template or CSV file").click()
    page.get_by_label("Spreadsheet (.xlsx) or CSV file").set_input_files(str(template))
    page.get_by_role("button", name="Check the file").click()
    changes = page.locator("table#import-changes")
    assert "120" in changes.inner_text() and "Public" in changes.inner_text()
    assert stored(assessment_id, DIRECT) is None  # nothing written before confirming
    page.get_by_role("button", name="Import these changes").click()
    page.wait_for_load_state()
    assert "Imported 1 change" in page.locator(".flashes").inner_text()
    assert "2 of 112 reported" in page.locator("#overall-completeness").inner_text()
    assert stored(assessment_id, DIRECT).computed_value == 120

    # A broken file: every problem by row and column, and nothing saved.
    broken = tmp_path / "broken.xlsx"
    workbook = load_workbook(io.BytesIO(template.read_bytes()))
    sheet = workbook["Values"]
    sheet["A3"] = "EC: NOPE: ICT: 9C"
    sheet["E4"] = "about forty"
    workbook.save(broken)
    page.get_by_role("link", name="Upload a filled-in template or CSV file").click()
    page.get_by_label("Spreadsheet (.xlsx) or CSV file").set_input_files(str(broken))
    page.get_by_role("button", name="Check the file").click()
    problems = page.locator("table#import-problems tbody tr")
    texts = [problems.nth(i).inner_text() for i in range(problems.count())]
    assert any(t.startswith("3\tcode") for t in texts), texts
    assert any(t.startswith("4\tvalue") for t in texts), texts
    assert page.get_by_role("button", name="Import these changes").count() == 0
    assert "nothing was saved" in page.locator("#error-summary").inner_text()


def test_inline_errors_keep_what_was_typed(page: Any, official: dict[str, Any]) -> None:
    assessment_id = official["assessment"].id
    log_in(page, official["editor"].email)
    page.goto(f"/assessments/{assessment_id}/categories/ec-ict-ict")
    item = page.locator("fieldset#item_ec_ict_ict_1c")
    item.get_by_label("Numerator").fill("300")
    item.get_by_label("Denominator").fill("200")
    page.get_by_role("button", name="Save this category").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert "cannot be larger than the denominator" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert (
        page.locator("fieldset#item_ec_ict_ict_1c").get_by_label("Numerator").input_value() == "300"
    )
    assert stored(assessment_id, SHARE) is None

"""Uploading local KPI values in headless Chromium (issue 21): the city editor finds the
labelled upload form on the local-KPI page, uploads a CSV, reads the preview, confirms, and
sees the values in the form; a bad file shows its problems by row. axe-core checks the
page and both previews (WCAG 2.1 AA)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kpi_app.models import Role
from kpi_app.services import local_kpis
from kpi_app.services.local_kpis import DefinitionInput
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import AXE_SOURCE_PATH, run_axe
from tests.browser.test_verification_journey import expect_flash, expect_main

#: Set to a folder to keep screenshots of the pages (for looking at them).
SHOTS = os.environ.get("KPI_SCREENSHOTS")


@pytest.fixture
def people(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("kyebi", name="Kyebi", country="GH")
    assessment = make_assessment(city, 2024)
    coordinator = make_user(Role.COORDINATOR, email="coordinator@u4ssc.example")
    editor = make_user(Role.CITY_EDITOR, city=city, email="editor@kyebi.example")
    for code, name, unit in (("WASTE-1", "Household waste recycled", "%"), ("TREES", "Trees", "")):
        local_kpis.create_kpi(
            city,
            DefinitionInput(code=code, name={"en": name}, unit=unit, value_type="percentage"),
            coordinator,
            ("en",),
        )
    return {"assessment": assessment, "editor": editor}


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def no_violations(page: Any) -> None:
    violations = run_axe(page, AXE_SOURCE_PATH.read_text(encoding="utf-8"))
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def test_editor_uploads_previews_and_confirms(
    page: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    assessment = people["assessment"]
    log_in(page, people["editor"].email)
    page.goto(f"/assessments/{assessment.id}/local-kpis")
    page.get_by_role("link", name="Upload values from a file").click()  # from the top
    section = page.locator("section#local-import")
    assert "Upload values from a file" in section.inner_text()
    shot(page, "local-values-page")
    no_violations(page)

    # A bad file: problems by row and column, nothing to confirm.
    bad = tmp_path / "bad.csv"
    bad.write_text("code,unit,value\nLOCAL:kyebi:WASTE-1,tonnes,12\nLOCAL:x:Y,,3\n")
    section.get_by_label("Spreadsheet (.xlsx) or CSV file").set_input_files(str(bad))
    section.get_by_role("button", name="Check the file").click()
    expect_main(page, "The file has 2 problem(s); nothing was saved")
    problems = page.locator("table#import-problems").inner_text()
    assert "does not match the unit" in problems and "another city" in problems
    assert page.get_by_role("button", name="Import these changes").count() == 0
    shot(page, "local-preview-errors")
    no_violations(page)

    # A good file: the preview lists the changes; confirming saves them.
    good = tmp_path / "local.csv"
    good.write_text(
        "code,unit,value,source,quality\n"
        "LOCAL:kyebi:WASTE-1,%,45,Waste department,2\n"
        "LOCAL:kyebi:TREES,,Not Reported,,\n"
    )
    page.get_by_role("link", name="Upload a corrected file").click()
    expect_main(page, "Codes of this city's local KPIs")
    shot(page, "local-import-page")
    no_violations(page)
    page.get_by_label("Spreadsheet (.xlsx) or CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect_main(page, "2 row(s) read: 2 change(s), 0 unchanged.")
    changes = page.locator("table#import-changes").inner_text()
    assert "LOCAL:kyebi:WASTE-1" in changes and "45" in changes and "not reported" in changes
    shot(page, "local-preview-changes")
    no_violations(page)
    page.get_by_role("button", name="Import these changes").click()
    expect_flash(page, "Imported 2 change(s) from local.csv.")
    box = page.locator("fieldset#kpi-WASTE-1")
    assert float(box.get_by_label("Value", exact=True).input_value()) == 45.0
    assert box.get_by_label("Data source").input_value() == "Waste department"

"""A city editor builds a scenario in Chromium: two KPI changes lift a dimension's band while
the baseline column (and the assessment) stay as they were."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role
from tests.browser.conftest import log_in

PM25_INPUT = "#value-EN-EN-AQ-1C-pm25"
NO2_INPUT = "#value-EN-EN-AQ-1C-no2"


def seed(make_city: Any, make_user: Any, make_assessment: Any) -> Any:
    city = make_city("harbourtown", name="Harbourtown")
    assessment = make_assessment(city, 2024)
    for point, value in (("pm25", 20.0), ("no2", 40.0)):
        db.session.add(
            IndicatorValue(
                assessment_id=assessment.id,
                code="EN: EN: AQ: 1C",
                data_point=point,
                computed_value=value,
                reported=True,
            )
        )
    db.session.commit()
    return make_user(Role.CITY_EDITOR, city)


def test_scenario_changes_two_kpis_and_the_dimension_band_moves(
    page: Any, make_city: Any, make_user: Any, make_assessment: Any
) -> None:
    editor = seed(make_city, make_user, make_assessment)
    log_in(page, editor.email)
    page.goto("/scenarios/")
    page.get_by_label("Assessment to start from").select_option(label="Harbourtown 2024")
    page.get_by_label("Name").fill("Clean air 2030")
    page.get_by_role("button", name="Create scenario").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Clean air 2030")).to_be_visible()

    environment = page.locator('#dimension-scores tr[data-group="EN"]')
    baseline_before = environment.locator("td.baseline").inner_text()
    assert "Less than 33% of Target" in baseline_before  # 2 of 8 points: 25 %

    page.locator(PM25_INPUT).fill("5")
    page.locator(NO2_INPUT).fill("10")
    # The script previews the new scores while typing (the form also works without it).
    expect(environment.locator("td.difference")).to_contain_text("preview", timeout=10_000)
    page.get_by_role("button", name="Recalculate and save").click()
    page.wait_for_load_state()

    environment = page.locator('#dimension-scores tr[data-group="EN"]')
    assert environment.locator("td.baseline").inner_text() == baseline_before
    assert "95%+ Target" in environment.locator("td.scenario").inner_text()
    difference = environment.locator("td.difference").inner_text()
    assert "up 75 points" in difference and "band 1 → 4 (higher)" in difference
    assert page.locator(PM25_INPUT).input_value() == "5.0"
    # The assessment itself is untouched.
    db.session.expire_all()
    stored = {v.data_point: v.value for v in db.session.scalars(db.select(IndicatorValue))}
    assert stored == {"pm25": 20.0, "no2": 40.0}

"""Local KPIs in headless Chromium, each person through their own pages (issue 21):

the coordinator defines two local KPIs → the city editor enters them and submits → the
verifier starts the review and verifies them → the coordinator publishes → an anonymous
visitor sees the "Local KPIs" block apart on the city page and downloads the VLR annex PDF,
which is read back.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader

from kpi_app.models import Role, Status
from kpi_app.services import workflow
from tests.browser.conftest import log_in
from tests.browser.test_verification_journey import (
    expect_flash,
    expect_main,
    log_out,
    open_review,
    status_of,
)
from tests.factories import add_value, decide_all

KPI = "EC: ICT: ICT: 1C"


@pytest.fixture
def people(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("kyebi", name="Kyebi", country="GH")
    assessment = make_assessment(city, 2024)
    coordinator = make_user(Role.COORDINATOR, email="coordinator@u4ssc.example")
    verifier = make_user(Role.VERIFIER, email="verifier@u4ssc.example")
    editor = make_user(Role.CITY_EDITOR, city=city, email="editor@kyebi.example")
    workflow.assign_verifier(assessment, verifier, coordinator)
    add_value(assessment, KPI, 95.5, actor=editor)  # one U4SSC value beside the local ones
    return {
        "assessment": assessment,
        "editor": editor,
        "verifier": verifier,
        "coordinator": coordinator,
    }


def define(page: Any, code: str, name: str, target: str = "", source: str = "") -> None:
    page.get_by_role("link", name="Define a local KPI").click()
    page.get_by_label("Code (local part)").fill(code)
    page.get_by_label("Name (English)").fill(name)
    page.get_by_label("Unit", exact=True).fill("%")
    page.get_by_label("Value type").select_option("percentage")
    page.get_by_label("SDG targets or indicators", exact=False).fill("11.6")
    if target:
        page.get_by_label("Benchmark (target)").fill(target)
        page.get_by_label("Source of the benchmark").fill(source)
    page.get_by_role("button", name="Save the local KPI").click()
    expect_flash(page, f"Local KPI LOCAL:kyebi:{code} defined.")


def test_coordinator_city_verifier_publish_public_block_and_vlr_pdf(
    page: Any, people: dict[str, Any]
) -> None:
    assessment = people["assessment"]

    # 1. The coordinator defines two local KPIs, one with a benchmark.
    log_in(page, people["coordinator"].email)
    page.goto("/cities/kyebi/local-kpis")
    define(page, "WASTE-1", "Household waste recycled", "60", "City climate plan 2030")
    define(page, "MARKETS", "Markets with running water")
    expect_main(page, "no benchmark (reported, not scored)")
    log_out(page)

    # 2. The city editor enters them from the assessment page and submits.
    log_in(page, people["editor"].email)
    page.get_by_role("link", name="Data entry").first.click()
    page.get_by_role("link", name="Kyebi", exact=True).click()
    page.get_by_role("link", name="Local KPIs of Kyebi").click()
    for code, value, source in (
        ("WASTE-1", "45", "Waste department"),
        ("MARKETS", "80", "Markets office"),
    ):
        box = page.locator(f"fieldset#kpi-{code}")
        box.get_by_label("Value", exact=True).fill(value)
        box.get_by_label("Data source").fill(source)
        box.get_by_label("Data quality (1-6)").select_option("2")
    page.get_by_role("button", name="Save the local KPI values").click()
    expect_flash(page, "2 local KPI values saved.")
    page.get_by_role("link", name="Back to the assessment").click()
    page.get_by_role("button", name="Submit for verification").click()
    expect_flash(page, "Submitted for verification")
    log_out(page)

    # 3. The verifier starts the review and verifies both local values on their page.
    log_in(page, people["verifier"].email)
    open_review(page, "Kyebi 2024 waits for your review")
    page.get_by_role("button", name="Start review").click()
    expect_flash(page, "Review started")
    page.goto(f"/assessments/{assessment.id}/local-kpis")
    for index in range(2):
        form = page.locator("form.local-decision").nth(index)
        form.get_by_label("Reason").select_option("source_checked")
        form.get_by_role("button", name="Record the decision").click()
        expect_flash(page, "Decision recorded.")
    decisions = page.locator("p.verification").all_inner_texts()
    assert len(decisions) == 2 and all(
        " ".join(d.split()) == "Verification: verified" for d in decisions
    )
    decide_all(assessment)  # the U4SSC value's decision (tested in the verification journey)
    open_review(page, "Kyebi 2024 waits for your review")
    page.get_by_role("button", name="Mark the assessment verified").click()
    expect_flash(page, "The assessment is verified")
    log_out(page)

    # 4. The coordinator publishes.
    log_in(page, people["coordinator"].email)
    open_review(page, "Kyebi 2024 is verified and can be published")
    page.get_by_role("button", name="Publish").click()
    expect_flash(page, "Published")
    assert status_of(assessment) is Status.PUBLISHED
    log_out(page)

    # 5. The public page shows the local block apart: 45 of 60 = 75 %, band 3.
    page.goto("/cities/kyebi/2024")
    expect_main(page, "Showing the published results.")
    block = page.locator("section#local-kpis")
    text = block.inner_text()
    assert "Local KPI score: 75 % (1 of 2 items scored)." in text
    assert "2 of 2 reported values verified." in text
    row = block.locator("tr", has_text="LOCAL:kyebi:WASTE-1").inner_text()
    assert "75 %" in row and "66–95% of Target" in row
    assert "LOCAL:" not in page.locator("#kpi-table").inner_text()  # U4SSC table: none

    # 6. The VLR annex PDF, linked from the city page, opened back.
    page.get_by_role("link", name="Voluntary Local Review annex (SDG targets)").click()
    expect_main(page, "Voluntary Local Review annex")
    href = page.get_by_role("link", name="VLR annex (PDF)").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    pdf = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Kyebi" in pdf and "Target 11.6" in pdf
    assert "LOCAL:kyebi:WASTE-1" in pdf and "Household waste recycled" in pdf
    assert "Local KPI definition" in pdf and "95.5" in pdf

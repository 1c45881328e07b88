"""The whole verification path in headless Chromium, each person through their own pages:

editor fills a KPI (data-entry UI) and submits → verifier starts the review, queries the value
and returns it → editor answers with a file attached and resubmits → verifier resolves the
query, verifies the value and the assessment → coordinator publishes → an anonymous visitor
sees the published, verified value on the city's public page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kpi_app.extensions import db
from kpi_app.models import QueryStatus, Role, Status, ValueQuery
from kpi_app.services import snapshots, workflow
from tests.browser.conftest import log_in

KPI = "EC: ICT: ICT: 1C"
WAIT_MS = 30_000  # generous: the shared test machine can be heavily loaded
TABLE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def people(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("harbourview", name="Harbourview")
    assessment = make_assessment(city, 2024)
    coordinator = make_user(Role.COORDINATOR, email="coordinator@u4ssc.example")
    verifier = make_user(Role.VERIFIER, email="verifier@u4ssc.example")
    workflow.assign_verifier(assessment, verifier, coordinator)
    return {
        "assessment": assessment,
        "editor": make_user(Role.CITY_EDITOR, city=city, email="editor@harbourview.example"),
        "verifier": verifier,
        "coordinator": coordinator,
    }


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def expect_flash(page: Any, text: str) -> None:
    """Wait for the new page's message (a click's navigation may still be under way)."""
    from playwright.sync_api import expect

    expect(page.locator(".flashes")).to_contain_text(text, timeout=WAIT_MS)


def expect_main(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("main")).to_contain_text(text, timeout=WAIT_MS)


def status_of(assessment: Any) -> Status:
    db.session.expire_all()
    return workflow.get_assessment(assessment.id).status  # type: ignore[union-attr]


def open_review(page: Any, inbox_text: str) -> None:
    page.get_by_role("link", name="Verification").first.click()
    page.get_by_role("link", name=inbox_text).click()
    page.wait_for_load_state()


def test_editor_verifier_coordinator_public(page: Any, people: dict[str, Any]) -> None:
    assessment = people["assessment"]

    # 1. The editor fills one KPI through the data-entry form and submits.
    log_in(page, people["editor"].email)
    page.get_by_role("link", name="Data entry").first.click()
    page.get_by_role("link", name="Harbourview", exact=True).click()
    page.get_by_role("link", name="ICT Infrastructure").click()
    item = page.locator("fieldset#item_ec_ict_ict_1c")
    item.get_by_label("Numerator").fill("47 712")
    item.get_by_label("Denominator").fill("100 000")
    item.get_by_label("Data quality").select_option("2")
    item.get_by_label("Source", exact=True).fill("Household survey 2024")
    page.get_by_role("button", name="Save this category").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Back to Harbourview 2024").click()
    page.get_by_role("button", name="Submit for verification").click()
    page.wait_for_load_state()
    expect_flash(page, "Submitted for verification")
    assert status_of(assessment) is Status.SUBMITTED
    log_out(page)

    # 2. The verifier starts the review, queries the value and returns the assessment.
    log_in(page, people["verifier"].email)
    open_review(page, "Harbourview 2024 waits for your review")
    page.get_by_role("button", name="Start review").click()
    expect_flash(page, "Review started")
    page.get_by_role("link", name=f"Review {KPI}").click()
    page.get_by_label("Message").fill("Does the survey cover all districts?")
    page.get_by_role("button", name="Send query").click()
    expect_flash(page, "Query sent to the city")
    page.get_by_role("link", name="Back to the review of Harbourview 2024").click()
    page.get_by_label("Reason").fill("One question on household Internet access.")
    page.get_by_role("button", name="Return to the city").click()
    expect_flash(page, "Returned to the city")
    assert status_of(assessment) is Status.RETURNED
    log_out(page)

    # 3. The editor sees the question on the assessment page, answers and resubmits.
    log_in(page, people["editor"].email)
    page.get_by_role("link", name="Data entry").first.click()
    page.get_by_role("link", name="Harbourview", exact=True).click()
    page.get_by_role("link", name="Questions from the verifier").click()
    expect_main(page, "Does the survey cover all districts?")
    page.get_by_label("Your reply").fill("Yes, all twelve districts; see table 4.")
    page.get_by_label("Attach a file (optional)").set_input_files(
        {"name": "table4.pdf", "mimeType": "application/pdf", "buffer": TABLE_PDF}
    )
    page.get_by_role("button", name="Send reply").click()
    expect_flash(page, "Reply sent with table4.pdf")
    expect_main(page, "Answered: waiting for the verifier")
    page.get_by_role("button", name="Submit for verification").click()
    expect_flash(page, "Submitted for verification")
    assert status_of(assessment) is Status.SUBMITTED
    log_out(page)

    # 4. The verifier resolves the query, verifies the value, then the assessment.
    log_in(page, people["verifier"].email)
    open_review(page, "Harbourview 2024 waits for your review")
    page.get_by_role("button", name="Start review").click()
    expect_flash(page, "Review started")
    page.get_by_role("link", name=f"Review {KPI}").click()
    expect_main(page, "Yes, all twelve districts")
    expect_main(page, "Attached: table4.pdf")  # the reply's file, now evidence of the value
    page.get_by_role("button", name="Resolve query").click()
    expect_flash(page, "Query resolved")
    page.get_by_role("radio", name="Yes").check()
    page.get_by_label("Reason", exact=True).select_option("source_checked")
    page.get_by_role("button", name="Save verification").click()
    expect_flash(page, "Verification saved")
    page.get_by_role("link", name="Back to the review of Harbourview 2024").click()
    page.get_by_role("button", name="Mark the assessment verified").click()
    expect_flash(page, "The assessment is verified")
    log_out(page)

    # 5. The coordinator publishes.
    log_in(page, people["coordinator"].email)
    open_review(page, "Harbourview 2024 is verified and can be published")
    page.get_by_role("button", name="Publish").click()
    expect_flash(page, "Published")
    assert status_of(assessment) is Status.PUBLISHED
    log_out(page)

    # 6. Anyone sees the published, verified value on the public city page.
    page.goto("/cities/harbourview/2024")
    expect_main(page, "Showing the published results.")
    expect_main(page, "1 of 1 reported values verified.")
    row = page.locator("#kpi-table tr", has_text=KPI)
    cells = row.inner_text()
    assert "47.71" in cells and "yes" in cells

    query = db.session.scalar(db.select(ValueQuery))
    assert query.status is QueryStatus.RESOLVED and len(query.messages) == 2
    snapshot = snapshots.latest(assessment.id)
    assert snapshot is not None
    assert [v["value"] for v in snapshot.content["values"] if v["code"] == KPI] == [
        pytest.approx(47.712)
    ]

"""Issue 15's target, in headless Chromium: a verifier verifies a 112-value assessment with 3
values flagged by the screening in at most 15 interactions, through the review table.

Every click, fill and choice is counted. Before the review table, each value needed its own
page (open it, tick "Yes", choose a reason, save, go back: 5 interactions per value, 560 for
112 values, plus logging in and the workflow buttons).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kpi_app.extensions import db
from kpi_app.models import Role, Status
from kpi_app.services import screening, workflow
from tests.factories import PASSWORD, add_value, set_status

VALUES = 112
FLAGGED = 3
BUDGET = 15
WAIT_MS = 30_000


class Counted:
    """The page's interactions, counted (one per click, fill or choice)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0

    def click(self, locator: Any) -> None:
        self.count += 1
        locator.click()
        self.page.wait_for_load_state()

    def fill(self, locator: Any, text: str) -> None:
        self.count += 1
        locator.fill(text)

    def choose(self, locator: Any, value: str) -> None:
        self.count += 1
        locator.select_option(value)


def _plain_value(item: Any) -> float:
    if item.is_boolean:
        return 1.0
    low, high = item.plausible_min, item.plausible_max
    if low is not None and high is not None:
        return float(low + (high - low) / 4)
    if low is not None:
        return float(low) + 1.0
    return 1.0 if high is None or high >= 1 else float(high) / 2


@pytest.fixture
def review_world(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
    catalogue: Any,
) -> dict[str, Any]:
    city = make_city("harbourview", name="Harbourview")
    assessment = make_assessment(city, 2024)
    editor = make_user(Role.CITY_EDITOR, city=city)
    verifier = make_user(Role.VERIFIER, email="verifier@u4ssc.example")
    coordinator = make_user(Role.COORDINATOR)
    workflow.assign_verifier(assessment, verifier, coordinator)
    items = list(catalogue.items())[:VALUES]
    rows = {
        item.key: add_value(
            assessment, item.code, _plain_value(item), item.data_point, actor=editor
        )
        for item in items
    }
    # Shares that add up and treatment levels in order (the consistency rules), ...
    for rule in screening.consistency_rules(catalogue):
        for point in rule.data_points:
            if (rule.code, point) in rows:
                share = rule.total / len(rule.data_points) if rule.kind == "sum" else 50.0
                rows[(rule.code, point)].computed_value = share
    db.session.commit()
    # ... then quiet every other screening hint, and raise exactly three (values above range).
    for _attempt in range(5):
        flagged = set(screening.screen_assessment(assessment, None).counts())
        if not flagged:
            break
        for key in flagged:
            rows[key].computed_value = 0.0
        db.session.commit()
    assert not screening.screen_assessment(assessment, None).flags
    bounded = [i for i in items if i.plausible_max is not None and not i.is_boolean]
    for item in bounded[:FLAGGED]:
        rows[item.key].computed_value = float(item.plausible_max) * 10 + 1
    db.session.commit()
    assert len(screening.screen_assessment(assessment, None).counts()) == FLAGGED
    set_status(assessment, Status.SUBMITTED)
    return {"assessment": assessment, "verifier": verifier}


def test_verify_112_values_with_3_flagged_in_at_most_15_interactions(
    page: Any, review_world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    assessment = review_world["assessment"]
    ui = Counted(page)
    page.goto("/auth/login")
    ui.fill(page.get_by_label("E-mail"), review_world["verifier"].email)
    ui.fill(page.get_by_label("Password"), PASSWORD)
    ui.click(page.get_by_role("button", name="Log in"))
    # The verifier lands on their to-do list.
    ui.click(page.get_by_role("link", name="Harbourview 2024 waits for your review"))
    ui.click(page.get_by_role("button", name="Start review"))
    expect(page.locator(".flashes")).to_contain_text("Review started", timeout=WAIT_MS)

    ui.choose(page.get_by_label("Verified because"), "source_checked")
    ui.click(
        page.get_by_role(
            "button", name=f"Verify the {VALUES - FLAGGED} values shown without screening flags"
        )
    )
    expect(page.locator(".flashes")).to_contain_text(
        f"{VALUES - FLAGGED} values verified.", timeout=WAIT_MS
    )

    for _n in range(FLAGGED):
        target = page.locator("#next-flagged")
        href = target.get_attribute("href")
        row_id = href.rsplit("#", 1)[1]
        row = page.locator(f"tr#{row_id}")
        ui.choose(row.get_by_label("Decision on", exact=False), "recalculated")
        ui.click(row.get_by_role("button", name="Save"))
        expect(page.locator(".flashes")).to_contain_text("decision saved", timeout=WAIT_MS)

    expect(page.locator("#verified-share")).to_contain_text(
        f"{VALUES} of {VALUES} reported values verified", timeout=WAIT_MS
    )
    ui.click(page.get_by_role("button", name="Mark the assessment verified"))
    expect(page.locator(".flashes")).to_contain_text("The assessment is verified", timeout=WAIT_MS)

    db.session.expire_all()
    assert workflow.get_assessment(assessment.id).status is Status.VERIFIED  # type: ignore[union-attr]
    share = workflow.verified_share(workflow.get_assessment(assessment.id))  # type: ignore[arg-type]
    assert (share.verified, share.reported) == (VALUES, VALUES)
    print(f"\n{VALUES} values, {FLAGGED} flagged: verified in {ui.count} interactions")
    assert ui.count <= BUDGET


def test_a_row_decision_works_with_the_keyboard_alone(
    page: Any, review_world: dict[str, Any]
) -> None:
    """Tab into a row's decision, pick a reason with the arrow keys, save with Enter."""
    from playwright.sync_api import expect

    assessment = review_world["assessment"]
    set_status(assessment, Status.IN_REVIEW)
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(review_world["verifier"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/verification/", timeout=WAIT_MS)
    page.goto(f"/verification/assessments/{assessment.id}")
    row_id = page.locator("#next-flagged").get_attribute("href").rsplit("#", 1)[1]
    value_id = row_id.removeprefix("row-")
    # From the row's selection box, the keyboard moves on to its decision controls.
    page.locator(f"#sel-{value_id}").focus()
    page.keyboard.press("Tab")
    expect(page.locator(f"#d{value_id}-code")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first "verified" reason
    page.keyboard.press("Tab")
    expect(page.locator(f"#d{value_id}-note")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".flashes")).to_contain_text("decision saved", timeout=WAIT_MS)
    db.session.expire_all()
    value = workflow.get_value(int(value_id))
    assert value is not None and value.verified is True
    assert value.verification_code == "source_checked"

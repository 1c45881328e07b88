"""The data-entry journey with the keyboard alone, and a category form saved without JavaScript.

A city editor logs in, opens the data-entry area, an assessment and a category form, makes a
mistake and corrects it, pressing only Tab, Shift+Tab, Enter and typing. Along the way the test
checks what a manual WCAG audit would: the skip link comes first and moves focus to the main
content (2.4.1), the tab order follows the reading order (2.4.3), every focused element shows
a visible focus indicator (2.4.7), focus can always move on (no keyboard trap, 2.1.2), and form
errors are announced (role=alert summary linking to the fields, aria-invalid and
aria-describedby on each field; 3.3.1).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import DemoSite, open_context, shared_demo_site

MAX_TABS = 400  # more focusable stops than any page has: reaching it means focus is stuck
# Direct-entry numeric items (no numerator/denominator): typing a value is all they need.
DIRECT_VALUE_INPUT = (
    "fieldset.item:not(:has([name$='-numerator'])):not([disabled]) input[type=text][name$='-value']"
)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> DemoSite:
    return shared_demo_site(tmp_path_factory, pytestconfig)


FOCUS_STATE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        name: el.getAttribute('name') || '',
        href: el.getAttribute('href') || '',
        text: (el.innerText || el.value || '').trim().slice(0, 60),
        order: el.getAttribute('data-kb-order'),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
        shadow: style.boxShadow !== 'none',
        onScreen: rect.width > 0 && rect.height > 0 && rect.right > 0 &&
                  rect.left < window.innerWidth,
    };
}"""

# Number every element a Tab press should reach, in document order: visible, enabled, not
# removed from the order (tabindex=-1), one stop per radio group (the checked radio or first).
MARK_TAB_STOPS = """() => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
                     '[tabindex]';
    const groups = new Set();
    let n = 0;
    for (const el of document.querySelectorAll(selector)) {
        if (el.disabled || el.tabIndex < 0 || !el.checkVisibility()) continue;
        if (el.type === 'radio') {
            const group = el.form ? el.form.elements[el.name] : [el];
            const stop = [...group].find(r => r.checked) || group[0];
            if (el !== stop || groups.has(el.name)) continue;
            groups.add(el.name);
        }
        el.setAttribute('data-kb-order', String(n++));
    }
    return n;
}"""


def focus_state(page: Any) -> dict[str, Any] | None:
    state: dict[str, Any] | None = page.evaluate(FOCUS_STATE)
    return state


def tab_until(page: Any, wanted: str, *, backwards: bool = False) -> dict[str, Any]:
    """Press Tab until the focused element matches the CSS selector `wanted`, checking that
    every stop on the way shows a focus indicator."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        state = focus_state(page)
        if state is None:
            continue
        assert state["outline"] or state["shadow"], f"no visible focus on {state}"
        if page.evaluate("(s) => document.activeElement.matches(s)", wanted):
            return state
    raise AssertionError(f"{wanted!r} never received focus after {MAX_TABS} Tab presses")


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(
    browser: Any, demo_site: DemoSite
) -> None:
    context = open_context(browser, demo_site)
    page = context.new_page()
    try:
        page.goto("/indicators")
        page.keyboard.press("Tab")
        state = focus_state(page)
        assert state is not None and "skip-link" in page.evaluate(
            "document.activeElement.className"
        )
        assert state["onScreen"], "the skip link must become visible when focused"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        # The next Tab continues inside the main content, not back in the header.
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('main')")
    finally:
        context.close()


def test_tab_order_follows_reading_order_with_visible_focus_and_no_trap(
    browser: Any, demo_site: DemoSite
) -> None:
    """Every stop of the data-entry form, in DOM order, each visibly focused; then focus
    leaves the page (no trap)."""
    samples = demo_site.samples["city_editor"]
    context = open_context(browser, demo_site, "city_editor")
    page = context.new_page()
    try:
        page.goto(f"/assessments/{samples['assessment_id']}/categories/{samples['category_slug']}")
        stops = page.evaluate(MARK_TAB_STOPS)
        assert stops > 10, "the category form should have many fields"
        positive = page.locator("[tabindex]").evaluate_all(
            "els => els.filter(e => e.tabIndex > 0).map(e => e.outerHTML.slice(0, 80))"
        )
        assert positive == [], f"a positive tabindex reorders the page: {positive}"
        visited = []
        for _ in range(stops + 1):
            page.keyboard.press("Tab")
            state = focus_state(page)
            if state is None:
                break  # focus left the document: the end of the page was reached
            assert state["outline"] or state["shadow"], f"no visible focus on {state}"
            assert state["onScreen"], f"focused element is off screen: {state}"
            visited.append(int(state["order"]) if state["order"] is not None else state)
        assert visited == list(range(stops)), f"tab order differs from reading order: {visited}"
        # Shift+Tab walks back from the end: focus is never trapped in a widget.
        page.keyboard.press("Shift+Tab")
        back = focus_state(page)
        assert back is not None and back["order"] == str(stops - 1)
    finally:
        context.close()


def test_data_entry_journey_with_the_keyboard_alone(browser: Any, demo_site: DemoSite) -> None:
    samples = demo_site.samples["city_editor"]
    assessment_url = f"/assessments/{samples['assessment_id']}"
    category_url = f"{assessment_url}/categories/{samples['category_slug']}"
    context = open_context(browser, demo_site)  # logs in below, by keyboard
    page = context.new_page()
    try:
        page.goto("/auth/login")
        tab_until(page, "input[name=email]")
        page.keyboard.type(demo_site.email("city_editor"))
        tab_until(page, "input[name=password]")
        page.keyboard.type(demo_site.password("city_editor"))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/auth/login" not in page.url

        for target in (
            "header a[href='/assessments/']",
            f"main a[href='{assessment_url}']",
            f"main a[href='{category_url}']",
        ):
            tab_until(page, target)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert page.url.endswith(category_url)

        field_id = page.eval_on_selector(DIRECT_VALUE_INPUT, "el => el.id")
        # A mistake: text where a number belongs. Enter submits the form (implicit submission).
        tab_until(page, f"#{field_id}")
        page.keyboard.press("Control+A")
        page.keyboard.type("twelve")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        summary = page.locator(".error-summary[role=alert]")
        expect(summary).to_be_visible()  # errors are announced in a role=alert summary
        field = page.locator(f"#{field_id}")
        assert field.get_attribute("aria-invalid") == "true"
        message_id = next(
            part
            for part in (field.get_attribute("aria-describedby") or "").split()
            if part.endswith("-error")
        )
        assert page.locator(f"#{message_id}").inner_text().strip()
        assert field.input_value() == "twelve", "what the user typed must be kept"

        # The summary links to the field: follow the link with the keyboard.
        tab_until(page, f".error-summary a[href='#{field_id}']")
        page.keyboard.press("Enter")
        page.wait_for_function("(id) => location.hash === '#' + id", arg=field_id)
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.id") == field_id

        page.keyboard.press("Control+A")
        page.keyboard.type("12")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        status = page.locator(".flashes[role=status]")
        assert re.search(r"Saved: \d+ item", status.inner_text())
        assert page.locator(f"#{field_id}").input_value() in {"12", "12.0", "12.00"}
    finally:
        context.close()


def test_a_category_form_saves_without_javascript(browser: Any, demo_site: DemoSite) -> None:
    samples = demo_site.samples["city_editor"]
    category_url = f"/assessments/{samples['assessment_id']}/categories/{samples['category_slug']}"
    context = open_context(browser, demo_site, "city_editor", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(category_url)
        inputs = page.locator(DIRECT_VALUE_INPUT)
        field_id = inputs.nth(inputs.count() - 1).get_attribute("id")
        page.fill(f"#{field_id}", "7")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert page.url.endswith(category_url), "a valid save redirects back to the form"
        assert "Saved:" in page.locator(".flashes").inner_text()
        assert page.locator(f"#{field_id}").input_value() in {"7", "7.0", "7.00"}
    finally:
        context.close()

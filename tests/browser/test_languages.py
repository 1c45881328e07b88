"""The six UN languages in a real browser: the switcher, the mirrored Arabic layout, reflow.

tests/web/test_i18n.py checks the markup of every page; this module checks what only a
browser shows: that the language form works without JavaScript, that Arabic is laid out from
right to left, and that translated (often longer) text still fits a 320 px screen.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_accessibility import (
    DemoSite,
    open_context,
    shared_demo_site,
    sideways_overflow,
)

LANGUAGES = ("en", "fr", "es", "ar", "zh", "ru")
KEY_PAGES = ("/", "/auth/login", "/indicators", "/cities/nordvik", "/accessibility")


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> DemoSite:
    return shared_demo_site(tmp_path_factory, pytestconfig)


def test_the_language_form_switches_language_without_javascript(
    browser: Any, demo_site: DemoSite
) -> None:
    context = open_context(browser, demo_site, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/indicators")
        english_heading = page.locator("h1").inner_text()
        for language in LANGUAGES[1:]:
            page.select_option("#lang-select", language)
            page.locator(".lang-switch button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == language
            assert page.locator("h1").inner_text() != english_heading, language
        # The choice is remembered for the next page.
        page.goto("/accessibility")
        assert page.locator("html").get_attribute("lang") == LANGUAGES[-1]
    finally:
        context.close()


def test_arabic_pages_are_mirrored(browser: Any, demo_site: DemoSite) -> None:
    context = open_context(browser, demo_site)
    page = context.new_page()
    try:
        for url in KEY_PAGES:
            page.goto(f"{url}?lang=ar")
            layout = page.evaluate(
                """() => {
                    const main = document.querySelector('main').getBoundingClientRect();
                    const h1 = document.querySelector('h1');
                    const range = document.createRange();
                    range.selectNodeContents(h1);
                    const text = range.getBoundingClientRect();
                    return {
                        direction: getComputedStyle(document.body).direction,
                        gapRight: main.right - text.right,
                        gapLeft: text.left - main.left,
                    };
                }"""
            )
            assert layout["direction"] == "rtl", url
            # The heading starts at the right-hand edge of the content column.
            assert layout["gapRight"] < layout["gapLeft"], f"{url}: {layout}"
    finally:
        context.close()


@pytest.mark.parametrize("language", ["fr", "ar", "ru"])
def test_translated_pages_fit_a_narrow_screen(
    browser: Any, demo_site: DemoSite, language: str
) -> None:
    """French and Russian run longest, Arabic runs right to left: none may scroll sideways."""
    context = open_context(browser, demo_site, viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        problems = {}
        for url in KEY_PAGES:
            page.goto(f"{url}?lang={language}")
            overflow = sideways_overflow(page)
            if overflow:
                problems[url] = overflow
    finally:
        context.close()
    assert problems == {}

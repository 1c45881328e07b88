"""Issue 15's data-entry findings, through the test client: next/previous category and a
category list with progress, decimal keyboards, focus on the error summary, "not a number"
for words, one error (and no computed value) for a negative numerator, notices only about
the fields that changed, and the main field labelled "Value"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from kpi_app.models import Role
from kpi_app.services import values
from tests.factories import login

ICT = "/assessments/{id}/categories/ec-ict-ict"
P = "item_ec_ict_ict_1c-"  # Household Internet Access (numerator ÷ denominator)
DIRECT = "item_ec_ict_ict_5c-"  # Public Wi-Fi hotspots (a count)


@pytest.fixture
def editor(
    client: FlaskClient,
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> tuple[FlaskClient, Any]:
    city = make_city("lakeside")
    assessment = make_assessment(city, 2024)
    login(client, make_user(Role.CITY_EDITOR, city=city).email)
    return client, assessment


def html_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_category_pages_link_previous_next_and_all_categories(editor, catalogue):
    client, a = editor
    order = list(catalogue.categories)
    at = next(n for n, c in enumerate(order) if c.id == "EC: ICT: ICT")
    page = html_of(client.get(ICT.format(id=a.id)))
    slug = order[at + 1].id.lower().replace(": ", "-")
    assert f'rel="next" href="/assessments/{a.id}/categories/{slug}"' in page
    assert f"Next: {order[at + 1].label('en')}" in page
    if at:
        assert f"Previous: {order[at - 1].label('en')}" in page
    assert f"Category {at + 1} of {len(order)}" in page
    listed = re.findall(r'<li><a href="/assessments/\d+/categories/([a-z-]+)"', page)
    assert len(listed) == len(order) - 1  # every other category, the current one in bold
    assert (
        len(re.findall(r'</a> <span class="hint">0 of \d+ reported</span>', page)) == len(order) - 1
    )
    first = order[0].id.lower().replace(": ", "-")
    first_page = html_of(client.get(f"/assessments/{a.id}/categories/{first}"))
    assert 'rel="prev"' not in first_page and 'rel="next"' in first_page


def test_number_fields_ask_for_a_decimal_keyboard_and_the_label_is_value(editor):
    client, a = editor
    page = html_of(client.get(ICT.format(id=a.id)))
    for name in ("numerator", "denominator", "value"):
        field = re.search(rf'<input[^>]*name="{P}{name}"[^>]*>', page).group(0)
        assert 'inputmode="decimal"' in field, name
    assert re.search(rf'<label for="{P}value">Value</label>', page)
    assert "Value entered directly (override)" not in page


def test_words_are_not_a_number(editor):
    client, a = editor
    response = client.post(ICT.format(id=a.id), data={DIRECT + "value": "twelve thousand"})
    page = html_of(response)
    assert response.status_code == 400
    assert "“twelve thousand” is not a number." in page
    assert "thousands separators in the wrong places" not in page


def test_failed_save_focuses_the_error_summary(editor):
    client, a = editor
    page = html_of(client.post(ICT.format(id=a.id), data={DIRECT + "value": "-4"}))
    summary = re.search(r'<div class="error-summary"[^>]*>', page).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary


def test_negative_numerator_gives_one_error_and_no_computed_value(editor):
    client, a = editor
    response = client.post(
        ICT.format(id=a.id), data={P + "numerator": "-5", P + "denominator": "10"}
    )
    page = html_of(response)
    assert response.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert summary.count("<li>") == 1 and "The numerator cannot be negative." in summary
    assert "cannot be negative" not in page.replace(summary, "").replace(
        "The numerator cannot be negative.", ""
    )
    assert "Computed value:" not in re.sub(r'data-label="[^"]*"', "", page)
    assert values.records_by_key(a) == {}


def test_notices_only_for_the_fields_that_changed(editor):
    client, a = editor
    first = {
        P + "numerator": "95\u00a0424",
        P + "denominator": "1\u00a0000\u00a0000",
        P + "version": "0",
        P + "quality": "2",
        P + "source": "Census",
    }
    saved = html_of(client.post(ICT.format(id=a.id), data=first, follow_redirects=True))
    assert "was read as 95424" in saved
    record = values.records_by_key(a)[("EC: ICT: ICT: 1C", "")]
    again = first | {
        P + "version": str(record.version),
        DIRECT + "value": "12",
        DIRECT + "version": "0",
        DIRECT + "quality": "1",
        DIRECT + "source": "Register",
    }
    page = html_of(client.post(ICT.format(id=a.id), data=again, follow_redirects=True))
    assert "Saved: 1 item(s) changed." in page
    assert "was read as 95424" not in page  # the untouched item is not reported again


def test_long_help_is_folded(editor, catalogue):
    client, a = editor
    page = html_of(client.get(ICT.format(id=a.id)))
    category = catalogue.category("EC: ICT: ICT")
    long_help = [k for k in category.indicators if len(k.help.get("en", "")) > 160]
    assert long_help  # the category has long explanations
    folded = re.findall(r'<details class="kpi-help"><summary>How to measure it</summary>', page)
    assert len(folded) == len(long_help)

"""The city page's local KPIs wheel (issue 21): a second, smaller wheel inside the separate
"Local KPIs" block, shown only when the viewer may see local KPIs there; the U4SSC wheel
stays byte for byte what it was."""

from __future__ import annotations

import re

import pytest

from kpi_app.models import Role, Status
from kpi_app.services import reports
from tests.factories import add_values, login, publish, set_status
from tests.integration.test_local_kpi_pdfs import add_local_kpis, define

PAGE = "/cities/kyebi/2024"


@pytest.fixture
def kyebi(make_city, make_assessment, make_user):
    city = make_city("kyebi", name="Kyebi", country="GH")
    assessment = make_assessment(city, year=2024)
    add_values(assessment)
    people = {
        "coordinator": make_user(Role.COORDINATOR),
        "editor": make_user(Role.CITY_EDITOR, city),
    }
    return assessment, people


def u4ssc_wheel(html: str) -> str:
    """The benchmarking wheel's SVG as the page shows it."""
    found = re.search(r'<div class="chart-svg chart-wide" id="wheel"[^>]*>(.*?)</div>', html, re.S)
    return found[1]


def local_part(html: str) -> str:
    return html[html.index('id="local-kpis"') :]


def test_the_local_wheel_sits_in_the_local_block_and_the_u4ssc_wheel_is_unchanged(client, kyebi):
    assessment, p = kyebi
    publish(assessment)
    before = client.get(PAGE).get_data(as_text=True)
    assert "local-wheel" not in before and 'id="local-kpis"' not in before
    wheel_before = u4ssc_wheel(before)
    with client.application.test_request_context("/"):
        profile = reports.city_profile("kyebi", 2024, None)
        assert wheel_before == reports.wheel_svg(profile, legend=False)

    # The city adds local KPIs and publishes them (a new publication of the same year).
    set_status(assessment, Status.DRAFT)  # reopened by hand: the values need a draft
    add_local_kpis(assessment, p["coordinator"], p["editor"])
    publish(assessment)
    html = client.get(PAGE).get_data(as_text=True)
    assert u4ssc_wheel(html) == wheel_before  # byte for byte
    assert "local-wheel" not in html[: html.index('id="local-kpis"')]
    block = local_part(html)
    # A figure of its own with a heading, an accessible name and a caption pointing at the table.
    assert '<h3 id="local-wheel-h">Local KPIs wheel</h3>' in block
    assert 'aria-label="Local KPIs wheel: not part of the U4SSC score"' in block
    assert "The table below gives every figure." in block
    svg = re.search(r'(<svg[^>]*class="local-wheel-svg".*?</svg>)', block, re.S)[1]
    assert "Local KPIs of Kyebi, 2024: not part of the U4SSC score" in svg  # its <title>
    assert ">Local KPIs — not part of the U4SSC score</text>" in svg
    segments = re.findall(r'data-band="(\d)" data-item="([^"]+)"', svg)
    assert segments == [("3", "WASTE-1")]  # TREES has no benchmark: listed, not drawn
    assert 'data-unscored="TREES"' in svg and "TREES · Street trees planted" in svg
    assert ">WASTE-1 · 75 %</text>" in svg and ">75 % · 3</text>" in svg
    # The table (the text equivalent) follows the wheel.
    assert block.index("local-wheel-svg") < block.index('id="local-kpi-table"')


def test_who_sees_the_local_wheel_follows_the_local_block(client, kyebi):
    assessment, p = kyebi
    publish(assessment)  # published without local KPIs
    set_status(assessment, Status.DRAFT)
    add_local_kpis(assessment, p["coordinator"], p["editor"])  # live only, for now
    public = client.get(PAGE).get_data(as_text=True)
    assert "Showing the published results." in public
    assert "local-wheel" not in public and 'id="local-kpis"' not in public
    login(client, p["editor"].email)
    live = client.get(PAGE + "?source=live").get_data(as_text=True)
    assert "Showing live data" in live
    assert 'class="local-wheel-svg"' in local_part(live)
    client.post("/auth/logout")

    publish(assessment)  # published with them: the public sees the frozen copy
    public = client.get(PAGE).get_data(as_text=True)
    assert 'class="local-wheel-svg"' in local_part(public)


def test_a_city_with_only_unbenchmarked_local_kpis_gets_no_ring(client, kyebi):
    assessment, p = kyebi
    define(assessment.city, p["coordinator"], "TREES", "Street trees planted", None)
    publish(assessment)
    block = local_part(client.get(PAGE).get_data(as_text=True))
    assert "data-item=" not in block  # no segment: nothing is scored
    assert 'data-unscored="TREES"' in block

"""Local KPIs in the city PDFs (issue 21): a section of their own after the U4SSC sections,
with values, unit, benchmark, band and their own wheel; the PDFs' fingerprint follows the
local data; published PDFs stay deterministic and keep the local KPIs as published."""

from __future__ import annotations

import re

import pytest

from kpi_app.extensions import db
from kpi_app.models import LocalKpiSnapshot, LocalKpiValue, Role
from kpi_app.services import local_kpi_reports, local_kpis, reports
from kpi_app.services.local_kpis import DefinitionInput, ValueInput
from kpi_app.web.dashboards import pdf, pdf_jobs
from tests.factories import add_values, login, publish
from tests.integration.test_reports import pdf_text

LANGS = ("en", "fr", "es", "ar", "zh", "ru")
SNAPSHOT = "/cities/kyebi/2024/download/snapshot.pdf"
REPORT = "/cities/kyebi/2024/download/verification-report.pdf"


def define(city, actor, code, name, target, source=None, **extra):
    data = DefinitionInput(
        code=code,
        name={"en": name},
        unit=extra.pop("unit", "%"),
        value_type=extra.pop("value_type", "percentage"),
        benchmark_target=target,
        benchmark_source=source,
        sdg_refs=["11.6"],
        **extra,
    )
    return local_kpis.create_kpi(city, data, actor, LANGS)


def add_local_kpis(assessment, coordinator, editor, *, values=True):
    """WASTE-1: 45 of a 60 % target = 75 %, band 3; TREES: no benchmark, not scored."""
    city = assessment.city
    waste = define(city, coordinator, "WASTE-1", "Household waste recycled", 60.0, "Climate plan")
    trees = define(city, coordinator, "TREES", "Street trees planted", None, unit="trees")
    if not values:
        return waste, trees
    local_kpis.save_values(
        assessment,
        [
            ValueInput(kpi_id=waste.id, value=45.0, source="Waste office", quality=2),
            ValueInput(kpi_id=trees.id, value=1200.0, source="Parks office", quality=3),
        ],
        editor,
    )
    return waste, trees


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


def flat(data: bytes) -> str:
    return re.sub(r"\s+", " ", pdf_text(data)[1])


def test_published_pdfs_have_a_local_section_after_the_u4ssc_ones(client, kyebi):
    assessment, p = kyebi
    add_local_kpis(assessment, p["coordinator"], p["editor"])
    publish(assessment)
    for url in (SNAPSHOT, REPORT):
        response = client.get(url)
        assert response.mimetype == "application/pdf", url
        text = flat(response.data)
        start = text.index("Local KPIs Indicators defined by the city itself")
        # Every U4SSC section comes first; the local section is last and says it is apart.
        assert text.index("Next steps") < start
        local = text[start:]
        assert "not part of the U4SSC scores" in local
        assert "Local KPI score: 75 % (1 of 2 items scored)." in local
        assert "Local KPIs — not part of the U4SSC score" in local  # the wheel's heading
        assert "WASTE-1 · 75 %" in local  # the wheel's segment label
        assert "Listed, not scored (no benchmark):" in local and "TREES · Street" in local
        # The table: value with its unit, benchmark, its source, % of target, band.
        row = local[local.index("Household waste recycled LOCAL:kyebi:WASTE-1") :]
        assert row.startswith(
            "Household waste recycled LOCAL:kyebi:WASTE-1 45 % 60 % Climate plan 75 % "
            "3 · 66–95% of Target no"  # published without a verification decision
        ), row[:160]
        assert "Street trees planted LOCAL:kyebi:TREES 1,200 trees no benchmark" in local
        assert "LOCAL:" not in text[:start]  # the U4SSC sections know nothing of them


def test_no_local_section_without_local_kpis_and_u4ssc_part_unchanged(client, kyebi):
    assessment, p = kyebi
    publish(assessment)
    before = client.get(SNAPSHOT).data
    text = flat(before)
    assert "Local KPIs" not in text and "LOCAL:" not in text
    with client.application.test_request_context("/?lang=en"):
        profile = reports.city_profile("kyebi", 2024, None, "published")
        assert pdf.render_pdf(profile, "snapshot") == before  # deterministic, byte for byte
        wheel = reports.wheel_svg(profile)
    # Local KPIs defined afterwards, live only: the published PDF and its wheel are the same.
    add_local_kpis(assessment, p["coordinator"], p["editor"], values=False)
    with client.application.test_request_context("/?lang=en"):
        profile = reports.city_profile("kyebi", 2024, None, "published")
        assert reports.wheel_svg(profile) == wheel
        assert pdf.render_pdf(profile, "snapshot") == before
    assert client.get(SNAPSHOT).data == before


def test_the_fingerprint_follows_the_local_data_and_published_pdfs_keep_theirs(client, kyebi):
    assessment, p = kyebi
    waste, _trees = add_local_kpis(assessment, p["coordinator"], p["editor"])
    publish(assessment)
    app = client.application

    def digest(source: str, user=None) -> str:
        with app.test_request_context("/?lang=en"):
            return pdf_jobs._plan("kyebi", 2024, "snapshot", user, source).digest

    published, live = digest("published"), digest("live", p["editor"])
    first = client.get(SNAPSHOT).data
    # A live local value changes after publication: a new live file, never a new published one.
    row = db.session.scalar(db.select(LocalKpiValue).where(LocalKpiValue.local_kpi_id == waste.id))
    row.value = 12.0
    db.session.commit()
    assert digest("live", p["editor"]) != live
    assert digest("published") == published
    again = client.get(SNAPSHOT).data
    assert again == first and "45 %" in flat(again)
    # The published fingerprint is the frozen copy's own hash.
    frozen = db.session.scalar(db.select(LocalKpiSnapshot))
    assert local_kpi_reports.fingerprint(assessment, "published") == frozen.content_hash
    assert local_kpi_reports.fingerprint(assessment, "live") != frozen.content_hash


def test_live_report_shows_the_live_local_values(client, kyebi):
    assessment, p = kyebi
    add_local_kpis(assessment, p["coordinator"], p["editor"])
    login(client, p["editor"].email)
    text = flat(client.get(REPORT + "?source=live").data)
    assert "Live data: not published" in text
    assert "Local KPI score: 75 % (1 of 2 items scored)." in text
    assert "0 of 2 reported values verified." in text[text.index("Local KPI score") :]

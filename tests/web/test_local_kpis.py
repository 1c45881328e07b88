"""Local KPIs through the pages: define, enter, verify, publish; the city page's block apart;
exports; the VLR annex with local rows; who may do what."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from kpi_app.extensions import db
from kpi_app.models import LocalKpi, LocalKpiValue, Role
from kpi_app.services import workflow
from kpi_app.services.workflow import Action
from tests.factories import add_value, decide_all, login

KPI = "EC: ICT: ICT: 1C"


@pytest.fixture
def world(app, make_city, make_user, make_assessment):
    city = make_city("kyebi", name="Kyebi", country="GH")
    assessment = make_assessment(city, year=2024)
    people = {
        "coordinator": make_user(Role.COORDINATOR),
        "editor": make_user(Role.CITY_EDITOR, city),
        "other_editor": make_user(Role.CITY_EDITOR, make_city("other")),
        "verifier": make_user(Role.VERIFIER),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    add_value(assessment, KPI, 95.5, actor=people["editor"])
    return city, assessment, people


def definition(code, name, **fields):
    data = {
        "code": code,
        "name_en": name,
        "unit": "%",
        "value_type": "percentage",
        "direction": "higher_better",
        "sdg_refs": "11.6, 12.5.1",
        "active": "y",
    }
    data.update(fields)
    return data


def csv_rows(response):
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_define_enter_verify_publish_and_show_apart(client, world):
    _city, assessment, p = world
    # The coordinator defines two local KPIs on the page.
    login(client, p["coordinator"].email)
    assert client.get("/cities/kyebi/local-kpis").status_code == 200
    response = client.post(
        "/cities/kyebi/local-kpis/new",
        data=definition(
            "waste-1",
            "Household waste recycled",
            name_fr="Déchets ménagers recyclés",
            benchmark_target="60",
            benchmark_source="City climate plan 2030",
        ),
        follow_redirects=True,
    )
    assert "LOCAL:kyebi:WASTE-1" in response.get_data(as_text=True)
    client.post(
        "/cities/kyebi/local-kpis/new",
        data=definition("TREES", "Street trees planted", unit="trees", value_type="count"),
    )
    # A benchmark without its source is refused with the reason.
    refused = client.post(
        "/cities/kyebi/local-kpis/new",
        data=definition("BAD", "No source", benchmark_target="5"),
    ).get_data(as_text=True)
    assert "needs its source" in refused
    assert db.session.scalar(db.select(db.func.count(LocalKpi.id))) == 2
    client.post("/auth/logout")

    # The city enters them on the assessment's Local KPIs form.
    login(client, p["editor"].email)
    assert f"/assessments/{assessment.id}/local-kpis" in client.get(
        f"/assessments/{assessment.id}"
    ).get_data(as_text=True)
    waste = db.session.scalar(db.select(LocalKpi).where(LocalKpi.code == "WASTE-1"))
    trees = db.session.scalar(db.select(LocalKpi).where(LocalKpi.code == "TREES"))
    saved = client.post(
        f"/assessments/{assessment.id}/local-kpis",
        data={
            f"k{waste.id}_value_value": "45",
            f"k{waste.id}_value_source": "Waste department",
            f"k{waste.id}_value_quality": "2",
            f"k{trees.id}_value_value": "1200",
            f"k{trees.id}_value_source": "Parks office",
            f"k{trees.id}_value_quality": "3",
        },
        follow_redirects=True,
    )
    assert "2 local KPI values saved." in saved.get_data(as_text=True)
    assert client.get("/cities/kyebi/local-kpis/new").status_code == 403  # not allowed yet
    workflow.transition(assessment, Action.SUBMIT, p["editor"])
    client.post("/auth/logout")

    # The verifier verifies them on the same page.
    workflow.transition(assessment, Action.START_REVIEW, p["verifier"])
    login(client, p["verifier"].email)
    page = client.get(f"/assessments/{assessment.id}/local-kpis").get_data(as_text=True)
    assert "Verification decisions" in page
    for row in db.session.scalars(db.select(LocalKpiValue)):
        client.post(
            f"/assessments/{assessment.id}/local-kpis/decide",
            data={"value_id": row.id, "verified": "yes", "code": "source_checked"},
        )
    db.session.expire_all()
    assert all(r.verified for r in db.session.scalars(db.select(LocalKpiValue)))
    decide_all(assessment)
    workflow.transition(assessment, Action.VERIFY, p["verifier"])
    client.post("/auth/logout")
    workflow.transition(assessment, Action.PUBLISH, p["coordinator"])

    # The public city page shows the local block apart: 45 of 60 = 75 %, band 3; the trees
    # KPI has no benchmark: reported, not scored. Block score: 3 of 4 points = 75 %.
    html = client.get("/cities/kyebi/2024").get_data(as_text=True)
    block = html[html.index('id="local-kpis"') :]
    assert "LOCAL:kyebi:WASTE-1" in block and "Street trees planted" in block
    assert "75 %" in block and "3 · 66–95% of Target" in block
    assert "Local KPI score: 75 % (1 of 2 items scored)." in block
    assert "2 of 2 reported values verified." in block
    assert "no benchmark" in block
    # The U4SSC part of the page knows nothing of them.
    assert "LOCAL:" not in html[: html.index('id="local-kpis"')]

    # Exports (published, anonymous): local codes only.
    rows = csv_rows(client.get(f"/assessments/{assessment.id}/local-kpis/export.csv"))
    assert {r["code"] for r in rows} == {"LOCAL:kyebi:WASTE-1", "LOCAL:kyebi:TREES"}
    waste_row = next(r for r in rows if r["code"] == "LOCAL:kyebi:WASTE-1")
    assert float(waste_row["percent_of_target"]) == 75.0 and waste_row["band"] == "3"
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/assessments/{assessment.id}/local-kpis/export.xlsx").data)
    )
    codes = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(codes) == ["LOCAL:kyebi:TREES", "LOCAL:kyebi:WASTE-1"]
    document = json.loads(client.get(f"/assessments/{assessment.id}/local-kpis/export.json").data)
    assert document["source"] == "published" and document["scores"]["score"] == 75.0

    # The VLR annex lists the local KPI under its SDG targets, after the U4SSC rows.
    annex = csv_rows(client.get("/cities/kyebi/2024/vlr.csv"))
    local = [r for r in annex if r["kind"] == "local"]
    assert {(r["target"], r["code"]) for r in local} == {
        ("11.6", "LOCAL:kyebi:WASTE-1"),
        ("12.5", "LOCAL:kyebi:WASTE-1"),
        ("11.6", "LOCAL:kyebi:TREES"),
        ("12.5", "LOCAL:kyebi:TREES"),
    }
    first = next(r for r in local if r["target"] == "11.6" and r["code"].endswith("WASTE-1"))
    assert first["link_source"] == "Local KPI definition"
    assert first["band"] == "3" and first["verification"] == "verified"
    in_11_6 = [r["kind"] for r in annex if r["target"] == "11.6"]
    assert in_11_6 == sorted(in_11_6, key=lambda kind: kind != "U4SSC")


def test_permissions(client, world):
    _city, assessment, p = world
    assert client.get("/cities/kyebi/local-kpis").status_code in (302, 401)
    login(client, p["other_editor"].email)
    assert client.get("/cities/kyebi/local-kpis").status_code == 403
    assert client.get(f"/assessments/{assessment.id}/local-kpis").status_code == 404
    assert client.get(f"/assessments/{assessment.id}/local-kpis/export.csv").status_code == 404
    client.post("/auth/logout")
    # The coordinator lets the city's editors define; then they may.
    login(client, p["coordinator"].email)
    client.post("/cities/kyebi/local-kpis/policy", data={"editors_may_define": "y"})
    client.post("/auth/logout")
    login(client, p["editor"].email)
    assert client.get("/cities/kyebi/local-kpis/new").status_code == 200
    client.post("/cities/kyebi/local-kpis/new", data=definition("ROADS", "Paved roads"))
    assert client.get("/cities/kyebi/local-kpis/ROADS/edit").status_code == 200
    assert client.post("/cities/kyebi/local-kpis/policy", data={}).status_code == 403
    assert client.get("/cities/kyebi/local-kpis/NOPE/edit").status_code == 404

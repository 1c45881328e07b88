"""Uploading local KPI values on the assessment's local-KPI page: upload → preview → confirm,
problems by row, conflicts (409), who may, and the exported file uploaded back unchanged."""

from __future__ import annotations

import io
import re

import pytest

from kpi_app.extensions import db
from kpi_app.models import LocalKpiValue, Role, Status
from kpi_app.services import local_kpis, workflow
from kpi_app.services.local_kpis import DefinitionInput, ValueInput
from tests.factories import login, set_status

LANGS = ("en", "fr", "es", "ar", "zh", "ru")
TREES = "LOCAL:kyebi:TREES"


@pytest.fixture
def world(app, make_city, make_user, make_assessment):
    city = make_city("kyebi", name="Kyebi", country="GH")
    assessment = make_assessment(city, year=2024)
    people = {
        "coordinator": make_user(Role.COORDINATOR),
        "editor": make_user(Role.CITY_EDITOR, city),
        "second_editor": make_user(Role.CITY_EDITOR, city),
        "other_editor": make_user(Role.CITY_EDITOR, make_city("other")),
        "verifier": make_user(Role.VERIFIER),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    trees = local_kpis.create_kpi(
        city,
        DefinitionInput(
            code="TREES",
            name={"en": "Street trees planted"},
            unit="trees",
            benchmark_target=1000.0,
            benchmark_source="Green plan",
        ),
        people["coordinator"],
        LANGS,
    )
    return assessment, people, trees


def stored_value(assessment):
    db.session.expire_all()
    row = db.session.scalar(
        db.select(LocalKpiValue).where(LocalKpiValue.assessment_id == assessment.id)
    )
    return None if row is None else row.value


def upload(client, assessment, content, name="local.csv"):
    return client.post(
        f"/assessments/{assessment.id}/local-kpis/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def token_of(response):
    found = re.search(
        r'name="token" type="hidden" value="([\w-]+)"', response.get_data(as_text=True)
    )
    assert found, "the preview offers no confirmation"
    return found.group(1)


def test_the_page_offers_a_labelled_upload_form_and_the_template(client, world):
    assessment, p, _trees = world
    login(client, p["editor"].email)
    page = client.get(f"/assessments/{assessment.id}/local-kpis").get_data(as_text=True)
    assert 'id="local-import"' in page and 'enctype="multipart/form-data"' in page
    assert re.search(r'<label for="file">[^<]+</label>', page)
    assert f"/assessments/{assessment.id}/local-kpis/export.xlsx" in page
    own = client.get(f"/assessments/{assessment.id}/local-kpis/import")
    assert own.status_code == 200 and "LOCAL:kyebi:TREES" in own.get_data(as_text=True)


def test_upload_preview_then_confirm(client, world):
    assessment, p, _trees = world
    login(client, p["editor"].email)
    preview = upload(
        client, assessment, f"code,unit,value,source\n{TREES},trees,640,Parks\n".encode()
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "What will change" in html and "640" in html and "Import these changes" in html
    assert f"/assessments/{assessment.id}/local-kpis/import/confirm" in html
    assert stored_value(assessment) is None  # nothing written before confirming
    token = token_of(preview)
    # A U4SSC confirmation cannot take a local preview's token.
    assert client.post(f"/assessments/{assessment.id}/import/confirm", data={"token": token})
    assert stored_value(assessment) is None
    done = client.post(
        f"/assessments/{assessment.id}/local-kpis/import/confirm", data={"token": token}
    )
    assert done.status_code == 302 and done.location.endswith(
        f"/assessments/{assessment.id}/local-kpis"
    )
    assert stored_value(assessment) == 640.0
    replay = client.post(
        f"/assessments/{assessment.id}/local-kpis/import/confirm", data={"token": token}
    )
    assert replay.status_code == 302 and replay.location.endswith("/local-kpis/import")


def test_a_bad_file_shows_its_problems_and_saves_nothing(client, world):
    assessment, p, _trees = world
    login(client, p["editor"].email)
    bad = upload(
        client,
        assessment,
        f"code,unit,value\n{TREES},metres,5\nLOCAL:other:TREES,,3\n".encode(),
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "nothing was saved" in html and "Import these changes" not in html
    assert "does not match the unit of the definition" in html and "another city" in html
    unreadable = upload(client, assessment, b"PK\x03\x04junk", name="local.xlsx")
    assert unreadable.status_code == 400 and "damaged" in unreadable.get_data(as_text=True)
    assert stored_value(assessment) is None


def test_a_value_saved_after_the_preview_is_a_conflict(client, world):
    assessment, p, trees = world
    login(client, p["editor"].email)
    preview = upload(client, assessment, f"code,value\n{TREES},640\n".encode())
    token = token_of(preview)
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=trees.id, value=700.0)], p["second_editor"]
    )
    refused = client.post(
        f"/assessments/{assessment.id}/local-kpis/import/confirm", data={"token": token}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "changed since your preview" in html
    assert stored_value(assessment) == 700.0
    # The fresh preview may be confirmed knowingly.
    again = client.post(
        f"/assessments/{assessment.id}/local-kpis/import/confirm", data={"token": token_of(refused)}
    )
    assert again.status_code == 302 and stored_value(assessment) == 640.0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloaded_export_uploads_back_unchanged(client, world, fmt):
    assessment, p, trees = world
    local_kpis.save_values(
        assessment,
        [ValueInput(kpi_id=trees.id, value=812.5, source="Parks", quality=2, data_year=2023)],
        p["editor"],
    )
    login(client, p["editor"].email)
    exported = client.get(f"/assessments/{assessment.id}/local-kpis/export.{fmt}")
    assert exported.status_code == 200
    back = upload(client, assessment, exported.data, name=f"kyebi-2024-live-local-kpis.{fmt}")
    html = back.get_data(as_text=True)
    assert back.status_code == 200, html
    assert "0 change(s), 1 unchanged" in html and "The file holds no change" in html


def test_who_may_upload(client, world):
    assessment, p, _trees = world
    content = f"code,value\n{TREES},5\n".encode()
    for who, status in (("coordinator", 403), ("verifier", 403), ("other_editor", 404)):
        login(client, p[who].email)
        assert client.get(f"/assessments/{assessment.id}/local-kpis/import").status_code == status
        assert upload(client, assessment, content).status_code == status
        page = client.get(f"/assessments/{assessment.id}/local-kpis")
        assert 'id="local-import"' not in page.get_data(as_text=True)
        client.post("/auth/logout")
    # Published (or submitted): the city's editor cannot upload any more.
    set_status(assessment, Status.PUBLISHED)
    login(client, p["editor"].email)
    assert upload(client, assessment, content).status_code == 403
    assert stored_value(assessment) is None

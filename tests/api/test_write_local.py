"""Token-authenticated local KPI values: the local-KPI import's validation, all or nothing,
audited, the same permissions as the page, documented in the OpenAPI document."""

from __future__ import annotations

from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, LocalKpiValue
from tests.api.conftest import World, bearer

URL = "/api/v1/cities/secretville/assessments/2024/local-values"
TREES = "LOCAL:secretville:TREES"


def _stored(world: World) -> float | None:
    db.session.expire_all()
    row = db.session.scalar(
        db.select(LocalKpiValue).where(LocalKpiValue.assessment_id == world.draft.id)
    )
    return None if row is None else row.value


def test_editor_submits_local_values(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.draft_editor))
    body = {"values": [{"code": TREES, "value": 640, "unit": "trees", "source": "Parks"}]}
    preview = client.post(URL, json={**body, "dry_run": True}, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    answer = preview.get_json()
    assert answer["applied"] is False and answer["changes"][0]["new_value"] == "640"
    assert _stored(world) is None
    done = client.post(URL, json=body, headers=headers)
    assert done.status_code == 200 and done.get_json()["applied"] is True
    assert _stored(world) == 640.0
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.entity_type == "local_kpi_value")
    )
    assert event.actor_id == world.draft_editor.id and event.new["code"] == TREES
    again = client.post(URL, json=body, headers=headers).get_json()
    assert again["applied"] is False and again["unchanged"] == 1


def test_one_bad_row_writes_nothing(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.draft_editor))
    body = {
        "values": [
            {"code": TREES, "value": 70},
            {"code": TREES, "data_point": "north", "value": 5},
            {"code": "LOCAL:fjordby:TREES", "value": 5},
            {"code": TREES, "value": 3, "unit": "hectares"},
        ]
    }
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [
        (2, "data_point"),
        (3, "code"),
        (4, "unit"),
    ]
    assert _stored(world) is None


def test_the_schema_refuses_a_u4ssc_code_and_unknown_fields(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    for row in ({"code": "EC: ICT: ICT: 1C", "value": 1}, {"code": TREES, "override_reason": "x"}):
        response = client.post(URL, json={"values": [row]}, headers=headers)
        assert response.status_code == 422, row
        assert response.get_json()["error"]["code"] == "validation_failed"
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/cities/{slug}/assessments/{year}/local-values"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])


def test_who_may_write(client: FlaskClient, world: World) -> None:
    body = {"values": [{"code": TREES, "value": 1}]}
    assert client.post(URL, json=body).status_code == 401
    other = bearer(world.token(world.other_editor))
    assert client.post(URL, json=body, headers=other).status_code == 404
    # Their own city is published: visible but locked, 403.
    own = client.post(
        "/api/v1/cities/fjordby/assessments/2024/local-values",
        json={"values": [{"code": "LOCAL:fjordby:X", "value": 1}]},
        headers=other,
    )
    assert own.status_code == 403
    assert _stored(world) is None

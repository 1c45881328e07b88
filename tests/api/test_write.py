"""Token-authenticated value submission: same permissions and validation as the UI import."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role
from kpi_app.services import api_tokens, users
from tests.api.conftest import World, bearer
from tests.factories import PASSWORD

URL = "/api/v1/cities/secretville/assessments/2024/values"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


def _stored(world: World, code: str, data_point: str = "") -> float | None:
    db.session.expire_all()
    value = db.session.scalar(
        db.select(IndicatorValue).where(
            IndicatorValue.assessment_id == world.draft.id,
            IndicatorValue.code == code,
            IndicatorValue.data_point == data_point,
        )
    )
    return None if value is None else value.value


def test_submission_needs_a_valid_token(client: FlaskClient, world: World) -> None:
    body = {"values": [{"code": "EC: ICT: ICT: 1C", "value": 50}]}
    missing = client.post(URL, json=body)
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post(URL, json=body, headers=bearer("kpi_wrong")).status_code == 401
    issued = api_tokens.create_token(world.draft_editor, "revoked soon")
    api_tokens.revoke_token(world.draft_editor, issued.token.id)
    assert client.post(URL, json=body, headers=bearer(issued.secret)).status_code == 401
    assert _stored(world, "EC: ICT: ICT: 1C") == 12.0


def test_editor_submits_values_for_their_draft(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.draft_editor))
    body = {
        "values": [
            {"code": "EC:ICT:ICT:1C", "value": 64.5, "source": "Census", "quality": 2},
            {"code": "EN: EN: AQ: 1C", "data_point": "pm25", "value": 8},
        ]
    }
    preview = client.post(URL, json={**body, "dry_run": True}, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["applied"] is False
    assert {c["code"] for c in preview.get_json()["changes"]} == {
        "EC: ICT: ICT: 1C",
        "EN: EN: AQ: 1C",
    }
    assert _stored(world, "EC: ICT: ICT: 1C") == 12.0  # a dry run writes nothing

    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["applied"] is True
    assert _stored(world, "EC: ICT: ICT: 1C") == 64.5
    assert _stored(world, "EN: EN: AQ: 1C", "pm25") == 8.0


def test_one_bad_row_writes_nothing(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.draft_editor))
    body = {
        "values": [
            {"code": "EC: ICT: ICT: 1C", "value": 70},
            {"code": "XX: NO: NO: 1C", "value": 5},
        ]
    }
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["details"]["problems"][0]["row"] == 2
    assert _stored(world, "EC: ICT: ICT: 1C") == 12.0


def test_malformed_body_is_a_422(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.draft_editor))
    for body in ({}, {"values": []}, {"values": [{"value": 1}]}, {"values": "x"}):
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == "validation_failed"


def test_other_cities_editor_cannot_see_or_write(client: FlaskClient, world: World) -> None:
    headers = bearer(world.token(world.other_editor))
    response = client.post(
        URL, json={"values": [{"code": "EC: ICT: ICT: 1C", "value": 1}]}, headers=headers
    )
    assert response.status_code == 404
    assert "12" not in response.get_data(as_text=True)
    # Their own city is published, so it is visible but locked: 403, not 404.
    own = client.post(
        "/api/v1/cities/fjordby/assessments/2024/values",
        json={"values": [{"code": "EC: ICT: ICT: 1C", "value": 1}]},
        headers=headers,
    )
    assert own.status_code == 403
    assert _stored(world, "EC: ICT: ICT: 1C") == 12.0


def test_api_writes_are_csrf_exempt_but_forms_are_not(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    # No token, no CSRF token: the API answers 401 (its own auth), not a CSRF 400.
    assert client.post(URL, json={"values": []}).status_code == 401
    # A form without its CSRF token is refused before anything else, even anonymously.
    anonymous = client.post("/account/tokens/", data={"name": "x"})
    assert anonymous.status_code == 400
    assert "CSRF" in anonymous.get_data(as_text=True)
    user, _ = users.create_user("csrf-viewer@example.org", Role.VIEWER, password=PASSWORD)
    login_page = client.get("/auth/login").get_data(as_text=True)
    logged_in = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": _csrf(login_page)},
    )
    assert logged_in.status_code == 302
    # Logged in, the same form without the token is refused and creates nothing ...
    forged = client.post("/account/tokens/", data={"name": "forged"})
    assert forged.status_code == 400
    assert "CSRF" in forged.get_data(as_text=True)
    assert api_tokens.list_tokens(user) == []
    # ... and with the token from the page it is accepted.
    page = client.get("/account/tokens/").get_data(as_text=True)
    created = client.post("/account/tokens/", data={"name": "genuine", "csrf_token": _csrf(page)})
    assert created.status_code == 201
    assert [t.name for t in api_tokens.list_tokens(user)] == ["genuine"]

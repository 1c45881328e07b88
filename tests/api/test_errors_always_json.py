"""The API answers JSON for every failure: database lost (503), crash (500), 404, 405, 413.

The HTML error pages belong to the site; an API client must always get the API's error
shape {"error": {code, message, details, status}} (issue 14.4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from kpi_app.extensions import db
from kpi_app.services import audit, interop
from tests.api.conftest import World, bearer
from tests.conftest import build_app

URL = "/api/v1/cities/secretville/assessments/2024/values"


def assert_api_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"]
    assert "<html" not in response.get_data(as_text=True).lower()
    return dict(body["error"])


def test_api_write_whose_database_connection_dies_answers_json_503_and_writes_nothing(
    app: Flask,
    backend: str,
    database_url: str,
    client: FlaskClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend != "postgresql":
        pytest.skip("kills the server-side connection: PostgreSQL")
    headers = bearer(world.token(world.draft_editor))
    draft_id = world.draft.id
    real_record = audit.record
    calls: list[str] = []

    def record_then_lose_the_database(*args: Any, **kwargs: Any) -> Any:
        event = real_record(*args, **kwargs)
        if not calls:
            calls.append("killed")
            db.session.flush()
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return event

    monkeypatch.setattr(audit, "record", record_then_lose_the_database)
    body = {"values": [{"code": "EC: ICT: ICT: 1C", "value": 64.5, "source": "Census"}]}
    response = client.post(URL, json=body, headers=headers)
    assert calls == ["killed"]
    error = assert_api_error(response, 503, "service_unavailable")
    assert "nothing was saved" in error["message"]
    assert response.headers["Retry-After"].isdigit()

    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT computed_value FROM indicator_value WHERE assessment_id = :a"),
            {"a": draft_id},
        ).scalar()
    engine.dispose()
    assert stored == 12.0  # the value before the failed write
    monkeypatch.undo()
    assert client.get("/api/v1/cities").status_code == 200  # recovers with a fresh connection


def test_api_read_with_an_unreachable_database_answers_json_503() -> None:
    app = build_app("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    client = app.test_client()
    assert_api_error(client.get("/api/v1/cities"), 503, "service_unavailable")
    assert_api_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    # The site itself keeps its HTML page.
    page = client.get("/")
    assert page.status_code == 503 and page.mimetype == "text/html"


def test_an_unexpected_crash_in_an_api_write_answers_json_500(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: no traceback to the client
    headers = bearer(world.token(world.draft_editor))

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom: a bug, not the client's fault")

    monkeypatch.setattr(interop, "submit_values", crash)
    body = {"values": [{"code": "EC: ICT: ICT: 1C", "value": 64.5}]}
    error = assert_api_error(
        client.post(URL, json=body, headers=headers), 500, "internal_server_error"
    )
    assert "boom" not in error["message"]


def test_routing_method_and_size_errors_answer_json(
    app: Flask, client: FlaskClient, world: World
) -> None:
    assert_api_error(client.get("/api/v1/nothing/here"), 404, "not_found")
    assert_api_error(client.get("/api/v1/cities/atlantis"), 404, "not_found")
    wrong = assert_api_error(client.delete("/api/v1/cities"), 405, "method_not_allowed")
    assert wrong["message"]
    headers = bearer(world.token(world.draft_editor))
    huge = b'{"values": [' + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"]}"
    too_big = client.post(URL, data=huge, headers={**headers, "Content-Type": "application/json"})
    assert_api_error(too_big, 413, "request_entity_too_large")
    not_json = client.post(
        URL, data=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code in (400, 422) and not_json.mimetype == "application/json"


SEGMENT = st.one_of(
    st.sampled_from(["cities", "catalogue", "assessments", "values", "scores", "2024", "docs"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(SEGMENT, max_size=5),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    body=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_any_failing_request_under_the_api_answers_json(
    app: Flask, client: FlaskClient, segments: list[str], method: str, body: bytes | None
) -> None:
    path = "/api/v1/" + "/".join(quote(segment, safe="") for segment in segments)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = client.open(path, method=method, data=body, headers=headers)
    if response.status_code >= 400:
        assert response.mimetype == "application/json", (path, method, response.status_code)
        assert response.get_json()["error"]["status"] == response.status_code
    assert response.status_code < 500, (path, method, response.get_data(as_text=True)[:300])

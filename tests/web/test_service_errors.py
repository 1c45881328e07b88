"""Service errors no view handles become the status of their kind, once, for pages and the API."""

from __future__ import annotations

import pytest
from flask import Flask

from kpi_app import create_app
from kpi_app.config import TestingConfig
from kpi_app.services import errors, interop, lab, workflow

CASES = [
    (errors.PermissionDenied("You may not do this."), 403),
    (errors.NotFound("No such city."), 404),
    (errors.Invalid("That is not a year."), 422),
    (errors.Conflict("Already submitted."), 409),
    # the services' own classes keep their kind (and the built-in base callers catch)
    (workflow.WorkflowDenied("Only coordinators open assessments."), 403),
    (workflow.WorkflowError("Not possible now."), 409),
    (interop.NotFoundError("Nothing published for fjordby."), 404),
    (lab.LabNotFound("No such lab city."), 404),
]


@pytest.fixture
def raising_app() -> Flask:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")

    def fail(index: int) -> str:
        raise CASES[index][0]

    app.add_url_rule("/service-error/<int:index>", "service_error_page", fail)
    app.add_url_rule("/api/v1/service-error/<int:index>", "service_error_api", fail)
    return app


@pytest.mark.parametrize("index", range(len(CASES)))
def test_a_page_shows_the_kind_and_the_message(raising_app: Flask, index: int) -> None:
    error, status = CASES[index]
    response = raising_app.test_client().get(f"/service-error/{index}")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert str(error) in response.get_data(as_text=True)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_api_answers_its_json_error_shape(raising_app: Flask, index: int) -> None:
    error, status = CASES[index]
    response = raising_app.test_client().get(f"/api/v1/service-error/{index}")
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()["error"]
    assert body["message"] == str(error)
    assert body["status"] == status
    assert body["details"] is None


def test_the_kinds_keep_the_builtin_bases_callers_catch() -> None:
    assert isinstance(workflow.WorkflowDenied("x"), PermissionError)
    assert isinstance(workflow.WorkflowDenied("x"), ValueError)  # it is still a WorkflowError
    assert isinstance(interop.NotFoundError("x"), LookupError)
    assert isinstance(lab.LabNotFound("x"), lab.LabError)


def test_the_api_answers_problem_json_to_clients_that_ask(raising_app: Flask) -> None:
    client = raising_app.test_client()
    asked = client.get("/api/v1/service-error/1", headers={"Accept": "application/problem+json"})
    assert asked.status_code == 404
    assert asked.mimetype == "application/problem+json"
    body = asked.get_json(force=True)
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["detail"] == "No such city." == body["error"]["message"]
    # An unmatched API URL too; and plain JSON stays the default (Accept: */* or none).
    unmatched = client.get("/api/v1/nothing", headers={"Accept": "application/problem+json"})
    assert unmatched.status_code == 404 and unmatched.mimetype == "application/problem+json"
    default = client.get("/api/v1/service-error/1", headers={"Accept": "*/*"})
    assert default.mimetype == "application/json" and "title" not in default.get_json()

"""`?benchmark_set=` on the scores endpoint: an analysis, labelled as not the published result."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import World
from tests.integration.test_frozen_publications import CODE, halved_copy

URL = "/api/v1/cities/fjordby/assessments/2024/scores"


def test_published_scores_are_frozen_and_an_analysis_is_labelled(
    app: Flask, client: FlaskClient, world: World, tmp_path
) -> None:
    before = client.get(URL).get_json()
    assert before["published_result"] is True and "analysis" not in before
    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    frozen = client.get(URL).get_json()
    assert frozen["overall"] == before["overall"]
    assert next(i for i in frozen["items"] if i["code"] == CODE)["target"] == 100.0
    analysis = client.get(URL, query_string={"benchmark_set": "indicative-2026"})
    assert analysis.status_code == 200
    body = analysis.get_json()
    assert body["published_result"] is False
    assert "not the published result" in body["analysis"]
    assert next(i for i in body["items"] if i["code"] == CODE)["target"] == 50.0


def test_unknown_set_is_a_422_naming_the_known_ones(client: FlaskClient, world: World) -> None:
    response = client.get(URL, query_string={"benchmark_set": "nope"})
    assert response.status_code == 422
    assert response.is_json
    assert "unknown benchmark set 'nope'" in response.get_json()["error"]["message"]
    assert "indicative-2026" in response.get_json()["error"]["message"]


def test_openapi_documents_the_parameter(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/cities/{slug}/assessments/{year}/scores"]["get"]
    names = {p["name"] for p in operation.get("parameters", [])}
    assert "benchmark_set" in names
    assert "422" in operation["responses"]

"""`?method=` with a relative method scores among published peers, `?peers=` picks them, and
a group of one is a 422 — all documented in the OpenAPI document."""

from __future__ import annotations

from flask.testing import FlaskClient

from kpi_app.services import scores
from tests.api.conftest import World
from tests.factories import add_values, publish

URL = "/api/v1/cities/fjordby/assessments/2024/scores"


def _second_city(make_city, make_assessment) -> None:
    other = make_assessment(make_city("havby"), year=2024)
    add_values(
        other,
        [("EC: ICT: ICT: 1C", "", 50.0, 1, True), ("EC: ICT: ICT: 2C", "", 80.0, 1, True)],
    )
    publish(other)


def test_relative_method_lists_its_peers_and_scores_among_them(
    client: FlaskClient, world: World, make_city, make_assessment
) -> None:
    _second_city(make_city, make_assessment)
    answer = client.get(URL, query_string={"method": "minmax-arith"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["peers"] == [{"city": "fjordby", "year": 2024}, {"city": "havby", "year": 2024}]
    together = scores.score_assessments(
        [world.published, *scores.peer_assessments(world.published, None)],
        source="published",
        method="minmax-arith",
    )
    # The API adds only the label saying this is the published result (h2, issue 13 item 6).
    assert body == together.to_dict("fjordby", 2024) | {"published_result": True}
    named = client.get(URL, query_string={"method": "minmax-arith", "peers": "havby"})
    assert named.get_json() == body


def test_a_peer_group_of_one_is_422(client: FlaskClient, world: World) -> None:
    answer = client.get(URL, query_string={"method": "minmax-arith"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert "at least two" in error["message"]


def test_unknown_peer_and_peers_with_an_absolute_method_are_422(
    client: FlaskClient, world: World, make_city, make_assessment
) -> None:
    _second_city(make_city, make_assessment)
    unknown = client.get(URL, query_string={"method": "minmax-arith", "peers": "secretville"})
    assert unknown.status_code == 422
    assert "secretville" in unknown.get_json()["error"]["message"]
    absolute = client.get(URL, query_string={"method": "u4ssc", "peers": "havby"})
    assert absolute.status_code == 422
    assert "relative methods only" in absolute.get_json()["error"]["message"]


def test_openapi_documents_peers(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/cities/{slug}/assessments/{year}/scores"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"method", "peers"} <= names
    assert "422" in operation["responses"]
    schema = document["components"]["schemas"]["Score"]
    assert "peers" in schema["properties"]

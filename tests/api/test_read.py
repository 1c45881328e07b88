"""Read endpoints: published data only, paging, filters, ETags and the error shape."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from kpi_app.models import City
from tests.api.conftest import World, bearer


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def test_openapi_document_lists_every_area(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/indicators",
        "/api/v1/benchmark-sets",
        "/api/v1/cities",
        "/api/v1/assessments",
        "/api/v1/values",
        "/api/v1/cities/{slug}/assessments/{year}/scores",
        "/api/v1/sdg-links",
        "/api/v1/ngsi-ld/entities",
        "/api/v1/sdmx/data.csv",
        "/api/v1/datapackage/{year}.zip",
        "/api/v1/cities/{slug}/assessments/{year}/values",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_lists_operations_without_outside_assets(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/ngsi-ld/entities" in page
    assert "<caption>" in page
    assert "http://" not in page.replace("http://localhost", "")
    assert "cdn" not in page.lower()


def test_indicators_are_paged_with_links(client: FlaskClient) -> None:
    response = client.get("/api/v1/indicators?page=2&page_size=10")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "page_size": 10, "total": 91, "pages": 10}
    assert len(body["data"]) == 10
    assert (
        body["links"]["next"].endswith("page=3&page_size=10") or "page=3" in body["links"]["next"]
    )
    assert "page=1" in body["links"]["prev"]
    assert 'rel="next"' in response.headers["Link"]
    last = client.get(body["links"]["last"]).get_json()
    assert len(last["data"]) == 1 and last["links"]["next"] is None


def test_indicator_filter_accepts_unspaced_codes(client: FlaskClient) -> None:
    body = client.get("/api/v1/indicators", query_string={"code": "sc:eh:ed:1c"}).get_json()
    assert [r["code"] for r in body["data"]] == ["SC: EH: ED: 1C"]
    bad = client.get("/api/v1/indicators", query_string={"code": "nonsense"})
    assert bad.status_code == 422
    assert _error(bad)["code"] == "validation_failed"


def test_only_published_cities_and_values_are_listed(client: FlaskClient, world: World) -> None:
    cities = client.get("/api/v1/cities").get_json()["data"]
    assert [c["slug"] for c in cities] == ["fjordby"]
    assert cities[0]["published_years"] == [2024]
    values = client.get("/api/v1/values?page_size=500").get_json()
    assert {v["city"] for v in values["data"]} == {"fjordby"}
    assert values["meta"]["total"] == 5
    not_found = client.get("/api/v1/cities/secretville")
    assert not_found.status_code == 404
    assert "12.0" not in not_found.get_data(as_text=True)
    assert client.get("/api/v1/cities/secretville/assessments/2024").status_code == 404
    assert client.get("/api/v1/cities/secretville/assessments/2024/scores").status_code == 404


def test_unpublished_data_hidden_from_other_cities_editors(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.other_editor))
    for url in (
        "/api/v1/values?page_size=500",
        "/api/v1/assessments",
        "/api/v1/cities",
        "/api/v1/ngsi-ld/entities",
        "/api/v1/sdmx/data.csv",
        "/api/v1/datapackage/2024.zip",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        assert b"secretville" not in response.get_data(), url
    # Even the draft's own editor reads published data only through the open API.
    own = bearer(world.token(world.draft_editor))
    assert client.get("/api/v1/values?city=secretville", headers=own).get_json()["data"] == []


def test_values_filters(client: FlaskClient, world: World) -> None:
    by_code = client.get("/api/v1/values", query_string={"code": "EN:EN:AQ:1C"}).get_json()
    assert sorted(v["data_point"] for v in by_code["data"]) == ["pm10", "pm25"]
    assert client.get("/api/v1/values?country=SE").get_json()["data"] == []
    assert client.get("/api/v1/values?year=2023").get_json()["data"] == []
    first = client.get("/api/v1/values?country=no&year=2024").get_json()["data"][0]
    assert first["code"] == "EC: ICT: ICT: 1C" and first["value"] == 95.5
    assert first["target"] == 100.0 and first["quality"] == 1 and first["verified"] is True


def test_etag_gives_304(client: FlaskClient, world: World) -> None:
    first = client.get("/api/v1/assessments")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/assessments", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    other = client.get("/api/v1/assessments?page_size=1", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_error_objects_for_404_405_422(client: FlaskClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong_method = client.delete("/api/v1/cities")
    assert wrong_method.status_code == 405
    assert _error(wrong_method)["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    invalid = client.get("/api/v1/values?page_size=0")
    assert invalid.status_code == 422
    assert "page_size" in _error(invalid)["details"]["query"]
    # The rest of the site keeps its HTML error pages.
    assert "text/html" in client.get("/no-such-page").content_type


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("/api/v1/cities?page=184467440737095518", 422),  # found by the stateful OpenAPI test
        ("/api/v1/values?page=1000001", 422),
        ("/api/v1/ngsi-ld/entities?offset=9223372036854775808", 400),  # NGSI-LD's BadRequestData
    ],
)
def test_numbers_past_the_database_range_are_refused(
    client: FlaskClient, address: str, status: int
) -> None:
    response = client.get(address)
    assert response.status_code == status, response.get_data(as_text=True)
    name = address.split("?")[1].split("=")[0]
    assert name in _error(response)["details"]["query"]
    # The same connection still answers: no aborted transaction left behind (PostgreSQL).
    assert client.get("/api/v1/cities?page=1").status_code == 200


def test_scores_and_methods(client: FlaskClient, world: World) -> None:
    methods = [m["id"] for m in client.get("/api/v1/methods").get_json()]
    assert "u4ssc" in methods and len(methods) > 1
    u4ssc = client.get("/api/v1/cities/fjordby/assessments/2024/scores").get_json()
    assert u4ssc["method"] == "u4ssc"
    item = next(i for i in u4ssc["items"] if i["code"] == "EC: ICT: ICT: 1C")
    assert item["points"] == 4  # 95.5 % of a 100 % target is in the top band
    composite = client.get(
        "/api/v1/cities/fjordby/assessments/2024/scores", query_string={"method": methods[1]}
    )
    assert composite.status_code == 200 and composite.get_json()["method"] != ""
    unknown = client.get("/api/v1/cities/fjordby/assessments/2024/scores?method=magic")
    assert unknown.status_code == 422


def test_sdg_links_and_benchmark_sets(client: FlaskClient) -> None:
    links = client.get("/api/v1/sdg-links?sdg=11&page_size=500").get_json()["data"]
    assert links and all(link["sdg"] == "11" for link in links)
    sets = client.get("/api/v1/benchmark-sets").get_json()
    assert sets[0]["id"] == "indicative-2026"
    detail = client.get("/api/v1/benchmark-sets/indicative-2026").get_json()
    assert len(detail["benchmarks"]) == detail["entries"] > 0
    assert client.get("/api/v1/benchmark-sets/nope").status_code == 404


def test_the_city_list_is_cached_until_a_city_or_a_publication_changes(
    client: FlaskClient, world: World, make_city: Any, make_assessment: Any
) -> None:
    """/api/v1/cities is kept in the app cache under the directory's fingerprint: a second
    call runs one statement (the fingerprint); a publication, a renamed city and a moved
    page each show at once."""
    from sqlalchemy import event

    from kpi_app.extensions import db
    from tests.factories import published_city

    def statements(url: str) -> tuple[int, dict[str, Any]]:
        seen: list[str] = []

        def count(*_args: Any) -> None:
            seen.append("x")

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = client.get(url).get_json()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), body

    first, body = statements("/api/v1/cities")
    again, cached = statements("/api/v1/cities")
    assert cached == body and again < first and again <= 2
    published_city(make_city, make_assessment, "aaby", country="DK")
    _n, body = statements("/api/v1/cities")
    assert [c["slug"] for c in body["data"]] == ["aaby", "fjordby"]
    city = db.session.scalar(db.select(City).where(City.slug == "aaby"))
    city.name = "Aaby Renamed"
    db.session.commit()
    _n, body = statements("/api/v1/cities")
    assert body["data"][0]["name"] == "Aaby Renamed"
    _n, second = statements("/api/v1/cities?page=2&page_size=1")
    assert [c["slug"] for c in second["data"]] == ["fjordby"] and second["meta"]["total"] == 2

"""NGSI-LD entities are paged as an NGSI-LD broker pages them; CSV downloads name one charset.

Issue 14, item 13: the entities endpoint ignored `limit` (every entity in one body) and CSV
exports sent `charset=utf-8` twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from kpi_app.models import Assessment, City
from tests.factories import SAMPLE_VALUES, published_city

URL = "/api/v1/ngsi-ld/entities"


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    return published_city(make_city, make_assessment, "fjordby", country="NO")


def _links(header: str | None) -> dict[str, dict[str, list[str]]]:
    found = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header or ""):
        found[rel] = parse_qs(urlsplit(url).query)
    return found


def test_limit_offset_and_count_page_through_every_entity(
    client: FlaskClient, published: Assessment
) -> None:
    seen: list[str] = []
    url: str | None = f"{URL}?limit=2&count=true&year=2024"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "application/ld+json"
        assert response.headers["NGSILD-Results-Count"] == str(len(SAMPLE_VALUES))
        body = response.get_json()
        assert len(body) <= 2
        seen += [entity["id"] for entity in body]
        pages += 1
        nxt = _links(response.headers.get("Link")).get("next")
        if nxt is None:
            url = None
        else:
            assert nxt["year"] == ["2024"] and nxt["limit"] == ["2"]
            url = f"{URL}?" + "&".join(f"{k}={v[0]}" for k, v in nxt.items())
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(SAMPLE_VALUES)
    everything = client.get(f"{URL}?limit=1000").get_json()
    assert seen == [entity["id"] for entity in everything]


def test_prev_link_and_default_limit(client: FlaskClient, published: Assessment) -> None:
    middle = client.get(f"{URL}?limit=2&offset=2")
    links = _links(middle.headers["Link"])
    assert links["prev"]["offset"] == ["0"] and links["next"]["offset"] == ["4"]
    assert "NGSILD-Results-Count" not in middle.headers  # only asked for with count=true
    first = client.get(URL)
    assert "prev" not in _links(first.headers.get("Link"))
    assert len(first.get_json()) == len(SAMPLE_VALUES)  # under the default limit of 20
    beyond = client.get(f"{URL}?offset=50")
    assert beyond.status_code == 200 and beyond.get_json() == []
    only_count = client.get(f"{URL}?limit=0&count=true")
    assert only_count.get_json() == []
    assert only_count.headers["NGSILD-Results-Count"] == str(len(SAMPLE_VALUES))


@pytest.mark.parametrize(
    "query",
    ["limit=1001", "limit=-1", "limit=0", "offset=-5", "limit=many", "count=perhaps"],
)
def test_out_of_range_paging_is_a_json_400(
    client: FlaskClient, published: Assessment, query: str
) -> None:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["details"]  # names the parameter
    name = query.split("=")[0]
    assert name in str(error["details"])


def test_the_openapi_document_describes_the_paging(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][URL]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 1000
    assert {"offset", "count"} <= set(params)
    assert "400" in operation["responses"]
    assert "NGSILD-Results-Count" in operation["responses"]["200"]["headers"]


def test_csv_downloads_name_one_charset(
    client: FlaskClient, published: Assessment, make_user: Callable[..., object]
) -> None:
    from kpi_app.models import Role
    from tests.factories import login

    response = client.get("/cities/fjordby/2024/download/kpis.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    editor = make_user(Role.CITY_EDITOR, city=published.city, email="editor@fjordby.example")
    login(client, editor.email)  # type: ignore[attr-defined]
    export = client.get(f"/assessments/{published.id}/export.csv")
    assert export.status_code == 200
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"

"""City lists paged in SQL (issue 20): `/api/v1/cities` and `/cities`.

A page costs the same number of SQL statements with 3 and with 12 published cities (the
pattern of tests/web/test_page_work.py), carries the total, and its Link headers walk
every city once.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from kpi_app.services.cache import get_cache
from tests.web.test_page_work import YEARS, counting, grow  # noqa: F401 - the fixture

API = "/api/v1/cities"


def links(header: str | None) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header or "")}


def test_the_api_pages_cities_in_sql(client, grow):  # noqa: F811 - pytest fixture
    grow(3)
    client.get(f"{API}?page=1&page_size=2")
    get_cache().clear()  # a page is cached under the directory fingerprint: count it cold
    with counting() as small:
        first = client.get(f"{API}?page=1&page_size=2")
    grow(12)
    get_cache().clear()
    with counting() as big:
        second = client.get(f"{API}?page=1&page_size=2")
    assert big.statements == small.statements
    assert small.assessments == big.assessments == 0
    with counting() as warm:  # and warm: the fingerprint only
        again = client.get(f"{API}?page=1&page_size=2")
    assert warm.statements == 1 and again.get_json() == second.get_json()
    assert first.get_json()["meta"]["total"] == 3
    body = second.get_json()
    assert body["meta"] == {"page": 1, "page_size": 2, "total": 12, "pages": 6}
    assert second.headers["X-Total-Count"] == "12"
    assert [c["slug"] for c in body["data"]] == ["town-01", "town-02"]
    assert all(c["published_years"] == list(YEARS) for c in body["data"])


def test_link_headers_walk_every_city_once(client, grow):  # noqa: F811
    made = grow(7)
    seen: list[str] = []
    url: str | None = f"{API}?page_size=3"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [c["slug"] for c in response.get_json()["data"]]
        found = links(response.headers.get("Link"))
        assert "first" in found and "last" in found
        url = found.get("next")
        if url:
            assert parse_qs(urlsplit(url).query)["page_size"] == ["3"]
        pages += 1
    assert pages == 3
    assert seen == sorted(made)
    last = client.get(f"{API}?page=3&page_size=3")
    assert parse_qs(urlsplit(links(last.headers["Link"])["prev"]).query)["page"] == ["2"]


def test_a_country_filter_pages_and_counts_its_cities_only(client, grow, make_city):  # noqa: F811
    grow(4)
    make_city("unpublished", country="NO")  # no published assessment: never listed
    body = client.get(f"{API}?country=no&page_size=10").get_json()
    assert body["meta"]["total"] == 4
    assert client.get(f"{API}?country=SE").get_json()["meta"]["total"] == 0


def test_the_city_page_table_is_paged(client, grow, monkeypatch):  # noqa: F811
    from kpi_app.services.reports import directory

    monkeypatch.setattr(directory, "CITY_PAGE_SIZE", 5)
    url = "/cities?page=2&country=NO"
    grow(3)
    client.get(url)
    with counting() as small:
        client.get(url)
    grow(12)
    client.get(url)
    with counting() as big:
        page = client.get(url).get_data(as_text=True)
    assert big.statements == small.statements
    # Sorted by name: the second page of five holds Town-06 to Town-10.
    shown = sorted(set(re.findall(r">(Town-\d\d)</a>", page)))
    assert shown == [f"Town-{n:02d}" for n in range(6, 11)]
    assert "Page 2 of 3" in page and "Cities (12): 6 to 10 shown" in page
    assert 'rel="next" href="/cities?page=3&amp;country=NO"' in page
    assert 'rel="prev" href="/cities?page=1&amp;country=NO"' in page
    # Every row of the other pages is still a link away, none is on this one.
    assert "Town-01" not in page and "Town-11" not in page
    last = client.get("/cities?page=99").get_data(as_text=True)
    assert "Page 3 of 3" in last  # a page past the end shows the last one


@pytest.mark.parametrize(
    ("url", "loaded"),
    [(f"{API}/town-02", 0), (f"{API}/town-02/assessments/2024", 1)],
)
def test_one_city_through_the_api_costs_the_same_at_two_sizes(client, grow, url, loaded):  # noqa: F811
    grow(3)
    client.get(url)
    with counting() as small:
        assert client.get(url).status_code == 200
    grow(12)
    with counting() as big:
        response = client.get(url)
    assert response.status_code == 200
    assert big.statements == small.statements
    # The city is chosen in SQL: only its own assessment is loaded, if any.
    assert small.assessments == big.assessments == loaded
    assert client.get(f"{API}/nowhere").status_code == 404

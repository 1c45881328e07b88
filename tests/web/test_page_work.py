"""Public pages do work proportional to the page, not to the database (issue 20).

Each page is requested with 3 and then 12 published cities (two published years each): its
number of SQL statements must not grow, and it must not load every published assessment as
an object (the cost measured in docs/performance.md, "Scale"). Statements are counted with a
SQLAlchemy ``before_cursor_execute`` listener, loaded assessments with the mapper's ``load``
event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from kpi_app.extensions import db
from kpi_app.models import Assessment
from tests.factories import SAMPLE_VALUES, add_values, publish

YEARS = (2023, 2024)


@dataclass
class Work:
    statements: int = 0
    assessments: int = 0


@contextmanager
def counting() -> Iterator[Work]:
    work = Work()

    def on_statement(*_args: object) -> None:
        work.statements += 1

    def on_load(*_args: object) -> None:
        work.assessments += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(Assessment, "load", on_load)
    try:
        yield work
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(Assessment, "load", on_load)


@pytest.fixture
def grow(make_city, make_assessment):
    """Add published cities (both years) in Norway until there are ``n``."""
    made: list[str] = []

    def to(n: int) -> list[str]:
        while len(made) < n:
            city = make_city(f"town-{len(made) + 1:02d}", country="NO")
            for year in YEARS:
                assessment = make_assessment(city, year=year)
                add_values(assessment, SAMPLE_VALUES)
                publish(assessment)
            made.append(city.slug)
        db.session.expire_all()
        return list(made)

    return to


def measure(client, url: str) -> tuple[Work, Work]:
    """Work of a cold request (empty page cache for this data) and of the repeated one."""
    with counting() as cold:
        response = client.get(url)
        assert response.status_code == 200, response.data[:500]
    with counting() as warm:
        assert client.get(url).status_code == 200
    return cold, warm


def at_two_sizes(client, grow, url: str) -> tuple[tuple[Work, Work], tuple[Work, Work]]:
    grow(3)
    small = measure(client, url)
    grow(12)
    return small, measure(client, url)


COMPARE = "/compare?city=town-01&city=town-02"


def test_compare_reads_only_the_chosen_assessments(client, grow):
    (small_cold, small_warm), (big_cold, big_warm) = at_two_sizes(client, grow, COMPARE)
    assert big_warm.statements == small_warm.statements
    assert big_cold.statements <= small_cold.statements  # the first request also warms caches
    # Two cities chosen: two assessments loaded, whatever the number of published ones.
    assert big_warm.assessments == small_warm.assessments == 2
    assert big_cold.assessments == small_cold.assessments == 2


def test_the_compare_picker_reads_one_row_per_published_city(client, grow, make_city):
    from kpi_app.services import scores

    slugs = grow(3)
    make_city("draft-town", country="NO")  # no published assessment: not offered
    rows = scores.published_cities()
    # Two published years each, one row each (the page read every published year before).
    assert [r.slug for r in rows] == slugs
    assert len(scores.published_rows()) == 2 * len(slugs)
    page = client.get(COMPARE).get_data(as_text=True)
    for slug in slugs:
        assert page.count(f'value="{slug}"') == 1, slug
    assert 'value="draft-town"' not in page


@pytest.mark.parametrize("url", ["/cities", "/countries/NO", "/cities?status=published&size=small"])
def test_city_lists_load_no_assessment(client, grow, url):
    (small_cold, small_warm), (big_cold, big_warm) = at_two_sizes(client, grow, url)
    assert big_warm.statements == small_warm.statements
    # Read in SQL with the scores stored at publication: the same statements at any size,
    # cold or warm, and no assessment loaded as an object (none is scored).
    assert big_cold.statements == small_cold.statements
    assert small_warm.assessments == big_warm.assessments == 0
    assert small_cold.assessments == big_cold.assessments == 0


def test_the_api_city_list_loads_no_assessment(client, grow):
    (small_cold, _), (big_cold, _) = at_two_sizes(client, grow, "/api/v1/cities")
    assert big_cold.statements <= small_cold.statements  # the first request also warms caches
    assert small_cold.assessments == big_cold.assessments == 0
    payload = client.get("/api/v1/cities").get_json()
    assert [c["slug"] for c in payload["data"]][:2] == ["town-01", "town-02"]
    assert all(c["published_years"] == list(YEARS) for c in payload["data"])


def test_signed_in_users_still_see_their_unpublished_work(client, grow, make_user, make_assessment):
    """The SQL shortcut is for anonymous visitors only: an editor's draft still shows."""
    from kpi_app.models import City
    from tests.factories import login

    grow(3)
    city = db.session.scalar(db.select(City).where(City.slug == "town-01"))
    make_assessment(city, year=2025)  # a draft, newer than the published years
    editor = make_user("city_editor", city=city)
    anonymous = client.get("/countries/NO").get_data(as_text=True)
    assert "2025" not in anonymous
    login(client, editor.email)
    assert "2025" in client.get("/countries/NO").get_data(as_text=True)

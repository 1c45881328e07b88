"""Cached dashboard pages: a repeated view is a cache hit, and nothing a page shows goes stale.

Each staleness test compares the page served after a change with the same page rendered from
an empty cache: if any input were missing from a page key, the two would differ.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import refresh

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, Role
from kpi_app.services import reports, seeding, snapshots
from kpi_app.services.cache import get_cache
from tests.factories import login

HOUSEHOLD_INTERNET = "EC: ICT: ICT: 1C"
PUBLIC_PAGES = [
    "/cities",
    "/cities/nordvik/2024",
    "/compare?city=nordvik&city=valmorena&year=2024",
    "/countries/NO",
    "/sdg",
]


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


def main_content(client, url: str) -> str:
    """The <main> element of a page (the layout around it carries per-request tokens)."""
    # The tests share one app context, where Flask-Babel keeps the first request's locale;
    # forget it, as a real request (with its own context) would.
    refresh()
    response = client.get(url)
    assert response.status_code == 200, url
    match = re.search(r"<main\b.*?</main>", response.get_data(as_text=True), re.S)
    assert match, url
    return match.group(0)


def fresh(client, url: str) -> str:
    """The page as rendered with nothing cached."""
    get_cache().clear()
    return main_content(client, url)


def nordvik_value(year: int = 2024) -> IndicatorValue:
    nordvik = db.session.scalar(db.select(City).where(City.slug == "nordvik"))
    assessment = db.session.scalar(
        db.select(Assessment).where(Assessment.city_id == nordvik.id, Assessment.year == year)
    )
    return db.session.scalar(
        db.select(IndicatorValue).where(
            IndicatorValue.assessment_id == assessment.id, IndicatorValue.code == HOUSEHOLD_INTERNET
        )
    )


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_a_repeated_view_is_served_from_the_cache(client, demo, url):
    first = main_content(client, url)
    stats = get_cache().stats
    hits, misses = stats.hits, stats.misses
    assert main_content(client, url) == first
    assert stats.misses == misses  # nothing recomputed: not the page, not its scores
    assert stats.hits == hits + 1  # one lookup: the whole page


def test_an_edit_shows_on_the_live_page_at_once(client, demo, make_user):
    editor = make_user(Role.CITY_EDITOR, city=nordvik_value().assessment.city)
    login(client, editor.email)
    url = "/cities/nordvik/2024?source=live"
    before = main_content(client, url)
    value = nordvik_value()
    value.override_value = None
    value.computed_value = 0.5 if (value.computed_value or 0) > 50 else 99.5
    value.reported = True
    db.session.commit()
    after = main_content(client, url)
    assert after != before
    assert after == fresh(client, url)


def test_the_public_page_changes_only_when_published_again(client, demo):
    url = "/cities/nordvik/2024"
    before = main_content(client, url)
    value = nordvik_value()
    value.override_value = None
    value.computed_value = 0.5 if (value.computed_value or 0) > 50 else 99.5
    value.reported = True
    db.session.commit()
    assert main_content(client, url) == before  # a live edit is not public
    snapshots.freeze(value.assessment, actor=None)
    db.session.commit()
    republished = main_content(client, url)
    assert republished != before
    assert republished == fresh(client, url)


def test_an_editors_page_is_never_served_to_anonymous_visitors(client, demo, make_user):
    kisoro = db.session.scalar(db.select(City).where(City.slug == "kisoro-bay"))
    editor = make_user(Role.CITY_EDITOR, city=kisoro)
    anonymous_cities = fresh(client, "/cities")
    anonymous_nordvik = main_content(client, "/cities/nordvik/2024")
    login(client, editor.email)
    editor_cities = main_content(client, "/cities")
    assert editor_cities != anonymous_cities  # the draft city shows its live score
    client.post("/auth/logout")
    client.delete_cookie("session")
    assert main_content(client, "/cities") == anonymous_cities
    assert main_content(client, "/cities/nordvik/2024") == anonymous_nordvik
    assert "Show live data" not in anonymous_nordvik


def test_a_renamed_city_shows_at_once(client, demo):
    main_content(client, "/cities")
    main_content(client, "/cities/nordvik/2024")
    city = db.session.scalar(db.select(City).where(City.slug == "nordvik"))
    city.name = "Nordvik Renamed"
    db.session.commit()
    assert "Nordvik Renamed" in main_content(client, "/cities")
    assert "Nordvik Renamed" in main_content(client, "/cities/nordvik/2024")
    assert "Nordvik Renamed" in main_content(
        client, "/compare?city=nordvik&city=valmorena&year=2024"
    )


def test_each_language_has_its_own_page(client, demo):
    english = main_content(client, "/cities/nordvik/2024")
    french = main_content(client, "/cities/nordvik/2024?lang=fr")
    assert french != english
    # ?lang= is remembered in the session: switch back explicitly.
    assert main_content(client, "/cities/nordvik/2024?lang=en") == english
    assert main_content(client, "/cities/nordvik/2024?lang=fr") == french


def heatmap_columns(html: str) -> list[str]:
    header = html.split('<table id="heatmap-table">')[1].split("</thead>")[0]
    return re.findall(r'<th scope="col" class="num">(.*?)</th>', header)


def test_the_compare_heatmap_is_paged_and_downloads_keep_every_city(client, demo, monkeypatch):
    monkeypatch.setattr(reports.compare, "HEATMAP_PAGE_SIZE", 2)
    chosen = {"Nordvik (2024)", "Valmorena (2024)", "Al-Nahra (2024)"}
    base = "/compare?city=nordvik&city=valmorena&city=al-nahra&year=2024"
    first = main_content(client, base)
    assert "Cities 1 to 2 of 3" in first
    assert "heatmap_page=2" in first
    second = main_content(client, base + "&heatmap_page=2")
    assert "Cities 3 to 3 of 3" in second
    pages = [heatmap_columns(first), heatmap_columns(second)]
    assert [len(columns) for columns in pages] == [2, 1]
    assert set(pages[0]) | set(pages[1]) == chosen  # every city on exactly one page
    beyond = main_content(client, base + "&heatmap_page=99")  # clamped to the last page
    assert heatmap_columns(beyond) == pages[1]
    csv_text = client.get(
        "/compare/download/heatmap.csv?city=nordvik&city=valmorena&city=al-nahra&year=2024"
    ).get_data(as_text=True)
    assert chosen <= set(csv_text.splitlines()[0].split(","))


def test_country_completeness_lists_only_that_countrys_cities(client, demo):
    page = main_content(client, "/countries/NO")
    completeness = page.split('<table id="completeness">')[1].split("</table>")[0]
    assert "Nordvik" in completeness
    assert "Valmorena" not in completeness and "Al-Nahra" not in completeness

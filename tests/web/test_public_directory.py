"""The public city list and country pages read in SQL (issue 20).

An anonymous visitor's `/cities` and `/countries/<iso2>` are filtered, sorted and paged by
the database from the scores stored at publication. These tests check that they show what
scoring live showed: the same cities, years, statuses, scores and bands, the same filter
results as filtering in Python, and the same completeness counts as the snapshots give.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from kpi_app.extensions import db
from kpi_app.models import Assessment, City
from kpi_app.services import reports, scores, seeding
from kpi_app.services.reports import country as country_report
from kpi_app.services.reports import directory
from kpi_app.services.reports.names import as_number


@pytest.fixture
def demo(app, make_city):
    seeding.seed_demo()
    make_city("empty-town", country="NO", population=1_600_000)  # no assessment at all
    return app


def public(filters: directory.CityFilters) -> directory.CityDirectory:
    plan = reports.plan_directory(None, filters)
    assert plan.public is not None  # the SQL path
    return reports.build_directory(plan)


def missing(value) -> bool:
    return value is None or value != value


def latest_published() -> dict[str, Assessment]:
    latest: dict[str, Assessment] = {}
    for a in db.session.scalars(
        select(Assessment).where(Assessment.published_at.is_not(None)).order_by(Assessment.year)
    ):
        latest[a.city.slug] = a
    return latest


def test_rows_show_what_live_scoring_gives(demo):
    rows = public(directory.CityFilters()).rows
    assert len(rows) == db.session.scalar(select(func.count(City.id)))
    latest = latest_published()
    live = scores.score_assessments(list(latest.values()), source="published").overall
    expected = {
        str(r["city"]): (as_number(r["score"]), int(r["band"]) if r["band"] == r["band"] else 0)
        for r in live.to_dict("records")
    }
    assert len(latest) >= 3
    for row in rows.to_dict("records"):
        if row["slug"] in latest:
            score, band = expected[row["slug"]]
            assert row["year"] == latest[row["slug"]].year
            assert row["status"] == "published"
            assert missing(row["score"]) if score is None else row["score"] == round(score, 1)
            assert row["band"] == band
        else:
            assert row["status"] == "not started"
            assert missing(row["score"]) and row["band"] == 0
    assert list(rows["name"]) == sorted(rows["name"])


def test_sql_filters_match_filtering_in_python(demo):
    every = public(directory.CityFilters()).rows
    countries = sorted(set(every["iso2"]))
    regions = sorted({r for r in every["region"] if r})
    combos = itertools.product(
        ["", *countries[:2]],
        ["", *regions[:1]],
        ["", "small", "metropolitan", "large"],
        ["", "published", "not started", "in progress"],
    )
    for country, region, size, status in combos:
        got = public(directory.CityFilters(country, region, size, status)).rows
        keep = [True] * len(every)
        for column, wanted in (("iso2", country), ("region", region), ("size", size),
                               ("status", status)):  # fmt: skip
            if wanted:
                keep = [k and v == wanted for k, v in zip(keep, every[column], strict=True)]
        want = every[keep]
        assert list(got["slug"]) == list(want["slug"]), (country, region, size, status)
    assert public(directory.CityFilters(status="not started")).rows["slug"].tolist() == [
        "empty-town"
    ]


def test_the_table_page_is_read_with_limit_and_offset(demo, monkeypatch):
    monkeypatch.setattr(directory, "CITY_PAGE_SIZE", 2)
    every = public(directory.CityFilters()).rows
    second = public(directory.CityFilters(page=2))
    assert list(second.page_rows["slug"]) == list(every["slug"][2:4])
    assert second.pages == -(-len(every) // 2)
    past = public(directory.CityFilters(page=99))
    assert past.page == past.pages
    assert list(past.page_rows["slug"]) == list(every["slug"][(past.pages - 1) * 2 :])


def test_country_completeness_equals_the_snapshot_counts(demo):
    latest = latest_published()
    for iso2 in sorted({a.city.country.iso2 for a in latest.values()}):
        view = reports.country_view(iso2, None)
        own = {a.city_id: (a, "published") for a in latest.values() if a.city.country.iso2 == iso2}
        expected = country_report._completeness(own)
        key = ["slug"]
        got = view.completeness.sort_values(key).reset_index(drop=True)
        want = expected.sort_values(key).reset_index(drop=True)
        assert got.to_dict("records") == want.to_dict("records")


def test_a_new_publication_changes_the_key(demo, make_assessment):
    from tests.factories import add_values, publish

    before = reports.plan_directory(None, directory.CityFilters()).key_parts()
    city = db.session.scalar(select(City).where(City.slug == "empty-town"))
    assessment = make_assessment(city, year=2024)
    add_values(assessment)
    publish(assessment)
    after = reports.plan_directory(None, directory.CityFilters()).key_parts()
    assert after != before
    row = public(directory.CityFilters(country="NO")).rows.set_index("slug").loc["empty-town"]
    assert row["status"] == "published" and row["year"] == 2024

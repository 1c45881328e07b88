"""The SDG and indicator pages read published values in bulk (issue 20).

They read the ``published_value`` rows of the KPIs they show instead of decoding every
snapshot: with 3 and with 12 published cities (two years each) the number of SQL statements
is the same, no snapshot and no assessment is loaded as an object, and the SDG table is the
one the snapshots give (built here the old way, from the snapshots' JSON, for comparison).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pandas as pd
import pytest
from sqlalchemy import event

from kpi_app.models import Snapshot
from kpi_app.services import reports, scores
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.reports import sdg as sdg_reports
from tests.web.test_page_work import counting, grow  # noqa: F401 - the fixture

INDICATOR = "/indicators/" + quote("EN: EN: AQ: 1C")  # linked to SDG 11.6


@contextmanager
def snapshots_loaded() -> Iterator[list[int]]:
    loaded: list[int] = []

    def on_load(target: Snapshot, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Snapshot, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(Snapshot, "load", on_load)


@pytest.mark.parametrize("url", ["/sdg", "/sdg/11.6", "/sdg/17", INDICATOR])
def test_pages_cost_the_same_at_two_sizes(client, grow, url):  # noqa: F811 - pytest fixture
    measured = []
    for size in (3, 12):
        grow(size)
        with counting() as cold, snapshots_loaded() as cold_snapshots:
            response = client.get(url)
            assert response.status_code == 200, response.data[:300]
        with counting() as warm:
            again = client.get(url)
        text = again.get_data(as_text=True)
        measured.append((cold, warm, cold_snapshots))
        if url in ("/sdg/11.6", INDICATOR):
            assert f"Town-{size:02d}" in text  # the newest city is on the page
    (small_cold, small_warm, small_snaps), (big_cold, big_warm, big_snaps) = measured
    assert big_warm.statements == small_warm.statements
    assert big_cold.statements <= small_cold.statements  # the first request also warms caches
    assert small_snaps == big_snaps == []  # no snapshot decoded
    assert big_cold.assessments == small_cold.assessments == 0


def old_sdg_table() -> pd.DataFrame:
    """The SDG table as the snapshots give it (the code before the published-value rows)."""
    published = scores.published_assessments(None)
    catalogue = current_catalogue()
    return sdg_reports._sdg_table(
        reports.sdg_links(catalogue),
        scores.values_frame(published, "published"),
        catalogue,
        "en",
        {a.city.slug: a.city.name for a in published},
        scores.published_targets(published),
    )


def test_the_sdg_table_is_what_the_snapshots_give(app, grow):  # noqa: F811
    grow(4)
    with app.test_request_context("/?lang=en"):
        new = reports.sdg_view(None).table
        old = old_sdg_table()
    assert len(new) == len(old) > 0
    key = ["goal", "target", "code", "data_point", "city"]
    pd.testing.assert_frame_equal(
        new.sort_values(key).reset_index(drop=True),
        old.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    # Progress was measured for the published cities (not only "no published data" rows).
    assert set(new.loc[new["city"] != "", "city"]) == {f"town-{n:02d}" for n in range(1, 5)}


def test_the_indicator_page_lists_every_published_city_and_year(client, grow):  # noqa: F811
    made = grow(5)
    text = client.get(INDICATOR).get_data(as_text=True)
    download = client.get(INDICATOR + "/values.csv").get_data(as_text=True)
    rows = [line for line in download.splitlines()[1:] if line.strip()]
    # Two data points (pm25, pm10) x two years x five cities.
    assert len(rows) == 2 * 2 * len(made)
    assert all(slug in download for slug in made)
    assert all(slug.title() in text for slug in made)


def test_the_indicator_page_serves_its_published_block_from_the_cache(client, grow):  # noqa: F811
    """A repeated indicator page reads no published value (only the fingerprint); a
    publication asks for a new rendering with the new city on it."""
    from kpi_app.extensions import db

    seen: list[str] = []

    def on_statement(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    grow(3)
    first = client.get(INDICATOR).get_data(as_text=True)
    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        client.get(INDICATOR)
        warm = list(seen)
        seen.clear()
        grow(4)
        seen.clear()
        after = client.get(INDICATOR).get_data(as_text=True)
        cold = list(seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
    assert warm and not any("FROM published_value" in s for s in warm)
    assert any("FROM published_value" in s for s in cold)  # read again after a publication
    assert "Town-04" in after and "Town-04" not in first


def test_a_target_page_shows_its_series_a_page_at_a_time(client, app, grow, monkeypatch):  # noqa: F811
    """/sdg/<target> lists 50 series a page (5 here): following its Next links from the
    first page shows every row of the target's table once, and no page shows more."""
    import re

    monkeypatch.setattr(sdg_reports, "SDG_PAGE_SIZE", 5)
    grow(4)
    with app.test_request_context("/?lang=en"):
        expected = reports.sdg_view(None).section("11.6")["rows"]
    url, seen, pages = "/sdg/11.6", [], 0
    while url:
        html = client.get(url).get_data(as_text=True)
        table = html.split('id="sdg-11-6"')[1].split("</table>")[0]
        rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, flags=re.S)
        assert 0 < len(rows) <= 5
        seen += rows
        pages += 1
        found = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == -(-len(expected) // 5) > 1
    assert len(seen) == len(set(seen)) == len(expected)
    with_city = expected[expected["city"] != ""]
    assert sum("Town-04" in row for row in seen) == (with_city["city"] == "town-04").sum() > 0
    assert client.get("/sdg/11.6?page=999").status_code == 200
    assert f"Page {pages} of {pages}" in client.get("/sdg/11.6?page=999").get_data(as_text=True)


def test_the_sdg_table_equals_the_snapshots_on_changing_series(app, make_city, make_assessment):
    """Values that move between years (up, down, past the target, before 2015 only, not
    reported in the latest year): the series grouped in SQL classify as the snapshots do."""
    from tests.factories import add_values, publish

    codes = [("EC: ICT: ICT: 1C", ""), ("EN: EN: AQ: 1C", "pm25"), ("EN: EN: AQ: 1C", "pm10"),
             ("EC: I: WS: 1C", ""), ("SC: SH: SA: 1C", "")]  # fmt: skip
    for n in range(6):
        city = make_city(f"moving-{n}", country="NO")
        for year in (2014, 2016, 2020, 2024):
            values = []
            for k, (code, point) in enumerate(codes):
                moved = 10.0 + n * 7 + k * 3 + (year - 2014) * (n - 2.5) * (k + 1)
                value: float | None = min(max(moved, 0.5), 99.0)
                if (n + k) % 4 == 0 and year == 2024:
                    value = None  # not reported in the latest year: its target still counts
                if n == 5 and k == 1 and year > 2014:
                    value = None  # reported before 2015 only: no base year
                values.append((code, point, value, 2, True))
            assessment = make_assessment(city, year=year)
            add_values(assessment, values)
            publish(assessment)
    db_expire()
    with app.test_request_context("/?lang=en"):
        new = reports.sdg_view(None).table
        old = old_sdg_table()
    key = ["goal", "target", "code", "data_point", "city"]
    pd.testing.assert_frame_equal(
        new.sort_values(key).reset_index(drop=True),
        old.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    classes = set(new.loc[new["city"] != "", "status"])
    assert len(classes) >= 3, classes  # the series really differ


def db_expire() -> None:
    from kpi_app.extensions import db

    db.session.expire_all()

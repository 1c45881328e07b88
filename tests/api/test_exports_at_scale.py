"""Exports at any size (issue 20): built once per published data, paged in SQL, flat memory.

SDMX-CSV and the Data Package are cached under a fingerprint of the published data they
cover: a repeated download runs the fingerprint query and nothing else (statements counted
with a ``before_cursor_execute`` listener), and a new publication is in the next one. An
NGSI-LD page reads its page of rows in SQL: its statements do not grow with the data.
Repeated exports keep the worker's memory flat (tracemalloc, in this process).
"""

from __future__ import annotations

import gc
import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from kpi_app.extensions import db
from tests.factories import SAMPLE_VALUES, add_values, publish

SDMX = "/api/v1/sdmx/data.csv?year=2024"
PACKAGE = "/api/v1/datapackage/2024.zip"
NGSI = "/api/v1/ngsi-ld/entities?year=2024&limit=5&offset=5&count=true"


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def on_statement(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)


@pytest.fixture
def grow(make_city, make_assessment):
    made: list[str] = []

    def to(n: int) -> None:
        while len(made) < n:
            city = make_city(f"town-{len(made) + 1:02d}", country="NO")
            assessment = make_assessment(city, year=2024)
            add_values(assessment, SAMPLE_VALUES)
            publish(assessment)
            made.append(city.slug)
        db.session.expire_all()

    return to


def test_a_repeated_export_is_served_from_the_cache(client, grow):
    grow(3)
    for url in (SDMX, PACKAGE):
        first = client.get(url)
        assert first.status_code == 200
        with statements() as seen:
            again = client.get(url)
        assert again.data == first.data  # the same bytes, the package's created time too
        # Only the fingerprint (and the request's own bookkeeping) ran: no value was read.
        assert not [s for s in seen if "published_value" in s and "count(" not in s.lower()]
        assert len(seen) <= 3, seen


def test_a_new_publication_is_in_the_next_export(client, grow):
    grow(2)
    before = client.get(SDMX).get_data(as_text=True)
    names = zipfile.ZipFile(io.BytesIO(client.get(PACKAGE).data)).read("data/cities.csv")
    assert "town-03" not in before and b"town-03" not in names
    grow(3)
    after = client.get(SDMX).get_data(as_text=True)
    assert "town-03" in after
    names = zipfile.ZipFile(io.BytesIO(client.get(PACKAGE).data)).read("data/cities.csv")
    assert b"town-03" in names
    assert after.count("\r\n") == before.count("\r\n") + len(SAMPLE_VALUES)


def test_an_ngsi_ld_page_costs_the_same_at_two_sizes(client, grow):
    grow(2)
    client.get(NGSI)
    with statements() as small:
        page = client.get(NGSI)
    assert page.status_code == 200 and len(page.get_json()) == 5
    assert page.headers["NGSILD-Results-Count"] == str(2 * len(SAMPLE_VALUES))
    grow(8)
    with statements() as big:
        page = client.get(NGSI)
    assert len(page.get_json()) == 5
    assert page.headers["NGSILD-Results-Count"] == str(8 * len(SAMPLE_VALUES))
    assert len(big) == len(small)
    # The page is read with LIMIT/OFFSET in SQL, not sliced from every entity.
    assert any("LIMIT" in s.upper() and "published_value" in s for s in big)


def _traced_without_bounded_caches() -> int:
    """Bytes traced now, leaving out psycopg's query cache: an lru_cache of 128 entries that
    on PostgreSQL keeps the DECLARE statement of each server-side cursor (every one has its
    own name, so the cache fills up to its bound, about 190 KB, however long the loop)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, "*/psycopg/_queries.py")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_memory_stays_flat_over_repeated_exports(client, grow):
    grow(12)
    urls = (SDMX, PACKAGE, NGSI, NGSI.replace("limit=5", "limit=1000"))
    for url in urls:  # warm: build and cache each file once, import what they import
        assert client.get(url).status_code == 200
    gc.collect()
    tracemalloc.start()
    try:
        # Three rounds before the baseline: statement, template and translation caches that
        # fill on first use (in whatever order the tests of this process ran) are full now.
        for _ in range(3):
            for url in urls:
                client.get(url)
        gc.collect()
        baseline = _traced_without_bounded_caches()
        for _ in range(10):
            for url in urls:
                assert client.get(url).status_code == 200
        gc.collect()
        grown = _traced_without_bounded_caches() - baseline
    finally:
        tracemalloc.stop()
    # Ten more rounds: a file kept per request would leave ten rounds of bodies behind;
    # what stays is less than one round (noise: logs, pools, statement caches).
    one_round = sum(len(client.get(url).data) for url in urls)
    print(f"memory growth over 10 rounds: {grown} bytes; one round of bodies: {one_round}")
    assert grown < one_round, (grown, one_round)

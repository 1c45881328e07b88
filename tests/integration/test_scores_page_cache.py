"""Page keys and the template digest that dashboard pages are cached under."""

from __future__ import annotations

import os
import time

from kpi_app.services.cache import LRUBackend, ResultCache, files_digest, page_key


def test_page_keys_depend_on_kind_and_every_part():
    parts = {"scores": "scores:abc", "city": [1, "nordvik", "Nordvik"], "locale": "en"}
    key = page_key("city", parts)
    assert key == page_key("city", dict(reversed(list(parts.items()))))  # order does not matter
    assert key != page_key("cities", parts)
    assert key != page_key("city", {**parts, "locale": "fr"})
    assert key != page_key("city", {**parts, "city": [1, "nordvik", "Nordvik Renamed"]})


def test_template_digest_follows_file_content(tmp_path):
    folder = tmp_path / "dashboards"
    folder.mkdir()
    page = folder / "city.html"
    page.write_text("<h1>{{ name }}</h1>")
    first = files_digest([folder, tmp_path / "missing"])
    assert files_digest([folder]) == first
    page.write_text("<h1>{{ name }}!</h1>")
    # A later modification time as well, as an edit on disk would have.
    later = time.time() + 5
    os.utime(page, (later, later))
    assert files_digest([folder]) != first
    (folder / "new.html").write_text("x")
    assert len({first, files_digest([folder])}) == 2


def test_cached_values_are_copies_the_caller_may_change():
    cache = ResultCache(LRUBackend(4))
    value = cache.get_or_compute("k", lambda: {"rows": [1, 2]})
    value["rows"].append(3)
    assert cache.get_or_compute("k", lambda: {"rows": []}) == {"rows": [1, 2]}
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)

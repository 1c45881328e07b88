"""The catalogue and benchmark sets as configured for the running app."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from kpi_app.catalogue import BenchmarkSet, Catalogue, load_benchmark_sets, load_catalogue
from kpi_app.catalogue.benchmark_import import set_from_record
from kpi_app.extensions import db
from kpi_app.models import BenchmarkSetRecord

log = logging.getLogger(__name__)

# Benchmark sets parsed once per (catalogue, files on disk): parsing and validating the YAML
# costs ~100 ms, far too much to repeat on every page.
_benchmark_cache: dict[tuple[object, ...], dict[str, BenchmarkSet]] = {}


def current_catalogue() -> Catalogue:
    return load_catalogue(current_app.config["CATALOGUE_DIR"])


def _benchmark_files_key(catalogue: Catalogue) -> tuple[object, ...]:
    directory = Path(catalogue.path) / "benchmarks"
    files = sorted(directory.glob("*.y*ml")) if directory.is_dir() else []
    stamps = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return (str(catalogue.path), catalogue.version, id(catalogue), stamps)


def benchmark_sets() -> dict[str, BenchmarkSet]:
    """Every set by id: the built-in files, then the newest version of each imported set."""
    sets = file_benchmark_sets()
    try:
        imported = imported_sets()
    except SQLAlchemyError as error:  # no database (yet): the built-in sets still work
        db.session.rollback()
        log.warning("imported benchmark sets unavailable (%s)", error)
        imported = {}
    return {**sets, **{key: value for key, value in imported.items() if key not in sets}}


def file_benchmark_sets() -> dict[str, BenchmarkSet]:
    """The built-in sets: ``indicators/benchmarks/*.yaml``."""
    catalogue = current_catalogue()
    key = _benchmark_files_key(catalogue)
    sets = _benchmark_cache.get(key)
    if sets is None:
        sets = load_benchmark_sets(catalogue)
        _benchmark_cache.clear()  # one configuration per process; keep memory flat
        _benchmark_cache[key] = sets
    return sets


def benchmark_set(set_id: str | None = None) -> BenchmarkSet:
    """The named benchmark set, or the configured default."""
    sets = benchmark_sets()
    chosen = set_id or current_app.config["DEFAULT_BENCHMARK_SET"]
    if chosen not in sets:
        raise KeyError(f"unknown benchmark set {chosen!r}; known: {', '.join(sorted(sets))}")
    return sets[chosen]


# --- imported sets (stored by services.benchmark_sets) ------------------------------------

_parsed: dict[tuple[int, str], BenchmarkSet] = {}


def as_set(record: BenchmarkSetRecord) -> BenchmarkSet:
    """The record as a BenchmarkSet (parsed once per row content)."""
    key = (record.id, record.content_hash)
    found = _parsed.get(key)
    if found is None:
        found = set_from_record(
            record.set_id, record.version, record.name, record.description, record.entries
        )
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[key] = found
    return found


def imported_sets() -> dict[str, BenchmarkSet]:
    """The newest version of every imported set, by id."""
    # Keys first (a light query on every page); a row's JSON is read only when not parsed yet.
    rows = db.session.execute(
        select(
            BenchmarkSetRecord.id, BenchmarkSetRecord.set_id, BenchmarkSetRecord.content_hash
        ).order_by(BenchmarkSetRecord.id)
    ).all()
    newest = {row.set_id: (row.id, row.content_hash) for row in rows}
    result: dict[str, BenchmarkSet] = {}
    for set_id, key in newest.items():
        found = _parsed.get(key)
        if found is None:
            record = db.session.get(BenchmarkSetRecord, key[0])
            assert record is not None
            found = as_set(record)
        result[set_id] = found
    return result

"""The catalogue and benchmark sets as configured for the running app."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from kpi_app.catalogue import BenchmarkSet, Catalogue, load_benchmark_sets, load_catalogue
from kpi_app.extensions import db

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
    from kpi_app.services.benchmark_sets import imported_sets

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

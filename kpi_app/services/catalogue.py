"""The catalogue and benchmark sets as configured for the running app."""

from __future__ import annotations

from flask import current_app

from kpi_app.catalogue import BenchmarkSet, Catalogue, load_benchmark_sets, load_catalogue


def current_catalogue() -> Catalogue:
    return load_catalogue(current_app.config["CATALOGUE_DIR"])


def benchmark_sets() -> dict[str, BenchmarkSet]:
    return load_benchmark_sets(current_catalogue())


def benchmark_set(set_id: str | None = None) -> BenchmarkSet:
    """The named benchmark set, or the configured default."""
    sets = benchmark_sets()
    chosen = set_id or current_app.config["DEFAULT_BENCHMARK_SET"]
    if chosen not in sets:
        raise KeyError(f"unknown benchmark set {chosen!r}; known: {', '.join(sorted(sets))}")
    return sets[chosen]

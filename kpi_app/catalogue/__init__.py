"""The U4SSC KPI catalogue: indicator definitions and benchmark sets, loaded from YAML.

This package is the platform's single source of truth about *what* is measured: the 91
U4SSC Key Performance Indicators for Smart Sustainable Cities (ITU-T Y.4903), their
structure, methods, scoring directions and plausibility ranges, plus named benchmark sets.
It is pure: it reads files and returns immutable objects, and never imports Flask or
SQLAlchemy, so the scoring engine, charts, CLI and tests can all use it directly.

Typical use::

    catalogue = load_catalogue()                   # indicators/ in the repository
    kpi = catalogue.indicator("sc:eh:ed:1c")       # any spelling of a code
    sets = load_benchmark_sets(catalogue)          # indicators/benchmarks/*.yaml
    target = sets["indicative-2026"].target("EN: EN: AQ: 1C", "pm25")

Yes/no values are stored as 1.0 (yes) and 0.0 (no).
"""

from kpi_app.catalogue.benchmarks import (
    Benchmark,
    BenchmarkSet,
    load_benchmark_set,
    load_benchmark_sets,
)
from kpi_app.catalogue.codes import normalise_code
from kpi_app.catalogue.errors import CatalogueError
from kpi_app.catalogue.loader import DEFAULT_CATALOGUE_DIR, load_catalogue
from kpi_app.catalogue.model import (
    KINDS,
    NO,
    TIERS,
    VALUE_TYPES,
    YES,
    Catalogue,
    Category,
    DataPoint,
    Dimension,
    Direction,
    Indicator,
    Item,
    SubDimension,
    text,
)

__all__ = [
    "DEFAULT_CATALOGUE_DIR",
    "KINDS",
    "NO",
    "TIERS",
    "VALUE_TYPES",
    "YES",
    "Benchmark",
    "BenchmarkSet",
    "Catalogue",
    "CatalogueError",
    "Category",
    "DataPoint",
    "Dimension",
    "Direction",
    "Indicator",
    "Item",
    "SubDimension",
    "load_benchmark_set",
    "load_benchmark_sets",
    "load_catalogue",
    "normalise_code",
    "text",
]

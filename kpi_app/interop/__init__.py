"""Exchange formats of the field, as pure builders and parsers (no Flask, no database).

- `ngsi_ld`: FIWARE smart data model KeyPerformanceIndicator entities (NGSI-LD) + @context.
- `sdmx`: SDMX-CSV 2.0 observations.
- `datapackage`: Frictionless Tabular Data Package (zip).

All builders take `Observation`s; all parsers return `ParsedValue`s whose `import_row()` is
what the validating importer reads, so every import path shares one set of rules.
"""

from kpi_app.interop.datapackage import IndicatorRow, build_files, parse_package, to_zip
from kpi_app.interop.ngsi_ld import context_document, entity_id, parse_entities, to_entities
from kpi_app.interop.records import InteropFormatError, Observation, ParsedValue
from kpi_app.interop.sdmx import parse_sdmx_csv, to_sdmx_csv

__all__ = [
    "IndicatorRow",
    "InteropFormatError",
    "Observation",
    "ParsedValue",
    "build_files",
    "context_document",
    "entity_id",
    "parse_entities",
    "parse_package",
    "parse_sdmx_csv",
    "to_entities",
    "to_sdmx_csv",
    "to_zip",
]

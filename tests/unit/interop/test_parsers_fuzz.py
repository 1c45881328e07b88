"""Untrusted exchange files never crash a parser: they read, or fail with InteropFormatError.

The NGSI-LD, SDMX-CSV and Data Package parsers read files and request bodies from outside. Any
bytes, text or JSON must end in a list of `ParsedValue`s or in the documented
`InteropFormatError` (which the API and the upload page turn into a 400 with its problems), never
in a TypeError, KeyError, zlib.error ... (a 500 that names no problem).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_app.catalogue import normalise_code
from kpi_app.interop import (
    InteropFormatError,
    ParsedValue,
    parse_entities,
    parse_package,
    parse_sdmx_csv,
)
from kpi_app.services.interop import parse_interop
from tests.conftest import build_app
from tests.unit.interop.strategies import (
    cell_text,
    csv_text,
    damaged,
    json_bytes,
    json_values,
    json_with,
    zip_bytes,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NGSI_KEYS = [
    "id",
    "type",
    "frameworkCode",
    "dataPoint",
    "kpiValue",
    "reported",
    "dataQualityLevel",
    "referenceYear",
    "calculationPeriod",
    "cityIdentifier",
    "kpiUnit",
    "source",
    "dataYear",
    "@context",
    "@graph",
    "value",
    "@value",
    "from",
]
SDMX_COLUMNS = ["REF_AREA", "TIME_PERIOD", "INDICATOR", "OBS_VALUE"]
SDMX_OPTIONAL = ["OBS_STATUS", "DATA_QUALITY", "DATA_POINT", "UNIT_MEASURE"]
PACKAGE_COLUMNS = ["city", "year", "code", "value"]


def _check(parse, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        parsed = parse(*args)
    except InteropFormatError as error:
        assert error.problems, "an InteropFormatError must name at least one problem"
        assert all(isinstance(p, str) and p for p in error.problems)
        return
    assert isinstance(parsed, list)
    for value in parsed:
        assert isinstance(value, ParsedValue)
        assert normalise_code(value.code) == value.code
        value.import_row()


# NGSI-LD entities: JSON the API receives as a request body or as an uploaded .jsonld.

ngsi_attribute = json_values | st.fixed_dictionaries(
    {"type": st.sampled_from(["Property", "GeoProperty", "Relationship"]) | json_values},
    optional={"value": json_values | st.fixed_dictionaries({"@value": json_values})},
)
ngsi_entity = st.fixed_dictionaries(
    {"type": st.just("KeyPerformanceIndicator") | json_values},
    optional={
        key: ngsi_attribute | cell_text
        for key in NGSI_KEYS
        if key not in {"type", "@graph", "value", "@value", "from"}
    },
)


@FUZZ
@given(json_values)
def test_ngsi_ld_any_json(payload: object) -> None:
    _check(parse_entities, payload)


@FUZZ
@given(st.lists(ngsi_entity | json_with(NGSI_KEYS), min_size=1, max_size=4))
def test_ngsi_ld_entity_shaped_json(entities: list[object]) -> None:
    _check(parse_entities, entities)
    _check(parse_entities, {"@graph": entities})


# SDMX-CSV: text uploads.


@FUZZ
@given(st.text())
def test_sdmx_any_text(text: str) -> None:
    _check(parse_sdmx_csv, text)


@FUZZ
@given(csv_text(SDMX_COLUMNS + SDMX_OPTIONAL) | csv_text(SDMX_COLUMNS))
def test_sdmx_csv_shaped_text(text: str) -> None:
    _check(parse_sdmx_csv, text)


# Data Package: zip uploads.

package_descriptor = json_bytes(
    json_values
    | st.fixed_dictionaries(
        {
            "resources": st.lists(
                st.fixed_dictionaries(
                    {"name": st.just("values") | json_values},
                    optional={"path": st.just("data/values.csv") | json_values},
                ),
                max_size=2,
            )
            | json_values
        }
    )
)
package = zip_bytes(
    {
        "datapackage.json": package_descriptor | st.binary(max_size=40),
        "data/values.csv": csv_text(PACKAGE_COLUMNS).map(str.encode) | st.binary(max_size=40),
    }
)


@FUZZ
@given(st.binary(max_size=400))
def test_datapackage_any_bytes(data: bytes) -> None:
    _check(parse_package, data)


@FUZZ
@given(package)
def test_datapackage_zip_shaped_bytes(data: bytes) -> None:
    _check(parse_package, data)


@FUZZ
@given(damaged(package))
def test_datapackage_damaged_zip(data: bytes) -> None:
    _check(parse_package, data)


# The service entry point the API and the upload page call with the raw request body.
# It reads the catalogue's units (SDMX unit codes), so it runs inside an app; no database.


@pytest.fixture(scope="module")
def app_context() -> Iterator[None]:
    with build_app("sqlite://").app_context():
        yield


@FUZZ
@given(
    st.binary(max_size=300) | json_bytes(json_values) | csv_text(SDMX_COLUMNS).map(str.encode),
    st.sampled_from(["ngsi-ld", "sdmx-csv", "datapackage", "xml"]),
)
def test_parse_interop_any_body(app_context: None, data: bytes, fmt: str) -> None:
    _check(parse_interop, data, fmt)

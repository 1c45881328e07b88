"""Exchange formats: exports validate (frictionless, FIWARE schema, SDMX re-read) and round-trip."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from frictionless import validate

from kpi_app.extensions import db
from kpi_app.interop import InteropFormatError
from kpi_app.interop.ngsi_ld import MODEL_TERMS
from kpi_app.models import Assessment, City, IndicatorValue, Status
from kpi_app.services import interop
from tests.factories import SAMPLE_VALUES, published_city

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "fixtures/ngsi/KeyPerformanceIndicator.schema.json").read_text()
)
CONTEXT_URL = "http://localhost/api/v1/ngsi-ld/context.jsonld"


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    return published_city(make_city, make_assessment, "fjordby", country="NO")


def _live_values(assessment: Assessment) -> dict[tuple[str, str], float | None]:
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    return {(row.code, row.data_point): row.value for row in rows}


def _reopen_empty(assessment: Assessment) -> None:
    """Back to draft with no values: what a round trip must rebuild."""
    db.session.execute(
        db.delete(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    assessment.status = Status.DRAFT
    db.session.commit()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


EXPECTED = {(code, point): value for code, point, value, _, _ in SAMPLE_VALUES}


def test_datapackage_validates_with_frictionless(published: Assessment, tmp_path: Path) -> None:
    archive = zipfile.ZipFile(io.BytesIO(interop.datapackage_zip(2024)))
    archive.extractall(tmp_path)
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = _csv_rows(tmp_path / "data/values.csv")
    assert len(rows) == len(SAMPLE_VALUES)
    not_reported = next(r for r in rows if r["code"] == "EC: ICT: ICT: 3C")
    assert not_reported["value"] == "NA" and not_reported["reported"] == "false"
    indicators = _csv_rows(tmp_path / "data/indicators.csv")
    assert len(indicators) == 112  # every KPI item of the catalogue


def test_datapackage_validation_catches_a_broken_value(
    published: Assessment, tmp_path: Path
) -> None:
    zipfile.ZipFile(io.BytesIO(interop.datapackage_zip(2024))).extractall(tmp_path)
    values = tmp_path / "data/values.csv"
    values.write_text(values.read_text().replace(",95.5,", ",ninety,"), encoding="utf-8")
    assert not validate(str(tmp_path / "datapackage.json")).valid


def _key_values(entity: dict) -> dict:  # type: ignore[type-arg]
    plain = {}
    for key, attribute in entity.items():
        if key in ("id", "type", "@context"):
            plain[key] = attribute
            continue
        assert attribute["type"] in ("Property", "GeoProperty"), key
        value = attribute["value"]
        plain[key] = value["@value"] if isinstance(value, dict) and "@value" in value else value
    return plain


def test_ngsi_ld_entities_match_the_smart_data_model(published: Assessment) -> None:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    normalised = interop.ngsi_ld_entities(CONTEXT_URL, year=2024)
    key_values = interop.ngsi_ld_entities(CONTEXT_URL, year=2024, key_values=True)
    assert len(normalised) == len(key_values) == len(SAMPLE_VALUES)
    for entity, plain in zip(normalised, key_values, strict=True):
        validator.validate(plain)
        assert _key_values(entity) == plain
    ids = {entity["id"] for entity in normalised}
    assert len(ids) == len(normalised)  # one entity per city × item × year
    pm25 = next(e for e in key_values if e.get("dataPoint") == "pm25")
    assert pm25["kpiValue"] == 12.25 and pm25["kpiTarget"] == 5.0
    assert pm25["kpiUnit"] and pm25["dataQualityLevel"] == 2
    assert pm25["verificationStatus"] == "verified"
    assert pm25["calculationPeriod"] == {"from": "2024-01-01", "to": "2024-12-31"}
    assert pm25["location"] == {"type": "Point", "coordinates": [5.32, 60.39]}
    missing = next(e for e in key_values if e["frameworkCode"] == "EC: ICT: ICT: 3C")
    assert "kpiValue" not in missing and missing["reported"] is False


def test_ngsi_ld_validation_catches_a_wrong_entity(published: Assessment) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    entity = interop.ngsi_ld_entities(CONTEXT_URL, year=2024, key_values=True)[0]
    entity["calculationFrequency"] = "every now and then"
    assert not validator.is_valid(entity)


def test_context_defines_every_attribute(client: FlaskClient, published: Assessment) -> None:
    context = client.get("/api/v1/ngsi-ld/context.jsonld")
    assert context.mimetype == "application/ld+json"
    terms = context.get_json()["@context"]
    entities = client.get("/api/v1/ngsi-ld/entities?options=keyValues").get_json()
    used = {key for entity in entities for key in entity} - {"id", "type", "@context", "location"}
    # U4SSC terms are defined here, the model's own by the official context the entities name.
    assert used <= set(terms) | set(MODEL_TERMS)
    assert not set(terms) & set(MODEL_TERMS)
    assert entities[0]["@context"][1] == "http://localhost/api/v1/ngsi-ld/context.jsonld"


def test_sdmx_csv_re_reads(published: Assessment, client: FlaskClient) -> None:
    response = client.get("/api/v1/sdmx/data.csv?year=2024")
    assert response.mimetype == "application/vnd.sdmx.data+csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0])[:8] == [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        "REF_AREA",
        "TIME_PERIOD",
        "INDICATOR",
        "DATA_POINT",
        "OBS_VALUE",
    ]
    status = {(r["INDICATOR"], r["DATA_POINT"]): r["OBS_STATUS"] for r in rows}
    assert status[("EC_ICT_ICT_1C", "_Z")] == "A"
    assert status[("EC_ICT_ICT_2C", "_Z")] == "E"  # quality level 3: estimated
    assert status[("EN_EN_AQ_1C", "pm10")] == "U"  # quality level 6: method unknown
    assert status[("EC_ICT_ICT_3C", "_Z")] == "O"  # not reported: missing value, not "cannot exist"
    parsed = interop.parse_interop(response.get_data(), "sdmx-csv")
    assert {(p.code, p.data_point): p.value for p in parsed} == EXPECTED


@pytest.mark.parametrize("fmt", ["ngsi-ld", "sdmx-csv", "datapackage"])
def test_round_trip_through_the_importer(published: Assessment, fmt: str) -> None:
    exported = interop.export(fmt, year=2024, context_url=CONTEXT_URL)
    _reopen_empty(published)
    report = interop.import_interop(exported.content, fmt, "fjordby", 2024, None, dry_run=False)
    assert report.ok, report.problems
    assert _live_values(published) == EXPECTED


def test_import_refuses_other_cities_and_writes_nothing(published: Assessment) -> None:
    exported = interop.export("ngsi-ld", year=2024, context_url=CONTEXT_URL)
    _reopen_empty(published)
    with pytest.raises(InteropFormatError, match="other cities"):
        interop.import_interop(exported.content, "ngsi-ld", "fjordby", 2023, None, dry_run=False)
    broken = json.loads(exported.content)
    broken[1]["kpiValue"] = {"type": "Property", "value": "lots"}
    with pytest.raises(InteropFormatError, match="kpiValue"):
        interop.import_interop(
            json.dumps(broken).encode(), "ngsi-ld", "fjordby", 2024, None, dry_run=False
        )
    assert _live_values(published) == {}


def test_import_validation_is_data_io_s(published: Assessment) -> None:
    """A value the catalogue rejects is reported by row, and nothing is written."""
    text = interop.export("sdmx-csv", year=2024, context_url=CONTEXT_URL).content.decode()
    _reopen_empty(published)
    broken = text.replace("EC_ICT_ICT_1C,_Z,95.5", "EC_ICT_ICT_1C,nosuchpoint,95.5")
    report = interop.import_interop(
        broken.encode(), "sdmx-csv", "fjordby", 2024, None, dry_run=False
    )
    assert not report.ok
    assert report.errors[0].row == 1
    assert _live_values(published) == {}


def test_cli_export_and_import(
    published: Assessment, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    printed = runner.invoke(args=["export-interop", "--format", "sdmx-csv", "--year", "2024"])
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith("STRUCTURE,")
    target = tmp_path / "cycle.zip"
    written = runner.invoke(
        args=["export-interop", "--format", "datapackage", "--year", "2024", "--output", target]
    )
    assert written.exit_code == 0 and zipfile.is_zipfile(target)
    _reopen_empty(published)
    dry = runner.invoke(
        args=["import-interop", str(target), "--city", "fjordby", "--year", "2024", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "Would change 5" in dry.output
    assert _live_values(published) == {}
    real = runner.invoke(
        args=["import-interop", str(target), "--city", "fjordby", "--year", "2024"]
    )
    assert real.exit_code == 0, real.output
    assert _live_values(published) == EXPECTED
    wrong = runner.invoke(
        args=["import-interop", str(target), "--city", "nowhere", "--year", "2024"]
    )
    assert wrong.exit_code == 1 and "Error" in wrong.output

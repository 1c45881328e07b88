"""Re-importing an exchange file keeps what the file does not carry (issue 14, item 3).

A round trip through every format must lose nothing: values, units, quality, source, data
year and not-reported reasons; a file that lacks a column (or an entity that omits an
attribute) leaves the stored field alone instead of clearing it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, Status
from kpi_app.services import interop
from tests.factories import add_values, publish

CONTEXT_URL = "https://kpi.example.org/api/v1/ngsi-ld/context.jsonld"
FORMATS = ["ngsi-ld", "sdmx-csv", "datapackage"]
REASON = "The 2024 household survey was postponed"
FIELDS = (
    "computed_value",
    "override_value",
    "numerator",
    "denominator",
    "reported",
    "not_reported_reason",
    "quality",
    "source",
    "source_url",
    "data_year",
    "comment",
)


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    city = make_city("fjordby", country="NO", latitude=60.39, longitude=5.32)
    assessment = make_assessment(city, year=2024)
    add_values(assessment)
    rows = {(v.code, v.data_point): v for v in assessment.values}
    rows[("EC: ICT: ICT: 3C", "")].not_reported_reason = REASON
    rows[("EC: ICT: ICT: 1C", "")].data_year = 2023
    rows[("EC: ICT: ICT: 1C", "")].source_url = "https://stats.example.org/ict"
    rows[("EC: ICT: ICT: 1C", "")].comment = "Checked against the operator survey"
    db.session.commit()
    return publish(assessment)


def _stored(assessment: Assessment) -> dict[tuple[str, str], dict[str, Any]]:
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    return {(r.code, r.data_point): {f: getattr(r, f) for f in FIELDS} for r in rows}


def _reopen(assessment: Assessment, *, empty: bool) -> None:
    if empty:
        db.session.execute(
            db.delete(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
        )
    assessment.status = Status.DRAFT
    db.session.commit()


@pytest.mark.parametrize("fmt", FORMATS)
def test_re_import_of_an_export_changes_nothing(published: Assessment, fmt: str) -> None:
    before = _stored(published)
    exported = interop.export(fmt, year=2024, context_url=CONTEXT_URL)
    _reopen(published, empty=False)
    report = interop.import_interop(exported.content, fmt, "fjordby", 2024, None, dry_run=False)
    assert report.ok, report.problems
    assert report.changes == []
    assert report.unchanged == len(before)
    assert _stored(published) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_into_an_empty_assessment_loses_nothing(published: Assessment, fmt: str) -> None:
    before = _stored(published)
    exported = interop.export(fmt, year=2024, context_url=CONTEXT_URL)
    _reopen(published, empty=True)
    report = interop.import_interop(exported.content, fmt, "fjordby", 2024, None, dry_run=False)
    assert report.ok, report.problems
    after = _stored(published)
    # Exchange formats carry the published value, source, quality, data year and the
    # not-reported reason; the comment and source URL stay internal to the platform.
    internal = ("source_url", "comment")
    expect = {k: {**v, **dict.fromkeys(internal)} for k, v in before.items()}
    assert after == expect
    assert after[("EC: ICT: ICT: 3C", "")]["not_reported_reason"] == REASON
    assert after[("EC: ICT: ICT: 1C", "")]["data_year"] == 2023


def test_every_export_carries_the_not_reported_reason(
    published: Assessment, client: FlaskClient
) -> None:
    api = client.get("/api/v1/values?city=fjordby&page_size=500").get_json()["data"]
    reasons = {row["code"]: row["not_reported_reason"] for row in api}
    assert reasons["EC: ICT: ICT: 3C"] == REASON and reasons["EC: ICT: ICT: 1C"] is None
    entities = interop.ngsi_ld_entities(CONTEXT_URL, year=2024, key_values=True)
    missing = next(e for e in entities if e["frameworkCode"] == "EC: ICT: ICT: 3C")
    assert missing["notReportedReason"] == REASON
    rows = list(csv.DictReader(io.StringIO(interop.sdmx_csv(year=2024))))
    row = next(r for r in rows if r["INDICATOR"] == "EC_ICT_ICT_3C")
    assert row["NOT_REPORTED_REASON"] == REASON and row["OBS_VALUE"] == "NaN"
    assert {r["SOURCE_DETAIL"] for r in rows} == {"Test statistics office"}


def _sdmx_without(columns: set[str]) -> bytes:
    rows = list(csv.DictReader(io.StringIO(interop.sdmx_csv(year=2024))))
    kept = [name for name in rows[0] if name not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, kept, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_sdmx_csv_without_attribute_columns_keeps_them(published: Assessment) -> None:
    before = _stored(published)
    minimal = _sdmx_without(
        {"DATA_QUALITY", "DATA_YEAR", "SOURCE_DETAIL", "NOT_REPORTED_REASON", "UNIT_MEASURE"}
    )
    _reopen(published, empty=False)
    report = interop.import_interop(minimal, "sdmx-csv", "fjordby", 2024, None, dry_run=False)
    assert report.ok, report.problems
    assert report.changes == []
    assert _stored(published) == before


def test_sdmx_csv_with_a_new_value_keeps_the_other_fields(published: Assessment) -> None:
    before = _stored(published)
    text = _sdmx_without({"SOURCE_DETAIL", "DATA_YEAR"}).decode()
    text = text.replace("EC_ICT_ICT_1C,_Z,95.5,", "EC_ICT_ICT_1C,_Z,96.5,")
    _reopen(published, empty=False)
    report = interop.import_interop(text.encode(), "sdmx-csv", "fjordby", 2024, None, dry_run=False)
    assert report.ok, report.problems
    assert [(c.code, c.new_value) for c in report.changes] == [("EC: ICT: ICT: 1C", "96.5")]
    after = _stored(published)
    changed = after[("EC: ICT: ICT: 1C", "")]
    assert changed["computed_value"] == 96.5
    assert changed["source"] == "Test statistics office" and changed["data_year"] == 2023
    assert changed["comment"] == "Checked against the operator survey"
    assert {k: v for k, v in after.items() if k[0] != "EC: ICT: ICT: 1C"} == {
        k: v for k, v in before.items() if k[0] != "EC: ICT: ICT: 1C"
    }


def test_ngsi_ld_entities_without_attributes_keep_them(published: Assessment) -> None:
    before = _stored(published)
    entities = json.loads(interop.export("ngsi-ld", year=2024, context_url=CONTEXT_URL).content)
    for entity in entities:
        for attribute in ("source", "dataYear", "dataQualityLevel", "notReportedReason"):
            entity.pop(attribute, None)
    _reopen(published, empty=False)
    report = interop.import_interop(
        json.dumps(entities).encode(), "ngsi-ld", "fjordby", 2024, None, dry_run=False
    )
    assert report.ok, report.problems
    assert report.changes == []
    assert _stored(published) == before


def test_a_file_s_own_not_reported_reason_replaces_the_stored_one(published: Assessment) -> None:
    entities = json.loads(interop.export("ngsi-ld", year=2024, context_url=CONTEXT_URL).content)
    missing = next(e for e in entities if e["frameworkCode"]["value"] == "EC: ICT: ICT: 3C")
    missing["notReportedReason"] = {"type": "Property", "value": "No operator data"}
    _reopen(published, empty=False)
    report = interop.import_interop(
        json.dumps(entities).encode(), "ngsi-ld", "fjordby", 2024, None, dry_run=False
    )
    assert report.ok, report.problems
    assert _stored(published)[("EC: ICT: ICT: 3C", "")]["not_reported_reason"] == (
        "No operator data"
    )

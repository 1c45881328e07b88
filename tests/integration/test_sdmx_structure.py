"""SDMX: the structure message defines the dataflow the SDMX-CSV names; sdmx1 reads both.

Issue 17: the dataflow `U4SSC:DF_U4SSC_KPI(1.0)` was referenced, never defined; units were
free text; missing numbers were empty cells (sdmx1's `to_pandas` failed on them).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sdmx
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import Assessment, City
from tests.factories import SAMPLE_VALUES, published_city

BIN = Path(sys.executable).parent


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    published_city(make_city, make_assessment, "lakeside", country="SE")
    return published_city(make_city, make_assessment, "fjordby", country="NO")


def _structure(client: FlaskClient) -> sdmx.message.StructureMessage:
    response = client.get("/api/v1/sdmx/structure")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.sdmx.structure+xml; version=2.1"
    message = sdmx.read_sdmx(io.BytesIO(response.data))
    assert isinstance(message, sdmx.message.StructureMessage)
    return message


def test_structure_defines_the_dataflow_and_its_code_lists(
    published: Assessment, client: FlaskClient
) -> None:
    structure = _structure(client)
    flow = structure.dataflow["DF_U4SSC_KPI"]
    assert (flow.maintainer.id, flow.version) == ("U4SSC", "1.0")
    dsd = flow.structure
    assert [d.id for d in dsd.dimensions.components] == [
        "REF_AREA",
        "INDICATOR",
        "DATA_POINT",
        "TIME_PERIOD",
    ]
    assert [m.id for m in dsd.measures.components] == ["OBS_VALUE"]
    assert {a.id for a in dsd.attributes.components} == {
        "UNIT_MEASURE",
        "OBS_STATUS",
        "DATA_QUALITY",
        "VERIFIED",
        "COUNTRY",
        "DATA_YEAR",
        "SOURCE_DETAIL",
        "NOT_REPORTED_REASON",
    }
    codelists = structure.codelist
    assert {c.id for c in codelists["CL_CITY"]} == {"fjordby", "lakeside"}
    assert len(codelists["CL_INDICATOR"]) == 91  # every U4SSC KPI
    assert "EC_ICT_ICT_1C" in {c.id for c in codelists["CL_INDICATOR"]}
    assert {"_Z", "pm25", "pm10"} <= {c.id for c in codelists["CL_DATA_POINT"]}
    units = {c.id: str(c.name) for c in codelists["CL_UNIT"]}
    assert units["PERCENTAGE"] == "Percentage"
    assert len(units) == len(set(units.values()))  # one code per catalogue unit
    status = {c.id: str(c.name) for c in codelists["CL_OBS_STATUS"]}
    assert status["O"] == "Missing value" and "M" not in status
    assert {c.id for c in codelists["CL_COUNTRY"]} == {"NO", "SE"}
    assert [c.id for c in codelists["CL_DATA_QUALITY"]] == ["1", "2", "3", "4", "5", "6"]


def test_sdmx1_reads_the_data_with_the_structure_into_pandas(
    published: Assessment, client: FlaskClient
) -> None:
    structure = _structure(client)
    flow = structure.dataflow["DF_U4SSC_KPI"]
    text = client.get("/api/v1/sdmx/data.csv?city=fjordby").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(row["OBS_VALUE"] for row in rows)  # a missing number is NaN, never empty
    message = sdmx.read_sdmx(io.BytesIO(text.encode()), format="csv", structure=flow)
    frame = sdmx.to_pandas(message.data[0], attributes="o")
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(SAMPLE_VALUES)
    values = pd.to_numeric(frame["value"])
    by_key = {
        (indicator, point): value
        for (_, indicator, point, _), value in values.items()  # REF_AREA, …, TIME_PERIOD
    }
    assert by_key[("EC_ICT_ICT_1C", "_Z")] == 95.5
    assert by_key[("EN_EN_AQ_1C", "pm25")] == 12.25
    assert math.isnan(by_key[("EC_ICT_ICT_3C", "_Z")])
    # Every coded value is a code of its list.
    codelists = structure.codelist
    coded = {
        "REF_AREA": "CL_CITY",
        "INDICATOR": "CL_INDICATOR",
        "DATA_POINT": "CL_DATA_POINT",
        "UNIT_MEASURE": "CL_UNIT",
        "OBS_STATUS": "CL_OBS_STATUS",
        "COUNTRY": "CL_COUNTRY",
    }
    for column, codelist in coded.items():
        codes = {c.id for c in codelists[codelist]}
        assert {row[column] for row in rows} <= codes, column
    assert {row["DATA_QUALITY"] for row in rows} - {""} <= {
        c.id for c in codelists["CL_DATA_QUALITY"]
    }


def _unstamped(xml: bytes) -> bytes:
    return re.sub(rb"<mes:Prepared>[^<]*</mes:Prepared>", b"", xml)


def test_cli_writes_the_same_structure(
    published: Assessment, client: FlaskClient, database_url: str, tmp_path: Path
) -> None:
    db.session.commit()
    target = tmp_path / "structure.xml"
    done = subprocess.run(
        [
            str(BIN / "kpi-app"),
            "export-interop",
            "--format",
            "sdmx-structure",
            "--output",
            str(target),
        ],
        env={**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _unstamped(target.read_bytes()) == _unstamped(client.get("/api/v1/sdmx/structure").data)
    flow = sdmx.read_sdmx(io.BytesIO(target.read_bytes())).dataflow["DF_U4SSC_KPI"]
    assert flow.structure.id == "DSD_U4SSC_KPI"
    no_year = subprocess.run(
        [str(BIN / "kpi-app"), "export-interop", "--format", "sdmx-csv"],
        env={**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert no_year.returncode == 1 and "--year is required" in no_year.stderr

"""Published local KPIs in the exchange formats, with their own codes (issue 21).

NGSI-LD: the same entity type, `localCode` instead of `frameworkCode`, ids under
`urn:ngsi-ld:KeyPerformanceIndicator:local:`, after the U4SSC entities; `kpiSet` filters.
SDMX: a dataflow of their own, `U4SSC:DF_U4SSC_LOCAL(1.0)`, whose code list is built from the
published definitions; the U4SSC dataflow and its CL_INDICATOR are untouched. Only what a
publication froze is exported, and a city without local KPIs exports the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import sdmx
from flask.testing import FlaskClient, FlaskCliRunner
from pyld import jsonld

from kpi_app.extensions import db
from kpi_app.interop import InteropFormatError, to_entities
from kpi_app.interop.ngsi_ld import EXTENSION_TERMS, MODEL_TERMS
from kpi_app.models import Assessment, City, Role, Status
from kpi_app.services import interop, local_open_data
from tests.factories import (
    LOCAL_SAMPLE,
    SAMPLE_VALUES,
    add_local_kpis,
    add_values,
    publish,
    published_city,
)
from tests.integration.test_ngsi_ld_context import (
    DEFAULT_VOCAB,
    EXTENSION_URL,
    NGSI,
    TERMS,
    _keys,
    _loader,
)

URL = "/api/v1/ngsi-ld/entities"
U4SSC = len(SAMPLE_VALUES)
LOCAL = len(LOCAL_SAMPLE)


@pytest.fixture
def world(
    make_city: Callable[..., City],
    make_assessment: Callable[..., Assessment],
    make_user: Callable[..., Any],
) -> dict[str, Any]:
    """fjordby: U4SSC values only; kyebi: U4SSC and local values, published; draftby: local
    values in a draft (never exported)."""
    plain = published_city(make_city, make_assessment, "fjordby", country="NO")
    admin = make_user(Role.ADMIN)
    kyebi = make_city("kyebi", country="GH", latitude=6.17, longitude=-1.0)
    local = make_assessment(kyebi, year=2024)
    add_values(local)
    add_local_kpis(local, admin)
    publish(local)
    draftby = make_city("draftby", country="GH")
    draft = make_assessment(draftby, year=2024)
    add_values(draft)
    add_local_kpis(draft, admin)
    return {"plain": plain, "local": local, "draft": draft, "admin": admin}


def _get(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: list[dict[str, Any]] = response.get_json()
    return body


def _plain(attribute: Any) -> Any:
    return attribute.get("value") if isinstance(attribute, dict) else attribute


def test_local_entities_carry_their_own_code_and_follow_the_u4ssc_ones(
    world: dict[str, Any], client: FlaskClient
) -> None:
    everything = _get(client, "city=kyebi&limit=1000")
    assert len(everything) == U4SSC + LOCAL
    assert all("frameworkCode" in e for e in everything[:U4SSC])  # U4SSC first
    local = everything[U4SSC:]
    assert [(_plain(e["localCode"]), _plain(e.get("dataPoint"))) for e in local] == [
        ("LOCAL:kyebi:TREES", "north"),  # definitions by code, then data points
        ("LOCAL:kyebi:TREES", "south"),
        ("LOCAL:kyebi:WASTE-1", None),
    ]
    assert not any("frameworkCode" in e for e in local)
    north, south, waste = local
    assert waste["id"] == "urn:ngsi-ld:KeyPerformanceIndicator:local:kyebi:2024:WASTE-1"
    assert north["id"].endswith(":local:kyebi:2024:TREES:north")
    assert waste["type"] == everything[0]["type"] == "KeyPerformanceIndicator"
    assert waste["kpiValue"]["value"] == 33.0
    assert waste["kpiValue"]["unitCode"] == "P1"  # a percentage
    assert waste["kpiValue"]["observedAt"] == "2023-12-31T23:59:59Z"  # its data year
    assert waste["kpiUnit"]["value"] == "%"
    assert waste["dataYear"]["value"] == 2023
    assert waste["source"]["value"] == "City parks department"
    assert waste["dataQualityLevel"]["value"] == 3
    assert waste["verificationStatus"]["value"] == "verified"
    assert waste["kpiTarget"]["value"] == 60.0
    assert waste["benchmarkSource"]["value"] == "City climate plan 2030"
    assert waste["name"]["value"] == "Household waste recycled"
    assert "beside the U4SSC" in waste["description"]["value"]
    assert north["verificationStatus"]["value"] == "notVerified"
    assert north["name"]["value"] == "Street trees planted: North district"
    assert north["kpiTarget"]["value"] == 1000.0  # the data point's own target
    assert south["reported"]["value"] is False and "kpiValue" not in south
    assert south["notReportedReason"]["value"] == "Not counted yet"
    assert south["verificationStatus"]["value"] == "pending"
    key_values = _get(client, "city=kyebi&kpiSet=local&options=keyValues")
    assert key_values[2]["localCode"] == "LOCAL:kyebi:WASTE-1"
    assert key_values[2]["kpiValue"] == 33.0


def test_kpi_set_filters_and_drafts_are_never_exported(
    world: dict[str, Any], client: FlaskClient
) -> None:
    only_local = client.get(f"{URL}?kpiSet=local&count=true&limit=1000")
    assert only_local.headers["NGSILD-Results-Count"] == str(LOCAL)
    codes = {_plain(e["localCode"]) for e in only_local.get_json()}
    assert codes == {"LOCAL:kyebi:WASTE-1", "LOCAL:kyebi:TREES"}  # draftby's are a draft
    only_u4ssc = client.get(f"{URL}?kpiSet=u4ssc&count=true&limit=1000")
    assert only_u4ssc.headers["NGSILD-Results-Count"] == str(2 * U4SSC)
    assert all("frameworkCode" in e for e in only_u4ssc.get_json())
    everything = client.get(f"{URL}?count=true&limit=1000")
    assert everything.headers["NGSILD-Results-Count"] == str(2 * U4SSC + LOCAL)
    assert not any("draftby" in e["id"] for e in everything.get_json())
    bad = client.get(f"{URL}?kpiSet=mine")
    assert bad.status_code == 400 and "kpiSet" in str(bad.get_json()["error"]["details"])
    # A local value changed after publication stays as published until republished.
    local = world["local"]
    local.status = Status.DRAFT
    db.session.commit()
    add_local_kpis(local, world["admin"], waste_value=45.0)
    waste = _get(client, "city=kyebi&kpiSet=local")[2]
    assert waste["kpiValue"]["value"] == 33.0


def _links(header: str | None) -> dict[str, dict[str, list[str]]]:
    return {
        rel: parse_qs(urlsplit(url).query)
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header or "")
    }


def test_pages_run_across_the_u4ssc_and_local_entities(
    world: dict[str, Any], client: FlaskClient
) -> None:
    seen: list[str] = []
    url: str | None = f"{URL}?city=kyebi&limit=3&count=true"
    while url:
        response = client.get(url)
        assert response.headers["NGSILD-Results-Count"] == str(U4SSC + LOCAL)
        seen += [entity["id"] for entity in response.get_json()]
        nxt = _links(response.headers.get("Link")).get("next")
        url = None if nxt is None else f"{URL}?" + "&".join(f"{k}={v[0]}" for k, v in nxt.items())
    assert seen == [e["id"] for e in _get(client, "city=kyebi&limit=1000")]
    assert len(seen) == len(set(seen)) == U4SSC + LOCAL
    local_page = client.get(f"{URL}?kpiSet=local&limit=1&offset=1")
    links = _links(local_page.headers["Link"])
    assert links["next"]["kpiSet"] == ["local"] and links["prev"]["offset"] == ["0"]
    assert [_plain(e["dataPoint"]) for e in local_page.get_json()] == ["south"]


def test_a_city_without_local_kpis_exports_the_same_bytes(
    world: dict[str, Any], client: FlaskClient
) -> None:
    """What the U4SSC exports were before local KPIs: entities of the published rows, the
    U4SSC SDMX-CSV, and a U4SSC code list without a local code."""
    for options in ("normalized", "keyValues"):
        query = f"city=fjordby&limit=1000&options={options}"
        default = client.get(f"{URL}?{query}").data
        assert default == client.get(f"{URL}?{query}&kpiSet=u4ssc").data
        observations = interop.published_observations(city="fjordby")
        expected = to_entities(observations, EXTENSION_URL, key_values=options == "keyValues")
        assert json.loads(default) == expected
        assert default == json.dumps(expected, ensure_ascii=False).encode("utf-8")
    assert client.get(f"{URL}?city=fjordby&kpiSet=local").get_json() == []
    sdmx_csv = client.get("/api/v1/sdmx/data.csv?city=fjordby").data
    assert b"LOCAL" not in client.get("/api/v1/sdmx/data.csv").data
    rows = list(csv.DictReader(io.StringIO(sdmx_csv.decode())))
    assert len(rows) == U4SSC and {r["STRUCTURE_ID"] for r in rows} == {"U4SSC:DF_U4SSC_KPI(1.0)"}
    assert client.get("/api/v1/sdmx/local/data.csv?city=fjordby").data.count(b"\r\n") == 1
    structure = sdmx.read_sdmx(io.BytesIO(client.get("/api/v1/sdmx/structure").data))
    assert "DF_U4SSC_LOCAL" not in structure.dataflow
    indicator = {c.id for c in structure.codelist["CL_INDICATOR"]}
    assert len(indicator) == 91 and not any(code.startswith("LOCAL") for code in indicator)


@pytest.mark.parametrize("options", ["normalized", "keyValues"])
def test_local_entities_expand_with_pyld(
    world: dict[str, Any], client: FlaskClient, options: str
) -> None:
    entities = _get(client, f"kpiSet=local&options={options}")
    assert len(entities) == LOCAL
    extension = client.get("/api/v1/ngsi-ld/context.jsonld").get_json()["@context"]
    assert {"localCode", "benchmarkSource"} <= set(extension)
    loader = _loader(client)
    for entity in entities:
        expanded = jsonld.expand(entity, {"documentLoader": loader})[0]
        assert expanded["@type"] == [TERMS["KeyPerformanceIndicator"]]
        assert f"{EXTENSION_URL}#localCode" in expanded
        for term in entity:
            if term in ("id", "type", "@context", "location"):
                continue
            iri = TERMS[term] if term in MODEL_TERMS else f"{EXTENSION_URL}#{term}"
            assert term in MODEL_TERMS or term in EXTENSION_TERMS, term
            assert iri in expanded, (term, iri)
        assert [key for key in _keys(expanded) if key.startswith(DEFAULT_VOCAB)] == []
    assert f"{NGSI}location" in jsonld.expand(entities[0], {"documentLoader": loader})[0]


def _local_structure(client: FlaskClient) -> Any:
    response = client.get("/api/v1/sdmx/local/structure")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.sdmx.structure+xml; version=2.1"
    return sdmx.read_sdmx(io.BytesIO(response.data))


def test_the_local_dataflow_and_its_code_lists_read_with_sdmx1(
    world: dict[str, Any], client: FlaskClient
) -> None:
    structure = _local_structure(client)
    flow = structure.dataflow["DF_U4SSC_LOCAL"]
    assert (flow.maintainer.id, flow.version) == ("U4SSC", "1.0")
    assert flow.structure.id == "DSD_U4SSC_LOCAL"
    assert [d.id for d in flow.structure.dimensions.components] == [
        "REF_AREA",
        "INDICATOR",
        "DATA_POINT",
        "TIME_PERIOD",
    ]
    codelists = structure.codelist
    local = {c.id: str(c.name) for c in codelists["CL_LOCAL_INDICATOR"]}
    assert local == {
        "LOCAL_kyebi_WASTE-1": "LOCAL:kyebi:WASTE-1: Household waste recycled",
        "LOCAL_kyebi_TREES": "LOCAL:kyebi:TREES: Street trees planted",
    }  # draftby's definitions are not published
    assert "CL_INDICATOR" not in codelists
    assert {c.id for c in codelists["CL_LOCAL_DATA_POINT"]} == {"_Z", "north", "south"}
    assert {str(c.name) for c in codelists["CL_LOCAL_UNIT"]} == {"%", "trees"}
    assert {c.id for c in codelists["CL_CITY"]} == {"fjordby", "kyebi"}  # as in U4SSC's

    text = client.get("/api/v1/sdmx/local/data.csv?year=2024").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["STRUCTURE_ID"] for row in rows} == {"U4SSC:DF_U4SSC_LOCAL(1.0)"}
    assert len(rows) == LOCAL
    north, south, waste = rows
    assert (waste["REF_AREA"], waste["INDICATOR"], waste["DATA_POINT"]) == (
        "kyebi",
        "LOCAL_kyebi_WASTE-1",
        "_Z",
    )
    assert (waste["OBS_VALUE"], waste["VERIFIED"], waste["DATA_YEAR"]) == ("33", "true", "2023")
    assert waste["SOURCE_DETAIL"] == "City parks department" and waste["OBS_STATUS"] == "E"
    assert south["OBS_VALUE"] == "NaN" and south["OBS_STATUS"] == "O"
    assert north["VERIFIED"] == "false" and north["UNIT_MEASURE"] != ""
    coded = {
        "INDICATOR": "CL_LOCAL_INDICATOR",
        "DATA_POINT": "CL_LOCAL_DATA_POINT",
        "UNIT_MEASURE": "CL_LOCAL_UNIT",
        "REF_AREA": "CL_CITY",
        "COUNTRY": "CL_COUNTRY",
        "OBS_STATUS": "CL_OBS_STATUS",
    }
    for column, codelist in coded.items():
        assert {row[column] for row in rows} <= {c.id for c in codelists[codelist]}, column
    message = sdmx.read_sdmx(io.BytesIO(text.encode()), format="csv", structure=flow)
    frame = sdmx.to_pandas(message.data[0], attributes="o")
    assert isinstance(frame, pd.DataFrame) and len(frame) == LOCAL
    values = {(ind, point): v for (_, ind, point, _), v in pd.to_numeric(frame["value"]).items()}
    assert values[("LOCAL_kyebi_TREES", "north")] == 1200.0
    assert math.isnan(values[("LOCAL_kyebi_TREES", "south")])
    # The U4SSC SDMX-CSV of the same city holds no local row.
    u4ssc = client.get("/api/v1/sdmx/data.csv?city=kyebi").get_data(as_text=True)
    assert "LOCAL" not in u4ssc and u4ssc.count("\r\n") == U4SSC + 1


def test_a_local_republication_changes_the_cached_exports(
    world: dict[str, Any], client: FlaskClient
) -> None:
    before = client.get("/api/v1/sdmx/local/data.csv?city=kyebi").get_data(as_text=True)
    assert ",33," in before
    fingerprint = local_open_data.fingerprint(city="kyebi")
    local = world["local"]
    local.status = Status.DRAFT
    db.session.commit()
    add_local_kpis(local, world["admin"], waste_value=45.0)
    # A draft change is not published: the cached file is still right.
    assert client.get("/api/v1/sdmx/local/data.csv?city=kyebi").get_data(as_text=True) == before
    assert local_open_data.fingerprint(city="kyebi") == fingerprint
    publish(local)
    assert local_open_data.fingerprint(city="kyebi") != fingerprint
    after = client.get("/api/v1/sdmx/local/data.csv?city=kyebi").get_data(as_text=True)
    assert ",45," in after and ",33," not in after
    waste = _get(client, "city=kyebi&kpiSet=local")[2]
    assert waste["kpiValue"]["value"] == 45.0


def test_importing_exports_with_local_kpis(world: dict[str, Any], client: FlaskClient) -> None:
    """A whole export reads back its U4SSC values; local ones are refused with a reason."""
    mixed = client.get(f"{URL}?city=kyebi&limit=1000").data
    parsed = interop.parse_interop(mixed, "ngsi-ld")
    assert len(parsed) == U4SSC and not any(p.code.startswith("LOCAL") for p in parsed)
    with pytest.raises(InteropFormatError, match="only local KPI entities"):
        interop.parse_interop(client.get(f"{URL}?city=kyebi&kpiSet=local").data, "ngsi-ld")
    local_csv = client.get("/api/v1/sdmx/local/data.csv?city=kyebi").data
    with pytest.raises(InteropFormatError) as refused:
        interop.parse_interop(local_csv, "sdmx-csv")
    assert "local KPI" in refused.value.problems[0] and len(refused.value.problems) == LOCAL


def test_cli_exports_local_kpis(world: dict[str, Any], runner: FlaskCliRunner) -> None:
    public = "https://kpi.example.org/api/v1/ngsi-ld/context.jsonld"
    base = ["export-interop", "--year", "2024", "--city", "kyebi"]
    only_local = runner.invoke(
        args=[*base, "--format", "ngsi-ld", "--kpi-set", "local", "--context-url", public]
    )
    assert only_local.exit_code == 0, only_local.output
    entities = json.loads(only_local.output)
    assert {e["localCode"]["value"] for e in entities} == {
        "LOCAL:kyebi:WASTE-1",
        "LOCAL:kyebi:TREES",
    }
    both = runner.invoke(args=[*base, "--format", "ngsi-ld", "--context-url", public])
    assert len(json.loads(both.output)) == U4SSC + LOCAL
    data = runner.invoke(args=[*base, "--format", "sdmx-local-csv"])
    assert data.exit_code == 0 and "U4SSC:DF_U4SSC_LOCAL(1.0)" in data.output
    structure = runner.invoke(args=["export-interop", "--format", "sdmx-local-structure"])
    assert structure.exit_code == 0, structure.output
    read = sdmx.read_sdmx(io.BytesIO(structure.output.encode()))
    assert "DF_U4SSC_LOCAL" in read.dataflow


@pytest.fixture
def grow(make_city, make_assessment, make_user):
    made: list[str] = []
    admin = make_user(Role.ADMIN)

    def to(n: int) -> None:
        while len(made) < n:
            city = make_city(f"town-{len(made) + 1:02d}", country="NO")
            assessment = make_assessment(city, year=2024)
            add_values(assessment, SAMPLE_VALUES)
            add_local_kpis(assessment, admin)
            publish(assessment)
            made.append(city.slug)
        db.session.expire_all()

    return to


def test_pages_and_cached_local_exports_cost_the_same_at_two_sizes(client, grow) -> None:
    from tests.api.test_exports_at_scale import statements

    pages = (
        f"{URL}?year=2024&limit=5&offset=5&count=true",  # U4SSC entities
        f"{URL}?year=2024&limit=4&offset={2 * U4SSC - 2}&count=true",  # across the seam
        f"{URL}?year=2024&kpiSet=local&limit=2&offset=2&count=true",
    )
    local_csv = "/api/v1/sdmx/local/data.csv?year=2024"

    def costs(n: int) -> list[int]:
        grow(n)
        counted = []
        for url in pages:
            client.get(url)
            with statements() as seen:
                page = client.get(url)
            assert page.status_code == 200 and page.get_json()
            counted.append(len(seen))
        first = client.get(local_csv)
        assert first.data.count(b"\r\n") == n * LOCAL + 1
        with statements() as seen:
            again = client.get(local_csv)
        assert again.data == first.data
        assert not [s for s in seen if "content" in s.lower()]  # no frozen copy was read
        counted.append(len(seen))
        return counted

    small = costs(2)
    seam = client.get(pages[1]).get_json()
    assert ["frameworkCode" in e for e in seam] == [True, True, False, False]
    assert client.get(pages[0]).headers["NGSILD-Results-Count"] == str(2 * (U4SSC + LOCAL))
    big = costs(6)
    assert client.get(pages[0]).headers["NGSILD-Results-Count"] == str(6 * (U4SSC + LOCAL))
    assert big == small


def test_the_openapi_document_describes_the_kpi_set_and_the_local_dataflow(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"][URL]["get"]["parameters"]}
    assert params["kpiSet"]["schema"]["enum"] == ["u4ssc", "local"]
    assert "local" in params["kpiSet"]["description"]
    assert {"year", "city"} <= {
        p["name"] for p in spec["paths"]["/api/v1/sdmx/local/data.csv"]["get"]["parameters"]
    }
    assert "DF_U4SSC_LOCAL" in json.dumps(spec["paths"]["/api/v1/sdmx/local/structure"])

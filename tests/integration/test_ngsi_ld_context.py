"""Exported NGSI-LD entities expand, with pyld, to the official IRIs of the smart data model.

The model's own terms come from the official Smart Data Models @context (vendored copy in
tests/fixtures/ngsi), the U4SSC terms from the app's separate extension context, the rest
from the NGSI-LD core context; no term may fall into the core context's default vocabulary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pyld import jsonld

from kpi_app.extensions import db
from kpi_app.interop.ngsi_ld import (
    EXTENSION_TERMS,
    MODEL_TERMS,
    NGSI_LD_CORE_CONTEXT,
    SMART_DATA_MODEL_CONTEXT,
)
from kpi_app.models import Assessment, City
from tests.factories import SAMPLE_VALUES, published_city

FIXTURES = Path(__file__).parents[1] / "fixtures/ngsi"
OFFICIAL = json.loads((FIXTURES / "KeyPerformanceIndicator.context.jsonld").read_text())
CORE = json.loads((FIXTURES / "ngsi-ld-core-context.excerpt.jsonld").read_text())
TERMS = OFFICIAL["@context"]
EXTENSION_URL = "http://localhost/api/v1/ngsi-ld/context.jsonld"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NGSI = "https://uri.etsi.org/ngsi-ld/"
BIN = Path(sys.executable).parent


@pytest.fixture
def published(
    make_city: Callable[..., City], make_assessment: Callable[..., Assessment]
) -> Assessment:
    return published_city(make_city, make_assessment, "fjordby", country="NO")


def _loader(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """pyld's document loader, offline: vendored contexts and the app's own endpoint."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url == SMART_DATA_MODEL_CONTEXT:
            document = OFFICIAL
        elif url == NGSI_LD_CORE_CONTEXT:
            document = CORE
        elif url == EXTENSION_URL:
            response = client.get("/api/v1/ngsi-ld/context.jsonld")
            assert response.status_code == 200
            document = response.get_json()
        else:
            raise AssertionError(f"the entities name an unexpected context {url}")
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "document": document,
            "documentUrl": url,
        }

    return load


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("@"):
                yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _expanded(client: FlaskClient, options: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    entities = client.get(f"/api/v1/ngsi-ld/entities?limit=1000&options={options}").get_json()
    assert len(entities) == len(SAMPLE_VALUES)
    loader = _loader(client)
    return [(e, jsonld.expand(e, {"documentLoader": loader})[0]) for e in entities]


def test_entities_name_the_official_context_first(published: Assessment, client: FlaskClient):
    entity = client.get("/api/v1/ngsi-ld/entities").get_json()[0]
    assert entity["@context"] == [SMART_DATA_MODEL_CONTEXT, EXTENSION_URL, NGSI_LD_CORE_CONTEXT]
    extension = client.get("/api/v1/ngsi-ld/context.jsonld").get_json()["@context"]
    assert set(extension) == set(EXTENSION_TERMS)  # the model's terms are not redefined
    assert not set(extension) & set(TERMS)


@pytest.mark.parametrize("options", ["normalized", "keyValues"])
def test_every_term_expands_to_its_official_iri(
    published: Assessment, client: FlaskClient, options: str
) -> None:
    for entity, expanded in _expanded(client, options):
        assert expanded["@type"] == [TERMS["KeyPerformanceIndicator"]]
        for term in entity:
            if term in ("id", "type", "@context"):
                continue
            if term in MODEL_TERMS:
                iri = TERMS[term]
            elif term == "location":
                iri = f"{NGSI}location"
            else:
                assert term in EXTENSION_TERMS, term
                iri = f"{EXTENSION_URL}#{term}"
            assert iri in expanded, (term, iri)
        undefined = [key for key in _keys(expanded) if key.startswith(DEFAULT_VOCAB)]
        assert undefined == [], undefined


def test_the_issue_s_terms_and_nested_terms(published: Assessment, client: FlaskClient) -> None:
    _entity, expanded = _expanded(client, "normalized")[0]
    assert {
        "https://smartdatamodels.org/name",
        "http://purl.org/dc/terms/description",
        "https://smartdatamodels.org/address",
        "https://smartdatamodels.org/dateModified",
        "https://smartdatamodels.org/source",
    } <= set(expanded)
    address = expanded["https://smartdatamodels.org/address"][0][f"{NGSI}hasValue"][0]
    assert set(address) == {
        "https://smartdatamodels.org/addressLocality",
        "https://smartdatamodels.org/addressCountry",
    }
    period = expanded[TERMS["calculationPeriod"]][0][f"{NGSI}hasValue"][0]
    assert set(period) == {TERMS["from"], TERMS["to"]}


def test_kpi_values_carry_unit_codes_and_observed_at(
    published: Assessment, client: FlaskClient
) -> None:
    pairs = _expanded(client, "normalized")
    by_code = {
        (e["frameworkCode"]["value"], e.get("dataPoint", {}).get("value")): x for e, x in pairs
    }
    share = by_code[("EC: ICT: ICT: 1C", None)][TERMS["kpiValue"]][0]  # a percentage
    assert share[f"{NGSI}unitCode"] == [{"@value": "P1"}]
    assert share[f"{NGSI}observedAt"] == [
        {"@type": f"{NGSI}DateTime", "@value": "2024-12-31T23:59:59Z"}
    ]
    pm25 = by_code[("EN: EN: AQ: 1C", "pm25")][TERMS["kpiValue"]][0]
    assert pm25[f"{NGSI}unitCode"] == [{"@value": "GQ"}]  # microgram per cubic metre


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"}
    environment.pop("KPI_NGSI_CONTEXT_URL", None)
    environment.update(env)
    return subprocess.run(
        [str(BIN / "kpi-app"), "export-interop", "--format", "ngsi-ld", "--year", "2024", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_refuses_a_localhost_context_unless_told(
    published: Assessment, database_url: str
) -> None:
    db.session.commit()
    refused = _cli(database_url)
    assert refused.returncode == 1
    assert "--context-url" in refused.stderr and "localhost" in refused.stderr
    assert refused.stdout == ""
    public = "https://kpi.example.org/api/v1/ngsi-ld/context.jsonld"
    given = _cli(database_url, "--context-url", public)
    assert given.returncode == 0, given.stderr
    entities = json.loads(given.stdout)
    assert entities[0]["@context"] == [SMART_DATA_MODEL_CONTEXT, public, NGSI_LD_CORE_CONTEXT]
    from_env = _cli(database_url, KPI_NGSI_CONTEXT_URL=public)
    assert from_env.returncode == 0 and json.loads(from_env.stdout) == entities
    wrong = _cli(database_url, "--context-url", "context.jsonld")
    assert wrong.returncode == 1 and "absolute" in wrong.stderr
    sdmx = subprocess.run(
        [str(BIN / "kpi-app"), "export-interop", "--format", "sdmx-csv", "--year", "2024"],
        env={**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sdmx.returncode == 0 and sdmx.stdout.startswith("STRUCTURE,")

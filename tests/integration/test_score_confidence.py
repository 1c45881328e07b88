"""Every group score carries a confidence grade (docs/scoring.md, Confidence): in `kpi-app score`
JSON (console script in a subprocess), in the API score records and on the public city page."""

from __future__ import annotations

import json

import pytest

from kpi_app.extensions import db
from tests.factories import add_values, publish
from tests.integration.test_score_peers import kpi_score

CATEGORY = "EC: ICT: ICT"
# Six core items of EC: ICT: ICT, all reported; 5C has no benchmark, so 5 of 6 are scored:
# core share 5/6 (≥ 3/5, < 9/10), item share 5/6.
ITEMS = [
    ("EC: ICT: ICT: 1C", "", 90.0),
    ("EC: ICT: ICT: 2C", "", 30.0),
    ("EC: ICT: ICT: 3C", "", 80.0),
    ("EC: ICT: ICT: 4C", "3g", 95.0),
    ("EC: ICT: ICT: 4C", "4g", 90.0),
    ("EC: ICT: ICT: 5C", "", 10.0),
]


@pytest.fixture
def two_cities(make_city, make_assessment):
    # Same values, different data-quality levels: 2 (calculated from reliable data) and
    # 5 (rough estimate). Reliable share 5/5 → medium; 0/5 → low.
    for slug, quality in (("goodby", 2), ("roughby", 5)):
        assessment = make_assessment(make_city(slug), year=2024)
        add_values(assessment, [(code, dp, value, quality, True) for code, dp, value in ITEMS])
        publish(assessment)
    db.session.commit()


def category(payload: dict) -> dict:
    return next(c for c in payload["categories"] if c["id"] == CATEGORY)


def test_cli_json_grades_the_same_score_by_data_quality(app, database_url, two_cities):
    payloads = {}
    for slug in ("goodby", "roughby"):
        done = kpi_score(database_url, "--city", slug, "--year", "2024")
        assert done.returncode == 0, done.stderr
        payloads[slug] = json.loads(done.stdout)
    good, rough = category(payloads["goodby"]), category(payloads["roughby"])
    assert good["score"] == rough["score"]
    assert (good["confidence"], rough["confidence"]) == ("medium", "low")
    # Categories with nothing reported have no score and no grade; every record has the field.
    for payload in payloads.values():
        for record in payload["categories"] + payload["dimensions"] + [payload["overall"]]:
            assert "confidence" in record
            assert (record["confidence"] is None) == (record["score"] is None)


def test_api_score_records_carry_confidence(client, two_cities):
    payload = client.get("/api/v1/cities/goodby/assessments/2024/scores").get_json()
    assert category(payload)["confidence"] == "medium"
    rough = client.get("/api/v1/cities/roughby/assessments/2024/scores").get_json()
    assert category(rough)["confidence"] == "low"
    assert rough["overall"]["confidence"] == "low"


def test_city_page_shows_confidence_as_text(client, two_cities):
    page = client.get("/cities/roughby/2024").get_data(as_text=True)
    assert 'id="overall-confidence">Confidence: low<' in page
    good = client.get("/cities/goodby/2024").get_data(as_text=True)
    # Overall: 5 of the catalogue's many core items → low whatever the quality; the sub-dimension
    # table shows each grade as a word in its own column.
    assert '<th scope="col">Confidence</th>' in good

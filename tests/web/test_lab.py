"""The methods lab at /lab: a GET form over published assessments, the chosen spec beside the
U4SSC rule, Monte Carlo rank intervals, shareable query, spec JSON and results CSV."""

from __future__ import annotations

import csv
import html
import io
import json
import math

import pytest

from kpi_app.extensions import db
from kpi_app.scoring import ScoringSpec
from kpi_app.scoring.spec import Normalisation
from kpi_app.services import scores
from tests.factories import add_values, publish

# Three cities with three of the five assessable items of EC: ICT: ICT (60 % coverage) and one
# air-quality value each: different spreads so min-max and the U4SSC rule rank differently.
VALUES = {
    "amby": [("EC: ICT: ICT: 1C", "", 90.0, 1, True), ("EC: ICT: ICT: 2C", "", 30.0, 1, True)],
    "bmby": [("EC: ICT: ICT: 1C", "", 50.0, 1, True), ("EC: ICT: ICT: 2C", "", 60.0, 1, True)],
    "cmby": [("EC: ICT: ICT: 1C", "", 70.0, 1, True), ("EC: ICT: ICT: 2C", "", 10.0, 1, True)],
}
SHARED = [("EC: ICT: ICT: 3C", "", 500.0, 1, True), ("EN: EN: AQ: 1C", "pm25", 12.0, 1, True)]
MINMAX = "year=2024&normalisation=min_max&aggregation=arithmetic&min_coverage=0&draws=40"


@pytest.fixture
def lab_world(make_city, make_assessment):
    made = {}
    for slug, values in VALUES.items():
        assessment = make_assessment(make_city(slug), year=2024)
        add_values(assessment, values + SHARED)
        made[slug] = publish(assessment)
    draft = make_assessment(make_city("draftby"), year=2024)  # never in the lab
    add_values(draft, [("EC: ICT: ICT: 1C", "", 1.0, 1, True)])
    db.session.commit()
    return made


def rows_of(client, query: str) -> list[dict[str, str]]:
    response = client.get(f"/lab/results.csv?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_first_visit_shows_the_form_with_published_cities_only(client, lab_world):
    page = client.get("/lab/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<form method="get"' in text
    for slug in ("amby", "bmby", "cmby"):
        assert f'id="lab-city-{slug}"' in text
    assert "draftby" not in text
    assert "<legend>" in text and 'for="lab-normalisation"' in text


def test_page_shows_scores_ranks_intervals_and_fingerprint(client, lab_world):
    text = client.get(f"/lab/?{MINMAX}").get_data(as_text=True)
    spec = ScoringSpec(normalisation=Normalisation("min_max"), min_coverage=0.0, name="lab")
    assert spec.fingerprint() in text
    assert '<table id="lab-overall">' in text and "<caption>" in text
    assert "90 % rank interval" in text
    assert f'href="/lab/results.csv?{MINMAX.replace("&", "&amp;")}"' in text
    assert "draftby" not in text


def test_csv_numbers_equal_services_scores_for_the_same_spec(client, lab_world):
    rows = rows_of(client, MINMAX)
    assert list(rows[0]) == [
        "city", "year", "level", "group", "score", "rank", "coverage", "u4ssc_score",
        "u4ssc_rank", "mc_median_rank", "mc_rank_p05", "mc_rank_p95", "mc_scored_share",
        "confidence",
    ]  # fmt: skip
    chosen = scores.published_assessments(None, years=[2024])
    assert sorted(a.city.slug for a in chosen) == ["amby", "bmby", "cmby"]
    spec = ScoringSpec(normalisation=Normalisation("min_max"), min_coverage=0.0, name="lab")
    lab = scores.score_assessments(chosen, source="published", method=spec)
    rule = scores.score_assessments(chosen, source="published", method="u4ssc")
    overall = [r for r in rows if r["level"] == "overall"]
    assert sorted(r["city"] for r in overall) == ["amby", "bmby", "cmby"]
    expected = lab.overall.set_index("city")["score"]
    expected_rule = rule.overall.set_index("city")["score"]
    for row in overall:
        assert math.isclose(float(row["score"]), expected[row["city"]], abs_tol=1e-4)
        assert math.isclose(float(row["u4ssc_score"]), expected_rule[row["city"]], abs_tol=1e-4)
        assert (
            float(row["mc_rank_p05"]) <= float(row["mc_median_rank"]) <= float(row["mc_rank_p95"])
        )
        assert 0 < float(row["mc_scored_share"]) <= 1
    ranks = {r["city"]: int(r["rank"]) for r in overall}
    best = expected.idxmax()
    assert ranks[best] == 1
    dims = lab.dimensions.set_index(["city", "dimension"])["score"]
    dim_rows = [r for r in rows if r["level"] == "dimension" and r["score"]]
    assert dim_rows
    for row in dim_rows:
        assert math.isclose(float(row["score"]), dims[(row["city"], row["group"])], abs_tol=1e-4)


def test_explicit_cities_and_country_filter_the_peer_group(
    client, lab_world, make_city, make_assessment
):
    other = make_assessment(make_city("dmby", country="SE"), year=2024)
    add_values(other, VALUES["amby"] + SHARED)
    publish(other)
    rows = rows_of(client, f"{MINMAX}&city=amby&city=cmby")
    assert {r["city"] for r in rows} == {"amby", "cmby"}
    rows = rows_of(client, f"{MINMAX}&country=se")
    assert {r["city"] for r in rows} == {"dmby"}


def test_spec_json_round_trips_with_its_fingerprint(client, lab_world):
    response = client.get(f"/lab/spec.json?{MINMAX}&city=amby&city=bmby")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    payload = json.loads(response.get_data(as_text=True))
    spec = ScoringSpec.from_dict(payload["spec"])
    assert spec.normalisation.name == "min_max" and spec.min_coverage == 0.0
    assert payload["fingerprint"] == spec.fingerprint()
    assert payload["peer_group"] == {
        "year": 2024, "country": None, "regions": [], "sizes": [], "cities": ["amby", "bmby"],
        "source": "published",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("normalisation=min_max", "year is required"),
        ("year=twenty", "year must be a whole number"),
        ("year=2024&normalisation=magic", "unknown normalisation 'magic'"),
        ("year=2024&aggregation=median", "unknown aggregation 'median'"),
        ("year=2024&min_coverage=1.5", "min_coverage must lie between 0 and 1"),
        ("year=2024&min_coverage=abc", "min_coverage must be a number"),
        ("year=2024&draws=0", "draws must be a whole number from 1 to 1000"),
        ("year=2024&benchmark_set=nope", "unknown benchmark set 'nope'"),
        ("year=2024&city=draftby", "no published 2024 assessment for draftby"),
        ("year=1999", "no published assessments for 1999"),
        ("year=2024&country=Norway", "country must be a two-letter ISO code"),
    ],
)
def test_bad_input_answers_400_with_a_clear_message(client, lab_world, query, message):
    for path in ("/lab/", "/lab/results.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in html.unescape(response.get_data(as_text=True)), path


def test_api_lab_answers_the_same_rows_as_the_csv(client, lab_world):
    response = client.get(f"/api/v1/lab?{MINMAX}&city=amby&city=bmby")
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["cities"] == ["amby", "bmby"]
    csv_rows = rows_of(client, f"{MINMAX}&city=amby&city=bmby")
    api_scores = [(r["city"], r["level"], r["group"], r["score"]) for r in payload["rows"]]
    csv_scores = [
        (r["city"], r["level"], r["group"], float(r["score"]) if r["score"] else None)
        for r in csv_rows
    ]
    assert api_scores == csv_scores
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/lab"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"year", "city", "normalisation"}


def test_api_lab_bad_input_is_a_json_422(client, lab_world):
    response = client.get("/api/v1/lab?year=2024&normalisation=magic")
    assert response.status_code == 422
    assert "normalisation" in response.get_json()["error"]["details"]["query"]
    assert client.get("/api/v1/lab?normalisation=min_max").status_code == 422


def test_api_lab_unknown_city_or_year_is_a_json_404(client, lab_world):
    response = client.get("/api/v1/lab?year=2024&city=draftby")
    assert response.status_code == 404
    assert "no published 2024 assessment for draftby" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/lab?year=1999").status_code == 404


def test_bad_input_is_explained_in_the_readers_language(client, lab_world):
    """The lab's messages are translated (French here), placeholders filled in."""
    fr = html.unescape(client.get("/lab/?normalisation=min_max&lang=fr").get_data(as_text=True))
    assert "year est obligatoire" in fr and "year is required" not in fr
    fr = html.unescape(client.get("/lab/?year=1999&lang=fr").get_data(as_text=True))
    assert "1999" in fr and "no published assessments" not in fr

"""The methods lab's full spec: peers by region and size, weights per level and per item,
aggregation per level, quality down-weighting, leave-one-KPI-out, xlsx, spec upload and the
synergies-and-trade-offs page (all through the test client, as a reader uses them)."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from openpyxl import load_workbook

from kpi_app.extensions import db
from kpi_app.scoring import ScoringSpec, score
from kpi_app.scoring.lab import leave_one_out_rows
from kpi_app.scoring.spec import Normalisation
from kpi_app.services import scores
from tests.factories import add_values, publish
from tests.web.test_lab import MINMAX, SHARED, VALUES, rows_of

EUROPE = "Europe"
ASIA = "Western Asia"


@pytest.fixture
def regional_world(make_city, make_assessment):
    """amby (Europe, 100 000: medium), bmby (Europe, 2 million: metropolitan) and cmby
    (Western Asia, 30 000: small), with the values of tests/web/test_lab.py."""
    facts = {
        "amby": ("NO", EUROPE, 100_000),
        "bmby": ("SE", EUROPE, 2_000_000),
        "cmby": ("TR", ASIA, 30_000),
    }
    made = {}
    for slug, (country, region, population) in facts.items():
        city = make_city(slug, country=country, region=region, population=population)
        assessment = make_assessment(city, year=2024)
        add_values(assessment, VALUES[slug] + SHARED)
        made[slug] = publish(assessment)
    db.session.commit()
    return made


def overall_cities(client, query: str) -> set[str]:
    return {r["city"] for r in rows_of(client, query) if r["level"] == "overall"}


def test_peer_group_by_region_and_size(client, regional_world):
    assert overall_cities(client, f"{MINMAX}&region={EUROPE}") == {"amby", "bmby"}
    assert overall_cities(client, f"{MINMAX}&size=small") == {"cmby"}
    assert overall_cities(client, f"{MINMAX}&size=medium&size=metropolitan") == {"amby", "bmby"}
    assert overall_cities(client, f"{MINMAX}&region={EUROPE}&size=metropolitan") == {"bmby"}
    page = client.get("/lab/?year=2024").get_data(as_text=True)
    assert f'value="{EUROPE}"' in page and f'value="{ASIA}"' in page
    bad = client.get(f"/lab/?{MINMAX}&size=huge")
    assert bad.status_code == 400 and "unknown size band &#39;huge&#39;" in bad.get_data(True)
    none = client.get(f"/lab/results.csv?{MINMAX}&region=Oceania")
    assert none.status_code == 400
    assert "no published assessments for 2024 in region Oceania" in none.get_data(True)


def test_weights_and_level_aggregation_reach_the_scores(client, regional_world):
    query = (
        f"{MINMAX}&w_dimension:EC=3&w_category:EC: ICT: ICT=2&aggregation_overall=geometric"
        "&item_weights=EC: ICT: ICT: 1C = 0.5"
    )
    rows = rows_of(client, query)
    spec = ScoringSpec(
        normalisation=Normalisation("min_max"),
        min_coverage=0.0,
        weights={
            "dimension": {"EC": 3.0},
            "category": {"EC: ICT: ICT": 2.0},
            "item": {"EC: ICT: ICT: 1C": 0.5},
        },
        level_aggregation={"overall": "geometric"},
        name="lab",
    )
    chosen = scores.published_assessments(None, years=[2024])
    expected = scores.score_assessments(chosen, source="published", method=spec)
    by_city = expected.overall.set_index("city")["score"]
    plain = scores.score_assessments(
        chosen, source="published", method=ScoringSpec(normalisation=Normalisation("min_max"),
                                                       min_coverage=0.0)
    ).overall.set_index("city")["score"]  # fmt: skip
    overall = [r for r in rows if r["level"] == "overall"]
    assert any(not math.isclose(by_city[r["city"]], plain[r["city"]]) for r in overall)
    for row in overall:
        assert math.isclose(float(row["score"]), by_city[row["city"]], abs_tol=1e-4)
    assert {r["level"] for r in rows} == {"overall", "dimension", "sub_dimension", "category"}
    assert all(r["confidence"] in ("high", "medium", "low", "") for r in rows)
    # The page shows the same spec's fingerprint, and its links carry the weights.
    page = client.get(f"/lab/?{query}").get_data(as_text=True)
    assert spec.fingerprint() in page
    assert "w_dimension%3AEC=3" in page and "aggregation_overall=geometric" in page


def test_down_weighting_changes_the_spec_and_is_shareable(client, regional_world):
    on = client.get(f"/lab/spec.json?{MINMAX}&down_weight_low_quality=1").get_json()
    off = client.get(f"/lab/spec.json?{MINMAX}").get_json()
    assert on["spec"]["down_weight_low_quality"] is True
    assert "down_weight_low_quality" not in off["spec"]
    assert on["fingerprint"] != off["fingerprint"]


def test_bad_weights_answer_400_with_the_reason(client, regional_world):
    cases = {
        "w_dimension:EC=-1": "the weight of EC must be a number of 0 or more",
        "w_planet:EC=2": "weights for unknown level 'planet'",
        "item_weights=EC: ICT: ICT: 1C": "item weights, line 1: write 'KPI code = weight'",
        "aggregation_overall=median": "unknown aggregation 'median' for level overall",
    }
    for extra, message in cases.items():
        response = client.get(f"/lab/results.csv?{MINMAX}&{extra}")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_leave_one_kpi_out_on_the_page_api_and_downloads(client, regional_world):
    query = f"{MINMAX}&loo_city=amby"
    payload = client.get(f"/api/v1/lab?{query}").get_json()
    chosen = scores.published_assessments(None, years=[2024])
    spec = ScoringSpec(normalisation=Normalisation("min_max"), min_coverage=0.0, name="lab")
    result = scores.score_assessments(chosen, source="published", method=spec)
    expected = [r.as_dict() for r in leave_one_out_rows(result.items, spec, "amby", 2024)]
    assert payload["leave_one_out"] == expected and expected
    assert payload["leave_one_out_city"] == "amby"
    # The first driver really moves amby's rank: rescoring without it gives that rank.
    first = expected[0]
    items = result.items.loc[(result.items["code"] != first["code"]).to_numpy()]
    cols = ["score", "item_weight", "percent_of_target", "points", "band", "band_label", "scored"]
    without = score(items.drop(columns=cols), spec).overall
    ranks = without.set_index("city")["score"].rank(ascending=False, method="min")
    assert int(ranks["amby"]) == first["rank_without"] != first["base_rank"]
    page = client.get(f"/lab/?{query}").get_data(as_text=True)
    assert '<table id="lab-drivers">' in page and first["code"] in page
    book = load_workbook(io.BytesIO(client.get(f"/lab/results.xlsx?{query}").data))
    sheet = book["leave_one_out"]
    assert [c.value for c in sheet[1]][:2] == ["name", "code"]
    assert sheet.cell(2, 2).value == first["code"]
    bad = client.get(f"/lab/results.csv?{MINMAX}&city=bmby&city=cmby&loo_city=amby")
    assert bad.status_code == 400 and "not in the peer group" in bad.get_data(as_text=True)


def test_xlsx_holds_the_same_rows_as_the_csv_and_the_spec(client, regional_world):
    response = client.get(f"/lab/results.xlsx?{MINMAX}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["results"]
    header = [c.value for c in sheet[1]]
    csv_rows = rows_of(client, MINMAX)
    assert header == list(csv_rows[0])
    xlsx_rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)
    ]
    assert len(xlsx_rows) == len(csv_rows)
    for got, want in zip(xlsx_rows, csv_rows, strict=True):
        assert (got["city"], got["level"], got["group"] or "") == (
            want["city"], want["level"], want["group"]
        )  # fmt: skip
        if want["score"]:
            assert math.isclose(got["score"], float(want["score"]), abs_tol=1e-9)
    spec_sheet = book["spec"]
    document = json.loads(spec_sheet.cell(3, 2).value)
    assert spec_sheet.cell(1, 2).value == document["fingerprint"]


def test_downloaded_spec_uploads_back_to_the_same_query(client, regional_world):
    query = (
        f"{MINMAX}&region={EUROPE}&w_dimension:EN=2&aggregation_category=geometric&loo_city=amby"
    )
    document = client.get(f"/lab/spec.json?{query}").get_data()
    response = client.post(
        "/lab/spec", data={"spec_file": (io.BytesIO(document), "lab-spec.json")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 303
    target = response.headers["Location"]
    again = client.get(target.replace("/lab/?", "/lab/spec.json?")).get_json()
    assert again == json.loads(document)
    assert json.loads(document)["peer_group"]["regions"] == [EUROPE]
    page = client.get(target).get_data(as_text=True)
    assert json.loads(document)["fingerprint"] in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "the spec file is not valid JSON"),
        (b"[1, 2]", "must hold a JSON object"),
        (b'{"spec": {"method": "magic"}}', "the spec file&#39;s spec is not valid"),
        (b'{"spec": {}, "fingerprint": "abc"}', "fingerprint does not match its spec"),
        (b'{"spec": {}, "colour": "red"}', "unknown key(s) colour"),
        (b'{"spec": {}, "peer_group": {}}', "year is required"),
    ],
)
def test_a_bad_spec_file_gets_a_clear_message(client, regional_world, content, message):
    response = client.post(
        "/lab/spec", data={"spec_file": (io.BytesIO(content), "spec.json")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'id="lab-upload-error"' in text and message in text


def test_no_file_chosen_is_explained(client, regional_world):
    response = client.post("/lab/spec", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "choose a spec file" in response.get_data(as_text=True)


@pytest.fixture
def ten_cities(make_city, make_assessment):
    """Ten published cities where household internet access (higher is better) and PM2.5
    (lower is better) improve together: a synergy. Fixed broadband is unrelated noise."""
    noise = [3.0, 9.0, 1.0, 7.0, 5.0, 10.0, 2.0, 8.0, 4.0, 6.0]
    for i in range(10):
        assessment = make_assessment(make_city(f"c{i:02d}"), year=2024)
        add_values(
            assessment,
            [
                ("EC: ICT: ICT: 1C", "", 50.0 + 5 * i, 1, True),
                ("EN: EN: AQ: 1C", "pm25", 40.0 - 3 * i, 1, True),
                ("EC: ICT: ICT: 2C", "", noise[i], 1, True),
            ],
        )
        publish(assessment)
    db.session.commit()


def test_correlations_page_names_synergies_only_under_the_fdr_rule(client, ten_cities):
    response = client.get("/lab/correlations?year=2024")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<table id="relations-labelled">' in text
    labelled = text.split('<table id="relations-labelled">')[1].split("</table>")[0]
    assert "Household Internet Access" in labelled and "synergy" in labelled
    assert '<td class="num">10</td>' in labelled  # n shown
    assert "Fixed Broadband" not in labelled  # the noise pair is not called anything
    rows = list(
        csv.DictReader(io.StringIO(client.get("/lab/correlations.csv?year=2024").get_data(True)))
    )
    for row in rows:
        if row["relation"] in ("synergy", "trade-off"):
            assert float(row["q_value"]) <= 0.05
        else:
            assert (
                row["q_value"] == ""
                or float(row["q_value"]) > 0.05
                or row["relation"] == ("no direction")
            )
    synergy = [r for r in rows if r["relation"] == "synergy"]
    assert {synergy[0]["item_a"], synergy[0]["item_b"]} == {
        "EC: ICT: ICT: 1C", "EN: EN: AQ: 1C / pm25"
    }  # fmt: skip
    assert float(synergy[0]["rho_adjusted"]) == pytest.approx(1.0)


def test_correlations_page_in_french_uses_french_kpi_names(client, ten_cities):
    from kpi_app.services.catalogue import current_catalogue

    french = current_catalogue().indicator("EC: ICT: ICT: 1C").label("fr")
    english = current_catalogue().indicator("EC: ICT: ICT: 1C").label("en")
    text = client.get("/lab/correlations?year=2024&lang=fr").get_data(as_text=True)
    assert french in text
    if french != english:
        assert english not in text


def test_correlations_bad_query_is_a_400_page(client, ten_cities):
    response = client.get("/lab/correlations?year=1999")
    assert response.status_code == 400
    assert "no published assessments for 1999" in response.get_data(as_text=True)


def test_api_takes_the_full_spec_and_documents_it(client, regional_world):
    query = (
        f"{MINMAX}&region={EUROPE}&size=metropolitan&size=medium&w_dimension:EC=3"
        "&aggregation_overall=geometric&down_weight_low_quality=true&loo_city=bmby"
    )
    response = client.get(f"/api/v1/lab?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["cities"] == ["amby", "bmby"]
    assert payload["peer_group"]["regions"] == [EUROPE]
    assert payload["peer_group"]["sizes"] == ["medium", "metropolitan"]
    assert payload["spec"]["weights"] == {"dimension": {"EC": 3.0}}
    assert payload["spec"]["level_aggregation"] == {"overall": "geometric"}
    assert payload["spec"]["down_weight_low_quality"] is True
    assert payload["leave_one_out_city"] == "bmby"
    assert all("confidence" in row for row in payload["rows"])
    csv_rows = rows_of(client, query)
    assert [(r["city"], r["level"], r["group"]) for r in csv_rows] == [
        (r["city"], r["level"], r["group"]) for r in payload["rows"]
    ]
    assert client.get(f"/api/v1/lab?{MINMAX}&size=huge").status_code == 422
    bad = client.get(f"/api/v1/lab?{MINMAX}&w_dimension:EC=-2")
    assert bad.status_code == 422 and "0 or more" in bad.get_json()["error"]["message"]
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/lab"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names >= {"region", "size", "aggregation_overall", "down_weight_low_quality", "loo_city"}
    assert "w_<level>:<id>" in operation["description"]


def test_the_address_reproduces_the_spec_exactly(client, regional_world):
    query = f"{MINMAX}&w_dimension:EC=0.123456789&min_coverage=0.3333333333"
    document = client.get(f"/lab/spec.json?{query}").get_json()
    page = client.get(f"/lab/?{query}").get_data(as_text=True)
    link = page.split('href="/lab/spec.json?')[1].split('"')[0].replace("&amp;", "&")
    again = client.get(f"/lab/spec.json?{link}").get_json()
    assert again["fingerprint"] == document["fingerprint"]
    assert again["spec"]["weights"] == {"dimension": {"EC": 0.123456789}}
    assert again["spec"]["min_coverage"] == 0.3333333333


def test_page_shows_sub_dimension_and_category_ranks(client, regional_world):
    text = client.get(f"/lab/?{MINMAX}").get_data(as_text=True)
    for level in ("sub_dimension", "category"):
        assert f'<details class="lab-level" id="lab-{level}">' in text
    category = text.split('id="lab-category"')[1].split("</details>")[0]
    from kpi_app.services.catalogue import current_catalogue

    assert f"<td>{current_catalogue().category('EC: ICT: ICT').label('en')}</td>" in category
    rows = [r for r in rows_of(client, MINMAX) if r["level"] == "category" and r["score"]]
    assert rows and f"<td>{float(rows[0]['score']):.1f}</td>" in category


def test_choosing_a_language_opens_the_blank_lab_not_an_error(client, regional_world):
    # ?lang= (the language menu) is not part of the spec: the lab opens as its blank form.
    response = client.get("/lab/?lang=fr")
    assert response.status_code == 200
    assert "year is required" not in response.get_data(as_text=True)
    assert client.get("/lab/").get_data(as_text=True).count("<form") == response.get_data(
        as_text=True
    ).count("<form")

"""The public city page scores a publication against another set only as a labelled analysis."""

from __future__ import annotations

from kpi_app.services import benchmark_sets
from tests.api.factories import add_values, publish
from tests.integration.test_frozen_publications import VALUES
from tests.web.test_admin_benchmarks import CODE, set_csv


def test_city_page_selector_scores_against_another_set_as_an_analysis(
    client, make_city, make_assessment
):
    assessment = make_assessment(make_city("fjordby", name="Fjordby"), 2024)
    add_values(assessment, VALUES)
    publish(assessment)
    benchmark_sets.import_file(set_csv({CODE: 50.0}), "alt.csv", None, set_id="alt", version="1")

    page = client.get("/cities/fjordby/2024").get_data(as_text=True)
    assert "Showing the published, verified results." in page
    assert "Not the published result." not in page
    assert 'name="benchmark_set"' in page and '<option value="alt">alt (1)</option>' in page

    analysis = client.get("/cities/fjordby/2024", query_string={"benchmark_set": "alt"})
    assert analysis.status_code == 200
    body = analysis.get_data(as_text=True)
    assert "Not the published result." in body
    assert "Analysis against benchmark set alt: not the published result." in body
    assert "Showing the published, verified results." not in body
    assert '<option value="alt" selected>' in body
    assert body != page

    assert client.get("/cities/fjordby/2024?benchmark_set=nope").status_code == 404

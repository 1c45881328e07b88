"""The public city page scores a publication against another set only as a labelled analysis."""

from __future__ import annotations

from kpi_app.services import benchmark_sets
from tests.factories import add_values, publish
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
    assert "Showing the published results." in page
    assert "Not the published result." not in page
    assert 'name="benchmark_set"' in page and '<option value="alt">alt (1)</option>' in page

    analysis = client.get("/cities/fjordby/2024", query_string={"benchmark_set": "alt"})
    assert analysis.status_code == 200
    body = analysis.get_data(as_text=True)
    assert "Not the published result." in body
    assert "Analysis against benchmark set alt: not the published result." in body
    assert "Showing the published results." not in body
    assert '<option value="alt" selected>' in body
    assert body != page

    assert client.get("/cities/fjordby/2024?benchmark_set=nope").status_code == 404


def test_city_page_and_pdf_keep_the_published_figures_after_a_yaml_edit(
    app, client, make_city, make_assessment, tmp_path
):
    import io

    from pypdf import PdfReader

    from kpi_app.services import reports
    from tests.integration.test_frozen_publications import halved_copy

    def profile():
        with app.test_request_context("/"):
            return reports.city_profile("fjordby", 2024, None)

    def pdf_text() -> str:
        response = client.get("/cities/fjordby/2024/download/snapshot.pdf")
        assert response.status_code == 200
        reader = PdfReader(io.BytesIO(response.data))
        return " ".join(page.extract_text() for page in reader.pages)

    assessment = make_assessment(make_city("fjordby", name="Fjordby"), 2024)
    add_values(assessment, VALUES)
    publish(assessment)
    before, pdf_before = profile(), pdf_text()
    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    after, pdf_after = profile(), pdf_text()
    assert after.overall == before.overall
    kpi_before = before.kpis.set_index(["code", "data_point"])["target"]
    kpi_after = after.kpis.set_index(["code", "data_point"])["target"]
    assert kpi_after.loc[(CODE, "")] == kpi_before.loc[(CODE, "")] == 100.0
    # The PDF's KPI table: value 60 against the frozen target 100 is 60 % (halved: 120 %).
    assert "100 60 %" in pdf_before
    assert "100 60 %" in pdf_after and "120 %" not in pdf_after

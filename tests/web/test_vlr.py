"""The Voluntary Local Review annex: page, CSV (hand-checked numbers), PDF read back, access."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role, Status
from tests.factories import add_values, login, publish


@pytest.fixture
def fjordby(make_city, make_assessment):
    """Published 2020 and 2024 (SAMPLE_VALUES in 2024), a 2025 draft with a changed value."""
    city = make_city("fjordby", name="Fjordby")
    early = make_assessment(city, year=2020)
    add_values(early, [("EC: ICT: ICT: 1C", "", 80.0, 1, True)])
    publish(early)
    publish_2024 = make_assessment(city, year=2024)
    add_values(publish_2024)
    publish(publish_2024)
    draft = make_assessment(city, year=2025, status=Status.DRAFT)
    add_values(draft, [("EC: ICT: ICT: 1C", "", 33.0, 1, None)])
    return city


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace collapsed (table cells wrap words onto several lines)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_csv_is_organised_by_goal_and_target_with_hand_checked_numbers(client, fjordby):
    rows = rows_of(client.get("/cities/fjordby/2024/vlr.csv"))
    by_key = {(r["target"], r["code"], r["data_point"]): r for r in rows}

    # Household Internet Access, sdg_refs ["17.8.1"]: 95.5 of a target of 100 = 95.5 %,
    # band 4. Progress (Open SDG): base 2020 = 80, needed (100/80)^(1/10) - 1 = 2.26 %/yr,
    # achieved (95.5/80)^(1/4) - 1 = 4.53 %/yr, ratio 2.0 >= 0.95: on track.
    internet = by_key[("17.8", "EC: ICT: ICT: 1C", "")]
    assert internet["goal"] == "17"
    assert internet["goal_name"] == "Partnerships for the goals"
    assert internet["sdg_ref"] == "17.8.1"
    assert internet["link_source"] == "U4SSC catalogue (sdg_refs)"
    assert float(internet["value"]) == 95.5
    assert float(internet["benchmark"]) == 100.0
    assert float(internet["percent_of_target"]) == 95.5
    assert internet["band"] == "4" and internet["band_label"] == "95%+ Target"
    assert internet["verification"] == "verified"
    assert internet["source"] == "Test statistics office"
    assert internet["progress"] == "on track"
    assert internet["kind"] == "U4SSC"

    # Fixed Broadband (sdg_refs 17.6.2 and 17.8.1) appears under both targets: 40 of 100,
    # band 2; one year only, so progress cannot be assessed yet.
    for target in ("17.6", "17.8"):
        broadband = by_key[(target, "EC: ICT: ICT: 2C", "")]
        assert float(broadband["percent_of_target"]) == 40.0
        assert broadband["band"] == "2"
        assert broadband["progress"] == "insufficient data"

    # PM2.5 and PM10 (sdg_refs 11.6 and 11.6.2: one target, 11.6), lower is better:
    # 5 / 12.25 = 40.8 % (band 2); 15 / 20 = 75 % (band 3), not verified.
    pm25 = by_key[("11.6", "EN: EN: AQ: 1C", "pm25")]
    assert float(pm25["percent_of_target"]) == 40.8 and pm25["band"] == "2"
    assert pm25["target_name"] == "Lower environmental impact of cities: air quality and waste"
    pm10 = by_key[("11.6", "EN: EN: AQ: 1C", "pm10")]
    assert float(pm10["percent_of_target"]) == 75.0 and pm10["band"] == "3"
    assert pm10["verification"] == "not verified"

    # Every other linked KPI was not reported: listed, unscored.
    sampled = {"EC: ICT: ICT: 1C", "EC: ICT: ICT: 2C", "EN: EN: AQ: 1C"}
    not_reported = [r for r in rows if r["code"] not in sampled]
    assert not_reported and all(r["verification"] == "not reported" for r in not_reported)
    assert all(r["band"] == "0" and r["value"] == "" for r in not_reported)

    # Goal, then target order: every SDG 11 row before SDG 17.
    goals = [int(r["goal"]) for r in rows]
    assert goals == sorted(goals)
    targets_11 = [r["target"] for r in rows if r["goal"] == "11"]
    assert targets_11.index("11.6") < targets_11.index("11.a") if "11.a" in targets_11 else True


def test_page_shows_goals_targets_and_links_from_the_city_page(client, fjordby):
    city_page = client.get("/cities/fjordby/2024").get_data(as_text=True)
    assert "/cities/fjordby/2024/vlr" in city_page
    response = client.get("/cities/fjordby/2024/vlr")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Voluntary Local Review annex" in html
    assert 'id="sdg-17"' in html and "Partnerships for the goals" in html
    assert 'id="target-11.6"' in html
    assert "Household Internet Access" in html
    assert "U4SSC catalogue (sdg_refs)" in html
    assert "Showing the published results." in html
    assert "/cities/fjordby/2024/vlr.pdf" in html and "/cities/fjordby/2024/vlr.csv" in html


def test_pdf_opens_and_carries_the_annex(client, fjordby):
    response = client.get("/cities/fjordby/2024/vlr.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Voluntary Local Review annex" in text
    assert "Fjordby" in text and "2024" in text
    assert "SDG 17" in text and "Target 17.8" in text and "Target 11.6" in text
    assert "95.5" in text and "on track" in text


def test_annex_in_french(client, fjordby):
    html = client.get("/cities/fjordby/2024/vlr?lang=fr").get_data(as_text=True)
    assert '<html lang="fr"' in html
    # Catalogue names come through the translated catalogue (ct); interface strings are
    # marked (the lead translates the new ones; existing ones are French already).
    assert "Accès des ménages à Internet" in html
    assert "Household Internet Access" not in html
    assert "Affichage des résultats publiés." in html
    pdf = client.get("/cities/fjordby/2024/vlr.pdf?lang=fr")
    text = pdf_text(pdf.data)
    assert "Accès des ménages à Internet" in text


def test_public_sees_published_only_and_editors_may_see_live(client, fjordby, make_user):
    assert client.get("/cities/fjordby/2025/vlr").status_code == 404
    assert client.get("/cities/fjordby/2025/vlr.csv").status_code == 404
    assert client.get("/cities/fjordby/2025/vlr.pdf").status_code == 404
    assert client.get("/cities/nowhere/2024/vlr").status_code == 404
    rows = rows_of(client.get("/cities/fjordby/2024/vlr.csv?source=live"))
    internet = next(r for r in rows if r["code"] == "EC: ICT: ICT: 1C")
    assert float(internet["value"]) == 95.5  # anonymous: live is not granted

    editor = make_user(Role.CITY_EDITOR, city=fjordby)
    login(client, editor.email)
    live = rows_of(client.get("/cities/fjordby/2025/vlr.csv"))
    internet = next(r for r in live if r["code"] == "EC: ICT: ICT: 1C")
    assert float(internet["value"]) == 33.0
    assert internet["verification"] == "not verified"
    value = db.session.scalar(
        db.select(IndicatorValue).where(IndicatorValue.code == "EC: ICT: ICT: 1C")
    )
    assert value is not None

"""Public pages render real content from the catalogue."""

from __future__ import annotations

import pytest


def test_home_lists_cities_and_dimensions(client, make_city):
    make_city("harbourtown", name="Harbourtown", fictional=True)
    page = client.get("/").get_data(as_text=True)
    assert "Harbourtown" in page
    assert "Economy" in page and "Environment" in page


def test_catalogue_lists_all_91_indicators(client, catalogue):
    page = client.get("/indicators").get_data(as_text=True)
    for indicator in catalogue.indicators:
        assert indicator.code in page


@pytest.mark.parametrize("code", ["EC: ICT: ICT: 1C", "EN: EN: AQ: 1C", "SC:EH:ED:1C"])
def test_indicator_page_shows_method_and_benchmark(client, code):
    response = client.get(f"/indicators/{code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Benchmark" in page and "Unit" in page


def test_unknown_indicator_is_a_friendly_404(client):
    response = client.get("/indicators/XX: YY: 9Z")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_french_interface_is_selected_by_query_and_remembered(client):
    page = client.get("/?lang=fr").get_data(as_text=True)
    assert 'lang="fr"' in page
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)


def test_arabic_is_right_to_left(client):
    assert 'dir="rtl"' in client.get("/?lang=ar").get_data(as_text=True)

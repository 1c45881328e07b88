"""Pages show the catalogue in the reader's language, with bidi isolation on RTL pages.

Issue 16: in ar, es, ru and zh the catalogue page, data-entry forms, city pages and PDFs showed
English KPI names, definitions and units, and English fragments in Arabic pages put their
punctuation on the wrong side (".Broadband…"). Country names come from CLDR through Babel.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient

from kpi_app.catalogue import Catalogue, load_catalogue
from kpi_app.catalogue.translations import po_path
from kpi_app.models import Assessment, City, Role, Status
from kpi_app.web.assessments.views import category_slug
from tests.conftest import IsolatedClient, login

CODE = "EC: ICT: ICT: 2C"  # Fixed Broadband Subscriptions: the ".Broadband…" example


class LanguageClient(IsolatedClient):
    """Forget Flask-Babel's per-`g` locale around each request, as a real server does."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.pop("_flask_babel", None)
        try:
            return super().open(*args, **kwargs)
        finally:
            if has_app_context():
                g.pop("_flask_babel", None)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = LanguageClient
    return app.test_client()


def page(client: FlaskClient, url: str, lang: str) -> str:
    response = client.get(url, query_string={"lang": lang})
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("lang", ["ar", "zh", "ru", "es", "fr"])
def test_catalogue_page_shows_names_and_units_in_the_readers_language(
    client: FlaskClient, catalogue: Catalogue, lang: str
) -> None:
    body = page(client, "/indicators", lang)
    kpi = catalogue.indicator(CODE)
    assert kpi.tr("name", lang, fallback=False) in body
    assert kpi.tr("name", "en") not in body
    for dimension in catalogue.dimensions:
        assert dimension.tr("name", lang) in body
    assert "Percentage" not in body  # the unit column is translated too


def test_arabic_catalogue_isolates_codes_and_texts(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    body = page(client, "/indicators", "ar")
    kpi = catalogue.indicator(CODE)
    # The Latin code is an isolated LTR run; the Arabic name is isolated from its neighbours.
    assert f'<bdi dir="ltr">{CODE}</bdi>' in body
    assert f"<bdi>{kpi.tr('name', 'ar')}</bdi>" in body
    english_body = page(client, "/indicators", "en")
    assert "<bdi" not in english_body  # LTR pages need no isolation


@pytest.mark.parametrize("lang", ["ar", "zh"])
def test_indicator_page_shows_definition_unit_numerator_in_the_readers_language(
    client: FlaskClient, catalogue: Catalogue, lang: str
) -> None:
    kpi = catalogue.indicator(CODE)
    body = page(client, f"/indicators/{CODE}", lang)
    for field in ("name", "help", "unit", "numerator", "denominator"):
        translated = kpi.tr(field, lang, fallback=False)
        assert translated and translated in body, field
        assert kpi.tr(field, "en") not in body, field


def test_a_missing_translation_falls_back_to_isolated_english(
    app: Flask, client: FlaskClient, catalogue: Catalogue, tmp_path: Path
) -> None:
    copy = tmp_path / "indicators"
    shutil.copytree(Path(app.config["CATALOGUE_DIR"]), copy)
    kpi = catalogue.indicator(CODE)
    ar_po = po_path(copy, "ar")
    text = ar_po.read_text(encoding="utf-8")
    # Blank the Arabic definition: the page must show the English one, marked as English
    # and isolated so its full stop stays at its end inside the RTL page.
    lines = text.split("\n")
    start = next(
        i for i, line in enumerate(lines) if line.startswith("#. ") and f"{CODE} · help" in line
    )
    msgstr = next(i for i in range(start, len(lines)) if lines[i].startswith("msgstr"))
    end = next(i for i in range(msgstr + 1, len(lines)) if not lines[i].startswith('"'))
    lines[msgstr:end] = ['msgstr ""']
    ar_po.write_text("\n".join(lines), encoding="utf-8")
    assert load_catalogue(copy).indicator(CODE).tr("help", "ar", fallback=False) == ""
    app.config["CATALOGUE_DIR"] = str(copy)
    body = page(client, f"/indicators/{CODE}", "ar")
    english = kpi.tr("help", "en")
    assert f'<bdi lang="en" dir="ltr">{english}</bdi>' in body
    assert kpi.tr("name", "ar") in body  # the rest stays Arabic


@pytest.fixture
def entry_site(
    make_city: Callable[..., City],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Assessment],
) -> dict[str, Any]:
    city = make_city("noor", country="EG")
    assessment = make_assessment(city, year=2024, status=Status.PUBLISHED)
    admin = make_user(Role.ADMIN)
    return {"city": city, "assessment": assessment, "admin": admin}


@pytest.mark.parametrize("lang", ["ar", "zh"])
def test_data_entry_form_labels_and_help_are_translated(
    client: FlaskClient, catalogue: Catalogue, entry_site: dict[str, Any], lang: str
) -> None:
    login(client, entry_site["admin"].email)
    kpi = catalogue.indicator(CODE)
    category = catalogue.category(kpi.category)
    url = f"/assessments/{entry_site['assessment'].id}/categories/{category_slug(category)}"
    body = page(client, url, lang)
    for field in ("name", "help", "unit", "numerator", "denominator"):
        assert kpi.tr(field, lang, fallback=False) in body, field
        assert kpi.tr(field, "en") not in body, field
    assert category.tr("name", lang) in body


def test_country_names_come_from_cldr_in_the_readers_language(
    client: FlaskClient, entry_site: dict[str, Any]
) -> None:
    for lang in ("ar", "zh", "ru"):
        body = page(client, "/", lang)
        assert Locale.parse(lang).territories["EG"] in body
        assert "Egypt" not in body


def test_language_menu_uses_cldr_autonyms(client: FlaskClient) -> None:
    body = page(client, "/", "en")
    for code in ("fr", "es", "ar", "zh", "ru"):
        autonym = Locale.parse(code).get_display_name(code)
        assert autonym[:1].upper() + autonym[1:] in body


@pytest.mark.parametrize("lang", ["ar", "zh"])
def test_city_profile_lists_kpis_with_translated_names_and_units(
    client: FlaskClient, catalogue: Catalogue, lang: str
) -> None:
    from kpi_app.services import seeding

    seeding.seed_demo()
    body = page(client, "/cities/nordvik/2024", lang)
    kpi = catalogue.indicator("EC: ICT: ICT: 1C")
    assert kpi.tr("name", lang, fallback=False) in body
    assert kpi.tr("name", "en") not in body
    assert kpi.tr("unit", lang, fallback=False) in body
    assert ">Percentage<" not in body


def test_benchmark_texts_are_translated_and_isolated_in_arabic(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    from kpi_app.services.catalogue import benchmark_set

    entry = benchmark_set().benchmark(CODE)
    assert entry is not None and entry.rationale and entry.source
    body = page(client, f"/indicators/{CODE}", "ar")
    # ".Every household…" was the symptom: an English sentence in an RTL cell.
    for english in (entry.rationale, entry.source, benchmark_set().name["en"]):
        arabic = catalogue.translate(english, "ar", fallback=False)
        assert arabic and f"<bdi>{arabic}</bdi>" in body
        assert english not in body
    assert '<bdi dir="ltr">17.6.2, 17.8.1</bdi>' in body


def test_stored_units_are_shown_translated_unless_typed_by_the_city(app: Flask) -> None:
    from types import SimpleNamespace

    from kpi_app.web.catalogue_text import country_name, value_unit

    stored = SimpleNamespace(code="EC: ICT: ICT: 1C", data_point="", unit="Percentage")
    typed = SimpleNamespace(code="EC: ICT: ICT: 1C", data_point="", unit="per cent of homes")
    with app.test_request_context("/?lang=ar"):
        g.pop("_flask_babel", None)
        assert str(value_unit(stored)) == "<bdi>نسبة مئوية</bdi>"
        assert str(value_unit(typed)) == "<bdi>per cent of homes</bdi>"
        assert country_name("NO") == Locale.parse("ar").territories["NO"]
    with app.test_request_context("/?lang=zh"):
        g.pop("_flask_babel", None)
        assert str(value_unit(stored)) == "百分比"

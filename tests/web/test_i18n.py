"""Six UN languages, right-to-left Arabic, locale-aware numbers, no outside assets, light statics.

Pages are enumerated from `app.url_map` (every GET route that answers HTML), with URL
parameters pointing at a small published assessment made by the fixtures, as an admin (who may
open every page) and anonymously.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, g, has_app_context, render_template_string, url_for
from flask.testing import FlaskClient

from kpi_app.models import Assessment, City, Role, Status
from kpi_app.web import static_assets
from tests.conftest import IsolatedClient, login

LANGUAGES = ("en", "fr", "es", "ar", "zh", "ru")
MACHINE_ENDPOINTS = re.compile(
    r"^(static|ops\.healthz|api_\w+\..*|api-docs\..*)$|\.(export\w*|\w*download)$"
)
# An asset reference: the URL a browser would fetch by itself when rendering the page.
ASSET_REFERENCE = re.compile(
    r"<(script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=\"([^\"]+)\""
    r"|<link\b[^>]*\bhref=\"([^\"]+)\""
    r"|url\(\s*['\"]?([^'\")]+)"
)


class LanguageIsolatedClient(IsolatedClient):
    """The `app` fixture keeps one app context (and so one `g`) for the whole test, and
    Flask-Babel caches the request's locale in `g`: forget it around each request, as a real
    server does by giving every request its own context."""

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
    app.test_client_class = LanguageIsolatedClient
    return app.test_client()


@pytest.fixture
def site(
    app: Flask,
    make_city: Callable[..., City],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Assessment],
) -> dict[str, Any]:
    city = make_city("lumen", country="FR")
    assessment = make_assessment(city, year=2024, status=Status.PUBLISHED)
    admin = make_user(Role.ADMIN)
    return {"city": city, "assessment": assessment, "admin": admin}


def page_urls(app: Flask, site: dict[str, Any]) -> list[str]:
    samples: dict[str, object] = {
        "assessment_id": site["assessment"].id,
        "value_id": 1,
        "scenario_id": 1,
        "import_id": 1,
        "slug": site["city"].slug,
        "year": 2024,
        "iso2": "FR",
        "code": "EC: ICT: ICT: 1C",
        "level": "overall",
        "group_id": "overall",
        "ref": "11.2",  # an SDG 11 target page
        "token": "expired-or-forged",  # the password-reset page refuses it with a message
    }
    urls = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or MACHINE_ENDPOINTS.search(rule.endpoint):
            continue
        urls.append(adapter.build(rule.endpoint, {k: samples[k] for k in rule.arguments}))
    return sorted(set(urls))


def html_pages(client: FlaskClient, urls: list[str], **query: str) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url, query_string=query)
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            pages[url] = response.get_data(as_text=True)
    return pages


def test_every_page_is_right_to_left_in_arabic(
    app: Flask, client: FlaskClient, site: dict[str, Any]
) -> None:
    login(client, site["admin"].email)
    pages = html_pages(client, page_urls(app, site), lang="ar")
    assert len(pages) > 20
    wrong = [url for url, html in pages.items() if '<html lang="ar" dir="rtl">' not in html]
    assert wrong == []
    # The choice sticks for the session: the next page without ?lang= is still Arabic.
    assert 'dir="rtl"' in client.get("/indicators").get_data(as_text=True)


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_key_pages_are_translated(app: Flask, client: FlaskClient, language: str) -> None:
    english = client.get("/auth/login", query_string={"lang": "en"}).get_data(as_text=True)
    page = client.get("/auth/login", query_string={"lang": language}).get_data(as_text=True)
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in page

    def texts(html: str) -> set[str]:
        return {
            re.sub(r"\s+", " ", text).strip()
            for text in re.findall(r">([^<>{}]+)<", html)
            if re.search(r"[^\W\d_]{3,}", text)
        }

    for english_text in ("Log in", "Skip to main content", "Indicators", "Language"):
        assert english_text in texts(english)
        assert english_text not in texts(page), f"{english_text!r} untranslated in {language}"
    catalogue_page = client.get("/indicators", query_string={"lang": language})
    assert "Accessibility statement" not in catalogue_page.get_data(as_text=True)


def test_browser_language_is_used_when_nothing_was_chosen(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "1,234,567.5"), ("fr", "1\u202f234\u202f567,5"), ("ar", "1,234,567.5")],
)
def test_numbers_follow_the_chosen_language(app: Flask, language: str, expected: str) -> None:
    g.pop("_flask_babel", None)  # see LanguageIsolatedClient
    with app.test_request_context(f"/?lang={language}"):
        assert render_template_string("{{ 1234567.5|number(1) }}") == expected


def test_pages_load_nothing_from_other_sites(
    app: Flask, client: FlaskClient, site: dict[str, Any]
) -> None:
    """Offline-friendly and private: scripts, styles, images and fonts come from the app."""
    login(client, site["admin"].email)
    pages = html_pages(client, page_urls(app, site))
    outside = {
        (url, reference)
        for url, html in pages.items()
        for match in ASSET_REFERENCE.finditer(html)
        for reference in filter(None, match.groups()[1:])
        if urlsplit(reference).scheme in {"http", "https"} or reference.startswith("//")
    }
    assert pages and outside == set()


# ----- static assets -----------------------------------------------------------------------


@pytest.fixture
def static_app(app: Flask) -> Flask:
    static_assets.init_app(app)
    return app


def test_static_urls_carry_a_content_hash(static_app: Flask) -> None:
    with static_app.test_request_context():
        url = url_for("static", filename="css/app.css")
        missing = url_for("static", filename="css/no-such-file.css")
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{16}", url)
    assert missing == "/static/css/no-such-file.css"


def test_hashed_static_files_are_cached_for_a_year_and_gzipped(static_app: Flask) -> None:
    client = static_app.test_client()
    with static_app.test_request_context():
        url = url_for("static", filename="vendor/plotly.min.js")
    plain = client.get("/static/vendor/plotly.min.js")
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    plain.close()
    packed.close()
    # An unversioned URL must be revalidated, so an edited file is never served stale.
    assert plain.headers["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in plain.headers
    # Revalidation of the gzip form still ends in 304 Not Modified.
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    again.close()
    assert again.status_code == 304


def test_a_stale_version_is_not_cached_as_immutable(static_app: Flask) -> None:
    response = static_app.test_client().get("/static/css/app.css?v=0000000000000000")
    response.close()  # the body (an open file) is not needed
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_data_entry_pages_do_not_load_the_charting_library(
    app: Flask, client: FlaskClient, site: dict[str, Any]
) -> None:
    """plotly.js (~1.5 MB compressed) is only for pages that draw charts."""
    login(client, site["admin"].email)
    assessment_id = site["assessment"].id
    for url in ("/assessments/", f"/assessments/{assessment_id}", "/auth/login"):
        assert "plotly" not in client.get(url).get_data(as_text=True), url


# ----- the translate command ---------------------------------------------------------------


def test_extraction_finds_template_text_and_lazy_form_labels(tmp_path: Any) -> None:
    from kpi_app.commands.i18n import extract_messages

    template = tmp_path / "messages.pot"
    extract_messages(template)
    text = template.read_text(encoding="utf-8")
    assert 'msgid "Skip to main content"' in text  # base.html, {{ _() }}
    assert 'msgid "Repeat the new password"' in text  # auth/forms.py, _l() at import time
    assert 'msgid "You are logged out."' in text  # auth/views.py, flash(_())


def test_translate_commands_are_registered(runner: Any) -> None:
    result = runner.invoke(args=["translate", "--help"])
    assert result.exit_code == 0
    for command in ("extract", "update", "compile", "init"):
        assert command in result.output
    refused = runner.invoke(args=["translate", "init", "fr"])
    assert refused.exit_code == 1 and "exists already" in refused.output

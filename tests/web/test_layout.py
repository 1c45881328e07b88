"""The page frame: one current menu entry, a phone menu without JavaScript, footer, favicon."""

from __future__ import annotations

import re

import pytest

from kpi_app.services import seeding


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


def header(html: str) -> str:
    return html.split('<header class="site-header">')[1].split("</header>")[0]


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/", "Home"),
        ("/indicators", "Indicators"),
        ("/cities", "Cities"),
        ("/cities/nordvik/2024", "Cities"),
        ("/countries/NO", "Cities"),
        ("/compare", "Compare"),
        ("/sdg", "SDG 11"),
    ],
)
def test_exactly_one_menu_entry_is_the_current_page(client, demo, url, current):
    html = client.get(url).get_data(as_text=True)
    marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', header(html))
    assert marked == [current]


def test_menu_folds_into_a_disclosure_that_needs_no_javascript(client, demo):
    html = client.get("/cities").get_data(as_text=True)
    top = header(html)
    menu = top.split('<details class="menu">')[1].split("</details>")[0]
    assert '<summary class="menu-toggle">Menu</summary>' in menu
    assert 'aria-label="Main"' in menu and 'id="lang-select"' in menu


def test_footer_links_accessibility_statement_and_api_docs(client, demo):
    html = client.get("/").get_data(as_text=True)
    footer = html.split('<footer class="site-footer">')[1]
    assert 'href="/accessibility"' in footer
    assert 'href="/api/v1/docs"' in footer
    assert client.get("/accessibility").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


def test_every_page_names_a_favicon_that_exists(client, demo):
    html = client.get("/").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon
    response = client.get(icon.group(1))
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in body
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 302
    assert legacy.headers["Location"].split("?")[0].endswith("/static/favicon.svg")


def test_public_pages_without_secrets_are_gzipped_and_forms_are_not(client, demo, make_user):
    """Anonymous dashboards go compressed (150 KB of SVG-rich HTML becomes ~30 KB); a page
    with a CSRF token (login form) or for a logged-in user never is (BREACH)."""
    import gzip

    from kpi_app.models import Role
    from tests.factories import login

    packed = client.get("/cities/nordvik/2024", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    html = gzip.decompress(packed.get_data()).decode()
    assert 'class="wheel-svg"' in html
    assert len(packed.get_data()) < len(html) / 3
    form = client.get("/auth/login", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in form.headers
    assert 'method="post"' in form.get_data(as_text=True)
    login(client, make_user(Role.COORDINATOR).email)
    mine = client.get("/cities/nordvik/2024", headers={"Accept-Encoding": "gzip"})
    assert mine.status_code == 200 and "Content-Encoding" not in mine.headers

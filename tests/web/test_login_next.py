"""The login's `next=` never gives a 500 and never leaves the site (issue 14 item 12).

A browser forgives a lot in a Location header: it reads `\\` as `/` and drops tabs and line
breaks. `lands_on_site` resolves a Location the way a browser would, so a target that only
looks relative ("/\\evil.example", "/\\t/evil.example") counts as off-site.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_app.models import Role
from tests.factories import PASSWORD

LOGIN_URL = "http://localhost/auth/login"


def lands_on_site(location: str) -> bool:
    browser_view = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    return urlsplit(urljoin(LOGIN_URL, browser_view)).netloc == "localhost"


def _post_login(client, email: str, target: str):
    return client.post(
        f"/auth/login?next={quote(target, safe='')}",
        data={"email": email, "password": PASSWORD},
    )


@pytest.mark.parametrize(
    "target",
    [
        "/\r\nSet-Cookie: x=1",
        "/account\r\nLocation: https://evil.example",
        "/\n",
        "/\x00",
    ],
)
def test_control_characters_in_next_fall_back_to_the_default_page(client, make_user, target):
    user = make_user(Role.VIEWER)
    response = _post_login(client, user.email, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie: x=1" not in str(response.headers)
    assert client.get("/auth/account").status_code == 200  # logged in all the same


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "/\t/evil.example", "//evil.example", "https:/evil.example"]
)
def test_targets_a_browser_would_take_off_site_are_refused(client, make_user, target):
    user = make_user(Role.VIEWER)
    response = _post_login(client, user.email, target)
    assert response.headers["Location"] == "/"


def test_a_plain_same_site_next_is_followed(client, make_user):
    user = make_user(Role.VIEWER)
    response = _post_login(client, user.email, "/cities?country=NO")
    assert response.headers["Location"] == "/cities?country=NO"


NASTY = st.sampled_from(["/", "\\", "\r", "\n", "\t", " ", ":", "@", "?", "#", "%", ".", "\x00"])
TARGETS = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(NASTY, st.text(max_size=4)), max_size=12).map("".join),
    st.builds(lambda tail: "/" + tail, st.text(max_size=40)),
    st.builds(lambda host: f"//{host}", st.from_regex(r"[a-z.\\/\t]{1,20}", fullmatch=True)),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=TARGETS)
def test_any_next_value_never_errors_and_never_leaves_the_site(client, make_user, target):
    # A logged-in visitor of /auth/login is sent on to next= at once: same code path as after
    # the password check, without an argon2 hash per example.
    if client.get_cookie("session") is None:
        user = make_user(Role.VIEWER)
        _post_login(client, user.email, "/")
    response = client.get(f"/auth/login?next={quote(target, safe='')}")
    assert response.status_code == 302, (target, response.status_code)
    assert lands_on_site(response.headers["Location"]), (target, response.headers["Location"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=TARGETS)
def test_any_next_value_after_the_password_check(app, make_user, target):
    client = app.test_client()
    email = f"next-{abs(hash(target))}@example.org"
    from kpi_app.services import users

    if users.find_user(email) is None:
        make_user(Role.VIEWER, email=email)
    response = _post_login(client, email, target)
    assert response.status_code == 302, (target, response.status_code)
    assert lands_on_site(response.headers["Location"])

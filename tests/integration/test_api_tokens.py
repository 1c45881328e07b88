"""Personal API tokens: shown once, stored hashed, revocable, managed under /account/tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import ApiToken, AuditEvent, Role, User
from kpi_app.services import api_tokens
from tests.factories import login


def test_token_is_stored_only_as_its_hash(make_user: Callable[..., User]) -> None:
    user = make_user(Role.VIEWER)
    issued = api_tokens.create_token(user, "warehouse")
    stored = db.session.get(ApiToken, issued.token.id)
    assert stored is not None
    assert stored.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret.startswith("kpi_") and len(issued.secret) > 40
    assert stored.prefix == issued.secret[:12]
    assert issued.secret not in (stored.name, stored.prefix, stored.token_hash)
    assert api_tokens.authenticate(issued.secret) == user
    assert stored.last_used_at is not None
    assert api_tokens.authenticate(issued.secret + "x") is None
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "create" in actions


def test_revoked_tokens_and_inactive_users_fail(make_user: Callable[..., User]) -> None:
    user = make_user(Role.VIEWER)
    first = api_tokens.create_token(user, "one")
    second = api_tokens.create_token(user, "two")
    api_tokens.revoke_token(user, first.token.id)
    assert api_tokens.authenticate(first.secret) is None
    assert api_tokens.authenticate(second.secret) == user
    user.active = False
    db.session.commit()
    assert api_tokens.authenticate(second.secret) is None


def test_users_cannot_revoke_each_others_tokens(make_user: Callable[..., User]) -> None:
    owner, intruder = make_user(Role.VIEWER), make_user(Role.VIEWER)
    issued = api_tokens.create_token(owner, "mine")
    with pytest.raises(api_tokens.TokenError):
        api_tokens.revoke_token(intruder, issued.token.id)
    assert api_tokens.authenticate(issued.secret) == owner


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer kpi_abc", "kpi_abc"),
        ("bearer   kpi_abc ", "kpi_abc"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_header_parsing(header: str | None, expected: str | None) -> None:
    assert api_tokens.bearer_secret(header) == expected


def test_names_are_checked(make_user: Callable[..., User]) -> None:
    user = make_user(Role.VIEWER)
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(api_tokens.TokenError):
            api_tokens.create_token(user, bad)


def test_token_page_shows_secret_once_and_revokes(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.VIEWER)
    assert client.get("/account/tokens/").status_code == 302  # login first
    login(client, user.email)
    page = client.get("/account/tokens/").get_data(as_text=True)
    assert "no API tokens yet" in page and 'for="name"' in page

    created = client.post("/account/tokens/", data={"name": "nightly sync"})
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    secret = re.search(r'value="(kpi_[^"]+)"', html)
    assert secret is not None
    assert api_tokens.authenticate(secret.group(1)) is not None

    listing = client.get("/account/tokens/").get_data(as_text=True)
    assert "nightly sync" in listing and secret.group(1) not in listing  # shown only once

    token_id = db.session.scalars(db.select(ApiToken.id)).one()
    revoked = client.post(f"/account/tokens/{token_id}/revoke", follow_redirects=True)
    assert revoked.status_code == 200 and "revoked" in revoked.get_data(as_text=True)
    assert api_tokens.authenticate(secret.group(1)) is None


def test_token_form_errors_are_shown_inline(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.VIEWER)
    login(client, user.email)
    response = client.post("/account/tokens/", data={"name": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "error-summary" in html and 'id="name-error"' in html

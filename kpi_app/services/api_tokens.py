"""Personal API tokens: issued once, stored as a SHA-256 hash, revocable, audited.

A token reads `kpi_<43 url-safe characters>` (256 bits of randomness). Only its SHA-256 and
a short prefix (to tell tokens apart in lists) are stored; the secret itself is shown to the
user once and cannot be recovered. A plain hash is enough here (no slow password hash):
the secret is random and long, so it cannot be guessed from its hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from kpi_app.extensions import db
from kpi_app.models import ApiToken, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit
from kpi_app.services.errors import Invalid

TOKEN_PREFIX = "kpi_"
PREFIX_LENGTH = 12  # "kpi_" + 8 characters: enough to recognise a token in a list
MAX_ACTIVE_TOKENS = 20
NAME_MAX_LENGTH = 80


class TokenError(Invalid):
    """A user-facing problem with a token operation."""


@dataclass(frozen=True)
class IssuedToken:
    """A newly created token and its secret (the only time the secret exists in clear)."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def active_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            db.select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def list_tokens(user: User) -> list[ApiToken]:
    """Every token of the user, newest first, revoked ones included (they show as revoked)."""
    return list(
        db.session.scalars(
            db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def create_token(user: User, name: str) -> IssuedToken:
    name = name.strip()
    if not name:
        raise TokenError("give the token a name, e.g. the script or system that will use it")
    if len(name) > NAME_MAX_LENGTH:
        raise TokenError(f"the name can have at most {NAME_MAX_LENGTH} characters")
    if len(active_tokens(user)) >= MAX_ACTIVE_TOKENS:
        raise TokenError(f"you already have {MAX_ACTIVE_TOKENS} active tokens; revoke one first")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:PREFIX_LENGTH], token_hash=hash_secret(secret)
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "create", "api_token", token.id, actor=user, new={"name": name, "prefix": token.prefix}
    )
    db.session.commit()
    return IssuedToken(token=token, secret=secret)


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (idempotent: revoking twice changes nothing)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        # Someone else's token is reported exactly like a missing one.
        raise TokenError("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("revoke", "api_token", token.id, actor=user, old={"prefix": token.prefix})
        db.session.commit()
    return token


def authenticate(secret: str) -> User | None:
    """The active user owning this unrevoked token, or None; records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    user: User = token.user
    db.session.commit()
    return user


def bearer_secret(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header, if that is what it holds."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()

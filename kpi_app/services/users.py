"""Accounts: creation, password hashing (argon2), login with lockout, logout everywhere."""

from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from kpi_app.extensions import db
from kpi_app.models import City, Role, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A user-facing problem with an account operation."""


class AccountLocked(AccountError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: the id carries the session version, so old sessions die."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == email.strip().lower()))


def create_user(
    email: str,
    role: Role | str,
    *,
    password: str | None = None,
    name: str = "",
    city_slug: str | None = None,
    country_iso2: str | None = None,
    actor: User | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with its password (generated when none is given)."""
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"{email!r} is not an e-mail address")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}"
        ) from None
    if find_user(email) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    city = None
    if city_slug:
        city = db.session.scalar(db.select(City).where(City.slug == city_slug))
        if city is None:
            raise AccountError(f"no city with slug {city_slug!r}")
    if role is Role.CITY_EDITOR and city is None:
        raise AccountError("a city_editor needs --city")
    password = password or secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        email=email,
        name=name,
        role=role,
        city=city,
        country_iso2=country_iso2.upper() if country_iso2 else None,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("create", "user", user.id, actor=actor, new={"email": email, "role": role.value})
    db.session.commit()
    return user, password


def authenticate(email: str, password: str) -> User | None:
    """Check a login. Locks the account after LOCKOUT_THRESHOLD failures in a row."""
    user = find_user(email)
    if user is None or not user.active:
        _hasher.hash(password)  # same cost as a real check: no user enumeration by timing
        return None
    now = utcnow()
    locked_until = user.locked_until
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=now.tzinfo)
    if locked_until is not None and locked_until > now:
        raise AccountLocked(locked_until.strftime("%H:%M UTC"))
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record("lock", "user", user.id, actor=None, reason="too many failed logins")
        db.session.commit()
        return None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change a password and log the user out of every other session."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("the current password is not correct") from None
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record("password_change", "user", user.id, actor=user)
    db.session.commit()

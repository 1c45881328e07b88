"""Accounts: creation, password hashing (argon2) and strength, throttled login, logout.

Failed logins never lock the owner out: they slow down the one (account, client address)
pair that fails (LoginThrottle), so an attacker elsewhere cannot keep the owner out.
New passwords are judged by zxcvbn (a maintained strength estimator) with the account's own
e-mail and name as context, wherever a password is set.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import City, LoginThrottle, Role, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit
from kpi_app.services.errors import Invalid

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000  # argon2 takes any length; this only bounds the work per request
MIN_PASSWORD_SCORE = 3  # zxcvbn 0-4: 3 is "safely unguessable", about 10^8 guesses or more
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters are judged
THROTTLE_FORGET_AFTER = timedelta(days=1)  # a quiet day wipes a pair's failure count
ACCOUNT_KEY_LENGTH = 254  # LoginThrottle.account; no e-mail address is longer
# Words every account here shares: a password built on them is easier to guess.
SITE_WORDS = ("u4ssc", "kpi", "itu", "smart", "sustainable", "city", "cities")


def N_(text: str) -> str:
    """Mark a message for extraction (pybabel's N_ keyword); it is translated when shown."""
    return text


# zxcvbn's feedback (English), marked here so our catalogues translate it.
FEEDBACK_TEXTS = frozenset(
    (
        N_("Use a few words, avoid common phrases."),
        N_("No need for symbols, digits, or uppercase letters."),
        N_("Add another word or two. Uncommon words are better."),
        N_("Straight rows of keys are easy to guess."),
        N_("Short keyboard patterns are easy to guess."),
        N_("Use a longer keyboard pattern with more turns."),
        N_('Repeats like "aaa" are easy to guess.'),
        N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
        N_("Avoid repeated words and characters."),
        N_('Sequences like "abc" or "6543" are easy to guess.'),
        N_("Avoid sequences."),
        N_("Recent years are easy to guess."),
        N_("Avoid recent years."),
        N_("Avoid years that are associated with you."),
        N_("Dates are often easy to guess."),
        N_("Avoid dates and years that are associated with you."),
        N_("This is a top-10 common password."),
        N_("This is a top-100 common password."),
        N_("This is a very common password."),
        N_("This is similar to a commonly used password."),
        N_("A word by itself is easy to guess."),
        N_("Names and surnames by themselves are easy to guess."),
        N_("Common names and surnames are easy to guess."),
        N_("Capitalization doesn't help very much."),
        N_("All-uppercase is almost as easy to guess as all-lowercase."),
        N_("Reversed words aren't much harder to guess."),
        N_("Predictable substitutions like '@' instead of 'a' don't help very much."),
    )
)


class AccountError(Invalid):
    """A user-facing problem with an account operation."""


class WeakPassword(AccountError):
    """The new password is refused (too short, too common, or built on the account's name)."""


class LoginThrottled(AccountError):
    """This client failed too often for this account: it must wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            _(
                "Too many failed attempts for this account from your network. "
                "Try again in %(minutes)s minute(s).",
                minutes=minutes,
            )
        )


def _feedback(text: str) -> str:
    return _(text) if text in FEEDBACK_TEXTS else text


def context_words(email: str, name: str = "") -> list[str]:
    """The account's own words (e-mail, its parts, name): a password must not rest on them."""
    email = email.strip().lower()
    local, _at, domain = email.partition("@")
    words = [email, local, *local.replace("_", ".").replace("-", ".").split("."), name]
    words += domain.split(".")[:-1] + name.lower().split()
    return [w for w in dict.fromkeys(words) if len(w) >= 3] + list(SITE_WORDS)


def check_password_strength(password: str, *, email: str, name: str = "") -> None:
    """Raise WeakPassword with a clear, translated reason when `password` is easy to guess."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(_("Passwords need at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(_("Passwords can have at most %(n)s characters.", n=MAX_PASSWORD_LENGTH))
    lowered = password.lower()
    if email.strip() and email.strip().lower() in lowered:
        raise WeakPassword(_("The password must not contain your e-mail address."))
    words = context_words(email, name)
    own = [w for w in words if len(w) >= 4 and w not in SITE_WORDS and w in lowered]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=words)
    if result["score"] >= MIN_PASSWORD_SCORE and not own:
        return
    if own:
        details = _("Do not build it on your e-mail address or name.")
    else:
        feedback = result.get("feedback") or {}
        reasons = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
        details = " ".join(_feedback(reason) for reason in reasons if reason)
    raise WeakPassword(f"{_('This password is too easy to guess.')} {details}".strip())


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


def get_user(user_id: int) -> User | None:
    """The account of that id (None when there is none), e.g. for a background job."""
    return db.session.get(User, user_id)


def find_user(email: str) -> User | None:
    if "\x00" in email:  # no address has one; PostgreSQL would refuse the query
        return None
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
    if "@" not in email or len(email) > ACCOUNT_KEY_LENGTH or any(ord(c) < 0x21 for c in email):
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
    check_password_strength(password, email=email, name=name)
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


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=utcnow().tzinfo)
    return moment


def _account_key(account: str) -> str:
    """The throttle's account key: the e-mail as typed, normalised, cut to the column size."""
    # PostgreSQL text cannot hold NUL: drop it (no real address has one).
    return account.replace("\x00", "").strip().lower()[:ACCOUNT_KEY_LENGTH]


def _throttle(account: str, client: str) -> LoginThrottle | None:
    return db.session.scalar(
        db.select(LoginThrottle).where(
            LoginThrottle.account == account, LoginThrottle.client == client
        )
    )


def check_throttle(account: str, client: str) -> None:
    """Raise LoginThrottled while this (account, client) pair must wait."""
    row = _throttle(_account_key(account), client)
    blocked_until = _aware(row.blocked_until) if row is not None else None
    now = utcnow()
    if blocked_until is not None and blocked_until > now:
        raise LoginThrottled(math.ceil((blocked_until - now).total_seconds()))


def record_failure(account: str, client: str, user: User | None = None) -> None:
    """Count a failed password or code; past the free failures the pair waits, doubling."""
    account = _account_key(account)
    client = client[:64]
    now = utcnow()
    # Pairs quiet for a day are forgotten: the table holds only recent failures.
    db.session.execute(
        db.delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - THROTTLE_FORGET_AFTER,
            (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
        ),
        execution_options={"synchronize_session": False},
    )
    row = _throttle(account, client)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    LoginThrottle(account=account, client=client, failures=0, last_failure_at=now)
                )
        except IntegrityError:  # a concurrent failure created it first
            pass
        row = _throttle(account, client)
        assert row is not None
    # One UPDATE: parallel failures each count (no lost increments).
    failures = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.id == row.id)
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
        .returning(LoginThrottle.failures)
    ).scalar_one()
    config = current_app.config
    free = int(config["LOGIN_FREE_FAILURES"])
    if failures >= free:
        delay = min(
            int(config["LOGIN_BACKOFF_SECONDS"]) * 2 ** min(failures - free, 30),
            int(config["LOGIN_BACKOFF_MAX_SECONDS"]),
        )
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.id == row.id)
            .values(blocked_until=now + timedelta(seconds=delay))
        )
        if failures == free and user is not None:
            audit.record(
                "login_throttled",
                "user",
                user.id,
                actor=None,
                reason=f"{failures} failed attempts from {client}",
            )
    db.session.commit()
    db.session.expire_all()


def clear_throttle(account: str, client: str) -> None:
    db.session.execute(
        db.delete(LoginThrottle).where(
            LoginThrottle.account == _account_key(account), LoginThrottle.client == client
        )
    )
    db.session.commit()


def clear_all_throttles(account: str) -> None:
    """Forget every client's failures for an account (an admin reset its password)."""
    db.session.execute(
        db.delete(LoginThrottle).where(LoginThrottle.account == _account_key(account))
    )


def login_succeeded(user: User, client: str) -> None:
    """The whole login (password and any second factor) passed: forget the pair's failures."""
    clear_throttle(user.email, client)


def check_password(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def authenticate(email: str, password: str, client: str = "unknown") -> User | None:
    """Check a login from `client` (its address). Throttled per (account, client) pair.

    Raises LoginThrottled while the pair waits, without looking at the password. A wrong
    password or unknown address counts a failure for the pair; the owner logging in from
    another address is not affected. The caller forgets the pair's failures once the whole
    login passed (login_succeeded): a right password alone does not reset the code step.
    """
    email = email.strip().lower()
    check_throttle(email, client)
    user = find_user(email)
    if user is None or not user.active:
        _hasher.hash(password)  # same cost as a real check: no user enumeration by timing
        record_failure(email, client)
        return None
    if not check_password(user, password):
        record_failure(email, client, user)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Log out: every session cookie issued so far, including copies of it, stops working.

    The session version is the server-side part of the cookie (see load_session_user), so
    bumping it ends this account's sessions on every device, as a password change does.
    """
    user.session_version += 1
    audit.record("logout", "user", user.id, actor=user)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change a password and log the user out of every other session."""
    if not check_password(user, current):
        raise AccountError(_("The current password is not correct."))
    check_password_strength(new, email=user.email, name=user.name)
    if check_password(user, new):
        raise WeakPassword(_("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record("password_change", "user", user.id, actor=user)
    db.session.commit()

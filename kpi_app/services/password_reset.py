"""Password reset by a signed, expiring e-mailed link.

The token (itsdangerous URLSafeTimedSerializer, signed with SECRET_KEY) carries the user id
and a fingerprint of the current password hash: once the password changes, through this link
or otherwise, every earlier link stops working, so a link is used at most once. It expires
after PASSWORD_RESET_MAX_AGE seconds. Asking for a link never tells whether the address
belongs to an account: the answer is the same either way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import User
from kpi_app.services import audit, notifications, users
from kpi_app.services.errors import Invalid

log = logging.getLogger(__name__)
SALT = "kpi-password-reset"


class ResetLinkInvalid(Invalid):
    """The link is expired, already used or was never issued; the message says so."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_token(token: str) -> User:
    """The account a valid, unused, unexpired link belongs to, or ResetLinkInvalid."""
    max_age = int(current_app.config.get("PASSWORD_RESET_MAX_AGE") or 3600)
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ResetLinkInvalid(_("This reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise ResetLinkInvalid(_("This reset link is not valid. Ask for a new one.")) from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("p") != _fingerprint(user):
        raise ResetLinkInvalid(
            _("This reset link was already used or is no longer valid. Ask for a new one.")
        )
    return user


def request_reset(email: str, link_for: Callable[[str], str]) -> None:
    """E-mail a reset link to the account with this address, if there is an active one.

    Returns nothing either way (the caller shows the same message for every address).
    """
    user = users.find_user(email or "")
    if user is None or not user.active:
        log.info("password reset asked for an unknown or inactive address")
        return
    minutes = int(current_app.config.get("PASSWORD_RESET_MAX_AGE") or 3600) // 60
    body = _(
        "Someone asked to reset the password of your U4SSC KPIs account. If it was you, "
        "open this link within %(minutes)d minutes to choose a new password:\n\n%(link)s\n\n"
        "If it was not you, ignore this message: your password stays as it is.",
        minutes=minutes,
        link=link_for(make_token(user)),
    )
    notifications.send_now(
        notifications.Mail(to=user.email, subject=_("Reset your U4SSC KPIs password"), body=body)
    )


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link; ends every session of the account."""
    user = user_for_token(token)
    users.check_password_strength(new_password, email=user.email, name=user.name)
    user.password_hash = users.hash_password(new_password)
    user.session_version += 1
    audit.record("password_reset", "user", user.id, actor=user)
    db.session.commit()
    return user

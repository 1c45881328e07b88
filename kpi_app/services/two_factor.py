"""Second factor: TOTP (RFC 6238, any authenticator app) with single-use recovery codes.

Enrolment stores a new secret on the account, unconfirmed; it only becomes the account's
second factor once the user proves, with a code from the app, that the app has it. Then ten
recovery codes are made: shown once, stored as SHA-256, each usable once. A TOTP code is
accepted within one 30-second step either side and never twice (the last step is kept).
Admins, coordinators and verifiers must enrol when REQUIRE_2FA is on (production default).
The TOTP secret is stored sealed (:mod:`kpi_app.services.sealed`), never in plain text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata

import pyotp
import segno
from flask import current_app

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import RecoveryCode, Role, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit, sealed, users
from kpi_app.services.errors import Invalid

ROLES_REQUIRING_2FA = frozenset({Role.ADMIN, Role.COORDINATOR, Role.VERIFIER})
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_LENGTH = 10  # 10 of 31 symbols: about 50 bits each
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps either side: tolerates a phone clock 30 s off
_SEPARATORS = re.compile(r"[\s\-]+")


class TwoFactorError(Invalid):
    """A user-facing problem with the second factor."""


def may_use(user: User) -> bool:
    """Every account may add a second factor; some roles must (see is_required)."""
    return user.active


def is_required(user: User) -> bool:
    return bool(current_app.config.get("REQUIRE_2FA")) and user.role in ROLES_REQUIRING_2FA


def must_enrol(user: User) -> bool:
    return is_required(user) and not user.has_two_factor


def _ascii_digit(char: str) -> str:
    """Any script's decimal digit (Arabic-Indic, full-width...) as 0-9; others unchanged."""
    value = unicodedata.decimal(char, None)
    return str(value) if value is not None else char


def _normalise(code: str) -> str:
    """Spaces and dashes out, lower case, digits typed in any script read as 0-9."""
    cleaned = _SEPARATORS.sub("", code or "")[:128]
    return "".join(_ascii_digit(char) for char in cleaned).lower()


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode("utf-8")).hexdigest()


def start_enrolment(user: User) -> str:
    """The secret to put into the authenticator app (kept until confirmed, then active)."""
    if user.has_two_factor:
        raise TwoFactorError(_("Two-factor authentication is already on for this account."))
    if user.totp_secret is None:
        secret = pyotp.random_base32()  # 32 base32 characters: 160 bits
        user.totp_secret = sealed.seal(secret)
        db.session.commit()
        return secret
    return sealed.unseal(user.totp_secret)


def provisioning_uri(user: User, secret: str) -> str:
    issuer = str(current_app.config.get("TWO_FACTOR_ISSUER") or "U4SSC KPI")
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here (no outside service)."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title)
    # role="img" with the title as its name, so screen readers announce what it is.
    return svg.replace("<svg ", '<svg role="img" aria-label="' + _escape(title) + '" ', 1)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _totp_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The time step whose code is `code` (within the window, newer than last_step)."""
    if not re.fullmatch(rf"[0-9]{{{TOTP_DIGITS}}}", code, flags=re.ASCII):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = int(now) // totp.interval
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _c in range(RECOVERY_LENGTH))
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(code)))
    return codes


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn the second factor on once `code` proves the app has the secret.

    Returns the recovery codes, to show once. Refuses a wrong code with a clear message.
    """
    if user.has_two_factor:
        raise TwoFactorError(_("Two-factor authentication is already on for this account."))
    if user.totp_secret is None:
        raise TwoFactorError(_("Start the set-up again: no secret was prepared."))
    step = _totp_step(sealed.unseal(user.totp_secret), _normalise(code), None, time.time())
    if step is None:
        raise TwoFactorError(
            _(
                "That code is not correct. Enter the 6-digit code your app shows now "
                "(check that the phone's clock is right)."
            )
        )
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    audit.record("two_factor_enable", "user", user.id, actor=user)
    db.session.commit()
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a login's second step: a TOTP code or an unused recovery code.

    Returns "totp" or "recovery" (the code is then spent), or None when it is not valid.
    """
    if not user.has_two_factor or user.totp_secret is None:
        return None
    cleaned = _normalise(code)
    if len(cleaned) > 64:
        return None
    secret = sealed.unseal(user.totp_secret)
    step = _totp_step(secret, cleaned, user.totp_last_step, time.time())
    if step is not None:
        # Only a newer step may be stored: a concurrent login with the same code loses.
        updated = db.session.execute(
            db.update(User)
            .where(
                User.id == user.id,
                (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        db.session.commit()
        db.session.refresh(user)
        return "totp" if updated.rowcount == 1 else None  # type: ignore[attr-defined]
    if len(cleaned) != RECOVERY_LENGTH:
        return None
    spent = db.session.execute(
        db.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return None
    left = remaining_codes(user)
    audit.record("recovery_code_used", "user", user.id, actor=user, reason=f"{left} left")
    db.session.commit()
    return "recovery"


def remaining_codes(user: User) -> int:
    return int(
        db.session.scalar(
            db.select(db.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def regenerate_codes(user: User, password: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs the account's password."""
    if not user.has_two_factor:
        raise TwoFactorError(_("Two-factor authentication is not on for this account."))
    if not users.check_password(user, password):
        raise TwoFactorError(_("The password is not correct."))
    codes = _new_recovery_codes(user)
    audit.record("recovery_codes_regenerate", "user", user.id, actor=user)
    db.session.commit()
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, password: str) -> None:
    """Turn the second factor off (not for a role that must have it); needs the password."""
    if not user.has_two_factor:
        raise TwoFactorError(_("Two-factor authentication is not on for this account."))
    if is_required(user):
        raise TwoFactorError(_("Your role must use two-factor authentication: it stays on."))
    if not users.check_password(user, password):
        raise TwoFactorError(_("The password is not correct."))
    _clear(user)
    audit.record("two_factor_disable", "user", user.id, actor=user)
    db.session.commit()


def reset(user: User) -> None:
    """Remove a lost second factor (callers authorise: accounts.reset_two_factor)."""
    _clear(user)
    user.session_version += 1  # whoever holds a session of this account must log in again

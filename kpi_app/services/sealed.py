"""Secrets the server must read back, sealed at rest: a stolen database or backup leaks none.

The TOTP secret of a second factor cannot be hashed like a password (the server computes
codes from it), so it is stored encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from the
`cryptography` library) under a key that is never in the database:

- ``KPI_DATA_KEYS``: one or more Fernet keys, comma-separated (make one with
  ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``);
  the first seals, every one opens, so a key is rotated by putting a new one first;
- otherwise a key derived from ``SECRET_KEY`` (HKDF-SHA256), so a deployment is sealed
  from its first start without a new setting.

A sealed value is ``sealed:v1:<Fernet token>``. A value stored before sealing (plain base32)
is still read, and ``kpi-app init-db`` seals such values (:func:`seal_legacy_totp_secrets`).
"""

from __future__ import annotations

import base64
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import User
from kpi_app.services.errors import Invalid

PREFIX: Final = "sealed:v1:"
_HKDF_INFO: Final = b"kpi-app sealed secrets v1"


class SealError(Invalid):
    """A sealed value this instance cannot open (its key is not among KPI_DATA_KEYS)."""


def _keys() -> list[bytes]:
    configured = str(current_app.config.get("KPI_DATA_KEYS") or "")
    keys = [key.strip().encode("ascii") for key in configured.split(",") if key.strip()]
    secret = str(current_app.config.get("SECRET_KEY") or "").encode("utf-8")
    if secret:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
        keys.append(base64.urlsafe_b64encode(derived.derive(secret)))
    if not keys:
        raise SealError(_("No key to seal secrets with: set SECRET_KEY or KPI_DATA_KEYS."))
    return keys


def _box() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError:
        raise SealError(
            _("KPI_DATA_KEYS must hold Fernet keys (32 bytes, URL-safe base64), comma-separated.")
        ) from None


def is_sealed(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


def seal(plain: str) -> str:
    """`plain` encrypted under the first key, as stored in the database."""
    return PREFIX + _box().encrypt(plain.encode("utf-8")).decode("ascii")


def unseal(stored: str) -> str:
    """The plain text of a stored value (a value stored before sealing is returned as is)."""
    if not is_sealed(stored):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SealError(
            _(
                "A sealed secret cannot be opened with this server's keys (SECRET_KEY or "
                "KPI_DATA_KEYS changed?): restore the old key, or reset the account's second "
                "factor with kpi-app reset-two-factor."
            )
        ) from None


def seal_legacy_totp_secrets() -> int:
    """Seal every TOTP secret still stored in plain text; returns how many (caller commits)."""
    legacy = db.session.scalars(
        db.select(User).where(User.totp_secret.is_not(None), ~User.totp_secret.startswith(PREFIX))
    ).all()
    for user in legacy:
        user.totp_secret = seal(str(user.totp_secret))
    return len(legacy)

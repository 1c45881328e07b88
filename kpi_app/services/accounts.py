"""Account administration use cases: create, deactivate, grant, reset (admins only).

Creating, deactivating and re-activating accounts, granting a Member State viewer access to
unpublished results, and resetting a password (the new one is shown once). Accounts are
never deleted: a deactivated account keeps its history and can no longer log in. Each
function authorises through services.permissions, audits, and commits.
"""

from __future__ import annotations

import secrets

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, City, Role, User
from kpi_app.services import audit, permissions, users
from kpi_app.services.workflow_terms import WorkflowDenied, WorkflowError

GENERATED_PASSWORD_BYTES = 12  # token_urlsafe(12) gives 16 characters, above the minimum of 10


def _require_admin(actor: User) -> None:
    if not permissions.can_administer(actor):
        raise WorkflowDenied(_("Only administrators manage accounts."))


def create_account(
    actor: User,
    *,
    email: str,
    role: str,
    name: str = "",
    city_slug: str | None = None,
    country_iso2: str | None = None,
    can_see_unpublished: bool = False,
) -> tuple[User, str]:
    """Create an account with a generated password, returned once to show to the admin."""
    _require_admin(actor)
    if can_see_unpublished and (role != Role.VIEWER.value or not country_iso2):
        raise WorkflowError(
            _("Only a Member State viewer (a viewer with a country) can see unpublished data.")
        )
    try:
        user, password = users.create_user(
            email,
            role,
            name=name,
            city_slug=city_slug or None,
            country_iso2=country_iso2 or None,
            actor=actor,
        )
    except users.AccountError as error:
        raise WorkflowError(str(error)) from None
    if can_see_unpublished:
        set_unpublished_grant(user, True, actor)
    return user, password


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate (never delete) or re-activate an account."""
    _require_admin(actor)
    if user.id == actor.id and not active:
        raise WorkflowError(_("You cannot deactivate your own account."))
    if user.active is active:
        raise WorkflowError(
            _("The account is already active.") if active else _("The account is already inactive.")
        )
    user.active = active
    if not active:
        user.session_version += 1  # logs the account out everywhere at once
    audit.record(
        "activate" if active else "deactivate",
        "user",
        user.id,
        actor=actor,
        old={"active": not active},
        new={"active": active},
    )
    db.session.commit()


def reset_password(user: User, actor: User) -> str:
    """Give the account a new random password, end its sessions, forget failed logins."""
    _require_admin(actor)
    password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    user.password_hash = users.hash_password(password)
    user.session_version += 1
    users.clear_all_throttles(user.email)
    audit.record("password_reset", "user", user.id, actor=actor)  # never the password itself
    db.session.commit()
    return password


def reset_two_factor(user: User, actor: User) -> None:
    """Remove a user's lost second factor; they log in with the password and enrol again."""
    from kpi_app.services import two_factor

    _require_admin(actor)
    if not user.has_two_factor:
        raise WorkflowError(_("This account has no second factor to reset."))
    two_factor.reset(user)
    audit.record("two_factor_reset", "user", user.id, actor=actor)
    db.session.commit()


def set_unpublished_grant(user: User, grant: bool, actor: User) -> None:
    """Let a Member State viewer see its country's unpublished assessments (or stop it)."""
    _require_admin(actor)
    if grant and (user.role is not Role.VIEWER or not user.country_iso2):
        raise WorkflowError(
            _("Only a Member State viewer (a viewer with a country) can see unpublished data.")
        )
    old = user.can_see_unpublished
    user.can_see_unpublished = grant
    audit.record(
        "grant_unpublished" if grant else "revoke_unpublished",
        "user",
        user.id,
        actor=actor,
        old={"can_see_unpublished": old},
        new={"can_see_unpublished": grant},
    )
    db.session.commit()


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def list_users() -> list[User]:
    return list(db.session.scalars(db.select(User).order_by(User.role, User.email)))


def list_assessments() -> list[Assessment]:
    return list(
        db.session.scalars(
            db.select(Assessment)
            .join(City, Assessment.city_id == City.id)
            .order_by(City.name, Assessment.year.desc())
        )
    )

"""Account rescue for operators: `kpi-app reset-two-factor EMAIL` (lost phone and codes)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail


@click.command("reset-two-factor")
@click.argument("email")
@with_appcontext
def reset_two_factor(email: str) -> None:
    """Remove an account's second factor; it logs in with its password and enrols again."""
    from kpi_app.extensions import db
    from kpi_app.services import audit, two_factor, users

    user = users.find_user(email)
    if user is None:
        fail(f"no account with e-mail {email.strip().lower()}")
        return
    if not user.has_two_factor:
        fail(f"{user.email} has no second factor to reset")
        return
    two_factor.reset(user)
    audit.record("two_factor_reset", "user", user.id, actor=None, reason="kpi-app reset-two-factor")
    db.session.commit()
    click.echo(f"Second factor removed for {user.email}; it is set up again at the next login.")


COMMANDS = [reset_two_factor]

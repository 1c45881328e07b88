# mypy: disable-error-code="untyped-decorator"
# (flask-login ships no type hints, so its decorators are untyped; the views themselves are typed.)
"""Create, list and revoke personal API tokens; the secret is shown once, on creation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from kpi_app.services import api_tokens
from kpi_app.web.tokens.forms import CreateTokenForm, RevokeTokenForm

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def _page(form: CreateTokenForm, issued: api_tokens.IssuedToken | None = None) -> str:
    return render_template(
        "tokens/index.html",
        form=form,
        revoke_form=RevokeTokenForm(),
        tokens=api_tokens.list_tokens(current_user),
        issued=issued,
    )


@bp.get("/")
@login_required
def index() -> str:
    return _page(CreateTokenForm())


@bp.post("/")
@login_required
def create() -> tuple[str, int]:
    form = CreateTokenForm()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        issued = api_tokens.create_token(current_user, form.name.data or "")
    except api_tokens.TokenError as error:
        form.name.errors = [*form.name.errors, str(error)]
        return _page(form), 400
    # Rendered, not redirected: the secret must never travel through the session cookie.
    return _page(CreateTokenForm(formdata=None), issued), 201


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    try:
        token = api_tokens.revoke_token(current_user, token_id)
    except api_tokens.TokenError:
        abort(404)
    flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))

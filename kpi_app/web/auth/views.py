"""Authentication views (Flask-Login sessions, argon2 hashes, throttled and locked logins)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from kpi_app.extensions import limiter
from kpi_app.services import todo, users
from kpi_app.web.auth.forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _safe_next(target: str | None) -> str:
    """Only follow relative redirects, never to another site."""
    if target and not urlsplit(target).netloc and target.startswith("/") and "//" not in target:
        return target
    return url_for(todo.landing_endpoint(current_user))  # each role lands on its to-do list


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.email.data or "", form.password.data or "")
        except users.AccountLocked as locked:
            flash(
                _(
                    "This account is locked after too many failed attempts. "
                    "Try again after %(time)s.",
                    time=str(locked),
                ),
                "error",
            )
            return render_template("auth/login.html", form=form), 429  # type: ignore[return-value]
        if user is None:
            flash(_("E-mail or password is not correct."), "error")
        else:
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()  # the real User, not the request-local proxy
        try:
            users.change_password(user, form.current.data or "", form.new.data or "")
        except users.AccountError as error:
            form.current.errors = [*form.current.errors, str(error)]
        else:
            login_user(user)  # re-issue this session with the new session version
            flash(_("Password changed. Every other session has been logged out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)

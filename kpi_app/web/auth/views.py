"""Authentication views (Flask-Login sessions, argon2 hashes, throttled and locked logins)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from kpi_app.extensions import db, limiter
from kpi_app.models import User
from kpi_app.services import notifications, password_reset, todo, two_factor, users
from kpi_app.web.auth.forms import (
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordForm,
    ResetPasswordForm,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")
PENDING_2FA = "pending_2fa"  # session key: password checked, second step not yet done
PENDING_2FA_SECONDS = 300
# What a user who must enrol can still reach (everything else sends them to enrolment).
OPEN_WHILE_ENROLLING = frozenset(
    {
        "auth.two_factor",
        "auth.logout",
        "auth.login",
        "auth.login_code",
        "auth.forgot_password",
        "auth.reset_password",
        "static",
    }
)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


MAX_NEXT_LENGTH = 2000


def _default_landing() -> str:
    """Where a login ends when no (safe) next page was asked for."""
    return url_for(todo.landing_endpoint(current_user))  # each role lands on its to-do list


def _safe_next(target: str | None) -> str:
    r"""Only follow same-site paths; anything else lands on the default page.

    Browsers read a backslash as a slash and drop tabs and line breaks inside a URL, so
    "/\evil.example" or "/\t/evil.example" would leave the site; control characters would also
    break the Location header (a 500). Such targets are refused, not repaired.
    """
    if (
        not target
        or len(target) > MAX_NEXT_LENGTH
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x21 or 0x7F <= ord(char) <= 0x9F for char in target)
    ):
        return _default_landing()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return _default_landing()
    return target


def _client() -> str:
    """The client address the login throttle counts against (the limiter's key too)."""
    return (request.remote_addr or "unknown")[:64]


def _throttled(form: FlaskForm, template: str, error: users.LoginThrottled) -> Response:
    flash(str(error), "error")
    response = make_response(render_template(template, form=form), 429)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _finish_login(user: User, target: str | None) -> Response:
    session.pop(PENDING_2FA, None)
    users.login_succeeded(user, _client())
    login_user(user)
    flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
    return redirect(_safe_next(target))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(
                form.email.data or "", form.password.data or "", client=_client()
            )
        except users.LoginThrottled as throttled:
            return _throttled(form, "auth/login.html", throttled)
        if user is None:
            flash(_("E-mail or password is not correct."), "error")
        elif user.has_two_factor:
            # The password was right; the session is only opened after the second step.
            session[PENDING_2FA] = {
                "user": user.id,
                "version": user.session_version,
                "at": int(time.time()),
                # checked, short: fits a cookie; none asked: the to-do list after the code
                "next": _safe_next(request.args["next"]) if request.args.get("next") else None,
            }
            return redirect(url_for("auth.login_code"))
        else:
            return _finish_login(user, request.args.get("next"))
    return render_template("auth/login.html", form=form)


def _pending_user() -> tuple[User | None, dict[str, Any]]:
    pending = session.get(PENDING_2FA)
    if not isinstance(pending, dict):
        return None, {}
    started = pending.get("at")
    if not isinstance(started, int) or time.time() - started > PENDING_2FA_SECONDS:
        session.pop(PENDING_2FA, None)
        return None, {}
    user_id = pending.get("user")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or not user.active
        or not user.has_two_factor
        or user.session_version != pending.get("version")
    ):
        session.pop(PENDING_2FA, None)
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login_code() -> str | Response:
    """The login's second step, after a correct password: a TOTP or recovery code."""
    user, pending = _pending_user()
    if user is None:
        flash(
            _("Log in with your e-mail and password first (the code step lasts 5 minutes)."),
            "info",
        )
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            users.check_throttle(user.email, _client())
        except users.LoginThrottled as throttled:
            return _throttled(form, "auth/login_code.html", throttled)
        method = two_factor.verify(user, form.code.data or "")
        if method is None:
            users.record_failure(user.email, _client(), user)
            form.code.errors = [
                *form.code.errors,
                _("That code is not correct or was already used. Enter the current code."),
            ]
        else:
            if method == "recovery":
                flash(
                    _(
                        "You used a recovery code; %(n)s are left. Make new ones under "
                        "Account, Two-factor authentication.",
                        n=two_factor.remaining_codes(user),
                    ),
                    "info",
                )
            return _finish_login(user, pending.get("next"))
    return render_template("auth/login_code.html", form=form)


@bp.route("/forgot", methods=["GET", "POST"], endpoint="forgot_password")
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> str | Response:
    """Ask for a reset link; the answer is the same whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_reset(
            form.email.data or "",
            lambda token: url_for("auth.reset_password", token=token, _external=True),
        )
        flash(
            _(
                "If an account uses this address, a reset link is on its way. It works once "
                "and for a limited time; check your spam folder if nothing arrives."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"], endpoint="reset_password")
@limiter.limit(_login_limit, methods=["POST"])
def reset_password_page(token: str) -> str | Response:
    try:
        user = password_reset.user_for_token(token)
    except password_reset.ResetLinkInvalid as error:
        flash(str(error), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.reset_password(token, form.new.data or "")
        except users.WeakPassword as weak:
            form.new.errors = [*form.new.errors, str(weak)]
        except password_reset.ResetLinkInvalid as error:
            flash(str(error), "error")
            return redirect(url_for("auth.forgot_password"))
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password was changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return _no_store(
        make_response(render_template("auth/reset_password.html", form=form, email=user.email))
    )


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        # Server-side: a copy of this session cookie no longer opens anything.
        users.end_sessions(current_user._get_current_object())
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
        except users.WeakPassword as weak:
            form.new.errors = [*form.new.errors, str(weak)]
        except users.AccountError as error:
            form.current.errors = [*form.current.errors, str(error)]
        else:
            login_user(user)  # re-issue this session with the new session version
            flash(_("Password changed. Every other session has been logged out."), "success")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        form=form,
        mail_form=FlaskForm(),
        email_enabled=notifications.email_enabled(current_user._get_current_object()),
        two_factor_on=current_user.has_two_factor,
        two_factor_required=two_factor.is_required(current_user),
    )


@bp.route("/account/email-notifications", methods=["POST"])
@login_required
def email_notifications() -> Response:
    """Switch e-mail notifications on or off (in-app notifications stay)."""
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("auth.account"))
    enabled = request.form.get("email") == "on"
    notifications.set_email_enabled(current_user._get_current_object(), enabled)
    flash(
        _("E-mail notifications are on.") if enabled else _("E-mail notifications are off."),
        "success",
    )
    return redirect(url_for("auth.account"))


# --- second factor ----------------------------------------------------------------------


@bp.before_app_request
def require_two_factor() -> Response | None:
    """Admins, coordinators and verifiers must enrol before anything else (REQUIRE_2FA)."""
    endpoint = request.endpoint or ""
    if (
        not current_app.config.get("REQUIRE_2FA")
        or not endpoint
        or endpoint in OPEN_WHILE_ENROLLING
        or endpoint.startswith("ops.")
        or request.path.startswith("/api/")
    ):
        return None
    if current_user.is_authenticated and two_factor.must_enrol(current_user):
        flash(
            _("Your role needs two-factor authentication. Set it up to continue."),
            "info",
        )
        return redirect(url_for("auth.two_factor"))
    return None


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _show_recovery_codes(codes: list[str]) -> Response:
    return _no_store(make_response(render_template("auth/recovery_codes.html", codes=codes)))


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_page() -> str | Response:
    user = current_user._get_current_object()
    if user.has_two_factor:
        return render_template(
            "auth/two_factor.html",
            user=user,
            remaining=two_factor.remaining_codes(user),
            required=two_factor.is_required(user),
            password_form=ConfirmPasswordForm(),
        )
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data or "")
        except two_factor.TwoFactorError as error:
            form.code.errors = [*form.code.errors, str(error)]
        else:
            flash(_("Two-factor authentication is on."), "success")
            return _show_recovery_codes(codes)
    secret = two_factor.start_enrolment(user)
    uri = two_factor.provisioning_uri(user, secret)
    response = make_response(
        render_template(
            "auth/two_factor_enrol.html",
            form=form,
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=Markup(two_factor.qr_svg(uri, _("QR code to scan with your authenticator app"))),
            required=two_factor.is_required(user),
        ),
        400 if form.errors else 200,
    )
    return _no_store(response)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
def two_factor_codes() -> Response:
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_codes(user, form.password.data or "")
        except two_factor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            return _show_recovery_codes(codes)
    else:
        flash(_("Enter your password to make new recovery codes."), "error")
    return redirect(url_for("auth.two_factor"))


@bp.route("/two-factor/disable", methods=["POST"])
@login_required
def two_factor_disable() -> Response:
    user = current_user._get_current_object()
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(user, form.password.data or "")
        except two_factor.TwoFactorError as error:
            flash(str(error), "error")
        else:
            flash(_("Two-factor authentication is off."), "success")
            return redirect(url_for("auth.account"))
    else:
        flash(_("Enter your password to turn two-factor authentication off."), "error")
    return redirect(url_for("auth.two_factor"))

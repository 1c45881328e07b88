"""Account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from kpi_app.services.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    # No format check at login: an unknown address simply fails like a wrong password.
    email = EmailField(
        _l("E-mail"), validators=[DataRequired()], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


def _code_field(label: str, **attributes: str) -> StringField:
    """A one-time code typed from an authenticator app (phones show the number pad)."""
    return StringField(
        label,
        validators=[DataRequired(), Length(max=64)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autocapitalize": "off",
            **attributes,
        },
    )


class CodeForm(FlaskForm):
    """The login's second step: a code from the authenticator app, or a recovery code."""

    # Recovery codes hold letters: no digits-only pattern here.
    code = _code_field(_l("Code"), spellcheck="false")
    submit = SubmitField(_l("Continue"))


class EnrolForm(FlaskForm):
    code = _code_field(_l("Code from your app"), pattern="[0-9 ]*")
    submit = SubmitField(_l("Turn on two-factor authentication"))


class ConfirmPasswordForm(FlaskForm):
    """Sensitive second-factor changes ask for the password again."""

    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set the new password"))

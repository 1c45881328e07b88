"""Forms of the API token page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from kpi_app.services.api_tokens import NAME_MAX_LENGTH


class CreateTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)])
    submit = SubmitField(_l("Create token"))


class RevokeTokenForm(FlaskForm):
    """Carries only the CSRF token: the token to revoke is in the URL."""

"""Administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from kpi_app.models import Role
from kpi_app.web.verification.forms import options

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.VERIFIER: _l("Verifier"),
    Role.CITY_EDITOR: _l("City editor"),
    Role.VIEWER: _l("Viewer"),
}


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=160)])
    role = SelectField(
        _l("Role"), choices=options([(r.value, label) for r, label in ROLE_LABELS.items()])
    )
    city = SelectField(_l("City (city editors)"), validators=[Optional()])
    country = StringField(
        _l("Member State (viewers, ISO 3166 two-letter code)"),
        validators=[Optional(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, e.g. NO."))],
    )
    can_see_unpublished = BooleanField(_l("May see the country's unpublished assessments"))
    submit = SubmitField(_l("Create account"))


class CityForm(FlaskForm):
    slug = StringField(
        _l("Short name in addresses (slug)"),
        validators=[
            DataRequired(),
            Length(max=80),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                message=_l("Lower-case letters, digits and dashes only."),
            ),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    country = StringField(
        _l("Country (ISO 3166 two-letter code)"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, e.g. NO."))],
    )
    population = IntegerField(
        _l("Population"), validators=[Optional(), NumberRange(min=0, max=2**31 - 1)]
    )
    area_km2 = DecimalField(_l("Area (km²)"), validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Register city"))


class AssessmentForm(FlaskForm):
    city = SelectField(_l("City"), validators=[DataRequired()])
    year = IntegerField(
        _l("Reporting year"), validators=[DataRequired(), NumberRange(min=1990, max=2100)]
    )
    submit = SubmitField(_l("Open assessment"))


class AssignForm(FlaskForm):
    verifier = SelectField(_l("Verifier"), validators=[DataRequired()])
    submit = SubmitField(_l("Assign"))


class DayField(DateField):
    """A calendar day (an HTML date input); an impossible date gets a message that says so."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(
                _l("Enter a real date as YYYY-MM-DD (year, month, day), e.g. 2027-03-31.")
            ) from None


class DueDatesForm(FlaskForm):
    entry_due = DayField(
        _l("Data entry due (the city submits by)"), validators=[Optional()], format="%Y-%m-%d"
    )
    verification_due = DayField(
        _l("Verification due (the verifiers finish by)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    submit = SubmitField(_l("Save due dates"))


class ActionForm(FlaskForm):
    """A button-only form (deactivate, reset password...)."""


class BenchmarkImportForm(FlaskForm):
    file = FileField(
        _l("Benchmark set file (.yaml, .csv or .xlsx)"),
        validators=[
            FileRequired(),
            FileAllowed(["yaml", "yml", "csv", "xlsx"], _l("Use a .yaml, .csv or .xlsx file.")),
        ],
    )
    set_id = StringField(
        _l("Set identifier (required for CSV and xlsx without a 'set' sheet)"),
        validators=[
            Optional(),
            Length(max=80),
            Regexp(r"^[a-z0-9][a-z0-9._-]*$", message=_l("A lower-case slug, e.g. official-2027.")),
        ],
    )
    version = StringField(_l("Version"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=160)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Import"))


class BenchmarkDiffForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only GET form

    old = SelectField(_l("From set"), validators=[DataRequired()])
    new = SelectField(_l("To set"), validators=[DataRequired()])
    submit = SubmitField(_l("Compare"))


class BenchmarkChoiceForm(FlaskForm):
    assessment = SelectField(_l("Assessment"), validators=[DataRequired()])
    benchmark_set = SelectField(_l("Benchmark set"), validators=[DataRequired()])
    submit = SubmitField(_l("Use this set"))

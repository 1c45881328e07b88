"""Forms of the scenario workspace. Item values are parsed by hand: their fields are dynamic."""

from __future__ import annotations

import math
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kpi_app.catalogue import Catalogue

VALUE_PREFIX = "value:"  # field name = prefix + "<code>|<data point>"


def options(pairs: list[tuple[object, object]]) -> list[SelectChoice]:
    """SelectField choices (WTForms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class CreateScenarioForm(FlaskForm):
    assessment = SelectField(
        _l("Assessment to start from"), coerce=int, validators=[InputRequired()]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(
        _l("Description (optional)"), validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField(_l("Create scenario"))


class RuleForm(FlaskForm):
    item = SelectField(_l("KPI"), validators=[InputRequired()])
    kind = SelectField(
        _l("Rule"),
        choices=options(
            [
                ("growth", _l("Relative change per year (0.1 = +10 %)")),
                ("change", _l("Change per year, in the KPI's unit")),
                ("scale_by", _l("Multiply by a factor by a year (0.5 = halve)")),
                ("reach_by", _l("Reach a value by a year")),
            ]
        ),
    )
    amount = DecimalField(_l("Amount"), validators=[InputRequired()])
    by_year = IntegerField(
        _l("By year (for factor and value rules)"),
        validators=[Optional(), NumberRange(min=1990, max=2100)],
    )
    submit = SubmitField(_l("Add rule"))

    def set_items(self, catalogue: Catalogue, lang: str) -> None:
        self.item.choices = options(
            [
                (f"{item.code}|{item.data_point}", f"{item.code} {item.label(lang)}")
                for item in catalogue.items()
                if not item.is_boolean
            ]
        )


class NeedleForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it only chooses what to show

    dimension = SelectField(_l("Dimension"))
    band = SelectField(
        _l("Band to reach"),
        coerce=int,
        choices=options(
            [
                (2, _l("33-66% of Target")),
                (3, _l("66–95% of Target")),
                (4, _l("95%+ Target")),
            ]
        ),
        default=3,
    )
    submit = SubmitField(_l("Show the path"))


class SensorUploadForm(FlaskForm):
    file = FileField(
        _l("Observation file"),
        validators=[
            FileRequired(),
            FileAllowed(["csv", "json", "jsonld"], _l("CSV or JSON only.")),
        ],
    )
    file_format = SelectField(
        _l("File format"),
        choices=options(
            [
                ("csv", _l("CSV (timestamp, station, parameter, value, unit)")),
                (
                    "ngsi-ld",
                    _l(
                        "NGSI-LD entities (JSON): AirQualityObserved, NoiseLevelObserved, "
                        "WaterQualityObserved"
                    ),
                ),
            ]
        ),
    )
    resolution = SelectField(
        _l("Readings are"),
        choices=options([("hourly", _l("hourly or more frequent")), ("daily", _l("daily values"))]),
    )
    timezone = StringField(
        _l("Time zone of the readings"), default="UTC", validators=[DataRequired(), Length(max=64)]
    )
    submit = SubmitField(_l("Upload and compute"))


def parse_item_values(
    form: Mapping[str, str], catalogue: Catalogue
) -> tuple[dict[tuple[str, str], float | None], dict[str, str]]:
    """Values typed per item (blank = no change) and errors keyed by field name."""
    values: dict[tuple[str, str], float | None] = {}
    errors: dict[str, str] = {}
    for name, raw in form.items():
        if not name.startswith(VALUE_PREFIX):
            continue
        code, _sep, data_point = name.removeprefix(VALUE_PREFIX).partition("|")
        try:
            catalogue.item(code, data_point)
        except KeyError:
            continue  # a stale field from an older catalogue: ignore it
        text = raw.strip().replace(" ", "").replace(",", ".")
        if not text:
            values[(code, data_point)] = None
            continue
        try:
            number = float(text)
        except ValueError:
            errors[name] = _("Enter a number, or leave it blank.")
            continue
        if not math.isfinite(number) or number < 0:
            errors[name] = _("Enter a number of zero or more.")
            continue
        values[(code, data_point)] = number
    return values, errors

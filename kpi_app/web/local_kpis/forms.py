"""Forms of the local KPIs area: a definition, the per-city policy, the values, a decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from kpi_app.catalogue import VALUE_TYPES
from kpi_app.models import LocalKpi
from kpi_app.services.local_kpis import DefinitionInput, ValueInput, items_of
from kpi_app.web.verification.forms import options

DIRECTION_LABELS = {
    "higher_better": _l("Higher is better"),
    "lower_better": _l("Lower is better"),
    "target_value": _l("Closest to the target is best"),
    "other": _l("No direction (reported, not scored)"),
}
VALUE_TYPE_LABELS = {
    "percentage": _l("Percentage"),
    "rate": _l("Rate"),
    "ratio": _l("Ratio"),
    "count": _l("Count"),
    "amount": _l("Amount"),
    "index": _l("Index"),
    "boolean": _l("Yes/no"),
}
QUALITY_PAIRS: list[tuple[str, object]] = [("", "–"), *((str(n), str(n)) for n in range(1, 7))]
VERIFIED_PAIRS: list[tuple[str, object]] = [("yes", _l("Verified")), ("no", _l("Not verified"))]


class DefinitionForm(FlaskForm):
    """One local KPI. Names and definitions have one field per language (English required)."""

    code = StringField(_l("Code (local part)"), validators=[DataRequired(), Length(max=24)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=80)])
    value_type = SelectField(
        _l("Value type"), choices=options([(v, VALUE_TYPE_LABELS[v]) for v in VALUE_TYPES])
    )
    direction = SelectField(_l("Direction"), choices=options(list(DIRECTION_LABELS.items())))
    numerator = StringField(_l("Numerator (what is counted)"), validators=[Optional()])
    denominator = StringField(_l("Denominator (out of what)"), validators=[Optional()])
    multiplier = FloatField(_l("Multiplier (e.g. 100 for a percentage)"), validators=[Optional()])
    data_points = TextAreaField(
        _l("Data points (optional): one per line, “id | English label | target”"),
        validators=[Optional()],
    )
    sdg_refs = StringField(
        _l("SDG targets or indicators, separated by commas (e.g. 11.6, 11.6.2)"),
        validators=[Optional()],
    )
    benchmark_target = FloatField(_l("Benchmark (target)"), validators=[Optional()])
    benchmark_source = StringField(_l("Source of the benchmark"), validators=[Optional()])
    active = BooleanField(_l("In use (shown on the assessment form)"), default=True)
    submit = SubmitField(_l("Save the local KPI"))


def definition_form_class(languages: dict[str, str]) -> type[DefinitionForm]:
    """The definition form with a name and a definition field per language (WTForms docs,
    "Dynamic Form Composition")."""

    class Form(DefinitionForm):
        pass

    for code, autonym in languages.items():
        required = [DataRequired()] if code == "en" else [Optional()]
        setattr(
            Form,
            f"name_{code}",
            StringField(
                _l("Name (%(language)s)", language=autonym),
                validators=[*required, Length(max=400)],
            ),
        )
        setattr(
            Form,
            f"definition_{code}",
            TextAreaField(
                _l("Definition (%(language)s)", language=autonym),
                validators=[Optional(), Length(max=4000)],
            ),
        )
    return Form


def parse_points(text: str) -> list[dict[str, Any]]:
    """``id | English label | target`` lines into data point records (target optional)."""
    points: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        target: float | None = None
        if len(parts) > 2 and parts[2]:
            try:
                target = float(parts[2])
            except ValueError:
                target = float("nan")  # reported by the service's validation
        points.append(
            {"id": parts[0], "label": {"en": parts[1] if len(parts) > 1 else ""}, "target": target}
        )
    return points


def points_text(points: Iterable[dict[str, Any]]) -> str:
    lines = []
    for p in points:
        target = "" if p.get("target") is None else f"{p['target']:g}"
        lines.append(f"{p['id']} | {(p.get('label') or {}).get('en', '')} | {target}".rstrip(" |"))
    return "\n".join(lines)


def definition_input(form: Any, languages: Iterable[str]) -> DefinitionInput:
    langs = list(languages)
    return DefinitionInput(
        code=form.code.data or "",
        name={lang: getattr(form, f"name_{lang}").data or "" for lang in langs},
        definition={lang: getattr(form, f"definition_{lang}").data or "" for lang in langs},
        unit=form.unit.data or "",
        value_type=form.value_type.data,
        direction=form.direction.data,
        numerator=form.numerator.data,
        denominator=form.denominator.data,
        multiplier=form.multiplier.data,
        data_points=parse_points(form.data_points.data or ""),
        sdg_refs=(form.sdg_refs.data or "").replace(";", ",").split(","),
        benchmark_target=form.benchmark_target.data,
        benchmark_source=form.benchmark_source.data,
        active=bool(form.active.data),
    )


def fill_definition(form: Any, kpi: LocalKpi, languages: Iterable[str]) -> None:
    form.code.data = kpi.code
    for lang in languages:
        getattr(form, f"name_{lang}").data = (kpi.name or {}).get(lang, "")
        getattr(form, f"definition_{lang}").data = (kpi.definition or {}).get(lang, "")
    form.unit.data = kpi.unit
    form.value_type.data = kpi.value_type
    form.direction.data = kpi.direction
    form.numerator.data = kpi.numerator
    form.denominator.data = kpi.denominator
    form.multiplier.data = kpi.multiplier
    form.data_points.data = points_text(kpi.data_points or [])
    form.sdg_refs.data = ", ".join(kpi.sdg_refs or [])
    form.benchmark_target.data = kpi.benchmark_target
    form.benchmark_source.data = kpi.benchmark_source
    form.active.data = kpi.active


class PolicyForm(FlaskForm):
    editors_may_define = BooleanField(_l("The city's editors may define its local KPIs"))
    submit = SubmitField(_l("Save"))


class DecisionForm(FlaskForm):
    value_id = HiddenField(validators=[DataRequired()])
    verified = SelectField(_l("Decision"), choices=options(VERIFIED_PAIRS))
    code = SelectField(_l("Reason"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Record the decision"))


def field_prefix(kpi_id: int, data_point: str) -> str:
    return f"k{kpi_id}_{data_point or 'value'}"


def values_form_class(kpis: Sequence[LocalKpi]) -> type[FlaskForm]:
    """One group of fields per local KPI item (value or numerator/denominator, source …)."""

    class Form(FlaskForm):
        submit = SubmitField(_l("Save the local KPI values"))

    for kpi in kpis:
        for item in items_of({"data_points": kpi.data_points, "name": kpi.name}):
            prefix = field_prefix(kpi.id, item["data_point"])
            setattr(Form, f"{prefix}_value", FloatField(_l("Value"), validators=[Optional()]))
            if kpi.numerator:
                setattr(
                    Form,
                    f"{prefix}_numerator",
                    FloatField(_l("Numerator"), validators=[Optional()]),
                )
                setattr(
                    Form,
                    f"{prefix}_denominator",
                    FloatField(_l("Denominator"), validators=[Optional()]),
                )
            setattr(Form, f"{prefix}_not_reported", BooleanField(_l("Not reported")))
            setattr(
                Form,
                f"{prefix}_reason",
                StringField(_l("Why not reported"), validators=[Optional(), Length(max=4000)]),
            )
            setattr(
                Form,
                f"{prefix}_data_year",
                IntegerField(
                    _l("Data year"), validators=[Optional(), NumberRange(min=2000, max=2100)]
                ),
            )
            setattr(
                Form,
                f"{prefix}_source",
                StringField(_l("Data source"), validators=[Optional(), Length(max=4000)]),
            )
            setattr(
                Form,
                f"{prefix}_quality",
                SelectField(_l("Data quality (1-6)"), choices=options(QUALITY_PAIRS), default=""),
            )
    return Form


def value_inputs(form: Any, kpis: Sequence[LocalKpi]) -> list[ValueInput]:
    entries: list[ValueInput] = []
    for kpi in kpis:
        for item in items_of({"data_points": kpi.data_points, "name": kpi.name}):
            prefix = field_prefix(kpi.id, item["data_point"])

            def data(name: str, prefix: str = prefix) -> Any:
                found = getattr(form, f"{prefix}_{name}", None)
                return None if found is None else found.data

            quality = data("quality")
            entries.append(
                ValueInput(
                    kpi_id=kpi.id,
                    data_point=item["data_point"],
                    value=data("value"),
                    numerator=data("numerator"),
                    denominator=data("denominator"),
                    reported=not data("not_reported"),
                    not_reported_reason=data("reason"),
                    data_year=data("data_year"),
                    source=data("source"),
                    quality=int(quality) if quality else None,
                )
            )
    return entries


def fill_values(form: Any, kpis: Sequence[LocalKpi], rows: dict[tuple[int, str], Any]) -> None:
    for kpi in kpis:
        for item in items_of({"data_points": kpi.data_points, "name": kpi.name}):
            row = rows.get((kpi.id, item["data_point"]))
            if row is None:
                continue
            prefix = field_prefix(kpi.id, item["data_point"])
            getattr(form, f"{prefix}_value").data = row.value
            if kpi.numerator:
                getattr(form, f"{prefix}_numerator").data = row.numerator
                getattr(form, f"{prefix}_denominator").data = row.denominator
            getattr(form, f"{prefix}_not_reported").data = not row.reported
            getattr(form, f"{prefix}_reason").data = row.not_reported_reason
            getattr(form, f"{prefix}_data_year").data = row.data_year
            getattr(form, f"{prefix}_source").data = row.source
            getattr(form, f"{prefix}_quality").data = str(row.quality) if row.quality else ""

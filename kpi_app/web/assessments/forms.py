"""Data-entry forms. The category forms are composed from the catalogue at run time.

`category_form_class` builds one FlaskForm subclass per (catalogue version, category): a
FormField per KPI item, whose own class depends on the item (yes/no radios, numerator and
denominator with an optional "use the city profile" box, or a single value). Classes are
cached, so building a form per request costs only the instance.

Numbers are kept as the text the user typed (so a form with errors shows exactly what was
entered) and read with `services.numbers.parse_number`, which also says how ambiguous
notations were understood.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    Field,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from kpi_app.catalogue import Catalogue, Category, Indicator
from kpi_app.catalogue.model import Item
from kpi_app.services import city_facts, values
from kpi_app.services.data_io import quality_labels
from kpi_app.services.numbers import NumberError, ParsedNumber, format_number, parse_number

YES, NO = "yes", "no"


class NumberText(StringField):
    """A text box for a number in any common notation; ``parsed`` holds the reading."""

    parsed: ParsedNumber | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # A numeric keyboard on phones, which still allows separators and a minus sign.
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)

    def pre_validate(self, form: Any) -> None:
        self.parsed = None
        text = (self.data or "").strip()
        if not text:
            return
        try:
            self.parsed = parse_number(text)
        except NumberError as error:
            raise ValidationError(str(error)) from None

    @property
    def number(self) -> float | None:
        return self.parsed.value if self.parsed is not None else None


class ItemFormBase(Form):
    """Fields every KPI item has, whatever its kind."""

    data_year = StringField(_l("Data year"), validators=[Optional(), Length(max=4)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=values.MAX_TEXT)])
    source_url = StringField(
        _l("Source web address (optional)"), validators=[Optional(), Length(max=values.MAX_URL)]
    )
    quality = SelectField(_l("Data quality"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=values.MAX_TEXT)])
    not_reported = BooleanField(_l("Not reported"))
    not_reported_reason = TextAreaField(
        _l("Why is it not reported?"), validators=[Optional(), Length(max=values.MAX_TEXT)]
    )
    version = HiddenField()
    original = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [SelectChoice("", str(_l("— choose a level —")))]
        choices += [
            SelectChoice(str(level), f"{level} – {label}")
            for level, label in quality_labels().items()
        ]
        self.quality.choices = choices


def item_slug(item: Item) -> str:
    """A field-name-safe key: 'EN: EN: AQ: 1C' / 'pm25' → 'en-en-aq-1c-pm25'."""
    parts = item.code.lower().replace(":", " ").split()
    if item.data_point:
        parts.append(item.data_point.lower())
    return "-".join(parts)


def _item_form_class(indicator: Indicator, item: Item) -> type[Form]:
    attributes: dict[str, Field] = {}
    if item.is_boolean:
        attributes["value"] = RadioField(
            _l("Answer"),
            choices=[SelectChoice(YES, _l("Yes")), SelectChoice(NO, _l("No"))],
            validate_choice=False,
        )
    else:
        attributes["value"] = NumberText(_l("Value"))
    if values.has_method(indicator, item):
        attributes["numerator"] = NumberText(_l("Numerator"))
        attributes["denominator"] = NumberText(_l("Denominator"))
        attributes["value"] = NumberText(_l("Value"))
        attributes["override_reason"] = TextAreaField(
            _l("Reason for entering the value directly"),
            validators=[Optional(), Length(max=values.MAX_TEXT)],
        )
        if city_facts.shared_fact(indicator):
            attributes["use_fact"] = BooleanField(_l("Use the figure from the city profile"))
    return type(f"ItemForm_{item_slug(item).replace('-', '_')}", (ItemFormBase,), attributes)


class CategoryFormBase(FlaskForm):
    """The form of one category; `items` pairs each subform with its catalogue item."""

    save = SubmitField(_l("Save this category"))
    item_fields: tuple[tuple[str, str, str], ...] = ()  # (field name, code, data point)

    def subforms(self) -> Iterator[tuple[str, str, Any]]:
        for name, code, point in self.item_fields:
            yield code, point, getattr(self, name).form


@lru_cache(maxsize=128)
def _category_form_class(version: str, category_id: str, catalogue: Catalogue) -> type:
    category = catalogue.category(category_id)
    attributes: dict[str, Any] = {}
    fields: list[tuple[str, str, str]] = []
    for indicator in category.indicators:
        for item in indicator.items():
            name = "item_" + item_slug(item).replace("-", "_")
            attributes[name] = FormField(
                _item_form_class(indicator, item), label=item.label("en"), separator="-"
            )
            fields.append((name, item.code, item.data_point))
    attributes["item_fields"] = tuple(fields)
    return type(f"CategoryForm_{category_id}", (CategoryFormBase,), attributes)


def category_form_class(catalogue: Catalogue, category: Category) -> type[CategoryFormBase]:
    """The cached form class for a category of this catalogue version."""
    form_class: type[CategoryFormBase] = _category_form_class(
        catalogue.version, category.id, catalogue
    )
    return form_class


# ----- between the form and the service -----------------------------------------------------


def initial_data(state: values.CategoryState) -> dict[str, dict[str, Any]]:
    """Field values for a freshly opened form, from what is stored."""
    data: dict[str, dict[str, Any]] = {}
    for entry_state in state.items:
        entry = entry_state.entry
        fields: dict[str, Any] = {
            "data_year": str(entry.data_year) if entry.data_year is not None else "",
            "source": entry.source or "",
            "source_url": entry.source_url or "",
            "quality": str(entry.quality) if entry.quality is not None else "",
            "comment": entry.comment or "",
            "not_reported": not entry.reported,
            "not_reported_reason": entry.not_reported_reason or "",
            "version": str(entry_state.version),
            "original": entry.digest(),
            "numerator": format_number(entry.numerator),
            "denominator": format_number(entry.denominator),
            "override_reason": entry.override_reason or "",
            "use_fact": entry_state.uses_fact,
        }
        if entry_state.item.is_boolean:
            fields["value"] = (
                {1.0: YES, 0.0: NO}.get(entry.value, "") if entry.value is not None else ""
            )
        else:
            fields["value"] = format_number(entry.value)
        data["item_" + item_slug(entry_state.item).replace("-", "_")] = fields
    return data


@dataclass(frozen=True, slots=True)
class Reading:
    """How an ambiguous number was understood, to tell the user after saving."""

    label: str
    field: str
    text: str
    value: str
    how: str
    key: tuple[str, str] = ("", "")  # the KPI item, to report only on items that changed


def read_entries(
    form: CategoryFormBase, state: values.CategoryState
) -> tuple[list[values.Entry], list[Reading]]:
    """The submitted entries (parsed) and the notes on how numbers were read."""
    entries: list[values.Entry] = []
    readings: list[Reading] = []
    by_key = {(s.item.code, s.item.data_point): s for s in state.items}
    for code, point, sub in form.subforms():
        entry_state = by_key[(code, point)]
        entry = _entry_from_subform(sub, entry_state)
        entries.append(
            values.Entry(
                entry,
                expected_version=_int_or_none(sub.version.data) or 0,
                original_digest=sub.original.data or None,
            )
        )
        label = entry_state.item.label(str(get_locale() or "en"))
        readings += [replace(r, key=(code, point)) for r in _readings(sub, label)]
    return entries, readings


def _entry_from_subform(sub: Any, entry_state: values.ItemState) -> values.ValueInput:
    item = entry_state.item
    value = {YES: 1.0, NO: 0.0}.get(sub.value.data or "") if item.is_boolean else sub.value.number
    numerator = sub.numerator.number if hasattr(sub, "numerator") else None
    denominator = sub.denominator.number if hasattr(sub, "denominator") else None
    # A ticked "use the city profile" box means the profile figure *is* the denominator,
    # whatever the (read-only, script-filled) text box holds; it only applies once a
    # numerator is given, so an untouched item with the box ticked stays blank.
    if hasattr(sub, "use_fact") and sub.use_fact.data and entry_state.fact_value is not None:
        denominator = entry_state.fact_value if numerator is not None else None
    return values.ValueInput(
        code=item.code,
        data_point=item.data_point,
        value=value,
        numerator=numerator,
        denominator=denominator,
        override_reason=sub.override_reason.data if hasattr(sub, "override_reason") else None,
        data_year=_int_or_none(sub.data_year.data),
        source=sub.source.data,
        source_url=sub.source_url.data,
        quality=_int_or_none(sub.quality.data),
        reported=not sub.not_reported.data,
        not_reported_reason=sub.not_reported_reason.data,
        comment=sub.comment.data,
    )


def _readings(sub: Any, label: str) -> list[Reading]:
    found = []
    for name in ("numerator", "denominator", "value"):
        field = getattr(sub, name, None)
        parsed = getattr(field, "parsed", None)
        if field is not None and parsed is not None and parsed.reading:
            found.append(
                Reading(
                    label,
                    str(field.label.text),
                    parsed.text,
                    format_number(parsed.value),
                    parsed.reading,
                )
            )
    return found


def _int_or_none(text: object) -> int | None:
    try:
        return int(str(text).strip()) if text not in (None, "") else None
    except ValueError:
        return None


def check_form(form: CategoryFormBase, state: values.CategoryState) -> bool:
    """Domain checks per item (services.values.check_entry), attached to the fields.

    Returns True when nothing blocks the save. Field errors from parsing are kept.
    """
    ok = not form.errors
    by_key = {(s.item.code, s.item.data_point): s for s in state.items}
    for code, point, sub in form.subforms():
        entry_state = by_key[(code, point)]
        if sub.data_year.data and _int_or_none(sub.data_year.data) is None:
            sub.data_year.errors = [*sub.data_year.errors, str(_l("Enter a year such as 2023."))]
            ok = False
        if _has_parse_errors(sub):
            continue
        entry = _entry_from_subform(sub, entry_state)
        wants_fact = (
            hasattr(sub, "use_fact") and sub.use_fact.data and sub.numerator.number is not None
        )
        if wants_fact and entry_state.fact_value is None:
            sub.use_fact.errors = [
                str(_l("The city profile has no figure for this yet: enter the denominator."))
            ]
            ok = False
        problems = values.check_entry(
            entry_state.indicator, entry_state.item, entry, state.assessment.year
        )
        for problem in values.blocking(problems, entry):
            target = _field_for(sub, problem.field)
            target.errors = [*target.errors, problem.message]
            ok = False
    return ok


def _field_for(sub: Any, name: str) -> Any:
    """Where to show a problem; a computed value's range warning goes to its numerator."""
    if name == "value" and hasattr(sub, "numerator") and not (sub.value.data or "").strip():
        return sub.numerator
    return getattr(sub, name, None) or sub.value


def _has_parse_errors(sub: Any) -> bool:
    return any(field.errors for field in sub)


def refresh_versions(form: CategoryFormBase, conflicts: list[values.Conflict]) -> None:
    """After a conflict, point the form at the newest versions: saving again keeps mine."""
    by_key = {(c.code, c.data_point): c for c in conflicts}
    for code, point, sub in form.subforms():
        conflict = by_key.get((code, point))
        if conflict is not None:
            sub.version.data = str(conflict.their_version)
            sub.original.data = conflict.theirs.digest()


# ----- the other forms ----------------------------------------------------------------------


class OpenAssessmentForm(FlaskForm):
    city = SelectField(_l("City"), coerce=int, validators=[InputRequired()])
    year = StringField(_l("Reporting year"), validators=[InputRequired(), Length(min=4, max=4)])
    submit = SubmitField(_l("Open this reporting year"))


class FactsForm(FlaskForm):
    population = NumberText(_l("Population"))
    households = NumberText(_l("Number of households"))
    area_km2 = NumberText(_l("City area (km²)"))
    gdp = NumberText(_l("City GDP (in the currency below)"))
    currency = StringField(
        _l("Currency (ISO code, e.g. EUR)"), validators=[Optional(), Length(max=3)]
    )
    submit = SubmitField(_l("Save the city profile"))

    def facts_input(self) -> city_facts.FactsInput:
        return city_facts.FactsInput(
            population=self.population.number,
            households=self.households.number,
            area_km2=self.area_km2.number,
            gdp=self.gdp.number,
            currency=(self.currency.data or "").strip().upper() or None,
        )

    def check(self) -> bool:
        data = self.facts_input()
        problems = city_facts.check_facts(data)
        for problem in problems:
            if problem.is_error:
                field = getattr(self, problem.field)
                field.errors = [*field.errors, problem.message]
        return not any(p.is_error for p in problems)


def facts_initial(data: city_facts.FactsInput) -> dict[str, str]:
    return {
        "population": format_number(data.population),
        "households": format_number(data.households),
        "area_km2": format_number(data.area_km2),
        "gdp": format_number(data.gdp),
        "currency": data.currency or "",
    }


class UploadForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx) or CSV file"), validators=[FileRequired()])
    submit = SubmitField(_l("Check the file"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("Import these changes"))


class EvidenceForm(FlaskForm):
    file = FileField(
        _l("Evidence file"),
        validators=[FileRequired()],
        render_kw={"accept": ".pdf,.xlsx,.csv,.png,.jpg,.jpeg"},
    )
    submit = SubmitField(_l("Attach the file"))


class RemoveEvidenceForm(FlaskForm):
    submit = SubmitField(_l("Remove"))

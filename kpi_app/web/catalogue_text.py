"""Catalogue texts and country names in the reader's language, isolated for bidi.

Templates show catalogue texts through one accessor, ``ct(obj, field)``: ``obj`` is a
dimension, sub-dimension, category, KPI, data point or item, and ``field`` one of its
translatable fields (``name``, ``help`` for the definition, ``unit``, ``numerator``,
``denominator``, ``label``, ``short_label``). It looks the text up in the request's language
(English fallback) and marks it up so it reads correctly in right-to-left pages:

* a text in the page's language is wrapped in ``<bdi>`` on RTL pages, so a fragment such as
  "PM2.5" or a trailing full stop stays on the correct side of the surrounding sentence;
* a text that fell back to English is wrapped in ``<bdi lang="en" dir="ltr">`` on every
  non-English page, so screen readers switch voice and punctuation stays at its end.

``ltr(text)`` isolates a left-to-right fragment (KPI code, URL, number with unit) on RTL
pages. ``country_name(iso2)`` gives the CLDR name of a country in the reader's language via
Babel. The pure catalogue package knows nothing of requests: the locale is passed in here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from babel import Locale, UnknownLocaleError
from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from kpi_app.catalogue import Catalogue, text
from kpi_app.services.catalogue import current_catalogue

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


class Translatable(Protocol):
    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str: ...


def _locale() -> str:
    return str(get_locale() or "en")


def is_rtl(lang: str) -> bool:
    return lang.split("_")[0] in RTL_LANGUAGES


def catalogue_text(
    obj: Translatable | Mapping[str, str] | str | None,
    field_name: str = "name",
    lang: str | None = None,
) -> Markup:
    """The text of ``obj.field_name`` in the reader's language, bidi-isolated (see module).

    ``obj`` may also be a ``{lang: text}`` mapping (benchmark-set names) or a plain string,
    which is English-only data such as a benchmark's source or rationale.
    """
    if obj is None or obj == "":
        return Markup("")
    if isinstance(obj, str):
        obj = {"en": obj}
    if isinstance(obj, Mapping):
        obj = _Texts(obj, current_catalogue())
    lang = lang or _locale()
    value = obj.tr(field_name, lang, fallback=False)
    if not value:
        english = obj.tr(field_name, "en")
        if not english:
            return Markup("")
        return Markup('<bdi lang="en" dir="ltr">{}</bdi>').format(english)
    if is_rtl(lang):
        return Markup("<bdi>{}</bdi>").format(value)
    return Markup(escape(value))


class _Texts:
    """A bare ``{lang: text}`` mapping seen through the ``tr`` interface."""

    def __init__(self, translations: Mapping[str, str], catalogue: Catalogue) -> None:
        self.translations = translations
        self.catalogue = catalogue

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """The inline text for ``lang``, else the catalogue's PO translation of the English."""
        own = text(self.translations, lang, fallback=False)
        english = self.translations.get("en", "")
        if own:
            return own
        if english:
            found = self.catalogue.translate(english, lang, fallback=False)
            if found:
                return found
        return text(self.translations, lang) if fallback else ""


def ltr(value: object, lang: str | None = None) -> Markup:
    """A left-to-right fragment (code, URL, number), isolated on right-to-left pages."""
    if value is None or value == "":
        return Markup("")
    if is_rtl(lang or _locale()):
        return Markup('<bdi dir="ltr">{}</bdi>').format(value)
    return Markup(escape(str(value)))


def country_name(iso2: str | None, fallback: str | None = None, lang: str | None = None) -> str:
    """The country's name in the reader's language from CLDR (Babel), else ``fallback``."""
    if not iso2:
        return fallback or ""
    try:
        names = Locale.parse(lang or _locale()).territories
    except (UnknownLocaleError, ValueError):
        return fallback or iso2
    return str(names.get(iso2.upper()) or fallback or iso2)


def value_unit(value: object, lang: str | None = None) -> Markup:
    """A stored value's unit in the reader's language (values store the catalogue's English
    unit; a unit typed by the city is shown as entered)."""
    stored = getattr(value, "unit", None)
    code = getattr(value, "code", None)
    lang = lang or _locale()
    try:
        item = current_catalogue().item(str(code), str(getattr(value, "data_point", "") or ""))
    except KeyError:
        shown = stored or ""
    else:
        shown = item.unit_for(stored, lang)
    if not shown:
        return Markup("")
    return Markup("<bdi>{}</bdi>").format(shown) if is_rtl(lang) else Markup(escape(shown))


def init_app(app: Flask) -> None:
    app.add_template_global(value_unit, "value_unit")
    app.add_template_global(catalogue_text, "ct")
    app.add_template_global(ltr, "ltr")
    app.add_template_filter(ltr, "ltr")
    app.add_template_global(country_name, "country_name")

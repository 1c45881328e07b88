"""Reading numbers as people type them, in any of the notations our cities use.

City officials paste figures from national statistics, spreadsheets and reports written in
many locales: ``95 424`` (space or no-break space as thousands separator), ``1,234.5``
(English), ``1.234,5`` (German, Spanish...), ``1'234.5`` (Swiss) or ``2.5e3`` (a machine
export). :func:`parse_number` turns such text into a float and says how it was read, so the
form can tell the user "understood as 1234.5" instead of silently guessing. Yes/no answers
go through :func:`parse_yes_no`. Both raise :class:`NumberError` with a message meant for
the person who typed the text.

No database and no request needed: messages are lazy translations (Flask-Babel), rendered in
the language of whoever reads them, and plain English outside a request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kpi_app.i18n import _
from kpi_app.services.errors import Invalid

# Anything larger is a typing accident (or an attack on float formatting), not a city figure:
# the world's GDP is about 1e14 in US dollars, so 1e15 leaves room for any currency unit.
MAX_ABS_VALUE = 1e15
MAX_INPUT_LENGTH = 40

# Characters that separate thousands in the locales we see. U+00A0 no-break space and U+202F
# narrow no-break space are what Excel and LibreOffice produce for French and Norwegian.
_SPACES = " \u00a0\u202f\u2009\u2007"
_APOSTROPHES = "'\u2019"
_MINUS_SIGNS = "-\u2212\u2013"  # hyphen-minus, true minus sign, en dash (from word processors)

_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]{1,3}")
_PLAIN_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")  # 1,234,567 with a comma separator
_GROUPED_DOT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")  # 1.234.567 with a dot separator

YES_WORDS = frozenset({"yes", "y", "true", "1", "oui", "sí", "si", "ja", "да", "是", "نعم"})
NO_WORDS = frozenset({"no", "n", "false", "0", "non", "nein", "nei", "нет", "否", "لا"})


class NumberError(Invalid):
    """Text that is not a usable number; ``str(error)`` is the message for the user."""


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A number read from text, with how it was read.

    ``reading`` is None when the text was already in plain form (``1234.5``); otherwise it
    names the notation ("a space as thousands separator", ...), so the form can confirm the
    interpretation to the user.
    """

    value: float
    text: str
    reading: str | None = None

    @property
    def reinterpreted(self) -> bool:
        """True when the text needed interpretation beyond plain digits and a dot."""
        return self.reading is not None


def format_number(value: float | None) -> str:
    """The plain, unambiguous spelling used in forms and exports (``95424``, ``0.25``).

    Whole numbers lose their ``.0``; everything else uses Python's shortest round-trip
    representation, so ``parse_number(format_number(x)).value == x`` for every finite x.
    """
    if value is None:
        return ""
    value = float(value)  # JSON and callers may hand over ints
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def parse_number(raw: str) -> ParsedNumber:
    """Read a number typed in any common notation; raise NumberError when it is not one.

    Rules, in order:
    - spaces (also no-break and narrow ones) and apostrophes are thousands separators;
    - a Unicode minus or dash in front means negative;
    - with both ``,`` and ``.`` present, the one that comes last is the decimal mark;
    - a lone ``,`` followed by exactly three digits (``1,234``) is a thousands separator,
      otherwise (``1,5``) it is a decimal comma; several dots (``1.234.567``) are thousands;
    - ``2.5e3`` scientific notation is accepted; NaN, infinity and percent signs are not.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise NumberError(_("Enter a number."))
    if len(text) > MAX_INPUT_LENGTH:
        raise NumberError(_("This is too long to be a number."))
    body, negative = _strip_sign(text)
    body, readings = _remove_group_spaces(body)
    value, reading = _read_unsigned(body, text)
    if reading:
        readings.append(reading)
    if negative:
        value = -value
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise NumberError(_("This number is too large to be a real figure."))
    return ParsedNumber(value=value, text=text, reading="; ".join(readings) or None)


def _strip_sign(text: str) -> tuple[str, bool]:
    if text[0] in _MINUS_SIGNS:
        return text[1:].lstrip(), True
    if text[0] == "+":
        return text[1:].lstrip(), False
    return text, False


def _remove_group_spaces(body: str) -> tuple[str, list[str]]:
    """Drop space and apostrophe group separators after checking they group by three."""
    readings: list[str] = []
    for separators, reading in (
        (_SPACES, _("spaces read as thousands separators")),
        (_APOSTROPHES, _("apostrophes read as thousands separators")),
    ):
        if not any(char in body for char in separators):
            continue
        pieces = re.split(f"[{separators}]+", body)
        if not all(re.fullmatch(r"[0-9.,]+", piece) for piece in pieces):
            raise NumberError(_("“%(text)s” is not a number.", text=body))
        head, *middle, tail = pieces
        well_grouped = (
            re.fullmatch(r"[0-9]{1,3}", head) is not None
            and all(re.fullmatch(r"[0-9]{3}", piece) for piece in middle)
            and re.fullmatch(r"[0-9]{3}(?:[.,][0-9]+)?", tail) is not None
        )
        if not well_grouped:
            raise NumberError(
                _("“%(text)s” has thousands separators in the wrong places.", text=body)
            )
        body = "".join(pieces)
        readings.append(reading)
    return body, readings


def _read_unsigned(body: str, original: str) -> tuple[float, str | None]:
    """Read digits with at most the separators left after spaces were removed."""
    if not body:
        raise NumberError(_("“%(text)s” is not a number.", text=original))
    if _PLAIN_DIGITS.fullmatch(body):
        return float(body), None
    if _SCIENTIFIC.fullmatch(body):
        return float(body), None
    has_comma, has_dot = "," in body, "." in body
    if has_comma and has_dot:
        return _read_both_marks(body, original)
    if has_comma:
        return _read_comma_only(body, original)
    if has_dot:
        return _read_dot_only(body, original)
    raise NumberError(_("“%(text)s” is not a number: use digits only.", text=original))


def _read_both_marks(body: str, original: str) -> tuple[float, str | None]:
    decimal_mark = "," if body.rfind(",") > body.rfind(".") else "."
    group_mark = "." if decimal_mark == "," else ","
    whole, _sep, fraction = body.rpartition(decimal_mark)
    if decimal_mark in whole or not fraction.isdigit():
        raise NumberError(
            _("“%(text)s” mixes separators in a way that cannot be read.", text=original)
        )
    grouped = _GROUPED_DOT if group_mark == "." else _GROUPED
    if not grouped.fullmatch(whole):
        raise NumberError(
            _("“%(text)s” has thousands separators in the wrong places.", text=original)
        )
    value = float(whole.replace(group_mark, "") + "." + fraction)
    if decimal_mark == ",":
        return value, _("“.” read as thousands separator and “,” as decimal mark")
    return value, _("“,” read as thousands separator")


def _read_comma_only(body: str, original: str) -> tuple[float, str | None]:
    if _GROUPED.fullmatch(body):
        return float(body.replace(",", "")), _("“,” read as thousands separator")
    whole, _sep, fraction = body.partition(",")
    if whole.isdigit() and fraction.isdigit():
        return float(f"{whole}.{fraction}"), _("“,” read as decimal mark")
    raise NumberError(_("“%(text)s” is not a number: check the commas.", text=original))


def _read_dot_only(body: str, original: str) -> tuple[float, str | None]:
    whole, _sep, fraction = body.partition(".")
    if "." not in fraction and (whole.isdigit() or whole == "") and fraction.isdigit():
        # "1.234" is one point two three four in English but 1234 in German: say which.
        ambiguous = len(fraction) == 3 and whole not in ("", "0")
        reading = _("“.” read as decimal mark") if ambiguous else None
        return float(f"{whole or 0}.{fraction}"), reading
    if _GROUPED_DOT.fullmatch(body):
        return float(body.replace(".", "")), _("“.” read as thousands separator")
    raise NumberError(_("“%(text)s” is not a number: check the dots.", text=original))


def parse_yes_no(raw: object) -> float:
    """Yes/no answers as stored by the catalogue: 1.0 for yes, 0.0 for no."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float) and raw in (0, 1):
        return float(raw)
    word = str(raw).strip().lower() if raw is not None else ""
    if word in YES_WORDS:
        return 1.0
    if word in NO_WORDS:
        return 0.0
    raise NumberError(_("Answer yes or no."))


def coerce_number(raw: object) -> ParsedNumber | None:
    """A cell or JSON value as a number: None for empty, floats checked, text parsed.

    Used by the importer, where spreadsheets deliver real floats and CSV files deliver text.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise NumberError(_("Expected a number, found a yes/no value."))
    if isinstance(raw, int | float):
        value = float(raw)
        if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
            raise NumberError(_("This number is too large to be a real figure."))
        return ParsedNumber(value=value, text=format_number(value))
    text = str(raw).strip()
    if not text:
        return None
    return parse_number(text)

"""Checking what a user enters for one KPI item: its fields, the KPI's method, plausibility.

`ValueInput` is one item as typed; :func:`check_entry` returns the :class:`Problem` list a
form or an import shows, and :func:`canonical` / :func:`stored_numbers` say what would be
stored. No database: `services.values` saves what passes (and re-exports these names).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from kpi_app.catalogue import Indicator
from kpi_app.catalogue.model import Item
from kpi_app.i18n import _
from kpi_app.services.numbers import format_number

Severity = Literal["error", "warning"]
QUALITY_LEVELS = (1, 2, 3, 4, 5, 6)
FIRST_REPORTING_YEAR = 2000
MAX_TEXT = 4000
MAX_URL = 500
# Two floats this close are the same value: a typed value equal to the computed one is not
# an override, whatever rounding the spreadsheet that produced it applied.
RELATIVE_TOLERANCE = 1e-9


# ----- what a user submits for one item ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueInput:
    """Everything a person can enter for one KPI item, already parsed into Python types."""

    code: str
    data_point: str = ""
    value: float | None = None  # a direct value, or an override next to numerator/denominator
    numerator: float | None = None
    denominator: float | None = None
    override_reason: str | None = None
    data_year: int | None = None
    source: str | None = None
    source_url: str | None = None
    quality: int | None = None
    reported: bool = True
    not_reported_reason: str | None = None
    comment: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.code, self.data_point)

    @property
    def is_blank(self) -> bool:
        """Nothing entered at all: the default state of every item ("not reported yet")."""
        return self == ValueInput(self.code, self.data_point)

    def digest(self) -> str:
        """A short fingerprint of the content, carried by forms to spot untouched items."""
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Problem:
    """A validation finding on one field of one item."""

    field: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


# ----- method, computation and validation -------------------------------------------------


def has_method(indicator: Indicator, item: Item) -> bool:
    """True when the item is computed as numerator ÷ denominator × multiplier."""
    return (
        not item.is_boolean
        and indicator.multiplier is not None
        and bool(indicator.numerator)
        and bool(indicator.denominator)
    )


def is_share(indicator: Indicator, item: Item) -> bool:
    """A percentage whose numerator is part of its denominator (so cannot exceed it).

    Percentages that may pass 100 % by definition (gross school enrolment) have a
    plausibility ceiling above 100 in the catalogue and are left out.
    """
    ceiling = item.plausible_max
    return (
        has_method(indicator, item)
        and item.value_type == "percentage"
        and indicator.multiplier == 100
        and (ceiling is None or ceiling <= 100)
    )


def compute(indicator: Indicator, numerator: float, denominator: float) -> float | None:
    """numerator ÷ denominator × multiplier, or None when it cannot be computed."""
    if indicator.multiplier is None or denominator == 0:
        return None
    result = numerator / denominator * indicator.multiplier
    return result if math.isfinite(result) else None


def same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


@dataclass(frozen=True, slots=True)
class StoredNumbers:
    """How an input lands in the numeric columns."""

    numerator: float | None
    denominator: float | None
    computed_value: float | None
    override_value: float | None


def stored_numbers(indicator: Indicator, item: Item, entry: ValueInput) -> StoredNumbers:
    """Apply the storage conventions of the module docstring to one input."""
    if has_method(indicator, item) and entry.numerator is not None and entry.denominator:
        computed = compute(indicator, entry.numerator, entry.denominator)
        override = None if same_number(entry.value, computed) else entry.value
        return StoredNumbers(entry.numerator, entry.denominator, computed, override)
    return StoredNumbers(entry.numerator, entry.denominator, entry.value, None)


def canonical(indicator: Indicator, item: Item, entry: ValueInput) -> ValueInput:
    """The one spelling of an input that the database stores.

    Texts are trimmed (empty means None); a typed value equal to the computed one is no
    override and is dropped; a not-reported item keeps no numbers (the audit trail keeps
    what it had before). Comparing canonical inputs tells real changes from re-typing.
    """
    cleaned = replace(
        entry,
        override_reason=_text(entry.override_reason),
        source=_text(entry.source),
        source_url=_text(entry.source_url),
        comment=_text(entry.comment),
        not_reported_reason=_text(entry.not_reported_reason) if not entry.reported else None,
    )
    if not cleaned.reported:
        return replace(cleaned, value=None, numerator=None, denominator=None, override_reason=None)
    numbers = stored_numbers(indicator, item, cleaned)
    has_parts = cleaned.numerator is not None and cleaned.denominator is not None
    if has_parts and numbers.override_value is None and cleaned.value is not None:
        cleaned = replace(cleaned, value=None)
    if numbers.override_value is None:
        cleaned = replace(cleaned, override_reason=None)
    return cleaned


def effective_value(indicator: Indicator, item: Item, entry: ValueInput) -> float | None:
    numbers = stored_numbers(indicator, item, entry)
    return numbers.override_value if numbers.override_value is not None else numbers.computed_value


def check_entry(
    indicator: Indicator, item: Item, entry: ValueInput, reporting_year: int
) -> list[Problem]:
    """Every problem with one input. Errors block saving; warnings need a comment."""
    problems: list[Problem] = []
    if not entry.reported:
        if not (entry.not_reported_reason or "").strip():
            problems.append(Problem("not_reported_reason", _("Say why this item is not reported.")))
        return problems + _check_texts(entry)
    method_problems = _check_method(indicator, item, entry)
    problems += method_problems
    if not any(p.is_error for p in method_problems):
        # A value computed from a wrong numerator or denominator would repeat their error.
        problems += _check_value(indicator, item, entry)
    problems += _check_context(entry, reporting_year)
    problems += _check_texts(entry)
    return problems


def _check_method(indicator: Indicator, item: Item, entry: ValueInput) -> list[Problem]:
    problems: list[Problem] = []
    numerator, denominator = entry.numerator, entry.denominator
    if numerator is not None and numerator < 0:
        problems.append(Problem("numerator", _("The numerator cannot be negative.")))
    if denominator is not None and denominator <= 0:
        problems.append(Problem("denominator", _("The denominator must be more than zero.")))
    if not has_method(indicator, item):
        return problems
    if (numerator is None) != (denominator is None):
        missing = "denominator" if denominator is None else "numerator"
        problems.append(
            Problem(missing, _("Enter both the numerator and the denominator, or neither."))
        )
        return problems
    if (
        numerator is not None
        and denominator is not None
        and is_share(indicator, item)
        and numerator > denominator
    ):
        problems.append(
            Problem(
                "numerator",
                _(
                    "The numerator (%(numerator)s) cannot be larger than the denominator "
                    "(%(denominator)s) for a share.",
                    numerator=_plain(numerator),
                    denominator=_plain(denominator),
                ),
            )
        )
    numbers = stored_numbers(indicator, item, entry)
    if numbers.override_value is not None and not (entry.override_reason or "").strip():
        problems.append(
            Problem(
                "override_reason",
                _(
                    "The value you entered (%(value)s) differs from the computed value "
                    "(%(computed)s): give a reason for the override, or clear the value.",
                    value=_plain(numbers.override_value),
                    computed=_plain(numbers.computed_value),
                ),
            )
        )
    return problems


def _check_value(indicator: Indicator, item: Item, entry: ValueInput) -> list[Problem]:
    value = effective_value(indicator, item, entry)
    if value is None:
        return []
    if item.is_boolean:
        if value not in (0.0, 1.0):
            return [Problem("value", _("Answer yes or no."))]
        return []
    negative_allowed = item.plausible_min is not None and item.plausible_min < 0
    if value < 0 and not negative_allowed:
        return [Problem("value", _("This value cannot be negative."))]
    if not item.is_plausible(value):
        return [Problem("value", _plausibility_message(item, value), "warning")]
    return []


def _plausibility_message(item: Item, value: float) -> str:
    low = _plain(item.plausible_min) if item.plausible_min is not None else "…"
    high = _plain(item.plausible_max) if item.plausible_max is not None else "…"
    return str(
        _(
            "%(value)s is outside the usual range (%(low)s to %(high)s). Check it, and explain "
            "it in the comment if it is right.",
            value=_plain(value),
            low=low,
            high=high,
        )
    )


def _check_context(entry: ValueInput, reporting_year: int) -> list[Problem]:
    problems: list[Problem] = []
    if entry.data_year is not None and not 1900 <= entry.data_year <= reporting_year + 1:
        problems.append(
            Problem(
                "data_year",
                _("The data year must be between 1900 and %(last)s.", last=reporting_year + 1),
            )
        )
    if entry.quality is not None and entry.quality not in QUALITY_LEVELS:
        problems.append(Problem("quality", _("Choose a data-quality level from 1 to 6.")))
    if entry.source_url:
        parts = urlsplit(entry.source_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                Problem("source_url", _("Give a web address starting with http:// or https://."))
            )
        elif len(entry.source_url) > MAX_URL:
            problems.append(Problem("source_url", _("This web address is too long.")))
    return problems


def _check_texts(entry: ValueInput) -> list[Problem]:
    texts = {
        "source": entry.source,
        "comment": entry.comment,
        "override_reason": entry.override_reason,
        "not_reported_reason": entry.not_reported_reason,
    }
    return [
        Problem(name, _("Keep this under %(limit)s characters.", limit=MAX_TEXT))
        for name, text in texts.items()
        if text and len(text) > MAX_TEXT
    ]


def blocking(problems: Iterable[Problem], entry: ValueInput) -> list[Problem]:
    """The problems that stop a form save: errors, and warnings left without a comment."""
    has_comment = bool((entry.comment or "").strip())
    return [p for p in problems if p.is_error or not has_comment]


def _plain(value: float | None) -> str:
    return format_number(value)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.replace("\r\n", "\n").strip()
    return cleaned or None

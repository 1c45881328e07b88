"""services.numbers: locale notations, what was understood, and refusal of non-numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi_app.services.numbers import (
    NumberError,
    coerce_number,
    format_number,
    parse_number,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("text", "expected", "reinterpreted"),
    [
        ("95424", 95424.0, False),
        ("95 424", 95424.0, True),
        ("95\u00a0424", 95424.0, True),  # no-break space (Excel, French locale)
        ("95\u202f424", 95424.0, True),  # narrow no-break space
        ("1,234.5", 1234.5, True),
        ("1.234,5", 1234.5, True),
        ("1'234.5", 1234.5, True),
        ("1,5", 1.5, True),
        ("1,234", 1234.0, True),
        ("1.234.567", 1234567.0, True),
        ("1.234", 1.234, True),  # ambiguous: said so
        ("0.25", 0.25, False),
        (".5", 0.5, False),
        ("-3", -3.0, False),
        ("\u22124,5", -4.5, True),
        ("2.5e3", 2500.0, False),
        ("  42  ", 42.0, False),
        ("95 424,5", 95424.5, True),
    ],
)
def test_notations_are_read_and_reinterpretation_is_reported(
    text: str, expected: float, reinterpreted: bool
) -> None:
    parsed = parse_number(text)
    assert parsed.value == pytest.approx(expected)
    assert parsed.reinterpreted is reinterpreted
    if reinterpreted:
        assert parsed.reading


@pytest.mark.parametrize(
    "text",
    [
        *("", "abc", "nan", "NaN", "inf", "-inf", "1e400"),
        *("12 3", "1,2,3", "1.2.3,4", "12%", "1e", "--1"),
    ],
)
def test_non_numbers_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(NumberError) as error:
        parse_number(text)
    assert str(error.value)


def test_too_large_numbers_are_refused() -> None:
    with pytest.raises(NumberError, match="too large"):
        parse_number("9" * 20)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e14, max_value=1e14))
def test_format_then_parse_gives_back_the_same_float(value: float) -> None:
    assert parse_number(format_number(value)).value == value


@given(st.text(max_size=60))
def test_any_text_is_a_number_or_a_number_error(text: str) -> None:
    try:
        parsed = parse_number(text)
    except NumberError as error:
        assert str(error)
    else:
        assert math.isfinite(parsed.value)


@given(st.integers(min_value=0, max_value=10**12))
def test_grouped_integers_in_every_notation(number: int) -> None:
    english = f"{number:,}"
    assert parse_number(english).value == number
    assert parse_number(english.replace(",", " ")).value == number
    assert parse_number(english.replace(",", "\u00a0")).value == number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", 1.0), ("No", 0.0), ("oui", 1.0), (True, 1.0), (0, 0.0), ("1", 1.0)],
)
def test_yes_no(raw: object, expected: float) -> None:
    assert parse_yes_no(raw) == expected


def test_yes_no_refuses_other_answers() -> None:
    with pytest.raises(NumberError):
        parse_yes_no("maybe")


def test_coerce_number_checks_cells() -> None:
    assert coerce_number(None) is None
    assert coerce_number("  ") is None
    parsed = coerce_number(12.5)
    assert parsed is not None and parsed.value == 12.5
    with pytest.raises(NumberError):
        coerce_number(float("nan"))
    with pytest.raises(NumberError):
        coerce_number(True)

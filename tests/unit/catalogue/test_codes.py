"""normalise_code: every accepted spelling maps to one canonical code; garbage is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi_app.catalogue import normalise_code
from kpi_app.catalogue.codes import normalise_id, parse_code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SC: EH: ED: 1C", "SC: EH: ED: 1C"),
        ("sc:eh:ED:1c", "SC: EH: ED: 1C"),
        ("SC: EH: ED:1C", "SC: EH: ED: 1C"),  # as printed in some publications
        (" SC:EH:ED: 1C ", "SC: EH: ED: 1C"),
        ("EN:  EN :PSN:\t4A", "EN: EN: PSN: 4A"),
        ("ec: ict: ict: 01c", "EC: ICT: ICT: 1C"),  # leading zero dropped
        ("SC: SH: SA: 12A", "SC: SH: SA: 12A"),
    ],
)
def test_accepted_spellings(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "SC: EH: ED",  # three parts
        "SC: EH: ED: 1C: X",  # five parts
        "SC: EH: ED: 1B",  # tier letter must be C or A
        "SC: EH: ED: C",  # no number
        "SC: EH: ED: 0C",  # numbering starts at 1
        "SC: EH: : 1C",  # empty part
        "SC: E-H: ED: 1C",  # not letters
        "SC: EH: ED: 1 C",  # space inside the serial
        "SC; EH; ED; 1C",  # wrong separator
        "Household Internet Access",
    ],
)
def test_garbage_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a KPI code"):
        normalise_code(raw)


def test_non_text_is_refused() -> None:
    with pytest.raises(ValueError, match="must be text"):
        normalise_code(17)  # type: ignore[arg-type]


def test_parts_and_tier() -> None:
    parts = parse_code("sc:eh:ed:5a")
    assert (parts.dimension, parts.sub_dimension, parts.category) == ("SC", "EH", "ED")
    assert (parts.number, parts.tier, parts.sub_dimension_id) == (5, "advanced", "SC: EH")


@pytest.mark.parametrize(
    ("raw", "parts", "expected"),
    [("ec", 1, "EC"), ("ec:ict", 2, "EC: ICT"), (" EC :ICT: ws", 3, "EC: ICT: WS")],
)
def test_normalise_id(raw: str, parts: int, expected: str) -> None:
    assert normalise_id(raw, parts) == expected


def test_normalise_id_refuses_the_wrong_depth() -> None:
    with pytest.raises(ValueError, match="not a 2-part identifier"):
        normalise_id("EC: ICT: WS", 2)


part = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
space = st.sampled_from(["", " ", "  ", "\t"])


@given(
    dimension=part,
    sub=part,
    category=part,
    number=st.integers(min_value=1, max_value=999),
    tier=st.sampled_from("CA"),
    gaps=st.lists(space, min_size=8, max_size=8),
    lower=st.booleans(),
)
def test_any_spacing_and_case_normalises_to_the_canonical_form(
    dimension: str,
    sub: str,
    category: str,
    number: int,
    tier: str,
    gaps: list[str],
    lower: bool,
) -> None:
    canonical = f"{dimension}: {sub}: {category}: {number}{tier}"
    pieces = [dimension, sub, category, f"{number}{tier}"]
    messy = ":".join(f"{gaps[2 * i]}{piece}{gaps[2 * i + 1]}" for i, piece in enumerate(pieces))
    assert normalise_code(messy.lower() if lower else messy) == canonical
    assert normalise_code(canonical) == canonical  # idempotent

"""Fixtures for the U4SSC engine tests: a tiny hand-made catalogue and an items-frame builder.

The catalogue has two dimensions, three sub-dimensions and four categories, with one KPI
reported as two data points, so every roll-up and every exclusion rule can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

#: (code, data_point, dimension, sub_dimension, category, tier, direction, target)
TINY_CATALOGUE: tuple[tuple[str, str, str, str, str, str, str, float], ...] = (
    ("EC: ICT: ICT: 1C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "higher_better", 100.0),
    ("EC: ICT: ICT: 2C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "higher_better", 50.0),
    ("EC: ICT: ICT: 3A", "", "EC", "EC: ICT", "EC: ICT: ICT", "advanced", "higher_better", 10.0),
    ("EC: ICT: ICT: 4C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "lower_better", 20.0),
    ("EC: ICT: WS: 1C", "", "EC", "EC: ICT", "EC: ICT: WS", "core", "higher_better", 100.0),
    ("EC: P: IN: 1C", "", "EC", "EC: P", "EC: P: IN", "core", "higher_better", 3.0),
    ("EN: EN: AQ: 1C", "pm25", "EN", "EN: EN", "EN: EN: AQ", "core", "lower_better", 5.0),
    ("EN: EN: AQ: 1C", "pm10", "EN", "EN: EN", "EN: EN: AQ", "core", "lower_better", 15.0),
)

CATALOGUE_COLUMNS = (
    "code",
    "data_point",
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "direction",
    "target",
)


def tiny_catalogue() -> pd.DataFrame:
    """The tiny catalogue joined with its benchmark, one row per item."""
    return pd.DataFrame(TINY_CATALOGUE, columns=list(CATALOGUE_COLUMNS))


def make_items(
    values: Mapping[tuple[str, str], float],
    *,
    city: str = "alpha",
    year: int = 2024,
    catalogue: pd.DataFrame | None = None,
    overrides: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Items frame for one (city, year): every catalogue item, values keyed by (code, dp).

    Items missing from ``values`` are not reported (NaN). ``overrides`` replaces other fields
    of single items, e.g. ``{("EC: P: IN: 1C", ""): {"target": np.nan}}``.
    """
    frame = (tiny_catalogue() if catalogue is None else catalogue).copy()
    frame.insert(0, "city", city)
    frame.insert(1, "year", year)
    keys = list(zip(frame["code"], frame["data_point"], strict=True))
    frame["value"] = [float(values.get(key, np.nan)) for key in keys]
    for key, fields in (overrides or {}).items():
        row = keys.index(key)
        for name, field_value in fields.items():
            frame.loc[row, name] = field_value
    return frame


@pytest.fixture
def items_builder() -> Callable[..., pd.DataFrame]:
    """The :func:`make_items` builder, as a fixture for tests that prefer injection."""
    return make_items


@pytest.fixture
def tiny_items() -> pd.DataFrame:
    """A fully reported (city, year) on the tiny catalogue with hand-checked points.

    Points: 1C 100/100 → 4; 2C 20/50=40 % → 2; 3A 7/10=70 % → 3; 4C 20/40=50 % → 2;
    WS 1C 10 % → 1; IN 1C 3/3 → 4; pm25 5/10=50 % → 2; pm10 15/15 → 4.
    """
    return make_items(
        {
            ("EC: ICT: ICT: 1C", ""): 100.0,
            ("EC: ICT: ICT: 2C", ""): 20.0,
            ("EC: ICT: ICT: 3A", ""): 7.0,
            ("EC: ICT: ICT: 4C", ""): 40.0,
            ("EC: ICT: WS: 1C", ""): 10.0,
            ("EC: P: IN: 1C", ""): 3.0,
            ("EN: EN: AQ: 1C", "pm25"): 10.0,
            ("EN: EN: AQ: 1C", "pm10"): 15.0,
        }
    )


def make_category_items(
    rows: list[tuple[float, float, str]],
    *,
    tiers: list[str] | None = None,
    value_types: list[str] | None = None,
    city: str = "alpha",
    year: int = 2024,
) -> pd.DataFrame:
    """Items of one category "EC: ICT: ICT" from (value, target, direction) triples."""
    n = len(rows)
    return pd.DataFrame(
        {
            "city": city,
            "year": year,
            "code": [f"EC: ICT: ICT: {i + 1}C" for i in range(n)],
            "data_point": "",
            "dimension": "EC",
            "sub_dimension": "EC: ICT",
            "category": "EC: ICT: ICT",
            "tier": tiers or ["core"] * n,
            "direction": [direction for _, _, direction in rows],
            "value": [float(value) for value, _, _ in rows],
            "target": [float(target) for _, target, _ in rows],
            "value_type": value_types or ["percentage"] * n,
        }
    )


@pytest.fixture
def category_builder() -> Callable[..., pd.DataFrame]:
    """The :func:`make_category_items` builder."""
    return make_category_items

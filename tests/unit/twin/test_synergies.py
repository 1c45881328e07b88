"""Synergies and trade-offs: direction-adjusted, one observation per city, BH-controlled."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_app.twin.correlations import (
    NO_DIRECTION,
    NOT_SIGNIFICANT,
    SYNERGY,
    TRADE_OFF,
    benjamini_hochberg,
    spearman_p_value,
    synergies_and_trade_offs,
)

CITIES = [f"c{i:02d}" for i in range(10)]
RISING = np.arange(1.0, 11.0)
# A weakly related order: Spearman rho with RISING is 1 − 6·116/990 ≈ 0.297 (Σd² = 116).
SCRAMBLED = np.array([3.0, 7.0, 1.0, 9.0, 5.0, 2.0, 10.0, 4.0, 8.0, 6.0])
DIRECTIONS = {
    "A": "higher_better",
    "B": "lower_better",
    "C": "higher_better",
    "D": "higher_better",
    "E": "target_value",
}


def long(year: int, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {"city": CITIES, "year": year, "code": code, "data_point": "", "value": values}
        )
        for code, values in columns.items()
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def values() -> pd.DataFrame:
    # Latest year (2024): A rises; B (lower is better) falls with it → both improve: synergy.
    # C (higher is better) falls as A rises → trade-off. D is scrambled → not significant.
    latest = long(
        2024,
        {"A": RISING, "B": RISING[::-1], "C": RISING[::-1], "D": SCRAMBLED, "E": RISING},
    )
    # An older year that says the opposite about A and B; one observation per city ignores it.
    older = long(2020, {"A": RISING, "B": RISING, "C": RISING[::-1]})
    return pd.concat([latest, older], ignore_index=True)


def relations(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {
        (a, b): r
        for a, b, r in zip(table["item_a"], table["item_b"], table["relation"], strict=True)
    }


def test_direction_adjusted_labels_with_one_observation_per_city(values):
    table = synergies_and_trade_offs(values, DIRECTIONS)
    labels = relations(table)
    assert labels[("A", "B")] == SYNERGY  # rho −1, adjusted +1
    assert labels[("A", "C")] == TRADE_OFF  # rho −1, adjusted −1
    assert labels[("A", "D")] == NOT_SIGNIFICANT
    assert labels[("A", "E")] == NO_DIRECTION  # two-sided: no better side
    row = table[(table["item_a"] == "A") & (table["item_b"] == "B")].iloc[0]
    assert row["n"] == 10  # ten cities, the 2020 values not counted
    assert row["rho"] == pytest.approx(-1.0)
    assert row["rho_adjusted"] == pytest.approx(1.0)
    d = table[(table["item_a"] == "A") & (table["item_b"] == "D")].iloc[0]
    assert d["rho"] == pytest.approx(1 - 6 * 116 / (10 * 99))
    assert d["q_value"] > 0.05
    # Labelled pairs come first.
    assert set(table["relation"].iloc[:2]) <= {SYNERGY, TRADE_OFF}


def test_panel_method_uses_every_year(values):
    table = synergies_and_trade_offs(values, DIRECTIONS, panel=True)
    row = table[(table["item_a"] == "A") & (table["item_b"] == "B")].iloc[0]
    assert row["n"] == 20
    # 2020 (B rises with A) and 2024 (B falls) cancel out: no synergy claimed.
    assert row["relation"] == NOT_SIGNIFICANT


def test_nothing_is_a_synergy_above_the_fdr():
    # A–B: Σd² = 56, rho = 1 − 336/990 ≈ 0.661, p ≈ 0.041: "significant" on its own, but
    # across the 6 pairs of A, B, C, D the BH q-value is above 0.05, so no synergy is claimed.
    b = np.array([8, 1, 2, 3, 4, 5, 6, 7, 9, 10], dtype=float)
    d = np.array([5, 9, 2, 7, 1, 10, 3, 8, 6, 4], dtype=float)
    data = long(2024, {"A": RISING, "B": b, "C": SCRAMBLED, "D": d})
    table = synergies_and_trade_offs(data, dict.fromkeys("ABCD", "higher_better"))
    row = table[(table["item_a"] == "A") & (table["item_b"] == "B")].iloc[0]
    assert row["rho"] == pytest.approx(1 - 336 / 990)
    assert row["p_value"] < 0.05 < row["q_value"]
    assert row["relation"] == NOT_SIGNIFICANT
    assert SYNERGY not in set(table["relation"])


def test_benjamini_hochberg_by_hand():
    # m = 4 valid: sorted 0.01, 0.03, 0.04, 0.20 → ×4/rank: 0.04, 0.06, 0.0533, 0.20;
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.20. NaN is not counted.
    q = benjamini_hochberg([0.01, 0.04, np.nan, 0.03, 0.20])
    assert q[[0, 1, 3, 4]] == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])
    assert math.isnan(q[2])
    assert benjamini_hochberg([0.9, 0.8]).tolist() == pytest.approx([0.9, 0.9])


def test_spearman_p_value_by_hand():
    # z = atanh(0.5)·√(9/1.06) = 0.549306 × 2.913857 = 1.600600; p = 2(1 − Φ(1.6006)) ≈ 0.10946.
    assert spearman_p_value([0.5], [12])[0] == pytest.approx(0.10946, abs=2e-5)
    assert spearman_p_value([1.0], [10])[0] == 0.0
    assert math.isnan(spearman_p_value([0.5], [3])[0])


def test_fdr_must_be_a_rate(values):
    with pytest.raises(ValueError, match="false-discovery rate"):
        synergies_and_trade_offs(values, DIRECTIONS, fdr=0.0)

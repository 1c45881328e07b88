"""KPI correlations: Spearman on pairwise-complete observations, withheld below the minimum n."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.twin.correlations import kpi_correlations, strength


def long_values(columns: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for code, values in columns.items():
        for i, value in enumerate(values):
            rows.append(
                {
                    "city": f"c{i % 5}",
                    "year": 2020 + i // 5,
                    "code": code,
                    "data_point": "",
                    "value": value,
                }
            )
    return pd.DataFrame(rows)


def test_monotone_pair_is_a_strong_positive_association() -> None:
    x = list(range(10))
    values = long_values({"A": [float(v) for v in x], "B": [float(v**3) for v in x]})
    row = kpi_correlations(values).iloc[0]
    assert (row["item_a"], row["item_b"], row["n"]) == ("A", "B", 10)
    assert row["rho"] == pytest.approx(1.0)
    assert row["shown"] and row["strength"] == "strong" and row["sign"] == "positive"


def test_pairwise_deletion_reranks_on_joint_rows() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    b = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0, 10.0, np.nan]
    row = kpi_correlations(long_values({"A": a, "B": b})).iloc[0]
    joint = pd.DataFrame({"a": a[:9], "b": b[:9]})
    # Spearman by hand: Pearson correlation of the ranks within the nine joint rows.
    expected = np.corrcoef(joint["a"].rank(), joint["b"].rank())[0, 1]
    assert row["n"] == 9
    assert row["rho"] == pytest.approx(expected)


def test_too_few_observations_are_withheld() -> None:
    values = long_values({"A": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "B": [7.0, 6, 5, 4, 3, 2, 1]})
    row = kpi_correlations(values).iloc[0]
    assert row["n"] == 7
    assert not row["shown"]
    assert np.isnan(row["rho"]) and row["strength"] == ""
    # With a lower threshold the (perfect, negative) association shows.
    shown = kpi_correlations(values, min_n=5).iloc[0]
    assert shown["rho"] == pytest.approx(-1.0) and shown["sign"] == "negative"


def test_constant_item_gets_no_correlation() -> None:
    values = long_values({"A": [float(v) for v in range(10)], "B": [3.0] * 10})
    row = kpi_correlations(values).iloc[0]
    assert not row["shown"]


@pytest.mark.parametrize(("rho", "word"), [(0.1, "weak"), (-0.45, "moderate"), (0.6, "strong")])
def test_strength_words(rho: float, word: str) -> None:
    assert strength(rho) == word


def test_minimum_n_below_three_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        kpi_correlations(long_values({"A": [1.0], "B": [2.0]}), min_n=2)

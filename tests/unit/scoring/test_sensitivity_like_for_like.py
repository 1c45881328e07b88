"""Monte Carlo ranks compare like with like: the share of draws a city is scored in, and rank
intervals over the draws whose peer set is the nominal one (docs/scoring.md, Sensitivity)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_app.scoring.sensitivity import monte_carlo_ranks


def items() -> pd.DataFrame:
    # One category of two items (target 100). c reports only item 1: exactly 50 % of the
    # weight, so the base spec (min coverage 50 %) scores it, while weight noise withholds it
    # whenever item 1's weight draws below item 2's. When c is scored it leads (its one item
    # is the best value), a is second and b third; without c, a is first.
    rows = []
    for city, first, second in (("a", 90.0, 80.0), ("b", 50.0, 60.0), ("c", 100.0, np.nan)):
        for code, value in (("K1", first), ("K2", second)):
            rows.append(
                {
                    "city": city,
                    "year": 2024,
                    "code": code,
                    "data_point": "",
                    "dimension": "D",
                    "sub_dimension": "D: S",
                    "category": "D: S: C",
                    "tier": "core",
                    "direction": "higher_better",
                    "value": value,
                    "target": 100.0,
                }
            )
    return pd.DataFrame(rows)


def test_share_of_draws_and_same_peer_intervals():
    table = monte_carlo_ranks(items(), n=200, seed=1).set_index("city")
    c_share = table.loc["c", "scored_share"]
    assert 0.2 < c_share < 0.8  # withheld in some draws, scored in others
    assert table.loc["a", "scored_share"] == 1.0
    assert table.loc["c", "draws"] == round(c_share * 200)
    # Mixed peer sets: a's plain interval runs from 1 (c withheld) to 2 (c scored).
    assert (table.loc["a", "rank_p05"], table.loc["a", "rank_p95"]) == (1.0, 2.0)
    # Like with like: only draws where a, b and c are all scored (the nominal peer set).
    assert table.loc["a", "same_peer_draws"] == table.loc["c", "draws"]
    assert table.loc["a", "rank_p05_same_peers"] == table.loc["a", "rank_p95_same_peers"] == 2.0
    assert table.loc["c", "median_rank_same_peers"] == 1.0
    assert table.loc["b", "median_rank_same_peers"] == 3.0

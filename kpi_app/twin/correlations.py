"""KPI relationships: Spearman rank correlations across cities and years, stated modestly.

Each (city, year) with values is one observation. For every pair of items the correlation uses
the observations where both are reported (pairwise deletion), ranks them afresh on that subset
(ties get average ranks) and reports ``n``, the number of such observations, next to ``rho``.

Reporting rules, so a number is never overstated:

* ``rho`` is withheld (NaN, ``shown`` False) when ``n`` is below ``min_n`` (default 8): with
  fewer pairs a rank correlation is mostly noise;
* an item that never varies has no ranks to compare and gets no correlation;
* wording is fixed by |rho|: below 0.3 "weak", below 0.6 "moderate", otherwise "strong"
  *association*. Cities differ in many ways at once, so a correlation says nothing about cause.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

MIN_OBSERVATIONS: Final[int] = 8
STRENGTH_EDGES: Final[tuple[tuple[float, str], ...]] = (
    (0.6, "strong"),
    (0.3, "moderate"),
    (0.0, "weak"),
)
CORRELATION_COLUMNS: Final[list[str]] = [
    "item_a",
    "item_b",
    "n",
    "rho",
    "shown",
    "strength",
    "sign",
]


def item_key(code: str, data_point: str) -> str:
    """The label of an item in the correlation table: the code, then "/ data point" if any."""
    return f"{code} / {data_point}" if data_point else code


def wide_values(values: pd.DataFrame) -> pd.DataFrame:
    """One row per (city, year), one column per item, from a long values frame."""
    keyed = values.assign(
        item=[
            item_key(str(c), str(d))
            for c, d in zip(values["code"], values["data_point"].fillna(""), strict=True)
        ]
    )
    return keyed.pivot_table(
        index=["city", "year"], columns="item", values="value", aggfunc="first", observed=True
    )


def strength(rho: float) -> str:
    magnitude = abs(rho)
    return next(label for edge, label in STRENGTH_EDGES if magnitude >= edge)


def kpi_correlations(values: pd.DataFrame, *, min_n: int = MIN_OBSERVATIONS) -> pd.DataFrame:
    """Spearman rho for every pair of items in a long values frame (city, year, code, ...).

    Returns :data:`CORRELATION_COLUMNS`, one row per unordered pair with at least one joint
    observation, sorted by |rho| (shown pairs first) then ``n``.
    """
    if min_n < 3:
        raise ValueError("a rank correlation needs at least 3 observations")
    wide = wide_values(values)
    present = wide.notna().to_numpy(dtype=np.float64)
    joint = present.T @ present  # n for every pair in one matrix product
    # pandas re-ranks each pair on the rows where both are present, as described above.
    rho = wide.corr(method="spearman", min_periods=min_n).to_numpy()
    names = list(wide.columns)
    upper_a, upper_b = np.triu_indices(len(names), k=1)
    n = joint[upper_a, upper_b].astype(np.int64)
    rhos = rho[upper_a, upper_b]
    keep = n > 0
    shown = (n >= min_n) & ~np.isnan(rhos)
    table = pd.DataFrame(
        {
            "item_a": np.asarray(names, dtype=object)[upper_a[keep]],
            "item_b": np.asarray(names, dtype=object)[upper_b[keep]],
            "n": n[keep],
            "rho": np.where(shown, rhos, np.nan)[keep],
            "shown": shown[keep],
        }
    )
    table["strength"] = [
        strength(r) if s else "" for r, s in zip(table["rho"], table["shown"], strict=True)
    ]
    table["sign"] = np.select(
        [table["shown"] & (table["rho"] > 0), table["shown"] & (table["rho"] < 0)],
        ["positive", "negative"],
        default="",
    )
    order = table.assign(_abs=table["rho"].abs().fillna(-1.0)).sort_values(
        ["shown", "_abs", "n", "item_a", "item_b"],
        ascending=[False, False, False, True, True],
        kind="stable",
    )
    return order.drop(columns="_abs").reset_index(drop=True)[CORRELATION_COLUMNS]

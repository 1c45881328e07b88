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

:func:`synergies_and_trade_offs` adds the reading the SDG-interactions literature uses:
direction-adjusted correlations (both improving together = synergy, one improving while the
other worsens = trade-off), one observation per city (its latest year) unless a panel is
asked for, and Benjamini–Hochberg control of the false-discovery rate across all pairs;
nothing is called a synergy or a trade-off above the FDR threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

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


# --- synergies and trade-offs ------------------------------------------------------------

#: False-discovery rate at which a relationship is called a synergy or a trade-off.
DEFAULT_FDR: Final[float] = 0.05
#: Item directions with a "better" side; other directions (two-sided, context) get no label.
DIRECTION_SIGNS: Final[dict[str, int]] = {"higher_better": 1, "lower_better": -1}
SYNERGY: Final = "synergy"
TRADE_OFF: Final = "trade-off"
NOT_SIGNIFICANT: Final = "not significant"
NO_DIRECTION: Final = "no direction"
RELATION_COLUMNS: Final[list[str]] = [
    "item_a",
    "item_b",
    "n",
    "rho",
    "rho_adjusted",
    "p_value",
    "q_value",
    "relation",
]


def latest_year_per_city(values: pd.DataFrame) -> pd.DataFrame:
    """Keep each city's latest reporting year only: one observation per city."""
    if values.empty:
        return values
    latest = values.groupby("city", observed=True)["year"].transform("max")
    return values.loc[values["year"] == latest]


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted.

    q₍ᵢ₎ = min over j ≥ i of p₍ⱼ₎·m/j for the sorted p-values, capped at 1, where m is the
    number of non-NaN p-values. Equals ``scipy.stats.false_discovery_control(p)`` (method
    "bh") on the non-NaN values; the project does not depend on scipy.
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return q
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def spearman_p_value(rho: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
    """Two-sided p-value of a Spearman rho from ``n`` pairs (Fieller–Hartley–Pearson).

    z = atanh(rho)·√((n − 3) / 1.06) is close to standard normal under no association;
    p = erfc(|z| / √2). NaN for n < 4 or a NaN rho; |rho| = 1 gives p = 0.
    """
    r = np.asarray(rho, dtype=np.float64)
    count = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(np.clip(r, -1.0, 1.0)) * np.sqrt((count - 3.0) / 1.06)
    erfc = np.frompyfunc(math.erfc, 1, 1)
    magnitude = np.nan_to_num(np.abs(z), nan=np.nan, posinf=np.inf)
    p = np.asarray(erfc(magnitude / math.sqrt(2.0)), dtype=np.float64)
    p[(count < 4) | np.isnan(r)] = np.nan
    return p


def synergies_and_trade_offs(
    values: pd.DataFrame,
    directions: Mapping[str, str],
    *,
    fdr: float = DEFAULT_FDR,
    min_n: int = MIN_OBSERVATIONS,
    panel: bool = False,
) -> pd.DataFrame:
    """Direction-adjusted rank correlations of every item pair, labelled under FDR control.

    ``values`` is long (city, year, code, data_point, value); ``directions`` maps an item
    label (:func:`item_key`) or a KPI code to its direction. Unless ``panel`` is True each
    city contributes one observation, its latest reporting year (several years of one city
    are not independent). ``rho_adjusted`` = rho × sign(a) × sign(b) with sign +1 for
    higher-better and −1 for lower-better items, so a positive value means both improve
    together. Benjamini–Hochberg q-values are computed across every pair with a p-value;
    a pair is a ``synergy`` (q ≤ ``fdr``, rho_adjusted > 0) or a ``trade-off`` (q ≤ ``fdr``,
    rho_adjusted < 0) only then; otherwise ``not significant``, or ``no direction`` when an
    item has no better side. Sorted: labelled pairs first, by q then |rho|.
    """
    if not 0.0 < fdr < 1.0:
        raise ValueError(f"the false-discovery rate must lie in (0, 1), got {fdr}")
    observed = values if panel else latest_year_per_city(values)
    table = kpi_correlations(observed, min_n=min_n)

    def sign(label: str) -> int:
        code = label.split(" / ", 1)[0]
        return DIRECTION_SIGNS.get(directions.get(label, directions.get(code, "")), 0)

    signs = np.array(
        [sign(a) * sign(b) for a, b in zip(table["item_a"], table["item_b"], strict=True)],
        dtype=np.float64,
    )
    rho = table["rho"].to_numpy(dtype=np.float64)
    p = spearman_p_value(rho, table["n"].to_numpy())
    q = benjamini_hochberg(p)
    adjusted = np.where(signs != 0, rho * signs, np.nan)
    significant = q <= fdr
    relation = np.select(
        [signs == 0, significant & (adjusted > 0), significant & (adjusted < 0)],
        [NO_DIRECTION, SYNERGY, TRADE_OFF],
        default=NOT_SIGNIFICANT,
    )
    result = table.assign(rho_adjusted=adjusted, p_value=p, q_value=q, relation=relation)
    labelled = result["relation"].isin([SYNERGY, TRADE_OFF])
    order = result.assign(
        _labelled=labelled, _q=result["q_value"].fillna(2.0), _abs=result["rho"].abs().fillna(-1)
    ).sort_values(
        ["_labelled", "_q", "_abs", "item_a", "item_b"],
        ascending=[False, True, False, True, True],
        kind="stable",
    )
    return order.reset_index(drop=True)[RELATION_COLUMNS]


# --- rows for readers ----------------------------------------------------------------------


@dataclass(frozen=True)
class RelationRow:
    """A pair of KPI items, their direction-adjusted rank correlation and its reading."""

    item_a: str
    name_a: str
    item_b: str
    name_b: str
    n: int
    rho: float | None
    rho_adjusted: float | None
    p_value: float | None
    q_value: float | None
    relation: str  # synergy, trade-off, not significant, no direction

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def relation_rows(
    items: pd.DataFrame, names: dict[str, str], fdr: float = DEFAULT_FDR
) -> tuple[list[RelationRow], float]:
    """Synergies and trade-offs among reported values of ``items`` (one per city and year).

    Pairs without a correlation (too few joint observations) are left out; ``names`` maps a
    KPI code to its display name.
    """
    reported = items.loc[items["value"].notna().to_numpy()]
    values = pd.DataFrame(
        {
            "city": reported["city"].astype(str).to_numpy(),
            "year": reported["year"].to_numpy(),
            "code": reported["code"].astype(str).to_numpy(),
            "data_point": reported["data_point"].astype(str).to_numpy(),
            "value": reported["value"].to_numpy(dtype=float),
        }
    )
    directions = {
        (f"{c} / {d}" if d else c): str(direction)
        for c, d, direction in zip(
            values["code"], values["data_point"], reported["direction"].astype(str), strict=True
        )
    }
    if values.empty:
        return [], fdr
    table = synergies_and_trade_offs(values, directions, fdr=fdr)
    table = table.loc[table["rho"].notna().to_numpy()]

    def name(label: str) -> str:
        code, _, point = label.partition(" / ")
        return names.get(code, code) + (f": {point}" if point else "")

    rows = [
        RelationRow(
            item_a=str(r["item_a"]),
            name_a=name(str(r["item_a"])),
            item_b=str(r["item_b"]),
            name_b=name(str(r["item_b"])),
            n=int(r["n"]),
            rho=_finite(r["rho"]),
            rho_adjusted=_finite(r["rho_adjusted"]),
            p_value=_finite(r["p_value"]),
            q_value=_finite(r["q_value"]),
            relation=str(r["relation"]),
        )
        for r in table.to_dict("records")
    ]
    return rows, fdr


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None

"""Sensitivity of city rankings to the scoring choices (COINr's uncertainty analysis).

Two questions a coordinator asks before publishing a ranking:

* **How robust is a rank?** :func:`monte_carlo_ranks` rescores many times, each time drawing
  a normalisation method, an aggregation method and perturbed weights at every level, and
  reports each city's median rank with a 90 % interval (5th to 95th percentile).
* **Which KPI drives a rank?** :func:`leave_one_out` drops one KPI at a time and records how
  each city's overall rank moves; :func:`rank_drivers` names the KPIs that move one city most.

Ranks are taken within each year (1 = best; tied scores share the best rank; a withheld or
missing overall score has no rank). Draws use ``numpy.random.default_rng(seed)`` only, so the
same seed gives identical results.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.aggregate import AGGREGATORS
from kpi_app.scoring.composite import aggregate_levels, normalise_items, score
from kpi_app.scoring.spec import PRESETS, Normalisation, ScoringSpec, resolve_spec
from kpi_app.scoring.u4ssc import validate_items

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
WeightScheme = Literal["uniform", "dirichlet"]

#: Normalisations sampled by default: one absolute and three peer-group methods.
DEFAULT_METHODS: Final[tuple[str, ...]] = (
    "distance_to_target",
    "min_max",
    "z_score",
    "percentile_rank",
)
DEFAULT_AGGREGATIONS: Final[tuple[str, ...]] = tuple(AGGREGATORS)
#: The spec whose scores and ranks are reported as "nominal" next to the simulated ones.
DEFAULT_BASE_SPEC: Final = "distance-arith"

ENTITY: Final[list[str]] = ["city", "year"]
GROUP_WEIGHT_LEVELS: Final[tuple[tuple[str, str | None], ...]] = (
    ("category", "sub_dimension"),
    ("sub_dimension", "dimension"),
    ("dimension", None),
)


def rank_within_year(overall: pd.DataFrame) -> pd.Series[float]:
    """Rank of each row's ``score`` among the rows of the same year: 1 = best, ties share."""
    return overall.groupby("year", observed=True)["score"].rank(ascending=False, method="min")


# --- Monte Carlo ---------------------------------------------------------------------------


def monte_carlo_ranks(
    items: pd.DataFrame,
    n: int = 200,
    seed: int = 0,
    methods: Sequence[str] = DEFAULT_METHODS,
    aggregations: Sequence[str] = DEFAULT_AGGREGATIONS,
    weight_noise: float = 0.25,
    weight_scheme: WeightScheme = "uniform",
    base_spec: ScoringSpec | str = DEFAULT_BASE_SPEC,
) -> pd.DataFrame:
    """Median rank and 90 % rank interval of every (city, year) over ``n`` random specs.

    Each draw picks a normalisation from ``methods`` and an aggregation from ``aggregations``
    (uniformly) and perturbs every weight of ``base_spec`` at item, category, sub-dimension
    and dimension level:

    * ``"uniform"``: each weight is multiplied by a factor drawn from U(1 − noise, 1 + noise);
    * ``"dirichlet"``: the weights of the children of one parent are redrawn together from a
      Dirichlet with concentrations ``share / noise²``, so a child's share varies with a
      standard deviation of about ``noise × √(share × (1 − share))`` around its nominal share.

    Returns one row per (city, year): ``nominal_score`` and ``nominal_rank`` (under
    ``base_spec``), ``median_rank``, ``rank_p05``, ``rank_p95``, ``mean_score``,
    ``score_p05``, ``score_p95`` and ``draws`` (draws in which the city had a score).
    Per-indicator overrides of ``base_spec`` are kept in every draw: they are deliberate
    choices, not uncertain ones.
    """
    _check_arguments(n, methods, aggregations, weight_noise, weight_scheme)
    validate_items(items)
    base = resolve_spec(base_spec)
    if base.method != "composite":
        # The U4SSC rule pools points and has no weights to perturb; its composite twin does.
        base = PRESETS["points-arith"]
    rng = np.random.default_rng(seed)
    normalised = {
        method: normalise_items(items, replace(base, normalisation=Normalisation(method)))
        for method in methods
    }
    nominal = aggregate_levels(normalise_items(items, base), base)["overall"]
    entities = nominal[ENTITY]
    item_codes, item_parents = _item_structure(items)
    hierarchy = _group_structure(items)
    scores = np.full((n, len(entities)), np.nan)
    ranks = np.full((n, len(entities)), np.nan)
    for draw in range(n):
        method = str(rng.choice(list(methods)))
        aggregation = str(rng.choice(list(aggregations)))
        frame = normalised[method]
        noisy = _perturb(
            frame["item_weight"].to_numpy(dtype=np.float64),
            item_parents,
            rng,
            weight_noise,
            weight_scheme,
            item_codes,
        )
        spec = replace(
            base,
            aggregation=aggregation,
            weights=_perturbed_group_weights(base, hierarchy, rng, weight_noise, weight_scheme),
        )
        overall = aggregate_levels(frame.assign(item_weight=noisy), spec)["overall"]
        aligned = entities.merge(overall, on=ENTITY, how="left")
        scores[draw] = aligned["score"].to_numpy(dtype=np.float64)
        ranks[draw] = rank_within_year(aligned).to_numpy(dtype=np.float64)
    return _summarise(entities, nominal, scores, ranks)


def _check_arguments(
    n: int,
    methods: Sequence[str],
    aggregations: Sequence[str],
    weight_noise: float,
    weight_scheme: str,
) -> None:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not methods or not aggregations:
        raise ValueError("give at least one normalisation method and one aggregation")
    for method in methods:
        Normalisation(method)  # raises on an unknown name
    unknown = set(aggregations) - set(AGGREGATORS)
    if unknown:
        raise ValueError(f"unknown aggregation(s) {sorted(unknown)}")
    if not 0.0 <= weight_noise < 1.0:
        raise ValueError(f"weight_noise must lie in [0, 1), got {weight_noise}")
    if weight_scheme not in ("uniform", "dirichlet"):
        raise ValueError(f"weight_scheme must be 'uniform' or 'dirichlet', got {weight_scheme!r}")


def _item_structure(items: pd.DataFrame) -> tuple[IntArray, IntArray]:
    """Per row: the integer code of its item and of the item's category (its parent)."""
    keys = items["code"].astype(str) + "|" + items["data_point"].astype(str)
    item_codes, _ = pd.factorize(keys)
    category_of_item = pd.Series(items["category"].astype(str).to_numpy()).groupby(item_codes)
    parents, _ = pd.factorize(category_of_item.first())
    return item_codes.astype(np.intp), parents.astype(np.intp)


def _group_structure(items: pd.DataFrame) -> dict[str, tuple[list[str], IntArray]]:
    """Per weight level: the ids and the integer code of each id's parent group."""
    structure: dict[str, tuple[list[str], IntArray]] = {}
    for level, parent in GROUP_WEIGHT_LEVELS:
        pairs = items[[level, *([parent] if parent else [])]].astype(str).drop_duplicates(level)
        parents = pd.factorize(pairs[parent])[0] if parent else np.zeros(len(pairs), dtype=np.intp)
        structure[level] = (list(pairs[level]), np.asarray(parents, dtype=np.intp))
    return structure


def _perturbed_group_weights(
    base: ScoringSpec,
    hierarchy: dict[str, tuple[list[str], IntArray]],
    rng: np.random.Generator,
    noise: float,
    scheme: WeightScheme,
) -> dict[str, dict[str, float]]:
    weights: dict[str, dict[str, float]] = {}
    for level, (ids, parents) in hierarchy.items():
        nominal = np.array([base.weight(level, group_id) for group_id in ids])
        drawn = _perturb(nominal, parents, rng, noise, scheme, np.arange(len(ids)))
        weights[level] = dict(zip(ids, drawn.tolist(), strict=True))
    return weights


def _perturb(
    nominal: FloatArray,
    parents: IntArray,
    rng: np.random.Generator,
    noise: float,
    scheme: WeightScheme,
    member: IntArray,
) -> FloatArray:
    """Perturbed weights for the rows of ``nominal``.

    ``member`` maps each row to a unit (an item or a group) and ``parents`` maps each unit to
    its parent; all rows of one unit get the same factor, so an item keeps one weight across
    cities and years within a draw.
    """
    n_units = int(member.max()) + 1 if member.size else 0
    if noise == 0.0 or n_units == 0:
        return nominal
    if scheme == "uniform":
        factors = rng.uniform(1.0 - noise, 1.0 + noise, size=n_units)
        return nominal * factors[member]
    unit_nominal = np.zeros(n_units)
    unit_nominal[member] = nominal
    positive = unit_nominal > 0
    shares = unit_nominal / _parent_sum(unit_nominal, parents)[parents]
    # Gamma draws normalised per parent are a Dirichlet draw for every parent at once.
    gammas = np.zeros(n_units)
    gammas[positive] = rng.gamma(shares[positive] / noise**2)
    redrawn = (
        gammas / _parent_sum(gammas, parents)[parents] * _parent_sum(unit_nominal, parents)[parents]
    )
    factors = np.divide(redrawn, unit_nominal, out=np.zeros(n_units), where=positive)
    return nominal * factors[member]


def _parent_sum(values: FloatArray, parents: IntArray) -> FloatArray:
    sums = np.bincount(parents, weights=values, minlength=int(parents.max()) + 1)
    return np.where(sums > 0, sums, 1.0)


def _summarise(
    entities: pd.DataFrame, nominal: pd.DataFrame, scores: FloatArray, ranks: FloatArray
) -> pd.DataFrame:
    defined = ~np.isnan(ranks)
    # A city never scored in any draw simply gets NaN; numpy would warn about the empty slice.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        summary = entities.assign(
            nominal_score=nominal["score"].to_numpy(),
            nominal_rank=rank_within_year(nominal).to_numpy(),
            median_rank=np.nanmedian(ranks, axis=0),
            rank_p05=np.nanpercentile(ranks, 5, axis=0),
            rank_p95=np.nanpercentile(ranks, 95, axis=0),
            mean_score=np.nanmean(scores, axis=0),
            score_p05=np.nanpercentile(scores, 5, axis=0),
            score_p95=np.nanpercentile(scores, 95, axis=0),
            draws=defined.sum(axis=0),
        )
    return summary.sort_values(["year", "median_rank", "city"], kind="stable").reset_index(
        drop=True
    )


# --- leave one out -------------------------------------------------------------------------


def leave_one_out(items: pd.DataFrame, spec: ScoringSpec | str = "u4ssc") -> pd.DataFrame:
    """How each city's overall score and rank change when one KPI is dropped.

    One row per (KPI code, city, year) with ``base_score``, ``base_rank``, ``score_without``,
    ``rank_without`` and ``rank_change`` = rank without − rank with the KPI (positive: the
    city falls when the KPI is dropped, so the KPI was lifting it; negative: it was holding the
    city back). All data points of a KPI are dropped together.
    """
    resolved = resolve_spec(spec)
    base = _overall_with_rank(items, resolved)
    rows = []
    codes = items["code"].astype(str)
    for code in pd.unique(codes):
        without = _overall_with_rank(items.loc[(codes != code).to_numpy()], resolved)
        merged = base.merge(without, on=ENTITY, how="left", suffixes=("", "_without"))
        rows.append(
            pd.DataFrame(
                {
                    "code": code,
                    "city": merged["city"],
                    "year": merged["year"],
                    "base_score": merged["score"],
                    "base_rank": merged["rank"],
                    "score_without": merged["score_without"],
                    "rank_without": merged["rank_without"],
                }
            )
        )
    result = pd.concat(rows, ignore_index=True)
    return result.assign(rank_change=result["rank_without"] - result["base_rank"])


def _overall_with_rank(items: pd.DataFrame, spec: ScoringSpec) -> pd.DataFrame:
    overall = score(items, spec).overall[[*ENTITY, "score"]]
    return overall.assign(rank=rank_within_year(overall).to_numpy())


def rank_drivers(
    loo: pd.DataFrame, city: str, year: int | None = None, top: int = 5
) -> pd.DataFrame:
    """The KPIs whose removal moves ``city``'s rank most, largest move first.

    Rows come from :func:`leave_one_out`; only KPIs that change the rank are kept, ties on the
    rank move are broken by the size of the score change. ``year`` defaults to the latest.
    """
    rows = loo.loc[(loo["city"] == city).to_numpy()]
    if rows.empty:
        raise KeyError(f"city {city!r} is not in the leave-one-out table")
    chosen_year = int(rows["year"].max()) if year is None else int(year)
    rows = rows.loc[(rows["year"] == chosen_year).to_numpy()]
    moved = rows.loc[rows["rank_change"].fillna(0).to_numpy() != 0]
    ordered = moved.assign(
        rank_move=moved["rank_change"].abs(),
        score_move=(moved["score_without"] - moved["base_score"]).abs(),
    ).sort_values(["rank_move", "score_move", "code"], ascending=[False, False, True])
    drivers: pd.DataFrame = ordered.drop(columns=["rank_move", "score_move"]).head(top)
    return drivers.reset_index(drop=True)

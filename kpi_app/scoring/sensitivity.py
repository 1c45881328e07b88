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

Speed: each Monte Carlo draw re-aggregates the normalised items with new weights. Doing that
with :func:`~kpi_app.scoring.composite.aggregate_levels` (four pandas group-bys and a merge)
cost ~90 ms per draw; :class:`DrawAggregator` gives every row and group an integer code once
and aggregates a draw with ``np.bincount`` over those codes (as :mod:`kpi_app.scoring.u4ssc`
does), applying exactly the same rules (renormalised weights, minimum coverage, groups with
nothing assessable not counted one level up). Only the order of floating-point additions
differs, so scores agree to ~1e-12 (tested against the pandas path).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.aggregate import AGGREGATORS, Aggregator, aggregator
from kpi_app.scoring.composite import aggregate_levels, normalise_items, score
from kpi_app.scoring.spec import (
    AGGREGATION_LEVELS,
    PRESETS,
    Normalisation,
    ScoringSpec,
    resolve_spec,
)
from kpi_app.scoring.u4ssc import validated_inputs

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
    ``score_p05``, ``score_p95`` and ``draws`` (draws in which the city had a score), plus
    the like-with-like columns: ``scored_share`` (draws ÷ n) and, over the draws in which the
    year's scored cities are exactly those the base spec scores (``same_peer_draws``),
    ``median_rank_same_peers``, ``rank_p05_same_peers`` and ``rank_p95_same_peers``.
    Per-indicator overrides of ``base_spec`` are kept in every draw: they are deliberate
    choices, not uncertain ones.
    """
    _check_arguments(n, methods, aggregations, weight_noise, weight_scheme)
    checked = validated_inputs(items)
    base = resolve_spec(base_spec)
    if base.method != "composite":
        # The U4SSC rule pools points and has no weights to perturb; its composite twin does.
        base = PRESETS["points-arith"]
    rng = np.random.default_rng(seed)
    normalised = {
        method: normalise_items(
            items, replace(base, normalisation=Normalisation(method)), checked=checked
        )
        for method in methods
    }
    nominal = aggregate_levels(normalise_items(items, base, checked=checked), base)["overall"]
    entities = nominal[ENTITY]
    item_codes, item_parents = _item_structure(items)
    hierarchy = _group_structure(items)
    aggregate = DrawAggregator(next(iter(normalised.values())), entities, hierarchy)
    scores = np.full((n, len(entities)), np.nan)
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
        group_weights = _perturbed_group_weights(base, hierarchy, rng, weight_noise, weight_scheme)
        scores[draw] = aggregate.overall(
            frame, noisy, group_weights, aggregator(aggregation), base.min_coverage
        )
    ranks = _ranks_within_year(entities, scores)
    summary = _summarise(entities, nominal, scores, ranks)
    return _with_like_for_like(summary, entities, nominal, ranks, n)


def _ranks_within_year(entities: pd.DataFrame, scores: FloatArray) -> FloatArray:
    """Ranks of every draw at once: column j of the frame is draw j (same rule as
    :func:`rank_within_year`)."""
    by_draw = pd.DataFrame(scores.T, index=entities.index)
    ranked = by_draw.groupby(entities["year"].to_numpy()).rank(ascending=False, method="min")
    return ranked.to_numpy(dtype=np.float64).T


class DrawAggregator:
    """Aggregate normalised items to overall scores per entity with integer group codes.

    Built once per Monte Carlo run from the normalised frame's structure (every method's
    frame has the same rows in the same order); :meth:`overall` then costs a few
    ``np.bincount`` calls per level. The rules are those of
    :func:`~kpi_app.scoring.aggregate.aggregate_groups` applied level by level as in
    :func:`~kpi_app.scoring.composite.aggregate_levels`.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        entities: pd.DataFrame,
        hierarchy: dict[str, tuple[list[str], IntArray]],
    ) -> None:
        entity_index = pd.MultiIndex.from_frame(entities[ENTITY].astype({"city": str}))
        row_entity = entity_index.get_indexer(
            pd.MultiIndex.from_arrays(
                [frame["city"].astype(str).to_numpy(), frame["year"].to_numpy()]
            )
        )
        self.n_entities = len(entities)
        self.steps: list[tuple[IntArray, IntArray]] = []
        # Each step: the group code of every child, and each group's index among the ids of
        # its level (to look its weight up). Level 1's children are the item rows.
        child_entity = row_entity.astype(np.intp)
        child_ids: dict[str, npt.NDArray[np.object_]] = {
            level: frame[level].astype(str).to_numpy() for level, _ in GROUP_WEIGHT_LEVELS
        }
        for level, _parent in GROUP_WEIGHT_LEVELS:
            ids = hierarchy[level][0]
            position = {group_id: i for i, group_id in enumerate(ids)}
            id_codes = np.array([position[v] for v in child_ids[level]], dtype=np.intp)
            pairs = child_entity * len(ids) + id_codes
            unique_pairs, first_child, group_of_child = np.unique(
                pairs, return_index=True, return_inverse=True
            )
            group_entity = (unique_pairs // len(ids)).astype(np.intp)
            group_id_index = (unique_pairs % len(ids)).astype(np.intp)
            self.steps.append((group_of_child.astype(np.intp), group_id_index))
            # The next level's children are these groups; a group's parent ids are those of
            # any of its children (the hierarchy is a tree), here its first.
            child_ids = {name: values[first_child] for name, values in child_ids.items()}
            child_entity = group_entity
        self.final_entity = child_entity

    def overall(
        self,
        frame: pd.DataFrame,
        item_weights: FloatArray,
        group_weights: dict[str, dict[str, float]],
        agg: Aggregator | Sequence[Aggregator],
        min_coverage: float,
    ) -> FloatArray:
        """Overall score per entity (in ``entities`` order) for one draw's weights.

        ``agg`` is one aggregation for every level, or four: category, sub-dimension,
        dimension and overall (a spec's aggregation per level).
        """
        aggs = [agg] * 4 if isinstance(agg, Aggregator) else list(agg)
        values = frame["score"].to_numpy(dtype=np.float64)
        counted = frame["assessable"].to_numpy(dtype=bool)
        weights = item_weights
        for (level, _parent), (group_of_child, id_index), level_agg in zip(
            GROUP_WEIGHT_LEVELS, self.steps, aggs[:3], strict=True
        ):
            values, counted = _aggregate_step(
                values, weights, counted, group_of_child, len(id_index), level_agg, min_coverage
            )
            weights = np.fromiter(group_weights[level].values(), dtype=np.float64)[id_index]
        values, _ = _aggregate_step(
            values, weights, counted, self.final_entity, self.n_entities, aggs[3], min_coverage
        )
        return values


def _aggregate_step(
    values: FloatArray,
    weights: FloatArray,
    assessable: npt.NDArray[np.bool_],
    group_of_child: IntArray,
    n_groups: int,
    agg: Aggregator,
    min_coverage: float,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """One level: group scores and whether each group had anything assessable."""
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative")
    counted = assessable & (weights > 0)
    reported = counted & ~np.isnan(values)
    transformed = np.zeros(values.size)
    transformed[reported] = agg.forward(values[reported])
    assessable_weight = np.bincount(
        group_of_child, weights=np.where(counted, weights, 0.0), minlength=n_groups
    )
    reported_weight = np.bincount(
        group_of_child, weights=np.where(reported, weights, 0.0), minlength=n_groups
    )
    weighted_sum = np.bincount(
        group_of_child, weights=np.where(reported, weights * transformed, 0.0), minlength=n_groups
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(assessable_weight > 0, reported_weight / assessable_weight, np.nan)
        centre = np.where(reported_weight > 0, weighted_sum / reported_weight, np.nan)
        scores = agg.inverse(centre)
    # Same withholding rule and tolerance as aggregate.finish_groups.
    withheld = (assessable_weight <= 0) | (reported_weight <= 0) | (share < min_coverage - 1e-12)
    return np.where(withheld, np.nan, scores), assessable_weight > 0


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


def same_peer_draws(
    entities: pd.DataFrame, nominal_scored: npt.NDArray[np.bool_], scored: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Per (draw, entity): whether that draw scored exactly the nominal peer set of the year.

    ``scored`` is (draws × entities); the nominal peer set of a year is the set of its
    entities that the base spec scores. A draw that withholds one of them, or scores one the
    base spec withholds, ranks against other peers and is not comparable.
    """
    years = entities["year"].to_numpy()
    same = np.zeros(scored.shape, dtype=np.bool_)
    for year in np.unique(years):
        columns = np.flatnonzero(years == year)
        matches = (scored[:, columns] == nominal_scored[columns]).all(axis=1)
        same[:, columns] = matches[:, None]
    return same


def _with_like_for_like(
    summary: pd.DataFrame,
    entities: pd.DataFrame,
    nominal: pd.DataFrame,
    ranks: FloatArray,
    n: int,
) -> pd.DataFrame:
    """Add ``scored_share`` and rank statistics over the draws with the nominal peer set."""
    scored = ~np.isnan(ranks)
    nominal_scored = nominal["score"].notna().to_numpy()
    same = same_peer_draws(entities, nominal_scored, scored) & scored
    like = np.where(same, ranks, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        extra = entities.assign(
            scored_share=scored.sum(axis=0) / n,
            same_peer_draws=same.sum(axis=0),
            median_rank_same_peers=np.nanmedian(like, axis=0),
            rank_p05_same_peers=np.nanpercentile(like, 5, axis=0),
            rank_p95_same_peers=np.nanpercentile(like, 95, axis=0),
        )
    return summary.merge(extra, on=list(ENTITY), how="left", validate="one_to_one")


# --- leave one out -------------------------------------------------------------------------


def leave_one_out(items: pd.DataFrame, spec: ScoringSpec | str = "u4ssc") -> pd.DataFrame:
    """How each city's overall score and rank change when one KPI is dropped.

    One row per (KPI code, city, year) with ``base_score``, ``base_rank``, ``score_without``,
    ``rank_without`` and ``rank_change`` = rank without − rank with the KPI (positive: the
    city falls when the KPI is dropped, so the KPI was lifting it; negative: it was holding the
    city back). All data points of a KPI are dropped together.
    """
    resolved = resolve_spec(spec)
    if resolved.method == "composite":
        return _leave_one_out_composite(items, resolved)
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


#: Decimals scores are rounded to before ranking in the composite leave-one-out, so scores
#: equal up to floating-point noise tie (as they would through the pandas path).
LOO_RANK_DECIMALS: Final = 9


def _leave_one_out_composite(items: pd.DataFrame, spec: ScoringSpec) -> pd.DataFrame:
    """:func:`leave_one_out` for composite specs without rescoring 91 times.

    Each item is normalised on its own rows, so dropping a KPI changes no other item's score:
    it is the same as giving the KPI's rows weight 0 (a zero weight removes a child, and a
    group left with nothing counted is not counted one level up, exactly as when its rows are
    gone). Items are normalised once; each KPI costs one :class:`DrawAggregator` pass.
    """
    frame = normalise_items(items, spec)  # validates the frame
    entities = aggregate_levels(frame, spec)["overall"][ENTITY]
    hierarchy = _group_structure(items)
    aggregate = DrawAggregator(frame, entities, hierarchy)
    group_weights = {
        level: {group_id: spec.weight(level, group_id) for group_id in ids}
        for level, (ids, _parents) in hierarchy.items()
    }
    aggs = [aggregator(spec.aggregation_for(level)) for level in AGGREGATION_LEVELS]
    weights = frame["item_weight"].to_numpy(dtype=np.float64)

    def overall(item_weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        scores = aggregate.overall(frame, item_weights, group_weights, aggs, spec.min_coverage)
        ranks = _ranks_within_year(entities, np.round(scores, LOO_RANK_DECIMALS)[None, :])[0]
        return scores, ranks

    base_scores, base_ranks = overall(weights)
    codes = items["code"].astype(str).to_numpy()
    rows = []
    for code in pd.unique(codes):
        scores, ranks = overall(np.where(codes == code, 0.0, weights))
        rows.append(
            entities.assign(
                code=code,
                base_score=base_scores,
                base_rank=base_ranks,
                score_without=scores,
                rank_without=ranks,
            )
        )
    columns = ["code", "city", "year", "base_score", "base_rank", "score_without"]
    result = pd.concat(rows, ignore_index=True)[[*columns, "rank_without"]]
    result["city"] = result["city"].astype(str)
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

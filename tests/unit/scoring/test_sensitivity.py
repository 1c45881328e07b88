"""Sensitivity: seeded Monte Carlo ranks and leave-one-out rank drivers on toy panels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.sensitivity import leave_one_out, monte_carlo_ranks, rank_drivers

NAN = np.nan

#: code, category, sub_dimension, dimension, direction, target
TOY_KPIS = [
    ("A", "EC: S: C1", "EC: S", "EC", "higher_better", 100.0),
    ("B", "EC: S: C1", "EC: S", "EC", "higher_better", 100.0),
    ("C", "EN: E: C2", "EN: E", "EN", "lower_better", 10.0),
]


def toy_items(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {
            "city": city,
            "year": 2024,
            "code": code,
            "data_point": "",
            "dimension": dimension,
            "sub_dimension": sub_dimension,
            "category": category,
            "tier": "core",
            "direction": direction,
            "value": value,
            "target": target,
        }
        for city, city_values in values.items()
        for (code, category, sub_dimension, dimension, direction, target), value in zip(
            TOY_KPIS, city_values, strict=True
        )
    ]
    return pd.DataFrame(rows)


PANEL = {
    "p": [90.0, 80.0, 12.0],
    "q": [60.0, 95.0, 20.0],
    "r": [30.0, 40.0, 10.0],
    "s": [70.0, 20.0, 40.0],
}


def test_monte_carlo_is_reproducible_with_a_seed() -> None:
    first = monte_carlo_ranks(toy_items(PANEL), n=60, seed=7)
    second = monte_carlo_ranks(toy_items(PANEL), n=60, seed=7)
    pd.testing.assert_frame_equal(first, second)


def test_monte_carlo_different_seed_may_differ_but_keeps_shape() -> None:
    first = monte_carlo_ranks(toy_items(PANEL), n=60, seed=1, weight_noise=0.6)
    other = monte_carlo_ranks(toy_items(PANEL), n=60, seed=2, weight_noise=0.6)
    assert list(first.columns) == list(other.columns)
    assert set(first["city"]) == set(other["city"]) == set(PANEL)
    assert not np.allclose(first["mean_score"].sort_values(), other["mean_score"].sort_values())


@pytest.mark.parametrize("scheme", ["uniform", "dirichlet"])
def test_intervals_contain_the_median_and_ranks_are_valid(scheme: str) -> None:
    summary = monte_carlo_ranks(toy_items(PANEL), n=80, seed=3, weight_scheme=scheme)  # type: ignore[arg-type]
    assert (summary["rank_p05"] <= summary["median_rank"]).all()
    assert (summary["median_rank"] <= summary["rank_p95"]).all()
    assert summary[["rank_p05", "rank_p95"]].stack().between(1, len(PANEL)).all()
    assert (summary["score_p05"] <= summary["mean_score"]).all()
    assert (summary["draws"] == 80).all()


def test_a_dominant_city_ranks_first_in_every_draw() -> None:
    panel = {"top": [100.0, 100.0, 5.0], "mid": [50.0, 50.0, 20.0], "low": [10.0, 10.0, 80.0]}
    summary = monte_carlo_ranks(toy_items(panel), n=40, seed=0).set_index("city")
    # "top" beats the others on every KPI, so no method or weighting can change the order.
    assert summary.loc["top", ["median_rank", "rank_p05", "rank_p95"]].tolist() == [1, 1, 1]
    assert summary.loc["low", "rank_p05"] == 3
    assert summary.loc["top", "nominal_rank"] == 1


def test_no_noise_and_one_method_reproduces_the_nominal_ranking() -> None:
    summary = monte_carlo_ranks(
        toy_items(PANEL),
        n=5,
        methods=["distance_to_target"],
        aggregations=["arithmetic"],
        weight_noise=0.0,
    )
    np.testing.assert_allclose(summary["median_rank"], summary["nominal_rank"])
    np.testing.assert_allclose(summary["mean_score"], summary["nominal_score"])


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        monte_carlo_ranks(toy_items(PANEL), n=0)
    with pytest.raises(ValueError, match="unknown aggregation"):
        monte_carlo_ranks(toy_items(PANEL), aggregations=["median"])


def test_leave_one_out_names_the_kpi_that_flips_the_ranking() -> None:
    # distance-arith: u: EC = (100 + 100)/2 = 100, EN = 10/50·100 = 20 → overall 60.
    #                 v: EC = (80 + 80)/2 = 80,    EN = 10/10·100 = 100 → overall 90. v leads.
    # Dropping A (or B): u (100, 20) → 60, v (80, 100) → 90: v still leads.
    # Dropping C: EN has nothing left, overall = EC: u 100 > v 80 → u leads.
    items = toy_items({"u": [100.0, 100.0, 50.0], "v": [80.0, 80.0, 10.0]})
    loo = leave_one_out(items, "distance-arith")
    by_key = loo.set_index(["code", "city"])
    assert by_key.loc[("C", "u"), "base_score"] == pytest.approx(60.0)
    assert by_key.loc[("C", "u"), "score_without"] == pytest.approx(100.0)
    assert by_key.loc[("C", "u"), "base_rank"] == 2
    assert by_key.loc[("C", "u"), "rank_without"] == 1
    assert by_key.loc[("C", "u"), "rank_change"] == -1
    assert by_key.loc[("C", "v"), "rank_change"] == 1
    assert (by_key.loc[["A", "B"], "rank_change"] == 0).all()
    assert rank_drivers(loo, "u")["code"].tolist() == ["C"]


def test_leave_one_out_with_the_u4ssc_rule() -> None:
    items = toy_items({"u": [100.0, 100.0, 50.0], "v": [80.0, 80.0, 10.0]})
    loo = leave_one_out(items)
    # U4SSC points: u A 4, B 4, C 20 % → 1: 9/12 = 75 %; v 3, 3, 4: 10/12 ≈ 83.3 %. v leads.
    # Without C: u 8/8 = 100 % vs v 6/8 = 75 % → the order flips; without A: 62.5 vs 87.5.
    by_key = loo.set_index(["code", "city"])
    assert by_key.loc[("A", "u"), "base_score"] == pytest.approx(75.0)
    assert by_key.loc[("C", "v"), "score_without"] == pytest.approx(75.0)
    assert rank_drivers(loo, "v")["code"].tolist() == ["C"]
    assert rank_drivers(loo, "v", year=2024, top=0).empty
    with pytest.raises(KeyError):
        rank_drivers(loo, "nowhere")


# --- the vectorised draws against the pandas aggregation they replaced ----------------------


def reference_monte_carlo_scores(
    items: pd.DataFrame, n: int, seed: int, weight_noise: float, weight_scheme: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The former draw loop: aggregate_levels + merge + rank per draw (same random stream)."""
    from dataclasses import replace

    from kpi_app.scoring.composite import aggregate_levels, normalise_items
    from kpi_app.scoring.sensitivity import (
        DEFAULT_AGGREGATIONS,
        DEFAULT_BASE_SPEC,
        DEFAULT_METHODS,
        ENTITY,
        _group_structure,
        _item_structure,
        _perturb,
        _perturbed_group_weights,
        rank_within_year,
    )
    from kpi_app.scoring.spec import Normalisation, resolve_spec

    base = resolve_spec(DEFAULT_BASE_SPEC)
    rng = np.random.default_rng(seed)
    normalised = {
        m: normalise_items(items, replace(base, normalisation=Normalisation(m)))
        for m in DEFAULT_METHODS
    }
    entities = aggregate_levels(normalise_items(items, base), base)["overall"][ENTITY]
    item_codes, item_parents = _item_structure(items)
    hierarchy = _group_structure(items)
    scores = np.full((n, len(entities)), np.nan)
    ranks = np.full((n, len(entities)), np.nan)
    for draw in range(n):
        method = str(rng.choice(list(DEFAULT_METHODS)))
        aggregation = str(rng.choice(list(DEFAULT_AGGREGATIONS)))
        frame = normalised[method]
        noisy = _perturb(
            frame["item_weight"].to_numpy(dtype=np.float64),
            item_parents,
            rng,
            weight_noise,
            weight_scheme,  # type: ignore[arg-type]
            item_codes,
        )
        spec = replace(
            base,
            aggregation=aggregation,
            weights=_perturbed_group_weights(base, hierarchy, rng, weight_noise, weight_scheme),  # type: ignore[arg-type]
        )
        overall = aggregate_levels(frame.assign(item_weight=noisy), spec)["overall"]
        aligned = entities.merge(overall, on=ENTITY, how="left")
        scores[draw] = aligned["score"].to_numpy(dtype=np.float64)
        ranks[draw] = rank_within_year(aligned).to_numpy(dtype=np.float64)
    return entities, scores, ranks


def wide_panel(seed: int) -> pd.DataFrame:
    """Eight cities over two years, with gaps, a KPI without benchmark, an unassessable year."""
    rng = np.random.default_rng(seed)
    panel = {f"c{i}": list(rng.uniform(5, 100, size=3)) for i in range(8)}
    frames = []
    for year in (2023, 2024):
        frame = toy_items(panel).assign(year=year)
        frame["value"] = frame["value"] * rng.uniform(0.8, 1.2, size=len(frame))
        frames.append(frame)
    items = pd.concat(frames, ignore_index=True)
    items.loc[rng.random(len(items)) < 0.2, "value"] = NAN  # not reported
    items.loc[items["code"] == "B", "target"] = NAN  # no benchmark: never assessable
    # In 2024 the EN dimension has nothing assessable: it must not count as missing above.
    items.loc[(items["code"] == "C") & (items["year"] == 2024), "target"] = NAN
    return items


@pytest.mark.parametrize(("scheme", "noise", "seed"), [("uniform", 0.25, 0), ("dirichlet", 0.3, 5)])
def test_vectorised_draws_equal_the_pandas_aggregation(scheme: str, noise: float, seed: int):
    items = wide_panel(seed)
    entities, scores, ranks = reference_monte_carlo_scores(items, 30, seed, noise, scheme)
    summary = monte_carlo_ranks(
        items,
        n=30,
        seed=seed,
        weight_noise=noise,
        weight_scheme=scheme,  # type: ignore[arg-type]
    )
    with warnings.catch_warnings():  # a city never scored gives an all-NaN column
        warnings.simplefilter("ignore", category=RuntimeWarning)
        expected = entities.assign(
            median_rank=np.nanmedian(ranks, axis=0),
            rank_p05=np.nanpercentile(ranks, 5, axis=0),
            rank_p95=np.nanpercentile(ranks, 95, axis=0),
            mean_score=np.nanmean(scores, axis=0),
            draws=(~np.isnan(ranks)).sum(axis=0),
        )
    merged = expected.merge(summary, on=["city", "year"], suffixes=("_old", ""))
    assert len(merged) == len(expected) == len(summary)
    for column in ("median_rank", "rank_p05", "rank_p95", "draws"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_old"], err_msg=column)
    np.testing.assert_allclose(merged["mean_score"], merged["mean_score_old"], rtol=1e-12)

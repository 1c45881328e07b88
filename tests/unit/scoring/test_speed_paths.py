"""The faster algorithms of issue 18 (speed) give exactly what the ones they replaced gave.

Each reference below is the previous implementation (or a plain pandas version of it), kept
here only: the band-edge search with its separate banding pass, the confidence grade with a
fresh temporary per test, percentile ranks through pandas, the composite level frames built
by joining scores and counts on their keys, the absolute methods item by item, and the U4SSC
group frames gathered cell by cell. Comparisons are exact.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.bands import BAND_EDGES, band_of
from kpi_app.scoring.composite import aggregate_levels, normalise_items, score_composite
from kpi_app.scoring.confidence import THRESHOLDS, grade_codes
from kpi_app.scoring.normalise import min_ranks, percentile_rank
from kpi_app.scoring.percent import (
    EDGE_WINDOW,
    LOWER_BETTER,
    OTHER,
    TARGET_VALUE,
    _settled_percent,
    percent_and_points,
)
from kpi_app.scoring.spec import Normalisation, ScoringSpec, resolve_spec
from kpi_app.scoring.u4ssc import score_u4ssc
from tests.unit.scoring.test_composite_fast_paths import (
    LEVEL_KEYS,
    random_panel,
    reference_category_counts,
    reference_coverage,
)


def old_percent_and_points(values, targets, directions, boolean):
    """percent_from_codes and band_of as they were before (settle, then booleans, then other)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        percent = values / targets
        lower = directions == LOWER_BETTER
        np.divide(targets, values, out=percent, where=lower)
        meets = (targets == 0.0) & lower & (values == 0.0)
        percent[meets] = np.inf
        rows = np.flatnonzero(directions == TARGET_VALUE)
        percent[rows] = np.maximum(0.0, 1.0 - np.abs(percent[rows] - 1.0))
        percent *= 100.0
    low, high = BAND_EDGES[0] - EDGE_WINDOW, BAND_EDGES[-1] + EDGE_WINDOW
    candidates = np.flatnonzero((percent >= low) & (percent <= high))
    close = np.zeros(candidates.size, dtype=bool)
    for edge in BAND_EDGES:
        close |= np.abs(percent[candidates] - edge) <= EDGE_WINDOW
    for row in candidates[close]:
        settled = _settled_percent(float(values[row]), float(targets[row]), int(directions[row]))
        if not np.isnan(settled):
            percent[row] = settled
    answer = np.where(values == targets, 100.0, 0.0)
    answer[np.isnan(values) | np.isnan(targets)] = np.nan
    percent[boolean] = answer[boolean]
    percent[directions == OTHER] = np.nan
    return percent, band_of(percent)


@pytest.mark.parametrize("seed", range(6))
def test_percent_and_points_equal_the_previous_two_passes(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    targets = rng.choice([10.0, 3.0, 7.0, 0.3, 100.0, 0.0], n)
    shares = rng.choice([0.33, 0.66, 0.95, 0.3300000001, 0.65999999, 0.5, 1.2], n)
    values = np.where(rng.random(n) < 0.5, targets * shares, rng.lognormal(0, 1, n))
    values[rng.random(n) < 0.05] = 0.0
    values[rng.random(n) < 0.1] = np.nan
    targets[rng.random(n) < 0.05] = np.nan
    directions = rng.integers(0, 4, n).astype(np.int8)
    boolean = rng.random(n) < 0.05
    values[boolean] = rng.integers(0, 2, int(boolean.sum()))
    targets[boolean] = 1.0
    got_percent, got_points = percent_and_points(values, targets, directions, boolean)
    want_percent, want_points = old_percent_and_points(values, targets, directions, boolean)
    np.testing.assert_array_equal(got_percent, want_percent)
    np.testing.assert_array_equal(got_points, want_points)
    assert np.array_equal(got_points, band_of(got_percent))


def test_rows_just_outside_the_window_keep_their_float_percent():
    # Between one and two windows from an edge: a candidate of the wider search that must
    # not be settled (the exact window test decides), and still banded right.
    values = np.array([33 + 1.5 * EDGE_WINDOW, 66 - 1.5 * EDGE_WINDOW, 95 + 3 * EDGE_WINDOW])
    targets = np.full(3, 100.0)
    directions = np.zeros(3, dtype=np.int8)
    percent, points = percent_and_points(values, targets, directions, np.zeros(3, bool))
    np.testing.assert_array_equal(percent, values / targets * 100.0)
    assert points.tolist() == [2, 2, 4]


def old_grade_codes(scored_core, total_core, scored, total, reliable):
    def at_least(numerator, denominator, bound: Fraction):
        return (numerator * bound.denominator >= bound.numerator * denominator) & (denominator > 0)

    out = np.zeros(scored.shape, dtype=np.int8)
    for index, name in enumerate(("medium", "high"), start=1):
        core_min, items_min, reliable_min = THRESHOLDS[name]
        core_ok = (total_core == 0) | at_least(scored_core, total_core, core_min)
        ok = core_ok & at_least(scored, total, items_min) & at_least(reliable, scored, reliable_min)
        out[ok] = index
    out[scored == 0] = -1
    return out


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_grade_codes_equal_the_previous_version(dtype):
    rng = np.random.default_rng(3)
    n = 50_000
    total_core = rng.integers(0, 12, n)
    total_advanced = rng.integers(0, 12, n)
    scored_core = rng.integers(0, total_core + 1)
    scored = scored_core + rng.integers(0, total_advanced + 1)
    reliable = rng.integers(0, scored + 1)
    counts = [
        np.asarray(x, dtype=dtype)
        for x in (scored_core, total_core, scored, total_core + total_advanced, reliable)
    ]
    np.testing.assert_array_equal(grade_codes(*counts), old_grade_codes(*counts))


@pytest.mark.parametrize("seed", range(5))
def test_min_ranks_and_percentile_rank_equal_pandas_rank(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = rng.choice([0.0, -0.0, 1.5, 2.0, 7.25, np.inf], n) + rng.integers(0, 3, n)
    np.testing.assert_array_equal(
        min_ranks(values), pd.Series(values).rank(method="min").to_numpy()
    )
    values[rng.random(n) < 0.2] = np.nan
    for direction in ("higher_better", "lower_better"):
        oriented = values if direction == "higher_better" else -values
        ranks = pd.Series(oriented).rank(method="min").to_numpy()
        reported = int(np.count_nonzero(~np.isnan(oriented)))
        with np.errstate(invalid="ignore", divide="ignore"):
            want = (ranks - 1.0) / (reported - 1) * 100.0 if reported > 1 else ranks * np.nan
        np.testing.assert_array_equal(percentile_rank(values, direction=direction), want)


def old_level_frames(items: pd.DataFrame, preset: str) -> dict[str, pd.DataFrame]:
    """The composite level frames as built before: scores and counts joined on their keys."""
    spec = resolve_spec(preset)
    scored_items = normalise_items(items, spec)
    levels = aggregate_levels(scored_items, spec)
    counts = reference_category_counts(scored_items)
    reliable = scored_items["quality"].between(1, 3) & scored_items["score"].notna()
    by = [scored_items[key].reset_index(drop=True) for key in ("city", "year", "category")]
    reliable_counts = reliable.reset_index(drop=True).astype(np.int64).groupby(by).sum()
    counts["scored_reliable"] = reliable_counts.to_numpy()
    frames = {}
    for level, keys in LEVEL_KEYS.items():
        coverage = reference_coverage(counts, keys)
        sums = counts.groupby(keys, observed=True, sort=True)[
            ["scored_core", "total_core", "scored_advanced", "total_advanced", "scored_reliable"]
        ].sum()
        joined = levels[level].merge(
            coverage.merge(sums.reset_index(), on=keys), on=keys, how="left"
        )
        frames[level] = joined
    return frames


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("preset", ["minmax-geo", "percentile-arith", "distance-arith"])
def test_composite_level_frames_equal_the_joined_version(seed, preset):
    items = random_panel(seed, categorical=bool(seed % 2))
    result = score_composite(items, preset)
    old = old_level_frames(items, preset)
    for level, keys in LEVEL_KEYS.items():
        frame, want = result.level(level), old[level]
        text = {key: str for key in keys if key != "year"}
        pd.testing.assert_frame_equal(
            frame[keys].astype(text).reset_index(drop=True),
            want[keys].astype(text).reset_index(drop=True),
        )
        # The dense aggregation sums children in the layout's order, not in row order: the
        # last bit of a float may differ (docs/scoring.md, "Hierarchy"); NaN where NaN.
        for column in ("score", "weight_share"):
            np.testing.assert_allclose(
                frame[column].to_numpy(), want[column].to_numpy(), rtol=1e-13, atol=1e-12
            )
        assert frame["withheld_reason"].tolist() == want["withheld_reason"].tolist()
        for column in ("scored_items", "total_items"):
            assert frame[column].tolist() == want[column].tolist(), (level, column)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage_core = want["scored_core"] / want["total_core"].replace(0, np.nan)
        np.testing.assert_array_equal(frame["coverage_core"].to_numpy(), coverage_core)
        grades = grade_codes(
            *(
                want[name].to_numpy(dtype=np.int64)
                for name in ("scored_core", "total_core", "scored_items", "total_items")
            ),
            want["scored_reliable"].to_numpy(dtype=np.int64),
        )
        grades[want["score"].isna().to_numpy()] = -1
        np.testing.assert_array_equal(frame["confidence"].cat.codes.to_numpy(), grades)


@pytest.mark.parametrize("seed", range(6))
def test_absolute_methods_from_the_shared_percent_equal_item_by_item(seed):
    items = random_panel(seed, categorical=bool(seed % 2))
    rng = np.random.default_rng(seed)
    items["value_type"] = np.where(rng.random(len(items)) < 0.05, "boolean", "")
    yes_no = items["value_type"] == "boolean"
    items.loc[yes_no, "value"] = rng.integers(0, 2, int(yes_no.sum())).astype(float)
    items.loc[yes_no, "target"] = 1.0
    # Mixed directions within one KPI are allowed by the input contract.
    flip = rng.random(len(items)) < 0.02
    items["direction"] = items["direction"].astype(str).where(~flip, "lower_better")
    percent = score_u4ssc(items).items["percent_of_target"].to_numpy()
    code = str(items["code"].iloc[0])
    for spec in (
        resolve_spec("distance-arith"),
        resolve_spec("points-arith"),
        ScoringSpec(
            normalisation=Normalisation("distance_to_target"),
            overrides={code: Normalisation("u4ssc_points")},
        ),
    ):
        shared = normalise_items(items, spec, percent=percent)
        one_by_one = normalise_items(items, spec)
        np.testing.assert_array_equal(shared["score"].to_numpy(), one_by_one["score"].to_numpy())


@pytest.mark.parametrize("seed", range(6))
def test_u4ssc_group_frames_equal_a_group_by(seed):
    # Rows missing: some (city, year, category) cells are empty, the frames' sparse path.
    items = random_panel(seed, categorical=bool(seed % 2))
    result = score_u4ssc(items)
    scored = result.items.assign(
        p=result.items["points"].fillna(0).astype(np.int64),
        s=result.items["scored"].astype(np.int64),
        n=1,
    )
    for level, keys in LEVEL_KEYS.items():
        by = [scored[key].astype(str) if key != "year" else scored[key] for key in keys]
        sums = scored.groupby(by, sort=False)[["p", "s", "n"]].sum()
        frame = result.level(level)
        lookup = [frame[key].astype(str) if key != "year" else frame[key] for key in keys]
        want = sums.loc[pd.MultiIndex.from_arrays(lookup) if len(keys) > 1 else lookup[0]]
        assert frame["scored_items"].tolist() == want["s"].tolist(), level
        assert frame["total_items"].tolist() == want["n"].tolist(), level
        points = want["p"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = points * 100.0 / (4 * want["s"].to_numpy(dtype=np.float64))
        np.testing.assert_array_equal(frame["score"].to_numpy(), score)
        np.testing.assert_array_equal(frame["points"].to_numpy(), points)


@pytest.mark.parametrize("preset", ["minmax-arith", "distance-geo"])
def test_a_weight_column_is_read_as_item_weights(preset):
    # A frame's own weight column used to clash with the renamed item weights (two
    # "weight" columns, a broadcasting error). Equal weights of 2 give the same scores as
    # none: every weighted sum is exactly twice the unweighted one.
    items = random_panel(2, categorical=True)
    plain = score_composite(items, preset)
    weighted = score_composite(items.assign(weight=2.0), preset)
    for level in LEVEL_KEYS:
        np.testing.assert_array_equal(
            weighted.level(level)["score"].to_numpy(), plain.level(level)["score"].to_numpy()
        )
    assert (weighted.items["item_weight"] == 2.0).all()

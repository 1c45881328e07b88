"""The integer-code fast paths of composite scoring give what the pandas versions they replaced
gave, on random panels (performance work of issue 18; docs/performance.md).

Each reference below is the previous implementation, written with pandas group-bys, merges
and string maps: the coverage counts (now rolled up along the aggregation's own groups, no
join), the confidence grades (a second count over every item row) and the peer group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring import composite
from kpi_app.scoring.composite import (
    COUNT_COLUMNS,
    _parent_ids,
    _peer_group,
    normalise_items,
    score_composite,
)
from kpi_app.scoring.confidence import (
    CONFIDENCE_GRADES,
    core_rows,
    grade_codes,
    level_confidence,
    reliable_rows,
)
from kpi_app.scoring.spec import PRESETS, resolve_spec
from kpi_app.scoring.u4ssc import validated_inputs

LEVEL_KEYS = {
    "categories": ["city", "year", "category"],
    "sub_dimensions": ["city", "year", "sub_dimension"],
    "dimensions": ["city", "year", "dimension"],
    "overall": ["city", "year"],
}
#: (dimension, sub-dimension, category) of a small random hierarchy, deliberately not in
#: sorted order so that codes in order of appearance and sorted codes differ.
HIERARCHY = [
    ("SC", "SC: SH", "SC: SH: S"),
    ("EC", "EC: P", "EC: P: IN"),
    ("EC", "EC: ICT", "EC: ICT: WS"),
    ("EC", "EC: ICT", "EC: ICT: ICT"),
    ("EN", "EN: EN", "EN: EN: AQ"),
    ("SC", "SC: EH", "SC: EH: ED"),
]
DIRECTIONS = ["higher_better", "lower_better", "target_value", "other"]


def random_panel(seed: int, *, categorical: bool) -> pd.DataFrame:
    """Items of a random catalogue for random cities and years, some rows missing."""
    rng = np.random.default_rng(seed)
    catalogue = []
    for dimension, sub, category in HIERARCHY:
        for number in range(1, int(rng.integers(1, 5)) + 1):
            tier = "core" if rng.random() < 0.6 else "advanced"
            points = [""] if rng.random() < 0.8 else ["a", "b"]
            for point in points:
                catalogue.append(
                    {
                        "code": f"{category}: {number}{tier[0].upper()}",
                        "data_point": point,
                        "dimension": dimension,
                        "sub_dimension": sub,
                        "category": category,
                        "tier": tier,
                        "direction": str(rng.choice(DIRECTIONS, p=[0.55, 0.3, 0.1, 0.05])),
                        "target": np.nan if rng.random() < 0.1 else float(rng.uniform(5, 100)),
                    }
                )
    items = pd.DataFrame(catalogue)
    cities = [f"city-{i}" for i in rng.permutation(int(rng.integers(2, 12)))]
    years = list(range(2020, 2020 + int(rng.integers(1, 4))))
    panel = pd.concat(
        [items.assign(city=city, year=year) for city in cities for year in years],
        ignore_index=True,
    )
    rows = len(panel)
    panel["value"] = np.where(
        rng.random(rows) < 0.3, np.nan, panel["target"].fillna(50) * rng.lognormal(0, 0.6, rows)
    )
    panel["quality"] = np.where(rng.random(rows) < 0.2, np.nan, rng.integers(1, 7, rows))
    # Some cities skip whole items (rows absent, not only values missing).
    panel = panel.sample(frac=float(rng.uniform(0.6, 1.0)), random_state=seed)
    panel = panel.reset_index(drop=True)
    if categorical:
        keys = ["city", "code", "data_point", "dimension", "sub_dimension", "category", "tier"]
        panel = panel.astype(dict.fromkeys(keys, "category"))
    return panel


def reference_category_counts(scored_items: pd.DataFrame) -> pd.DataFrame:
    core = core_rows(scored_items["tier"])
    scored = scored_items["score"].notna().to_numpy()
    counts = pd.DataFrame(
        {
            "scored_core": scored & core,
            "total_core": core,
            "scored_advanced": scored & ~core,
            "total_advanced": ~core,
        }
    ).astype(np.int64)
    by = [scored_items[key].reset_index(drop=True) for key in ("city", "year", "category")]
    totals = counts.groupby(by, sort=True, observed=True).sum().reset_index()
    parents = _parent_ids(scored_items)
    sub = totals["category"].astype(str).map(parents["category"])
    return totals.assign(
        sub_dimension=sub.astype("category"),
        dimension=sub.map(parents["sub_dimension"]).astype("category"),
    )


def reference_coverage(category_counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    by = [category_counts[key] for key in keys]
    totals = (
        category_counts[list(COUNT_COLUMNS)]
        .groupby(by, sort=True, observed=True)
        .sum()
        .reset_index()
    )
    scored = totals["scored_core"] + totals["scored_advanced"]
    return totals[keys].assign(
        scored_items=scored, total_items=totals["total_core"] + totals["total_advanced"]
    )


def reference_grades(items: pd.DataFrame, frame: pd.DataFrame, keys: list[str]) -> list:
    """Confidence grade of each row of ``frame``: a group-by over every item row."""
    scored = items["score"].notna().to_numpy()
    core = core_rows(items["tier"])
    masks = pd.DataFrame(
        {
            "scored_core": scored & core,
            "total_core": core,
            "scored": scored,
            "total": np.ones(len(items), dtype=bool),
            "reliable": reliable_rows(items) & scored,
        }
    ).astype(np.int64)
    by = [items[key].astype(str if key != "year" else np.int64).to_numpy() for key in keys]
    sums = masks.groupby(by, sort=True).sum()
    lookup = pd.MultiIndex.from_arrays(
        [frame[key].astype(str if key != "year" else np.int64).to_numpy() for key in keys]
    )
    counts = sums.reindex(lookup.to_flat_index() if len(keys) > 1 else lookup).to_numpy()
    codes = grade_codes(*(counts[:, column] for column in range(5)))
    codes[frame["score"].isna().to_numpy()] = -1
    names = np.array([*CONFIDENCE_GRADES, None], dtype=object)
    return names[codes].tolist()


@pytest.mark.parametrize("seed", range(8))
def test_coverage_counts_equal_the_group_by_version(seed):
    # Counts are now rolled up along the aggregation's own groups, row for row with each
    # level's scores; they must equal a pandas group-by over every item row, joined by key.
    items = random_panel(seed, categorical=bool(seed % 2))
    result = score_composite(items, "minmax-arith")
    scored_items = normalise_items(items, resolve_spec("minmax-arith"))
    expected = reference_category_counts(scored_items)
    for level, keys in LEVEL_KEYS.items():
        frame = result.level(level)
        want = reference_coverage(expected, keys)
        as_text = {key: str for key in keys if key != "year"}
        joined = (
            frame[keys]
            .astype(as_text)
            .merge(want.astype(as_text), on=keys, how="left", validate="one_to_one")
        )
        for column in ("scored_items", "total_items"):
            assert frame[column].tolist() == joined[column].astype(int).tolist(), level


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("preset", ["minmax-geo", "percentile-arith", "points-arith"])
def test_confidence_from_own_counts_equals_a_count_over_every_item(seed, preset):
    items = random_panel(seed, categorical=bool(seed % 2))
    result = score_composite(items, preset)
    scored_items = normalise_items(items, resolve_spec(preset))
    frames = {name: result.level(name) for name in LEVEL_KEYS}
    generic = level_confidence(items, scored_items["score"].notna().to_numpy(), frames)
    names = np.array([*CONFIDENCE_GRADES, None], dtype=object)
    for name, keys in LEVEL_KEYS.items():
        got = [None if pd.isna(grade) else grade for grade in frames[name]["confidence"]]
        assert got == names[generic[name]].tolist(), name
        assert got == reference_grades(scored_items, frames[name], keys), name


@pytest.mark.parametrize("seed", range(4))
def test_peer_group_equals_the_distinct_pairs(seed):
    items = random_panel(seed, categorical=bool(seed % 2))
    pairs = items[["city", "year"]].drop_duplicates()
    want = tuple(
        sorted((str(c), int(y)) for c, y in zip(pairs["city"], pairs["year"], strict=True))
    )
    assert _peer_group(validated_inputs(items)) == want


def test_text_and_categorical_keys_score_alike_with_every_preset():
    # The fast paths must not depend on categorical input.
    as_text_items = random_panel(3, categorical=False)
    as_codes_items = random_panel(3, categorical=True)
    for name, spec in PRESETS.items():
        if spec.method != composite.METHOD_NAME:
            continue
        as_text = score_composite(as_text_items, name)
        as_codes = score_composite(as_codes_items, name)
        for level in LEVEL_KEYS:
            left, right = as_text.level(level), as_codes.level(level)
            keys = [key for key in LEVEL_KEYS[level] if key != "year"]
            pd.testing.assert_frame_equal(
                left.astype(dict.fromkeys(keys, str)).reset_index(drop=True),
                right.astype(dict.fromkeys(keys, str)).reset_index(drop=True),
            )

"""Confidence grades of group scores, against hand-computed values (docs/scoring.md, Confidence)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring import score
from kpi_app.scoring.confidence import grade
from kpi_app.scoring.frame import build_items
from kpi_app.scoring.spec import ScoringSpec, resolve_spec

TINY = [
    ("EC: ICT: ICT: 1C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "higher_better", 100.0),
    ("EC: ICT: ICT: 2C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "higher_better", 50.0),
    ("EC: ICT: ICT: 3A", "", "EC", "EC: ICT", "EC: ICT: ICT", "advanced", "higher_better", 10.0),
    ("EC: ICT: ICT: 4C", "", "EC", "EC: ICT", "EC: ICT: ICT", "core", "lower_better", 20.0),
    ("EC: ICT: WS: 1C", "", "EC", "EC: ICT", "EC: ICT: WS", "core", "higher_better", 100.0),
    ("EC: P: IN: 1C", "", "EC", "EC: P", "EC: P: IN", "core", "higher_better", 3.0),
    ("EN: EN: AQ: 1C", "pm25", "EN", "EN: EN", "EN: EN: AQ", "core", "lower_better", 5.0),
    ("EN: EN: AQ: 1C", "pm10", "EN", "EN: EN", "EN: EN: AQ", "core", "lower_better", 15.0),
]
COLUMNS = ["code", "data_point", "dimension", "sub_dimension", "category", "tier", "direction"]


def tiny_catalogue() -> pd.DataFrame:
    return pd.DataFrame(TINY, columns=[*COLUMNS, "target"])


# alpha, 2024, on the tiny catalogue (value, data-quality level):
#   EC: ICT: ICT  1C 100 q1, 2C 20 q2, 3A (advanced) 7 q5, 4C 40 q3 → all 4 scored, core 3/3,
#                 reliable 3/4 = 0.75 < 4/5                                        → medium
#   EC: ICT: WS   1C not reported                                                   → None
#   EC: P: IN     1C 3, no quality level (counts as unknown): reliable 0/1          → low
#   EN: EN: AQ    pm25 5 q1, pm10 15 q2: core 2/2, items 2/2, reliable 2/2          → high
VALUES = {
    ("EC: ICT: ICT: 1C", ""): (100.0, 1),
    ("EC: ICT: ICT: 2C", ""): (20.0, 2),
    ("EC: ICT: ICT: 3A", ""): (7.0, 5),
    ("EC: ICT: ICT: 4C", ""): (40.0, 3),
    ("EC: P: IN: 1C", ""): (3.0, np.nan),
    ("EN: EN: AQ: 1C", "pm25"): (5.0, 1),
    ("EN: EN: AQ: 1C", "pm10"): (15.0, 2),
}
EXPECTED = {
    "categories": {
        "EC: ICT: ICT": "medium",
        "EC: ICT: WS": None,
        "EC: P: IN": "low",
        "EN: EN: AQ": "high",
    },
    # EC: ICT: core 3/4 = 0.75 (≥ 3/5, < 9/10), items 4/5, reliable 3/4 → medium.
    "sub_dimensions": {"EC: ICT": "medium", "EC: P": "low", "EN: EN": "high"},
    # EC: core 4/5, items 5/6, reliable 3/5 ≥ 1/2 → medium.
    "dimensions": {"EC": "medium", "EN": "high"},
}
# Overall: core 6/7 < 9/10, items 7/8, reliable 5/7 → medium.
EXPECTED_OVERALL = "medium"


def quality_items() -> pd.DataFrame:
    items = tiny_catalogue()
    items.insert(0, "city", "alpha")
    items.insert(1, "year", 2024)
    keys = list(zip(items["code"], items["data_point"], strict=True))
    items["value"] = [VALUES.get(key, (np.nan, np.nan))[0] for key in keys]
    items["quality"] = [VALUES.get(key, (np.nan, np.nan))[1] for key in keys]
    return items


def grades(result, level: str) -> dict[str, str | None]:
    frame = result.level(level)
    id_column = {"categories": "category", "sub_dimensions": "sub_dimension"}.get(
        level, "dimension"
    )
    return {
        group: None if pd.isna(grade) else grade
        for group, grade in zip(frame[id_column].astype(str), frame["confidence"], strict=True)
    }


@pytest.mark.parametrize("method", ["u4ssc", "distance-arith", "minmax-geo"])
def test_golden_grades_at_every_level(method):
    preset = resolve_spec(method)
    spec = (
        method
        if method == "u4ssc"
        else ScoringSpec(
            normalisation=preset.normalisation, aggregation=preset.aggregation, min_coverage=0.0
        )
    )
    result = score(quality_items(), spec)
    for level, expected in EXPECTED.items():
        assert grades(result, level) == expected, level
    assert result.overall["confidence"].tolist() == [EXPECTED_OVERALL]
    assert result.overall["confidence"].cat.ordered


def test_json_records_carry_the_grade():
    payload = score(quality_items(), "u4ssc").to_dict("alpha", 2024)
    categories = {c["id"]: c["confidence"] for c in payload["categories"]}
    assert categories == EXPECTED["categories"]
    assert {d["id"]: d["confidence"] for d in payload["dimensions"]} == EXPECTED["dimensions"]
    assert payload["overall"]["confidence"] == EXPECTED_OVERALL
    # Extended, not renamed: the older fields are all still there.
    assert {"score", "band", "coverage", "coverage_core", "coverage_advanced"} <= set(
        payload["overall"]
    )


def test_without_quality_levels_no_score_is_trusted_highly():
    items = quality_items().drop(columns="quality")
    result = score(items, "u4ssc")
    assert set(result.categories["confidence"].dropna()) == {"low"}


def test_a_withheld_composite_group_has_no_grade():
    # EC: ICT: WS is not reported: under min coverage 1 EC: ICT is withheld although 4 of its
    # 5 items are scored, and so are EC and the overall score.
    spec = ScoringSpec(min_coverage=1.0)
    result = score(quality_items(), spec)
    assert grades(result, "sub_dimensions")["EC: ICT"] is None
    assert grades(result, "dimensions") == {"EC": None, "EN": "high"}
    assert result.overall["confidence"].isna().all()


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # scored_core, total_core, scored, total, reliable
        ((9, 10, 15, 20, 12), "high"),  # every share exactly on the high bounds (inclusive)
        ((9, 10, 15, 20, 11), "medium"),  # reliable 11/15 < 4/5
        ((8, 10, 15, 20, 12), "medium"),  # core 8/10 < 9/10
        ((9, 10, 14, 20, 14), "medium"),  # items 14/20 < 3/4
        ((3, 5, 10, 20, 5), "medium"),  # exactly on every medium bound
        ((3, 5, 9, 20, 9), "low"),  # items 9/20 < 1/2
        ((2, 5, 10, 20, 10), "low"),  # core 2/5 < 3/5
        ((3, 5, 10, 20, 4), "low"),  # reliable 4/10 < 1/2
        ((0, 0, 4, 4, 4), "high"),  # no core item: the core bound does not apply
        ((0, 3, 0, 6, 0), None),  # nothing scored: no score, no grade
    ],
)
def test_bounds_are_exact_and_inclusive(counts, expected):
    assert grade(*([n] for n in counts)).tolist() == [expected]


def test_build_items_carries_the_quality_level():
    catalogue = tiny_catalogue()
    values = pd.DataFrame(
        {
            "city": ["alpha", "alpha"],
            "year": [2024, 2024],
            "code": ["EC: ICT: ICT: 1C", "EC: P: IN: 1C"],
            "data_point": ["", ""],
            "value": [100.0, 3.0],
            "quality": [2, None],
        }
    )
    benchmarks = catalogue[["code", "data_point", "target"]]
    items = build_items(catalogue.drop(columns="target"), benchmarks, values)
    by_code = dict(zip(items["code"].astype(str), items["quality"], strict=False))
    assert by_code["EC: ICT: ICT: 1C"] == 2
    assert np.isnan(by_code["EC: P: IN: 1C"])
    assert np.isnan(by_code["EC: ICT: WS: 1C"])  # not reported


@pytest.mark.parametrize("seed", range(6))
def test_u4ssc_grades_from_its_own_sums_equal_the_generic_count(seed):
    # The U4SSC engine takes the confidence counts from its segment sums (one pass per
    # level); the composite methods count them with level_confidence. Both must agree on
    # any panel: random values (some missing), quality levels (some unknown), weights, and
    # cities that report nothing in a category.
    from kpi_app.scoring.confidence import CONFIDENCE_GRADES, level_confidence
    from kpi_app.scoring.u4ssc import score_u4ssc

    rng = np.random.default_rng(seed)
    catalogue = tiny_catalogue()
    panel = pd.concat(
        [catalogue.assign(city=city, year=year) for city in "abcd" for year in (2023, 2024)],
        ignore_index=True,
    )
    rows = len(panel)
    panel["value"] = np.where(rng.random(rows) < 0.3, np.nan, rng.uniform(0, 120, rows))
    panel["quality"] = np.where(rng.random(rows) < 0.2, np.nan, rng.integers(1, 7, rows))
    if seed % 2:
        panel["weight"] = rng.choice([0.0, 0.5, 1.0, 2.0], rows)
    result = score_u4ssc(panel)
    frames = {name: result.level(name) for name in ("categories", "sub_dimensions",
                                                     "dimensions", "overall")}  # fmt: skip
    scored = result.items["scored"].to_numpy()
    expected = level_confidence(panel, scored, frames)
    names = np.array([*CONFIDENCE_GRADES, None], dtype=object)
    for name, frame in frames.items():
        got = [None if pd.isna(g) else g for g in frame["confidence"]]
        assert got == names[expected[name]].tolist(), name
        assert frame["confidence"].cat.ordered

"""Composite scoring on the dense layout gives what the frame aggregation gives.

``score_composite`` aggregates on the U4SSC engine's dense (item × city-year) matrix
(``composite_dense``); ``aggregate_levels`` still aggregates frames with group-bys (the
sensitivity analysis uses it). On random panels — rows missing, rows shuffled, text and
categorical keys, quality levels — every preset, weights at every level, per-level
aggregation and coverage rules give the same scores, weight shares and withheld reasons at
every level. Scores may differ in the last bit (the sums run in another order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_app.scoring.composite import aggregate_levels, normalise_items, score_composite
from kpi_app.scoring.composite_dense import GROUP_BAND_DECIMALS
from kpi_app.scoring.spec import PRESETS, ScoringSpec, resolve_spec
from tests.unit.scoring.test_composite_fast_paths import LEVEL_KEYS, random_panel


def _compare(items: pd.DataFrame, spec: ScoringSpec) -> None:
    result = score_composite(items, spec)
    want = aggregate_levels(normalise_items(items, spec), spec)
    for level, keys in LEVEL_KEYS.items():
        got, expected = result.level(level), want[level]
        assert len(got) == len(expected), level
        text = {key: str for key in keys if key != "year"}
        pd.testing.assert_frame_equal(
            got[keys].astype(text).reset_index(drop=True),
            expected[keys].astype(text).reset_index(drop=True),
        )
        np.testing.assert_allclose(
            got["score"].to_numpy(), expected["score"].to_numpy(), rtol=1e-13, atol=1e-12
        )
        np.testing.assert_allclose(
            got["weight_share"].to_numpy(), expected["weight_share"].to_numpy(), rtol=1e-13
        )
        assert got["withheld_reason"].tolist() == expected["withheld_reason"].tolist(), level


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("preset", [name for name in PRESETS if name != "u4ssc"])
def test_every_preset_equals_the_frame_aggregation(seed, preset):
    _compare(random_panel(seed, categorical=bool(seed % 2)), resolve_spec(preset))


@pytest.mark.parametrize("seed", range(6))
def test_weights_per_level_aggregation_and_coverage_equal_the_frame_aggregation(seed):
    items = random_panel(seed, categorical=bool(seed % 2))
    rng = np.random.default_rng(seed)
    codes = sorted(set(items["code"].astype(str)))
    spec = ScoringSpec.from_dict(
        {
            "method": "composite",
            "normalisation": "min_max",
            "aggregation": "arithmetic",
            "level_aggregation": {"sub_dimension": "geometric", "overall": "geometric"},
            "min_coverage": float(rng.choice([0.0, 0.5, 0.8])),
            "weights": {
                "item": {code: float(rng.choice([0.0, 0.5, 2.0])) for code in codes[::2]},
                "category": {"EC: ICT: WS": 3.0, "SC: SH: S": 0.0},
                "dimension": {"EN": 2.0},
            },
            "down_weight_low_quality": bool(seed % 2),
        }
    )
    _compare(items, spec)


def test_a_group_score_on_a_band_edge_takes_the_upper_band():
    # Three items scoring 68.1, 69.8 and 60.1 (distance to target): their mean is 66 exactly,
    # but summed in this order in floats it is 65.99999999999999, just under the edge.
    scores = [68.1, 69.8, 60.1]
    assert (scores[0] + scores[1] + scores[2]) / 3 < 66.0
    rows = [
        {"code": f"EC: ICT: ICT: {n}C", "value": value, "target": 100.0}
        for n, value in enumerate(scores, start=1)
    ]
    items = pd.DataFrame(rows).assign(
        city="x",
        year=2024,
        data_point="",
        dimension="EC",
        sub_dimension="EC: ICT",
        category="EC: ICT: ICT",
        tier="core",
        direction="higher_better",
    )
    result = score_composite(items, "distance-arith")
    for level in ("categories", "sub_dimensions", "dimensions", "overall"):
        group = result.level(level).iloc[0]
        assert abs(group["score"] - 66.0) < 10**-GROUP_BAND_DECIMALS, level
        assert group["band"] == 3, (level, group["score"])

"""Band edges are exact: a decimal value exactly on 33 / 66 / 95 % of its target takes the band
above (docs/scoring.md §3.1), on every path that bands a % of target.

The reference is exact arithmetic with :class:`fractions.Fraction` on the decimals as typed.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi_app.catalogue import load_benchmark_sets, load_catalogue
from kpi_app.scoring import band_of, build_items, percent_of_target, score
from kpi_app.scoring.explain import next_band_moves
from kpi_app.scoring.normalise import u4ssc_points
from kpi_app.twin.needle import value_for_percent

EDGES = (33, 66, 95)


def exact_band(value: Decimal, target: Decimal, direction: str) -> int:
    """Band points of the exact % of target of two decimals (the documented rule)."""
    v, t = Fraction(value), Fraction(target)
    if direction == "higher_better":
        percent = v * 100 / t
    elif direction == "lower_better":
        percent = t * 100 / v
    else:
        percent = max(Fraction(0), 100 * (1 - abs(v - t) / t))
    return 1 + sum(percent >= edge for edge in EDGES)


def engine_band(value: Decimal, target: Decimal, direction: str) -> int:
    return int(band_of(percent_of_target(float(value), float(target), direction)))


# --- the cases of the issue ------------------------------------------------------------------


def test_six_point_six_of_ten_is_exactly_66_percent_band_3() -> None:
    percent = percent_of_target(6.6, 10, "higher_better")
    assert percent == 66.0
    assert int(band_of(percent)) == 3


def test_sc_eh_h_1c_55_44_of_84_is_band_3() -> None:
    assert percent_of_target(55.44, 84, "higher_better") == 66.0
    assert int(band_of(percent_of_target(55.44, 84, "higher_better"))) == 3


def test_lower_better_is_target_over_value_directly() -> None:
    # 749.1795 / 788.61 = 0.95 exactly; 1 / (788.61 / 749.1795) lands a hair below.
    assert percent_of_target(788.61, 749.1795, "lower_better") == 95.0
    assert int(band_of(percent_of_target(788.61, 749.1795, "lower_better"))) == 4


def test_just_below_an_edge_stays_below() -> None:
    assert int(band_of(percent_of_target(6.5999999999, 10, "higher_better"))) == 2
    assert percent_of_target(6.5999999999, 10, "higher_better") < 66.0


def one_item_frame(value: float, target: float, direction: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": ["alpha"],
            "year": [2024],
            "code": ["EN: EN: AQ: 1C"],
            "data_point": [""],
            "dimension": ["EN"],
            "sub_dimension": ["EN: EN"],
            "category": ["EN: EN: AQ"],
            "tier": ["core"],
            "direction": [direction],
            "value": [value],
            "target": [target],
        }
    )


@pytest.mark.parametrize("method", ["u4ssc", "points-arith"])
def test_u4ssc_and_points_arith_agree_at_the_95_edge(method: str) -> None:
    items = one_item_frame(788.61, 749.1795, "lower_better")
    overall = score(items, method).overall
    assert float(overall["score"].iloc[0]) == 100.0
    assert int(overall["band"].iloc[0]) == 4


def test_u4ssc_points_normaliser_uses_the_same_edge() -> None:
    scores = u4ssc_points(np.array([6.6, 55.44]), target=np.array([10.0, 84.0]))
    assert list(scores) == [75.0, 75.0]


@pytest.mark.parametrize("edge", EDGES)
def test_group_score_exactly_on_an_edge_takes_the_upper_band(edge: int) -> None:
    """Every pooled score points ÷ (4 × n) that equals an edge exactly is that edge."""
    frames = []
    for n in range(1, 101):
        points = Fraction(edge * 4 * n, 100)
        if points.denominator != 1 or not n <= points <= 4 * n:
            continue
        # n items whose points sum to ``points``: as many 4s as fit, the rest 1s and one filler.
        fours, rest = divmod(int(points) - n, 3)
        item_points = [4] * fours + ([1 + rest] if rest else [])
        item_points += [1] * (n - len(item_points))
        percent = {1: 10.0, 2: 50.0, 3: 80.0, 4: 100.0}
        frame = pd.concat(
            [one_item_frame(percent[p], 100.0, "higher_better") for p in item_points],
            ignore_index=True,
        )
        frame["code"] = [f"EN: EN: AQ: {i}C" for i in range(n)]
        frame["city"] = f"n{n}"
        frames.append(frame)
    assert len(frames) > 3
    overall = score(pd.concat(frames, ignore_index=True), "u4ssc").overall
    assert overall["score"].tolist() == [float(edge)] * len(frames)
    assert overall["band"].astype(int).tolist() == [EDGES.index(edge) + 2] * len(frames)


def test_needle_and_next_band_moves_reach_the_exact_edge_value() -> None:
    assert value_for_percent(66.0, 5.0, 10.0, "higher_better") == 6.6
    assert value_for_percent(95.0, 800.0, 749.1795, "lower_better") == 788.61
    items = one_item_frame(5.0, 10.0, "higher_better")
    moves = next_band_moves(score(items, "u4ssc"), "alpha", 2024, "EN")
    assert moves["value_needed"].tolist() == [6.6]


# --- every numeric item of the indicative set, at each edge -----------------------------------


def _significant(number: Fraction, digits: int, rounding: str) -> Decimal:
    """``number`` rounded to ``digits`` significant digits in the given direction."""
    with localcontext() as context:
        context.prec = digits
        context.rounding = rounding
        return +(Decimal(number.numerator) / Decimal(number.denominator))


def placements(target: Decimal, edge: int, direction: str) -> list[tuple[Decimal, int]]:
    """(value, documented band) pairs exactly on the edge, or straddling it when the exact
    placement has no finite decimal (lower-better: target × 100 / edge)."""
    t = Fraction(target)
    if direction == "lower_better":
        exact = t * 100 / edge
        upper = _significant(exact, 12, ROUND_FLOOR)  # ≤ exact: % ≥ edge
        lower = _significant(exact, 12, ROUND_CEILING)  # ≥ exact: % ≤ edge
        if Fraction(upper) == exact:
            return [(upper, EDGES.index(edge) + 2)]
        return [(upper, EDGES.index(edge) + 2), (lower, EDGES.index(edge) + 1)]
    on_edge = target * edge / 100  # higher-better, and two-sided from below the target
    return [(on_edge, EDGES.index(edge) + 2)]


def numeric_items() -> pd.DataFrame:
    loaded = load_catalogue()
    catalogue = loaded.to_frame()
    benchmarks = load_benchmark_sets(loaded)["indicative-2026"].to_frame()
    items = build_items(
        catalogue,
        benchmarks,
        pd.DataFrame(
            {"city": ["x"], "year": [2024], "code": [catalogue["code"].iloc[0]],
             "data_point": [catalogue["data_point"].iloc[0]], "value": [np.nan]}
        ),
    )  # fmt: skip
    numeric = (
        items["target"].notna()
        & (items["direction"].astype(str) != "other")
        & (items["value_type"].astype(str) != "boolean")
    )
    return items.loc[numeric.to_numpy()].reset_index(drop=True)


def test_the_indicative_set_has_numeric_items_of_every_scored_direction() -> None:
    items = numeric_items()
    assert len(items) > 80  # the issue counted 83 numeric items (84 with the two-sided one)
    assert set(items["direction"].astype(str)) == {
        "higher_better",
        "lower_better",
        "target_value",
    }


@pytest.mark.parametrize("edge", EDGES)
def test_every_indicative_item_placed_on_an_edge_lands_in_the_documented_band(edge: int) -> None:
    template = numeric_items()
    rows, expected = [], []
    for position, item in template.iterrows():
        target = Decimal(repr(float(item["target"])))
        for value, band in placements(target, edge, str(item["direction"])):
            assert exact_band(value, target, str(item["direction"])) == band  # the reference
            rows.append(item.to_dict() | {"value": float(value), "city": f"c{position}-{band}"})
            expected.append(band)
    frame = pd.DataFrame(rows).astype({"year": "int64"})
    frame["city"] = frame["city"].astype(str)
    # One city per placement, so both vectorised paths see every row at once.
    result = score(frame, "u4ssc")
    assert result.items["points"].astype(int).tolist() == expected
    points_arith = score(frame, "points-arith").items["score"].tolist()
    assert points_arith == [band * 25.0 for band in expected]


# --- property: the engine agrees with the Fraction reference -----------------------------------

decimals = st.decimals(min_value="0.001", max_value="100000", places=3, allow_nan=False)


@st.composite
def on_or_near_edge(draw: st.DrawFn) -> tuple[Decimal, Decimal, str]:
    """A target and a value on an edge (or one unit of the last decimal off it)."""
    direction = draw(st.sampled_from(["higher_better", "lower_better", "target_value"]))
    edge = Decimal(draw(st.sampled_from(EDGES)))
    base = draw(decimals)
    nudge = Decimal(draw(st.sampled_from([-1, 0, 1]))) * Decimal("0.00001")
    if direction == "lower_better":
        # Pick the value, derive the target: target = value × edge / 100 is a finite decimal.
        return base, base * edge / 100 + nudge, direction
    return base * edge / 100 + nudge, base, direction


@settings(max_examples=400, deadline=None)
@given(st.one_of(on_or_near_edge(), st.tuples(decimals, decimals, st.sampled_from(
    ["higher_better", "lower_better", "target_value"]))))  # fmt: skip
@example((Decimal("6.6"), Decimal("10"), "higher_better"))
@example((Decimal("788.61"), Decimal("749.1795"), "lower_better"))
def test_engine_band_matches_exact_fraction_band(case: tuple[Decimal, Decimal, str]) -> None:
    value, target, direction = case
    if value <= 0 or target <= 0:
        return
    assert engine_band(value, target, direction) == exact_band(value, target, direction)


@settings(max_examples=200, deadline=None)
@given(st.lists(on_or_near_edge(), min_size=1, max_size=30))
def test_vectorised_path_matches_exact_fraction_band(
    cases: list[tuple[Decimal, Decimal, str]],
) -> None:
    cases = [case for case in cases if case[0] > 0 and case[1] > 0]
    if not cases:
        return
    values = np.array([float(v) for v, _, _ in cases])
    targets = np.array([float(t) for _, t, _ in cases])
    directions = [d for _, _, d in cases]
    bands = band_of(percent_of_target(values, targets, directions)).tolist()
    assert bands == [exact_band(v, t, d) for v, t, d in cases]

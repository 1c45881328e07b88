"""Projections: hand-computed OLS lines, compound growth, prediction intervals, clipping."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpi_app.twin.projections import project, projection_table
from kpi_app.twin.stats import t_critical_95


def test_linear_trend_on_exact_line_has_zero_width_interval() -> None:
    trend = project([2020, 2021, 2022], [10.0, 12.0, 14.0], "linear", target_year=2030)
    # slope 2 per year; 14 + 2 × 8 = 30; no residuals, so the interval collapses on the line.
    assert trend.value == pytest.approx(30.0)
    assert trend.annual_change == pytest.approx(2.0)
    assert trend.lower == pytest.approx(30.0)
    assert trend.upper == pytest.approx(30.0)
    assert trend.n_points == 3 and (trend.first_year, trend.last_year) == (2020, 2022)


def test_linear_prediction_interval_by_hand() -> None:
    # x̄ = 2021, ȳ = 37/3, Sxx = 2, Sxy = 4 → slope 2; ŷ(2030) = 37/3 + 18 = 30.333…
    # residuals −1/3, 2/3, −1/3 → SSE = 2/3, s = √(2/3) with 1 degree of freedom;
    # half width = 12.706 × s × √(1 + 1/3 + 81/2) = 67.10…
    trend = project([2020, 2021, 2022], [10.0, 13.0, 14.0], "linear", target_year=2030)
    centre = 37 / 3 + 18
    half = 12.706 * math.sqrt(2 / 3) * math.sqrt(1 + 1 / 3 + 81 / 2)
    assert trend.value == pytest.approx(centre)
    assert trend.upper == pytest.approx(centre + half)
    # The lower end would be negative: a KPI value cannot be, so it is clipped to 0.
    assert trend.lower == 0.0
    assert trend.has_interval


def test_compound_growth_by_hand() -> None:
    trend = project([2020, 2021, 2022], [100.0, 110.0, 121.0], "compound", target_year=2030)
    assert trend.annual_change == pytest.approx(0.10)
    assert trend.value == pytest.approx(100.0 * 1.1**10)
    assert trend.lower == pytest.approx(trend.value)  # exact fit on the log scale


def test_two_points_give_a_line_but_no_interval() -> None:
    trend = project([2022, 2024], [40.0, 44.0], "linear", target_year=2030)
    assert trend.value == pytest.approx(56.0)
    assert math.isnan(trend.lower) and not trend.has_interval
    assert "no uncertainty band" in trend.note


def test_one_point_is_no_trend_and_nan_values_are_skipped() -> None:
    trend = project([2022, 2023], [40.0, float("nan")], "linear")
    assert math.isnan(trend.value)
    assert "fewer than two" in trend.note


def test_compound_needs_positive_values() -> None:
    trend = project([2020, 2021, 2022], [0.0, 1.0, 2.0], "compound")
    assert math.isnan(trend.value)
    assert "above zero" in trend.note


def test_projection_clipped_to_plausible_maximum() -> None:
    trend = project([2020, 2021], [80.0, 90.0], "linear", plausible_max=100.0)
    assert trend.value == 100.0
    assert "clipped" in trend.note


def test_duplicate_years_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per year"):
        project([2020, 2020, 2021], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("dof", "expected"),
    [(1, 12.706), (10, 2.228), (30, 2.042), (35, 2.030), (1000, 1.962)],
)
def test_t_quantile_table_and_interpolation(dof: int, expected: float) -> None:
    assert t_critical_95(dof) == pytest.approx(expected, abs=1e-3)


def test_projection_table_bands_and_progress() -> None:
    series = pd.DataFrame(
        {
            "code": ["A"] * 3 + ["B"] * 3,
            "data_point": [""] * 6,
            "year": [2020, 2021, 2022] * 2,
            "value": [10.0, 12.0, 14.0, 30.0, 28.0, 26.0],
        }
    )
    meta = pd.DataFrame(
        {
            "code": ["A", "B"],
            "data_point": ["", ""],
            "target": [40.0, 10.0],
            "direction": ["higher_better", "lower_better"],
            "plausible_min": [0.0, 0.0],
            "plausible_max": [100.0, float("nan")],
        }
    )
    table = projection_table(series, meta, target_year=2030).set_index(["code", "method"])
    linear_a = table.loc[("A", "linear")]
    # A reaches 30 in 2030: 30/40 = 75 % of target → band 3.
    assert linear_a["projected"] == pytest.approx(30.0)
    assert linear_a["percent_of_target"] == pytest.approx(75.0)
    assert linear_a["band"] == 3
    # B falls 2 a year to 10 in 2030: 10/10 = 100 % → band 4 (lower is better).
    assert table.loc[("B", "linear"), "projected"] == pytest.approx(10.0)
    assert table.loc[("B", "linear"), "band"] == 4
    # Progress compares achieved with needed growth: A needs (40/10)^(1/10) − 1 ≈ 14.9 %/yr
    # and achieved (14/10)^(1/2) − 1 ≈ 18.3 %/yr → on track.
    assert linear_a["progress"] == "on track"
    assert set(table.index.get_level_values("method")) == {"linear", "compound"}

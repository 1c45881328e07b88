"""Pure scoring of local KPIs: the U4SSC arithmetic (exact edges), apart from the catalogue."""

from __future__ import annotations

import pandas as pd
import pytest

from kpi_app.scoring.local import score_local


def items(*rows):
    return pd.DataFrame(rows, columns=["code", "data_point", "value", "target", "direction"])


@pytest.mark.parametrize(
    ("value", "target", "direction", "band"),
    [
        (6.6, 10.0, "higher_better", 3),  # exactly 66 %: the upper band
        (3.3, 10.0, "higher_better", 2),  # exactly 33 %
        (9.5, 10.0, "higher_better", 4),  # exactly 95 %
        (3.2999, 10.0, "higher_better", 1),
        (10.0, 6.6, "lower_better", 3),  # 6.6 / 10 = 66 % exactly
        (12.25, 5.0, "lower_better", 2),  # 40.8 %
        (0.0, 5.0, "lower_better", 4),  # nothing emitted meets any ceiling
        (105.0, 100.0, "target_value", 4),  # 5 % away from a two-sided target: 95 %
    ],
)
def test_bands_use_the_u4ssc_edges_exactly(value, target, direction, band):
    result = score_local(items(("LOCAL:x:A", "", value, target, direction)))
    assert int(result.items["band"].iloc[0]) == band


def test_without_benchmark_or_value_reported_but_not_scored():
    result = score_local(
        items(
            ("LOCAL:x:A", "", 50.0, 100.0, "higher_better"),  # 50 %: band 2
            ("LOCAL:x:B", "", 30.0, None, "higher_better"),  # no benchmark
            ("LOCAL:x:C", "", None, 10.0, "higher_better"),  # not reported
            ("LOCAL:x:D", "", 1.0, 1.0, "other"),  # no direction
            ("LOCAL:x:E", "", 9.5, 10.0, "higher_better"),  # 95 %: band 4
        )
    )
    assert list(result.items["band"]) == [2, 0, 0, 0, 4]
    assert result.scored_items == 2 and result.total_items == 5
    assert result.score == pytest.approx((2 + 4) / 8 * 100)  # 75.0
    assert result.band == 3


def test_nothing_scored_gives_no_score():
    result = score_local(items(("LOCAL:x:B", "", 30.0, None, "higher_better")))
    assert result.score is None and result.band == 0
    empty = score_local(items())
    assert empty.score is None and empty.total_items == 0


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="lack column"):
        score_local(pd.DataFrame({"code": ["x"]}))

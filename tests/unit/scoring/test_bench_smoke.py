"""Smoke test of the scoring benchmark script at a tiny size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "score_bench.py"


def test_bench_runs_at_tiny_size_and_prints_its_measurements() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--cities", "20", "--years", "2", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = dict(
        line.split(":", 1)
        for line in completed.stdout.splitlines()
        if ":" in line and not line.startswith("#")
    )
    assert float(lines["ratio_vs_baseline"]) > 0
    assert float(lines["ratio_vs_baseline_cpu"].split()[0]) > 0
    assert float(lines["ratio_vs_baseline_user"].split()[0]) >= 0
    assert float(lines["composite_ratio_vs_u4ssc_user"].split()[0]) >= 0
    assert float(lines["engine_s"].split()[0]) > 0
    assert float(lines["peak_ratio_vs_input"]) >= 1.0
    # Composite presets against the U4SSC rule, measured in the same run on the same panel.
    assert float(lines["composite_ratio_vs_u4ssc"].split()[0]) > 0
    assert "composite_cpu_s[percentile-arith]" in lines
    assert "panel: 20 cities x 2 years" in completed.stdout


@pytest.mark.parametrize("flag", ["--synthetic"])
def test_bench_synthetic_catalogue_has_the_u4ssc_shape(flag: str) -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        import score_bench  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BENCH.parent))
    catalogue = score_bench.synthetic_catalogue()
    assert catalogue["code"].nunique() == 91
    assert catalogue["dimension"].nunique() == 3
    assert catalogue["sub_dimension"].nunique() == 7
    assert len(catalogue) == 112  # 84 single-value KPIs + 28 data points of 7 KPIs
    report = score_bench.main(["--cities", "3", "--years", "1", "--repeat", "1", flag])
    assert report["rows"] == 3 * 112

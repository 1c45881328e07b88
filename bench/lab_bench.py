"""Speed of the methods lab's leave-one-KPI-out: rescoring per KPI vs the one-pass method.

On a synthetic panel of ``--cities`` cities × 1 year (the U4SSC catalogue's shape, see
``bench/score_bench.py``), times in one process (``time.process_time``, median of
``--repeat``):

* ``rescore_s``: leave-one-out as before, ``score(items without the KPI, spec)`` per KPI;
* ``fast_s``: :func:`kpi_app.scoring.sensitivity.leave_one_out` (normalise once, one
  integer-coded aggregation pass per KPI);
* ``speedup``: rescore_s / fast_s, and ``max_score_difference`` between the two (the
  one-pass method must give the same numbers).

Run: ``.venv/bin/python bench/lab_bench.py [--cities N] [--repeat N] [--spec PRESET]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from score_bench import real_catalogue, synthetic_catalogue, synthetic_panel

from kpi_app.scoring import score
from kpi_app.scoring.sensitivity import leave_one_out, rank_within_year


def rescoring_leave_one_out(items: pd.DataFrame, spec: str) -> pd.DataFrame:
    """The reference: rescore the panel without each KPI (what leave_one_out did before)."""
    rows = []
    codes = items["code"].astype(str)
    for code in pd.unique(codes):
        overall = score(items.loc[(codes != code).to_numpy()], spec).overall
        rows.append(overall.assign(code=code, rank=rank_within_year(overall).to_numpy()))
    return pd.concat(rows, ignore_index=True)


def median_cpu(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spec", default="minmax-arith")
    args = parser.parse_args(argv)
    catalogue = real_catalogue()
    if catalogue is None:
        catalogue = synthetic_catalogue()
    items = synthetic_panel(catalogue, args.cities, 1, seed=0)
    slow = rescoring_leave_one_out(items, args.spec)
    fast = leave_one_out(items, args.spec)
    merged = fast.astype({"city": str}).merge(
        slow.astype({"city": str})[["code", "city", "score"]], on=["code", "city"]
    )
    difference = float(np.nanmax(np.abs(merged["score_without"] - merged["score"])))
    rescore_s = median_cpu(lambda: rescoring_leave_one_out(items, args.spec), args.repeat)
    fast_s = median_cpu(lambda: leave_one_out(items, args.spec), args.repeat)
    result = {
        "rescore_s": rescore_s,
        "fast_s": fast_s,
        "speedup": rescore_s / fast_s,
        "max_score_difference": difference,
    }
    print(f"cities: {args.cities}  spec: {args.spec}  kpis: {items['code'].nunique()}")
    for key, value in result.items():
        print(f"{key}: {value:.3g}")
    return result


if __name__ == "__main__":
    main()

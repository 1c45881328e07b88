"""Speed and memory benchmark of the U4SSC scoring engine on a synthetic city panel.

Builds an items frame of ``cities × years × catalogue items`` (default 10,000 × 10 × ~112 items
≈ 11 M rows), then reports from one run:

* ``engine_s``: wall time of ``score_u4ssc`` (items, categories, sub-dimensions, dimensions,
  overall), best of ``--repeat`` runs;
* ``numpy_s``: a numpy lower bound on the same arrays, one vectorised pass computing % of
  target and points plus one ``np.bincount`` to dimension level, best of ``--repeat``;
* ``ratio_vs_baseline``: engine / numpy;
* ``ratio_vs_baseline_cpu``: the same ratio in CPU time (``time.process_time``, median of
  ``--repeat`` runs each), which a machine shared with other processes disturbs far less;
* ``ratio_vs_baseline_user`` and ``composite_ratio_vs_u4ssc_user``: the same two ratios in
  user CPU time only (``resource.getrusage``, median of ``--repeat``). Process time includes
  the kernel's time zeroing fresh pages, which swings with the memory pressure of other
  processes on a shared machine; user time is the computation alone;
* ``composite_ratio_vs_u4ssc``: CPU time (``time.process_time``, median of ``--repeat`` runs)
  of the slowest composite preset over the U4SSC rule's, both on the same panel of
  ``--composite-years`` years (default 1: 10,000 cities x 1 year), each preset listed;
* peak memory while scoring (tracemalloc, which numpy reports its buffers to) and its ratio to
  the input frame's own memory.

The real catalogue is used when ``kpi_app.catalogue`` can load it, else a synthetic catalogue
of the same shape (3 dimensions, 7 sub-dimensions, 27 categories, 91 KPIs, 7 with data points).

Run: ``.venv/bin/python bench/score_bench.py [--cities N] [--years N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.u4ssc import DIRECTIONS, LOWER_BETTER, TARGET_VALUE, score_u4ssc

#: (dimension, sub-dimension, category, KPI count) as in the U4SSC structure (91 KPIs).
SYNTHETIC_STRUCTURE: tuple[tuple[str, str, str, int], ...] = (
    ("EC", "ICT", "ICT", 5),
    ("EC", "ICT", "WS", 2),
    ("EC", "ICT", "D", 1),
    ("EC", "ICT", "ES", 3),
    ("EC", "ICT", "T", 3),
    ("EC", "ICT", "PS", 3),
    ("EC", "P", "IN", 3),
    ("EC", "P", "EM", 4),
    ("EC", "I", "WS", 5),
    ("EC", "I", "WA", 1),
    ("EC", "I", "ES", 3),
    ("EC", "I", "T", 8),
    ("EC", "I", "B", 2),
    ("EC", "I", "UP", 2),
    ("EN", "EN", "AQ", 2),
    ("EN", "EN", "WS", 4),
    ("EN", "EN", "WA", 1),
    ("EN", "EN", "EQ", 2),
    ("EN", "EN", "PSN", 4),
    ("EN", "E", "E", 4),
    ("SC", "EH", "ED", 4),
    ("SC", "EH", "H", 6),
    ("SC", "EH", "C", 2),
    ("SC", "SH", "HO", 2),
    ("SC", "SH", "SI", 5),
    ("SC", "SH", "S", 9),
    ("SC", "SH", "FS", 1),
)

#: Number of data points of the multi-valued KPIs (3G/4G, open data, modal shares, planning
#: principles, pollutants, wastewater levels, waste routes), placed on the first KPIs above.
SYNTHETIC_DATA_POINTS: tuple[int, ...] = (2, 2, 5, 5, 5, 3, 6)


def synthetic_catalogue(seed: int = 0) -> pd.DataFrame:
    """A catalogue + benchmark frame of the U4SSC shape with made-up directions and targets."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    multi = iter(SYNTHETIC_DATA_POINTS)
    for dimension, sub, category, n_kpis in SYNTHETIC_STRUCTURE:
        for number in range(1, n_kpis + 1):
            tier = "core" if rng.random() < 0.6 else "advanced"
            code = f"{dimension}: {sub}: {category}: {number}{tier[0].upper()}"
            n_points = next(multi, 1) if number == 1 else 1
            for point in range(n_points):
                direction = rng.choice(DIRECTIONS, p=[0.62, 0.27, 0.03, 0.08])
                rows.append(
                    {
                        "code": code,
                        "data_point": f"dp{point + 1}" if n_points > 1 else "",
                        "dimension": dimension,
                        "sub_dimension": f"{dimension}: {sub}",
                        "category": f"{dimension}: {sub}: {category}",
                        "tier": tier,
                        "direction": direction,
                        "value_type": "boolean" if rng.random() < 0.04 else "percentage",
                        # About one item in twelve has no benchmark, as in U4SSC reports.
                        "target": np.nan if rng.random() < 0.08 else float(rng.uniform(5, 100)),
                    }
                )
    frame = pd.DataFrame(rows)
    frame.loc[frame["value_type"] == "boolean", ["target", "direction"]] = [1.0, "higher_better"]
    return frame


def real_catalogue() -> pd.DataFrame | None:
    """The project's catalogue joined with the indicative benchmark set, if it can be loaded."""
    try:
        from kpi_app.catalogue import load_benchmark_sets, load_catalogue  # type: ignore[attr-defined]

        catalogue = load_catalogue()
        items = catalogue.to_frame()
        benchmarks = load_benchmark_sets(catalogue)["indicative-2026"].to_frame()
    except Exception as error:  # any failure means "not ready yet": fall back to synthetic
        print(f"# real catalogue not loadable ({type(error).__name__}: {error}); using synthetic")
        return None
    merged = items.merge(benchmarks, on=["code", "data_point"], how="left", suffixes=("", "_bm"))
    override = merged["direction_bm"].notna()
    merged.loc[override, "direction"] = merged.loc[override, "direction_bm"]
    columns = ["code", "data_point", "dimension", "sub_dimension", "category", "tier"]
    return merged[[*columns, "direction", "value_type", "target"]]


def synthetic_panel(
    catalogue: pd.DataFrame, n_cities: int, n_years: int, seed: int
) -> pd.DataFrame:
    """Items frame of every catalogue item for every (city, year), keys as categoricals.

    Categorical keys are what ``frame.build_items`` produces and what a realistic caller
    passes: one small integer per row instead of one string reference.
    """
    rng = np.random.default_rng(seed)
    n_items = len(catalogue)
    n_entities = n_cities * n_years
    n_rows = n_entities * n_items
    item = np.tile(np.arange(n_items, dtype=np.int32), n_entities)
    entity = np.repeat(np.arange(n_entities, dtype=np.int32), n_items)
    city_codes = entity // n_years
    years = 2015 + entity % n_years
    columns: dict[str, Any] = {
        "city": pd.Categorical.from_codes(city_codes, [f"city-{i:05d}" for i in range(n_cities)]),
        "year": years.astype(np.int64),
    }
    for name in ("code", "data_point", "dimension", "sub_dimension", "category", "tier"):
        columns[name] = _categorical_column(catalogue[name], item)
    columns["direction"] = _categorical_column(catalogue["direction"], item)
    columns["value_type"] = _categorical_column(catalogue["value_type"].fillna(""), item)
    target = catalogue["target"].to_numpy(dtype=np.float64)[item]
    scale = np.where(np.isnan(target), 50.0, target)
    value = scale * rng.lognormal(mean=-0.2, sigma=0.6, size=n_rows)
    boolean = columns["value_type"] == "boolean"
    value[boolean] = rng.integers(0, 2, size=int(boolean.sum()))
    value[rng.random(n_rows) < 0.15] = np.nan  # not reported
    columns["value"] = value
    columns["target"] = target
    return pd.DataFrame(columns)


def _categorical_column(per_item: pd.Series, item: npt.NDArray[np.int32]) -> pd.Categorical:
    codes, labels = pd.factorize(per_item.astype(str))
    return pd.Categorical.from_codes(codes[item], labels)


@dataclass(frozen=True)
class BaselineArrays:
    """Plain arrays the numpy lower bound works on (prepared outside its timing)."""

    value: npt.NDArray[np.float64]
    target: npt.NDArray[np.float64]
    direction: npt.NDArray[np.int8]
    dimension_group: npt.NDArray[np.int64]
    n_groups: int


def baseline_arrays(items: pd.DataFrame) -> BaselineArrays:
    lookup = np.array([DIRECTIONS.index(name) for name in items["direction"].cat.categories])
    direction = lookup[items["direction"].cat.codes.to_numpy()].astype(np.int8)
    city_code = items["city"].cat.codes.to_numpy().astype(np.int64)
    city_year = pd.factorize(city_code * 10_000 + items["year"].to_numpy())[0]
    n_dim = len(items["dimension"].cat.categories)
    group = city_year.astype(np.int64) * n_dim + items["dimension"].cat.codes.to_numpy()
    return BaselineArrays(
        value=items["value"].to_numpy(),
        target=items["target"].to_numpy(),
        direction=direction,
        dimension_group=group,
        n_groups=int(group.max()) + 1,
    )


def numpy_lower_bound(arrays: BaselineArrays) -> npt.NDArray[np.float64]:
    """% of target, points and dimension scores in the fewest numpy passes we could write."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = arrays.value / arrays.target
        lower = arrays.direction == LOWER_BETTER
        np.divide(1.0, ratio, out=ratio, where=lower)
        two_sided = arrays.direction == TARGET_VALUE
        np.subtract(1.0, np.abs(ratio - 1.0), out=ratio, where=two_sided)
        percent = ratio * 100.0
    points = 1 + (percent >= 33).view(np.int8) + (percent >= 66).view(np.int8)
    points += (percent >= 95).view(np.int8)
    points[np.isnan(percent)] = 0
    point_sum = np.bincount(arrays.dimension_group, weights=points, minlength=arrays.n_groups)
    scored = np.bincount(arrays.dimension_group, weights=points > 0, minlength=arrays.n_groups)
    with np.errstate(invalid="ignore"):
        return point_sum / (4 * scored) * 100


def best_time(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def traced_peak(function: Callable[[], object]) -> int:
    """Bytes allocated at the worst moment of ``function`` beyond what existed before it."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - baseline


def median_times(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median CPU time (process time) and median user CPU time of ``function``."""
    cpu, user = [], []
    for _ in range(repeat):
        gc.collect()
        start, start_user = time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
        function()
        cpu.append(time.process_time() - start)
        user.append(resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_user.ru_utime)
    return float(np.median(cpu)), float(np.median(user))


def composite_ratios(
    items: pd.DataFrame, repeat: int
) -> tuple[tuple[float, float], dict[str, tuple[float, float]]]:
    """(CPU, user) time of the U4SSC rule and of every composite preset on the same panel."""
    from kpi_app.scoring.composite import score
    from kpi_app.scoring.spec import PRESETS

    u4ssc_s = median_times(lambda: score_u4ssc(items), repeat)
    presets = {
        name: median_times(lambda name=name: score(items, name), repeat)
        for name in PRESETS
        if name != "u4ssc"
    }
    return u4ssc_s, presets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="skip the real catalogue")
    parser.add_argument(
        "--composite-years", type=int, default=1, help="years of the composite-vs-U4SSC panel"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    catalogue = None if args.synthetic else real_catalogue()
    source = "real"
    if catalogue is None:
        catalogue, source = synthetic_catalogue(args.seed), "synthetic"
    build_start = time.perf_counter()
    items = synthetic_panel(catalogue, args.cities, args.years, args.seed)
    build_s = time.perf_counter() - build_start
    input_bytes = int(items.memory_usage(deep=True).sum())
    arrays = baseline_arrays(items)

    engine_s = best_time(lambda: score_u4ssc(items), args.repeat)
    numpy_s = best_time(lambda: numpy_lower_bound(arrays), args.repeat)
    engine_cpu_s, engine_user_s = median_times(lambda: score_u4ssc(items), args.repeat)
    numpy_cpu_s, numpy_user_s = median_times(lambda: numpy_lower_bound(arrays), args.repeat)
    extra_peak = traced_peak(lambda: score_u4ssc(items))
    peak_bytes = input_bytes + extra_peak
    composite_items = (
        items
        if args.composite_years >= args.years
        else synthetic_panel(catalogue, args.cities, args.composite_years, args.seed)
    )
    (u4ssc_cpu_s, u4ssc_user_s), preset_times = composite_ratios(composite_items, args.repeat)
    preset_cpu_s = {name: times[0] for name, times in preset_times.items()}
    preset_user_s = {name: times[1] for name, times in preset_times.items()}
    slowest = max(preset_cpu_s, key=preset_cpu_s.__getitem__)
    slowest_user = max(preset_user_s, key=preset_user_s.__getitem__)
    report = {
        "rows": float(len(items)),
        "engine_s": engine_s,
        "numpy_s": numpy_s,
        "ratio_vs_baseline": engine_s / numpy_s,
        "ratio_vs_baseline_cpu": engine_cpu_s / numpy_cpu_s,
        "ratio_vs_baseline_user": engine_user_s / max(numpy_user_s, 1e-9),
        "input_mb": input_bytes / 2**20,
        "peak_mb": peak_bytes / 2**20,
        "peak_ratio_vs_input": peak_bytes / input_bytes,
        "u4ssc_cpu_s": u4ssc_cpu_s,
        "composite_ratio_vs_u4ssc": preset_cpu_s[slowest] / u4ssc_cpu_s,
        "composite_ratio_vs_u4ssc_user": preset_user_s[slowest_user] / max(u4ssc_user_s, 1e-9),
    }
    machine = platform.processor() or platform.machine()
    versions = f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}"
    print(f"machine: {machine}, {os.cpu_count()} cores, {versions}")
    print(
        f"catalogue: {source}, {len(catalogue)} items; panel: {args.cities} cities x "
        f"{args.years} years = {len(items):,} rows (built in {build_s:.2f} s)"
    )
    print(f"engine_s: {engine_s:.3f}  (score_u4ssc, all four levels, best of {args.repeat})")
    print(f"numpy_s: {numpy_s:.3f}  (% of target + points + bincount to dimensions)")
    print(f"ratio_vs_baseline: {report['ratio_vs_baseline']:.2f}")
    print(
        f"ratio_vs_baseline_cpu: {report['ratio_vs_baseline_cpu']:.2f}  (CPU time, median of "
        f"{args.repeat}: engine {engine_cpu_s:.3f} s, numpy {numpy_cpu_s:.3f} s)"
    )
    print(
        f"ratio_vs_baseline_user: {report['ratio_vs_baseline_user']:.2f}  (user CPU time, "
        f"median of {args.repeat}: engine {engine_user_s:.3f} s, numpy {numpy_user_s:.3f} s)"
    )
    print(f"input_mb: {report['input_mb']:.1f}")
    extra_mb = extra_peak / 2**20
    print(f"peak_mb: {report['peak_mb']:.1f}  (input + {extra_mb:.1f} MB traced while scoring)")
    print(f"peak_ratio_vs_input: {report['peak_ratio_vs_input']:.2f}")
    print(
        f"composite panel: {args.cities} cities x {args.composite_years} years = "
        f"{len(composite_items):,} rows; CPU time, median of {args.repeat}"
    )
    print(f"u4ssc_cpu_s: {u4ssc_cpu_s:.3f}")
    for name, seconds in preset_cpu_s.items():
        print(f"composite_cpu_s[{name}]: {seconds:.3f}  ({seconds / u4ssc_cpu_s:.2f} x u4ssc)")
    print(f"composite_ratio_vs_u4ssc: {report['composite_ratio_vs_u4ssc']:.2f}  ({slowest})")
    print(
        f"composite_ratio_vs_u4ssc_user: {report['composite_ratio_vs_u4ssc_user']:.2f}  "
        f"({slowest_user}; user CPU time, u4ssc {u4ssc_user_s:.3f} s)"
    )
    print(f"process_max_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")
    return report


if __name__ == "__main__":
    main()

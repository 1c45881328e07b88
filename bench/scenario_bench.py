"""Scenario recomputation speed: how long the server takes to re-score one city's scenario.

What a "Recalculate" (or the live preview) costs on the server once the request is parsed:
apply the scenario's adjustments to the baseline, score baseline and scenario side by side at
every level (one engine call on 2 × ~117 items), and line the levels up for the page. Timed
with the real catalogue and benchmark set, a baseline with every item reported and a scenario
with a dozen changes and rules.

The trivial baseline, timed in the same process on the same arrays, is the least any
recomputation must do: one numpy pass computing % of target and band points for both sides
and one ``np.bincount`` to dimension level. ``ratio_vs_baseline`` = scenario time / that.

Usage: ``.venv/bin/python bench/scenario_bench.py [--repeat 50]``. Target: under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from kpi_app.catalogue import load_benchmark_sets, load_catalogue
from kpi_app.scoring.bands import band_of
from kpi_app.scoring.u4ssc import percent_of_target
from kpi_app.twin import (
    PairTemplate,
    ScenarioDefinition,
    apply_definition,
    compare_items,
    compare_level,
)

TARGET_MS = 100.0


def baseline_values(catalogue_frame: pd.DataFrame, targets: pd.Series, seed: int) -> pd.DataFrame:
    """Every item reported, spread around its target; yes/no items answer 0 or 1."""
    rng = np.random.default_rng(seed)
    frame = catalogue_frame[["code", "data_point"]].copy()
    keys = list(zip(frame["code"], frame["data_point"], strict=True))
    target = np.array([targets.get(k, np.nan) for k in keys], dtype=float)
    target = np.where(np.isnan(target), 50.0, target)
    values = target * rng.uniform(0.2, 1.3, len(frame))
    boolean = (catalogue_frame["value_type"] == "boolean").to_numpy()
    values[boolean] = rng.integers(0, 2, int(boolean.sum()))
    return frame.assign(value=values)


def scenario_definition(
    baseline: pd.DataFrame, catalogue_frame: pd.DataFrame
) -> ScenarioDefinition:
    """Six direct changes and six rules on non-boolean items."""
    numeric = baseline.loc[(catalogue_frame["value_type"] != "boolean").to_numpy()]
    picks = numeric.iloc[:: max(1, len(numeric) // 12)].head(12)
    changes, rules = [], []
    for position, row in enumerate(picks.itertuples(index=False)):
        if position % 2:
            changes.append(
                {"code": row.code, "data_point": row.data_point, "value": row.value * 1.2}
            )
        else:
            rules.append(
                {"kind": "growth", "code": row.code, "data_point": row.data_point, "amount": 0.05}
            )
    return ScenarioDefinition.from_dict({"horizon_year": 2030, "changes": changes, "rules": rules})


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    function()  # warm-up: first-call imports and caches are not what a user waits for
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def service_times(
    baseline: pd.DataFrame, definition: ScenarioDefinition, repeat: int
) -> list[float]:
    """The same recomputation through ``services.scenarios.evaluate`` on a stored scenario.

    Adds what the web request really pays besides rendering: reading the scenario row and its
    baseline copy from the database (in-memory SQLite here) and building the item table.
    """
    from kpi_app import create_app
    from kpi_app.config import TestingConfig
    from kpi_app.extensions import db
    from kpi_app.models import Assessment, Role, Scenario
    from kpi_app.services import cities, scenarios, users

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context(), app.test_request_context():
        db.create_all()
        city = cities.create_city("bench-city", "Bench City", "NO")
        owner, _ = users.create_user(
            "bench@example.org", Role.ADMIN, password="quartz-meadow-lantern-58"
        )
        assessment = Assessment(
            city=city, year=2024, catalogue_version="bench", benchmark_set="indicative-2026"
        )
        db.session.add(assessment)
        db.session.flush()
        stored = definition.to_dict()
        stored["baseline"] = {
            "source": "live",
            "captured_at": "2024-12-31T00:00:00",
            "values": [
                {"code": c, "data_point": p, "value": float(v)}
                for c, p, v in zip(
                    baseline["code"], baseline["data_point"], baseline["value"], strict=True
                )
            ],
        }
        scenario = Scenario(
            assessment_id=assessment.id, owner_id=owner.id, name="bench", definition=stored
        )
        db.session.add(scenario)
        db.session.commit()
        scenario_id = scenario.id

        def through_service() -> object:
            db.session.expire_all()  # re-read the row, as a new request would
            return scenarios.evaluate(scenarios.get_scenario(scenario_id))  # type: ignore[arg-type]

        return timed(through_service, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    catalogue = load_catalogue()
    benchmarks = load_benchmark_sets(catalogue)["indicative-2026"]
    catalogue_frame, benchmark_frame = catalogue.to_frame(), benchmarks.to_frame()
    targets = benchmark_frame.set_index(["code", "data_point"])["target"]
    baseline = baseline_values(catalogue_frame, targets, args.seed)
    definition = scenario_definition(baseline, catalogue_frame)
    bounds = catalogue_frame[["code", "data_point", "plausible_min", "plausible_max"]]

    start = time.perf_counter()
    template = PairTemplate(catalogue_frame, benchmark_frame, 2024)
    template_ms = (time.perf_counter() - start) * 1000

    def recompute() -> object:
        applied = apply_definition(baseline, definition, base_year=2024, bounds=bounds)
        result = template.score(applied)
        levels = {
            level: compare_level(result, level)
            for level in ("dimensions", "sub_dimensions", "categories", "overall")
        }
        return levels, compare_items(result)

    items = template.items
    value = np.concatenate([baseline["value"].to_numpy()] * 2)
    target = items["target"].to_numpy(dtype=float)
    direction = items["direction"].astype(str).to_numpy()
    value_type = items["value_type"].astype(str).to_numpy()
    dimension_codes = pd.factorize(items["dimension"])[0] + 3 * np.repeat([0, 1], len(baseline))

    def lower_bound() -> object:
        points = band_of(percent_of_target(value, target, direction, value_type))
        return np.bincount(dimension_codes, weights=points, minlength=6)

    scenario_ms = timed(recompute, args.repeat)
    trivial_ms = timed(lower_bound, args.repeat)
    median, trivial = statistics.median(scenario_ms), statistics.median(trivial_ms)
    print(f"items per side: {len(baseline)}; adjustments: {len(definition.adjustments)}")
    print(f"template build (once per catalogue/benchmark set/year): {template_ms:.1f} ms")
    print(
        f"scenario recompute: median {median:.1f} ms, p90 "
        f"{statistics.quantiles(scenario_ms, n=10)[-1]:.1f} ms over {args.repeat} runs"
    )
    print(f"trivial baseline (numpy % of target + bincount): median {trivial:.2f} ms")
    print(f"ratio_vs_baseline: {median / trivial:.1f}")
    print(f"target_under_{TARGET_MS:.0f}_ms: {'yes' if median < TARGET_MS else 'no'}")
    service_ms = statistics.median(service_times(baseline, definition, args.repeat))
    print(f"through services.scenarios.evaluate (DB read included): median {service_ms:.1f} ms")
    print(f"service ratio_vs_baseline: {service_ms / trivial:.1f}")


if __name__ == "__main__":
    main()

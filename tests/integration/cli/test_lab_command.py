"""`kpi-app lab` (run as its users run it: the console script in a subprocess) prints the
methods lab's rows for a published peer group, as JSON or CSV, and refuses bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from kpi_app.scoring import PRESETS
from kpi_app.services import scores
from tests.web.test_lab import lab_world  # noqa: F401  (the fixture: three published cities)

BIN = Path(sys.executable).parent


def kpi_lab(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"}
    return subprocess.run(
        [str(BIN / "kpi-app"), "lab", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lab_json_equals_the_scores_service(app, database_url, lab_world):  # noqa: F811
    done = kpi_lab(
        database_url, "--year", "2024", "--method", "minmax-geo", "--min-coverage", "0",
        "--draws", "20",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["spec"]["normalisation"]["name"] == "min_max"
    assert payload["spec"]["aggregation"] == "geometric"
    assert payload["cities"] == ["amby", "bmby", "cmby"]
    chosen = scores.published_assessments(None, years=[2024])
    spec = replace(PRESETS["minmax-geo"], min_coverage=0.0, name="lab")
    expected = scores.score_assessments(chosen, source="published", method=spec)
    by_city = expected.overall.set_index("city")["score"]
    overall = [r for r in payload["rows"] if r["level"] == "overall"]
    assert len(overall) == 3
    for row in overall:
        assert row["score"] is not None
        assert math.isclose(row["score"], by_city[row["city"]], abs_tol=1e-4)
        assert row["mc_scored_share"] is not None


def test_lab_csv_and_bad_input(app, database_url, lab_world):  # noqa: F811
    done = kpi_lab(
        database_url, "--year", "2024", "--city", "amby", "--city", "bmby", "--format", "csv"
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["city"] for r in rows} == {"amby", "bmby"}
    bad = kpi_lab(database_url, "--year", "2024", "--method", "u4ssc")
    assert bad.returncode == 1
    assert "unknown method 'u4ssc'; choose a composite preset" in bad.stderr
    bad = kpi_lab(database_url, "--year", "2024", "--min-coverage", "2")
    assert bad.returncode == 1 and "min_coverage must lie between 0 and 1" in bad.stderr

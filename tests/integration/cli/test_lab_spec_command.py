"""`kpi-app lab` with the full spec (subprocess, as users run it): peers by region and size,
weights, aggregation per level, quality down-weighting, leave-one-KPI-out, xlsx output and a
spec file downloaded from the lab."""

from __future__ import annotations

import json
import math

from openpyxl import load_workbook

from kpi_app.scoring import ScoringSpec
from kpi_app.services import scores
from tests.integration.cli.test_lab_command import kpi_lab
from tests.web.test_lab_spec import EUROPE, regional_world  # noqa: F401  (fixture)


def test_weights_regions_and_loo_from_the_command_line(app, database_url, regional_world):  # noqa: F811
    done = kpi_lab(
        database_url, "--year", "2024", "--normalisation", "min_max", "--min-coverage", "0",
        "--draws", "10", "--region", EUROPE, "--weight", "dimension:EC=3",
        "--weight", "item:EC: ICT: ICT: 1C=0.5", "--level-aggregation", "overall=geometric",
        "--down-weight-low-quality", "--loo-city", "amby",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["cities"] == ["amby", "bmby"]
    assert payload["spec"]["weights"] == {
        "dimension": {"EC": 3.0}, "item": {"EC: ICT: ICT: 1C": 0.5}
    }  # fmt: skip
    assert payload["spec"]["level_aggregation"] == {"overall": "geometric"}
    assert payload["spec"]["down_weight_low_quality"] is True
    spec = ScoringSpec.from_dict(payload["spec"])
    assert payload["fingerprint"] == spec.fingerprint()
    chosen = [a for a in scores.published_assessments(None, years=[2024]) if a.city.slug != "cmby"]
    expected = scores.score_assessments(chosen, source="published", method=spec)
    by_city = expected.overall.set_index("city")["score"]
    for row in payload["rows"]:
        if row["level"] == "overall":
            assert math.isclose(row["score"], by_city[row["city"]], abs_tol=1e-4)
    assert isinstance(payload["leave_one_out"], list)
    assert payload["leave_one_out_city"] == "amby"


def test_xlsx_output_and_spec_file(app, database_url, regional_world, tmp_path):  # noqa: F811
    spec_file = tmp_path / "spec.json"
    done = kpi_lab(
        database_url, "--year", "2024", "--normalisation", "min_max", "--draws", "10",
        "--size", "small", "--format", "json", "--output", str(tmp_path / "out.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads((tmp_path / "out.json").read_text())
    assert payload["cities"] == ["cmby"]
    document = {k: payload[k] for k in ("peer_group", "benchmark_set", "monte_carlo", "spec")}
    document["fingerprint"] = payload["fingerprint"]
    spec_file.write_text(json.dumps(document))
    again = kpi_lab(database_url, "--spec-file", str(spec_file))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["rows"] == payload["rows"]
    book_path = tmp_path / "lab.xlsx"
    done = kpi_lab(
        database_url, "--year", "2024", "--draws", "5", "--format", "xlsx", "--output",
        str(book_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = load_workbook(book_path)
    assert book.sheetnames == ["results", "leave_one_out", "spec"]
    spec_file.write_text("{broken")
    bad = kpi_lab(database_url, "--spec-file", str(spec_file), "--year", "2024")
    assert bad.returncode == 1 and "the spec file is not valid JSON" in bad.stderr
    bad = kpi_lab(database_url, "--year", "2024", "--weight", "EC=2")
    assert bad.returncode == 1 and "--weight must be LEVEL:ID=WEIGHT" in bad.stderr
    bad = kpi_lab(database_url, "--year", "2024", "--format", "xlsx")
    assert bad.returncode == 1 and "--format xlsx needs --output FILE" in bad.stderr

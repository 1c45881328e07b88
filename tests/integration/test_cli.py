"""`kpi-app` commands through Flask's CLI runner."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from kpi_app.config import PROJECT_ROOT
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, User

# A snapshot of ../shared/reference/u4ssc_kpis.csv, so the suite runs without shared/.
REFERENCE = PROJECT_ROOT / "tests" / "fixtures" / "reference" / "u4ssc_kpis.csv"


def reference_rows() -> dict[str, dict[str, str]]:
    with REFERENCE.open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def test_catalogue_json_lists_exactly_the_reference_kpis(runner):
    result = runner.invoke(args=["catalogue", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    reference = reference_rows()
    assert [r["code"] for r in records] == list(reference)
    for record in records:
        expected = reference[record["code"]]
        assert record["dimension"] == expected["dimension"]
        assert record["sub_dimension"] == expected["sub_dimension"]
        assert record["category"] == expected["category"]
        assert record["unit"]
        assert record["direction"] in {"higher_better", "lower_better", "target_value", "other"}
    multi = {r["code"]: len(r["data_points"]) for r in records if r["data_points"]}
    assert multi == {
        code: len(row["data_points"].split(";"))
        for code, row in reference.items()
        if row["data_points"]
    }


def test_catalogue_csv_has_one_row_per_kpi(runner):
    result = runner.invoke(args=["catalogue", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 91
    assert {"code", "name", "tier", "unit", "direction", "sdg_refs", "data_points"} <= set(rows[0])


def test_check_catalogue_passes_on_the_shipped_catalogue(runner):
    result = runner.invoke(args=["check-catalogue"])
    assert result.exit_code == 0, result.output
    assert "91 KPIs" in result.output


def test_check_catalogue_names_file_kpi_and_field_of_a_broken_file(runner, tmp_path: Path):
    broken = tmp_path / "indicators"
    shutil.copytree(PROJECT_ROOT / "indicators", broken)
    economy = broken / "economy.yaml"
    text = economy.read_text(encoding="utf-8")
    economy.write_text(text.replace("direction: higher_better", "direction: upwards", 1))
    result = runner.invoke(args=["check-catalogue", "--path", str(broken)])
    assert result.exit_code == 1
    assert "economy.yaml" in result.output
    assert "EC: ICT: ICT: 1C" in result.output
    assert "direction" in result.output
    assert "Traceback" not in result.output


def test_create_city_and_user(runner):
    result = runner.invoke(
        args=[
            "create-city",
            "tromso-demo",
            "--name",
            "Tromsø",
            "--country",
            "no",
            "--population",
            "77000",
        ]
    )
    assert result.exit_code == 0, result.output
    city = db.session.scalar(db.select(City).where(City.slug == "tromso-demo"))
    assert city is not None and city.country.iso2 == "NO" and city.country.name == "Norway"

    result = runner.invoke(
        args=["create-user", "Editor@Example.org", "--role", "city_editor", "--city", "tromso-demo"]
    )
    assert result.exit_code == 0, result.output
    assert "Password: " in result.output
    user = db.session.scalar(db.select(User).where(User.email == "editor@example.org"))
    assert user is not None and user.city_id == city.id


def test_create_commands_reject_bad_input_with_a_message(runner):
    bad_country = runner.invoke(args=["create-city", "x-city", "--name", "X", "--country", "ZZZ"])
    assert bad_country.exit_code == 1
    assert "ISO 3166" in bad_country.output
    bad_slug = runner.invoke(args=["create-city", "Not A Slug", "--name", "X", "--country", "NO"])
    assert bad_slug.exit_code == 1 and "slug" in bad_slug.output
    bad_role = runner.invoke(args=["create-user", "a@example.org", "--role", "king"])
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    no_city = runner.invoke(args=["create-user", "b@example.org", "--role", "city_editor"])
    assert no_city.exit_code == 1 and "--city" in no_city.output


def test_seed_demo_is_idempotent(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.u4ssc.test" in first.output
    counts = (
        db.session.scalar(db.select(db.func.count(City.id))),
        db.session.scalar(db.select(db.func.count(Assessment.id))),
        db.session.scalar(db.select(db.func.count(IndicatorValue.id))),
        db.session.scalar(db.select(db.func.count(User.id))),
    )
    assert counts[0] >= 5 and counts[1] >= 10 and counts[2] > 1000
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "admin@demo.u4ssc.test" not in second.output  # passwords are printed once
    assert counts == (
        db.session.scalar(db.select(db.func.count(City.id))),
        db.session.scalar(db.select(db.func.count(Assessment.id))),
        db.session.scalar(db.select(db.func.count(IndicatorValue.id))),
        db.session.scalar(db.select(db.func.count(User.id))),
    )
    assert (
        db.session.scalar(
            db.select(db.func.count(IndicatorValue.id)).where(IndicatorValue.reported.is_(False))
        )
        > 0
    )

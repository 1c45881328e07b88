"""Issue 15, consistency rules of the verification manual as data (indicators/consistency.yaml):
shares that must add up to about 100 %, wastewater treatment levels in order; and a peer
comparison that falls back to earlier published years and names its peers. Checked in the
screening service, in `kpi-app screen --format json` (a subprocess) and on the review page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kpi_app.extensions import db
from kpi_app.models import Role, Status
from kpi_app.services import screening, snapshots
from tests.factories import add_value, login, set_status

MODES = "EC: I: T: 4A"
WASTE = "EN: EN: WA: 1C"
WATER = "EN: EN: WS: 4C"
BIN = Path(sys.executable).parent
RULES_FILE = Path(__file__).resolve().parents[2] / "indicators" / "consistency.yaml"


def test_the_shipped_rules_name_real_kpi_items(catalogue):
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    rules = screening.parse_consistency_rules(data, {i.key for i in catalogue.items()})
    assert {(r.id, r.kind, r.code) for r in rules} == {
        ("mode_share_sum", "sum", MODES),
        ("solid_waste_routes_sum", "sum", WASTE),
        ("wastewater_levels_descending", "descending", WATER),
    }
    with pytest.raises(ValueError, match="unknown: nowhere"):
        screening.parse_consistency_rules(
            {
                "rules": [
                    {"id": "x", "kind": "sum", "code": MODES, "data_points": ["walking", "nowhere"]}
                ]
            },
            {i.key for i in catalogue.items()},
        )


@pytest.fixture
def broken(make_city, make_assessment):
    assessment = make_assessment(make_city("alpha"), 2024)
    for point, share in (
        ("public_transport", 80),
        ("private_vehicle", 70),
        ("cycling", 30),
        ("walking", 40),
        ("para_transport", 10),
    ):  # 230 %
        add_value(assessment, MODES, share, data_point=point)
    for point, share in (
        ("landfill", 20),
        ("burnt", 5),
        ("incinerated", 10),
        ("open_dump", 5),
        ("recycled", 5),
        ("other", 5),
    ):  # 50 %
        add_value(assessment, WASTE, share, data_point=point)
    for point, share in (("primary", 40), ("secondary", 60), ("tertiary", 80)):
        add_value(assessment, WATER, share, data_point=point)
    return assessment


def consistency(report):
    return sorted((f.rule, f.data_point) for f in report.flags if f.kind == screening.CONSISTENCY)


def test_screening_flags_sums_and_treatment_order(broken):
    report = screening.screen_assessment(broken, None)
    flags = consistency(report)
    assert [p for r, p in flags if r == "mode_share_sum"] == sorted(
        ["public_transport", "private_vehicle", "cycling", "walking", "para_transport"]
    )
    assert len([p for r, p in flags if r == "solid_waste_routes_sum"]) == 6
    assert [p for r, p in flags if r == "wastewater_levels_descending"] == [
        "secondary",
        "tertiary",
    ]
    mode = next(f for f in report.flags if f.rule == "mode_share_sum")
    assert mode.params == {"sum": 230, "total": 100, "tolerance": 2, "complete": True}


def test_shares_within_two_points_and_partial_shares_pass(make_city, make_assessment):
    assessment = make_assessment(make_city("beta"), 2024)
    for point, share in (
        ("public_transport", 40.5),
        ("private_vehicle", 40),
        ("cycling", 10),
        ("walking", 8),
        ("para_transport", 3),
    ):  # 101.5: inside ± 2
        add_value(assessment, MODES, share, data_point=point)
    add_value(assessment, WASTE, 30, data_point="landfill")  # partial, below 100: fine
    for point, share in (("primary", 90), ("secondary", 70), ("tertiary", 70)):
        add_value(assessment, WATER, share, data_point=point)
    assert consistency(screening.screen_assessment(assessment, None)) == []


def _published(make_city, make_assessment, slug, year, value):
    assessment = make_assessment(make_city(slug), year)
    add_value(assessment, "EC: ICT: ICT: 1C", value)
    set_status(assessment, Status.PUBLISHED)
    snapshots.freeze(assessment, None)
    db.session.commit()
    return assessment


def test_peer_comparison_falls_back_to_earlier_years_and_names_peers(
    broken, make_city, make_assessment
):
    _published(make_city, make_assessment, "same1", 2024, 70)
    for n in range(5):
        _published(make_city, make_assessment, f"old{n}", 2023 - (n % 2), 70 + n)
    report = screening.screen_assessment(broken, None)
    assert report.peers == 5
    assert report.peer_list[0] == ("same1", 2024)
    assert all(year < 2024 for _, year in report.peer_list[1:])
    assert len({slug for slug, _ in report.peer_list}) == 5


def test_screen_command_json_lists_rules_and_peers(
    broken, database_url, make_city, make_assessment
):
    _published(make_city, make_assessment, "gamma", 2022, 60)
    result = subprocess.run(
        [str(BIN / "kpi-app"), "screen", "--city", "alpha", "--year", "2024", "--format", "json"],
        env={**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    rules = {
        (f["code"], f["data_point"], f["rule"])
        for f in payload["flags"]
        if f["kind"] == "consistency"
    }
    assert (MODES, "walking", "mode_share_sum") in rules
    assert (WASTE, "recycled", "solid_waste_routes_sum") in rules
    assert (WATER, "tertiary", "wastewater_levels_descending") in rules
    assert payload["peers"] == [{"city": "gamma", "year": 2022}]


def test_review_page_explains_the_rules_and_names_the_peers(
    app, broken, make_user, make_city, make_assessment
):
    _published(make_city, make_assessment, "gamma", 2023, 60)
    set_status(broken, Status.SUBMITTED)
    client = app.test_client()
    login(client, make_user(Role.COORDINATOR).email)
    page = client.get(f"/verification/assessments/{broken.id}").get_data(as_text=True)
    assert "The shares of this KPI add up to 230 % (expected 100 ± 2)." in page
    assert "tertiary (80) is above secondary (60)" in page
    assert "Peers used: gamma 2023." in page

"""`kpi-app score` with a relative method scores a city among its published peers (run as its
users run it: the console script in a subprocess), names them, and refuses a group of one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_app.extensions import db
from kpi_app.services import reports, scores
from tests.factories import add_values, publish

BIN = Path(sys.executable).parent

# Three cities' values of three of the five assessable items of category EC: ICT: ICT (60 %,
# above the 50 % minimum coverage): the spread makes min-max differ from "alone" (50).
TIED = ("EC: ICT: ICT: 3C", "", 500.0, 1, True)


def _values(first: float, second: float) -> list[tuple[str, str, float, int, bool]]:
    return [
        ("EC: ICT: ICT: 1C", "", first, 1, True),
        ("EC: ICT: ICT: 2C", "", second, 1, True),
        TIED,
    ]


VALUES = {"amby": _values(90.0, 30.0), "bmby": _values(50.0, 60.0), "cmby": _values(70.0, 10.0)}
CATEGORY = "EC: ICT: ICT"


def category_score(payload: dict) -> float:
    return next(c["score"] for c in payload["categories"] if c["id"] == CATEGORY)


@pytest.fixture
def peers_world(make_city, make_assessment):
    made = {}
    for slug, values in VALUES.items():
        assessment = make_assessment(make_city(slug), year=2024)
        add_values(assessment, values)
        made[slug] = publish(assessment)
    draft = make_assessment(make_city("draftby"), year=2024)  # not published: never a peer
    add_values(draft, [("EC: ICT: ICT: 1C", "", 1.0, 1, True)])
    lonely = make_assessment(made["amby"].city, year=2023)
    add_values(lonely, VALUES["amby"])
    made["amby-2023"] = publish(lonely)
    db.session.commit()
    return made


def kpi_score(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"}
    return subprocess.run(
        [str(BIN / "kpi-app"), "score", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_relative_method_scores_among_the_years_published_assessments(
    app, database_url, peers_world
):
    done = kpi_score(database_url, "--city", "amby", "--year", "2024", "--method", "minmax-arith")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["peers"] == [
        {"city": "amby", "year": 2024},
        {"city": "bmby", "year": 2024},
        {"city": "cmby", "year": 2024},
    ]
    # Same numbers as scoring the compare page's chosen assessments together.
    plan = reports.plan_comparison(["amby", "bmby", "cmby"], 2024, None)
    together = scores.score_assessments(plan.chosen, source="published", method="minmax-arith")
    # The CLI reads the city live (its default --source), so this is not the published result.
    assert payload == together.to_dict("amby", 2024) | scores.result_label("live", None)
    # 1C: amby best (100); 2C: 30 between 10 and 60 → 40; 3C tied → 50: (100 + 40 + 50) / 3,
    # where amby alone scored 50 on every item.
    assert category_score(payload) == round(190 / 3, 2)


def test_explicit_peers_pick_the_group(app, database_url, peers_world):
    done = kpi_score(
        database_url, "--city", "amby", "--year", "2024", "--method", "percentile-arith",
        "--peers", "cmby", "--source", "published",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["peers"] == [{"city": "amby", "year": 2024}, {"city": "cmby", "year": 2024}]
    # COINr n_prank over two cities: 1C and 2C amby is better (100), 3C tied (min rank: 0).
    assert category_score(payload) == round(200 / 3, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--city", "amby", "--year", "2023", "--method", "minmax-arith"], "at least two"),
        (["--city", "amby", "--year", "2024", "--method", "zscore-arith", "--peers", "amby"],
         "at least two"),
        (["--city", "amby", "--year", "2024", "--method", "minmax-arith", "--peers", "draftby"],
         "no published 2024 assessment for peer(s) draftby"),
        (["--city", "amby", "--year", "2024", "--peers", "bmby"], "relative methods only"),
    ],
)  # fmt: skip
def test_no_usable_peer_group_is_a_clear_error(app, database_url, peers_world, args, message):
    done = kpi_score(database_url, *args)
    assert done.returncode == 1
    assert message in done.stderr + done.stdout
    assert done.stdout.strip() == "" or not done.stdout.lstrip().startswith("{")


def test_absolute_methods_have_no_peers_field(app, database_url, peers_world):
    done = kpi_score(database_url, "--city", "amby", "--year", "2024", "--method", "u4ssc")
    assert done.returncode == 0, done.stderr
    assert "peers" not in json.loads(done.stdout)

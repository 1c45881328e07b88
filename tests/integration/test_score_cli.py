"""`kpi-app score` prints the engine's JSON shape or a flat CSV, and fails clearly."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue

CODE = "EC: ICT: ICT: 1C"


@pytest.fixture
def scored_city(make_city, make_assessment):
    assessment = make_assessment(make_city("kvitby"), 2024)
    db.session.add(IndicatorValue(assessment_id=assessment.id, code=CODE, computed_value=70.0))
    db.session.commit()
    return assessment


def test_json_output_has_the_engine_shape(runner, scored_city):
    result = runner.invoke(args=["score", "--city", "kvitby", "--year", "2024"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {"city", "year", "method", "items", "categories", "dimensions", "overall"} <= set(
        payload
    )
    item = next(i for i in payload["items"] if i["code"] == CODE)
    assert item["percent_of_target"] == 70.0
    assert item["band"] == 3
    assert payload["overall"]["score"] == 75.0  # one item, 3 points of 4


def test_csv_output_lists_items_then_groups(runner, scored_city):
    result = runner.invoke(args=["score", "--city", "kvitby", "--year", "2024", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    levels = [row["level"] for row in rows]
    assert levels[0] == "item"
    assert levels[-1] == "overall"
    assert {"category", "sub_dimension", "dimension"} <= set(levels)
    assert rows[-1]["score"] == "75.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--city", "nowhere", "--year", "2024"], "no city"),
        (["--city", "kvitby", "--year", "1999"], "no assessment for 1999"),
        (["--city", "kvitby", "--year", "2024", "--method", "tarot"], "unknown scoring method"),
        (["--city", "kvitby", "--year", "2024", "--source", "published"], "not published"),
    ],
)
def test_clear_errors(runner, scored_city, args, message):
    result = runner.invoke(args=["score", *args])
    assert result.exit_code == 1
    assert message in result.output

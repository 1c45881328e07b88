"""The API and the CLI agree: /api/v1 scores equal what `kpi-app score` prints."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from tests.api.conftest import World


@pytest.mark.parametrize("method", ["u4ssc", "distance-arith"])
def test_api_scores_equal_cli_scores(
    client: FlaskClient, runner: FlaskCliRunner, world: World, method: str
) -> None:
    api = client.get(
        "/api/v1/cities/fjordby/assessments/2024/scores", query_string={"method": method}
    )
    assert api.status_code == 200
    result = runner.invoke(
        args=[
            "score",
            "--city",
            "fjordby",
            "--year",
            "2024",
            "--method",
            method,
            "--source",
            "published",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert api.get_json() == cli
    assert cli["overall"]["scored_items"] > 0  # a real score, not two empty results

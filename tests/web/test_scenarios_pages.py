"""Scenario workspace pages: rendering, saving, authorisation, exports, sensors upload."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role, Scenario
from tests.factories import login

PM25 = ("EN: EN: AQ: 1C", "pm25")
NO2 = ("EN: EN: AQ: 1C", "no2")


def field(code: str, point: str) -> str:
    return f"value:{code}|{point}"


@pytest.fixture
def world(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("harbourtown")
    other = make_city("inlandville")
    assessment = make_assessment(city, 2024)
    for (code, point), value in {PM25: 20.0, NO2: 40.0}.items():
        db.session.add(
            IndicatorValue(
                assessment_id=assessment.id,
                code=code,
                data_point=point,
                computed_value=value,
                reported=True,
            )
        )
    db.session.commit()
    return {
        "assessment": assessment,
        "editor": make_user(Role.CITY_EDITOR, city),
        "stranger": make_user(Role.CITY_EDITOR, other),
    }


def new_scenario(client: FlaskClient, world: dict[str, Any], name: str = "Clean air") -> int:
    login(client, world["editor"].email)
    response = client.post(
        "/scenarios/new", data={"assessment": world["assessment"].id, "name": name}
    )
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_anonymous_users_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/scenarios/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_index_lists_assessments_to_start_from(client: FlaskClient, world: dict[str, Any]) -> None:
    login(client, world["editor"].email)
    page = client.get("/scenarios/").get_data(as_text=True)
    assert "Harbourtown 2024" in page
    assert '<label for="assessment">' in page
    assert f"/scenarios/sensors/{world['assessment'].id}" in page  # the editor may feed sensors


def test_workspace_saves_values_and_shows_differences_in_words(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    scenario_id = new_scenario(client, world)
    page = client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    assert "Dimension scores, baseline and scenario" in page
    assert "no change" in page
    response = client.post(
        f"/scenarios/{scenario_id}/values",
        data={field(*PM25): "5", field(*NO2): "10", "horizon_year": "2030"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # Environment: PM2.5 and NO2 go from 25 % of target (1 point each) to 100 % (4 each):
    # 2/8 = 25 % (band 1) → 8/8 = 100 % (band 4).
    assert "up 75 points" in page and "band 1 → 4 (higher)" in page
    # The sub-dimension and category tables name each group and show its change too.
    assert "<caption>Sub-dimension scores</caption>" in page
    assert "<caption>Category scores</caption>" in page
    assert '<th scope="row">Air Quality</th>' in page
    assert "set to 5" in page and "set to 10" in page
    # The assessment's own values did not move.
    stored = {v.data_point: v.value for v in db.session.scalars(db.select(IndicatorValue))}
    assert stored == {"pm25": 20.0, "no2": 40.0}


def test_invalid_value_is_shown_inline_with_a_summary(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    scenario_id = new_scenario(client, world)
    response = client.post(f"/scenarios/{scenario_id}/values", data={field(*PM25): "abc"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page and "Enter a number" in page
    assert 'aria-invalid="true"' in page and 'value="abc"' in page


def test_rule_needle_projection_exports_and_compare(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    scenario_id = new_scenario(client, world)
    response = client.post(
        f"/scenarios/{scenario_id}/rules",
        data={"item": "|".join(PM25), "kind": "scale_by", "amount": "0.25", "by_year": "2028"},
        follow_redirects=True,
    )
    assert "× 0.25 by 2028" in response.get_data(as_text=True)
    needle = client.get(f"/scenarios/{scenario_id}/needle?dimension=EN&band=4")
    assert needle.status_code == 200
    text = needle.get_data(as_text=True)
    assert "Fewest changes to reach the band" in text and "EN: EN: AQ: 1C" in text
    assert client.get(f"/scenarios/{scenario_id}/projections").status_code == 200
    exported = json.loads(client.get(f"/scenarios/{scenario_id}/export.json").data)
    assert exported["definition"]["rules"][0]["kind"] == "scale_by"
    csv_text = client.get(f"/scenarios/{scenario_id}/export.csv").get_data(as_text=True)
    assert csv_text.startswith("code,data_point,name")
    compare = client.get(f"/scenarios/compare?ids={scenario_id}").get_data(as_text=True)
    assert "Clean air" in compare
    correlations = client.get("/scenarios/correlations").get_data(as_text=True)
    assert "Association, not causation." in correlations


def test_preview_returns_scores_without_saving(client: FlaskClient, world: dict[str, Any]) -> None:
    scenario_id = new_scenario(client, world)
    data = client.post(f"/scenarios/{scenario_id}/preview", data={field(*PM25): "5"}).get_json()
    env = next(row for row in data["dimensions"] if row["id"] == "EN")
    assert env["change"] == "up"
    assert db.session.get(Scenario, scenario_id).definition["changes"] == []


def test_other_cities_get_404_and_cannot_write(client: FlaskClient, world: dict[str, Any]) -> None:
    scenario_id = new_scenario(client, world)
    client.post("/auth/logout")
    login(client, world["stranger"].email)
    assert client.get(f"/scenarios/{scenario_id}").status_code == 404
    assert client.get(f"/scenarios/{scenario_id}/export.json").status_code == 404
    assert client.post(f"/scenarios/{scenario_id}/values", data={}).status_code == 404
    assert client.post(f"/scenarios/{scenario_id}/delete").status_code == 404
    assert client.get(f"/scenarios/sensors/{world['assessment'].id}").status_code == 404
    assert "Clean air" not in client.get("/scenarios/compare?ids=" + str(scenario_id)).get_data(
        as_text=True
    )


def test_sensor_upload_review_and_accept(client: FlaskClient, world: dict[str, Any]) -> None:
    login(client, world["editor"].email)
    assessment = world["assessment"]
    lines = ["timestamp,station,parameter,value,unit"]
    for day in range(1, 301):  # 300 daily values: 300/366 = 82 % of 2024's days
        date = f"2024-{(day - 1) // 28 + 1:02d}-{(day - 1) % 28 + 1:02d}"
        lines.append(f"{date}T12:00:00Z,North,PM2.5,8,µg/m³")
    body = ("\n".join(lines) + "\n").encode()
    from io import BytesIO

    response = client.post(
        f"/scenarios/sensors/{assessment.id}",
        data={
            "file": (BytesIO(body), "pm.csv"),
            "file_format": "csv",
            "resolution": "daily",
            "timezone": "UTC",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "North" in review and "300 / 366" in review
    accept = client.post(
        response.headers["Location"] + "/accept",
        data={"accept": "EN: EN: AQ: 1C|pm25"},
        follow_redirects=True,
    )
    assert "1 value(s) saved" in accept.get_data(as_text=True)
    value = db.session.scalar(db.select(IndicatorValue).where(IndicatorValue.data_point == "pm25"))
    assert value.value == 8.0 and value.data_year == 2024 and value.quality == 1
    assert "North (300/366 days)" in value.source and "pm.csv" in value.source

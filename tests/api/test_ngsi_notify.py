"""Context-broker notifications (POST /api/v1/ngsi-ld/notify): what a broker would send.

A burst of notifications, out of order, with repeats; malformed ones refused whole with
reasons per entity; tokens checked. The annual value follows the upload rules (18 of 24
hours make a valid day, 75 % of the days of the year make a station count).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, SensorImport, SensorObservation
from kpi_app.services import sensors
from tests.api.conftest import World, bearer
from tests.factories import login

URL = "/api/v1/ngsi-ld/notify?city=secretville"
KPI = "EN: EN: AQ: 1C"


def _day_value(day: int) -> int:
    return day % 7 + 10  # a different, exact number each weekday


def _readings(days: range, *, value: Any = None) -> list[dict[str, Any]]:
    """18 hourly NO2 instances per day of 2024 (day 1 = 1 January)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "type": "Property",
            "value": _day_value(day) if value is None else value,
            "unitCode": "GQ",
            "observedAt": (start + timedelta(days=day - 1, hours=hour))
            .isoformat()
            .replace("+00:00", "Z"),
        }
        for day in days
        for hour in range(18)
    ]


def _notification(number: int, *entities: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Notification:{number}",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:air",
        "notifiedAt": "2024-12-31T23:00:00Z",
        "data": list(entities),
    }


def _entity(instances: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:AirQualityObserved:station-1",
        "type": "AirQualityObserved",
        "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:station-1"},
        "no2": instances,
        **extra,
    }


def _stored() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(SensorObservation)) or 0


def _no2(result: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in result["imports"][0]["results"] if r["parameter"] == "no2"]
    assert len(found) == 1
    return found[0]


def test_burst_out_of_order_with_repeats_follows_the_upload_rules(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    # Days 138..275 first, in three notifications (newest first): 138 of 366 days valid.
    for number, days in enumerate((range(230, 276), range(184, 230), range(138, 184)), 1):
        answer = client.post(
            URL, json=_notification(number, _entity(_readings(days))), headers=headers
        )
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["stored"] == len(days) * 18
    no2 = _no2(answer.get_json())
    assert no2["stations"][0]["valid_days"] == 138
    assert no2["stations"][0]["counts"] is False
    assert no2["value"] is None  # below 75 % coverage: no city value
    # Then the older days, plus a repeat of days 270..275 carrying other numbers (ignored).
    late = _notification(
        4, _entity(_readings(range(1, 138)) + _readings(range(270, 276), value=999))
    )
    answer = client.post(URL, json=late, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["stored"], body["duplicates"]) == (137 * 18, 6 * 18)
    # The same notification again (a broker retry): nothing new.
    again = client.post(URL, json=late, headers=headers).get_json()
    assert (again["stored"], again["duplicates"]) == (0, (137 + 6) * 18)
    assert _stored() == 275 * 18
    no2 = _no2(again)
    station = no2["stations"][0]
    assert station["station"] == "urn:ngsi-ld:Device:station-1"
    assert (station["valid_days"], station["days_in_year"], station["counts"]) == (275, 366, True)
    expected = Fraction(sum(_day_value(d) for d in range(1, 276)), 275)
    assert Fraction(no2["value"]).limit_denominator(10**6) == expected
    # Provenance of a stored reading.
    row = db.session.scalar(
        db.select(SensorObservation).order_by(SensorObservation.observed_at.desc()).limit(1)
    )
    assert row is not None
    assert (row.subscription_id, row.notification_id, row.entity_id) == (
        "urn:ngsi-ld:Subscription:air",
        "urn:ngsi-ld:Notification:1",
        "urn:ngsi-ld:AirQualityObserved:station-1",
    )
    assert row.observed_at.replace(tzinfo=UTC) == datetime(2024, 10, 1, 17, tzinfo=UTC)
    assert row.value == _day_value(275)
    # One review record for the assessment; the editor sees it and accepts the value.
    imports = db.session.scalars(
        db.select(SensorImport).where(SensorImport.assessment_id == world.draft.id)
    ).all()
    assert [r.file_format for r in imports] == [sensors.BROKER_FORMAT]
    login(client, world.draft_editor.email)
    page = client.get(f"/scenarios/sensors/imports/{imports[0].id}")
    assert page.status_code == 200
    assert "Context broker notifications" in page.get_data(as_text=True)
    listing = client.get(f"/scenarios/sensors/{world.draft.id}").get_data(as_text=True)
    assert f"/scenarios/sensors/imports/{imports[0].id}" in listing
    outcome = sensors.accept(imports[0], world.draft_editor, [(KPI, "no2")])
    assert outcome.saved == [(KPI, "no2")], outcome.problems
    value = db.session.scalar(
        db.select(IndicatorValue).where(
            IndicatorValue.assessment_id == world.draft.id,
            IndicatorValue.code == KPI,
            IndicatorValue.data_point == "no2",
        )
    )
    assert value is not None and value.value == round(float(expected), 3)
    assert "context broker" in (value.source or "")


def test_malformed_notification_is_refused_whole_with_reasons(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    good = _entity(_readings(range(1, 3)))
    negative = _entity(_readings(range(5, 6), value=-3), id="urn:ngsi-ld:AirQualityObserved:s2")
    no_time = {"id": "urn:x:3", "type": "AirQualityObserved", "pm10": {"value": 4}}
    weather = {"id": "urn:x:4", "type": "WeatherObserved", "temperature": {"value": 5}}
    answer = client.post(
        URL, json=_notification(1, good, negative, no_time, weather), headers=headers
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert "nothing was stored" in error["message"]
    entities = {e["index"]: e for e in error["details"]["entities"]}
    assert sorted(entities) == [2, 3, 4]
    assert entities[2]["id"] == "urn:ngsi-ld:AirQualityObserved:s2"
    assert any("negative" in r for r in entities[2]["reasons"])
    assert any("timestamp" in r for r in entities[3]["reasons"])
    assert any("'WeatherObserved' is not" in r for r in entities[4]["reasons"])
    assert _stored() == 0  # the good entity was not stored either
    # Envelope problems, and a body that is not JSON.
    bare = client.post(URL, json={"type": "Notification", "data": []}, headers=headers)
    assert bare.status_code == 422
    problems = " ".join(bare.get_json()["error"]["details"]["problems"])
    assert "subscriptionId" in problems and "data" in problems
    garbled = client.post(URL, data=b"{not json", headers=headers, content_type="application/json")
    assert garbled.status_code == 400
    assert garbled.get_json()["error"]["code"] == "bad_request"
    assert (
        client.post(
            "/api/v1/ngsi-ld/notify", json=_notification(9, good), headers=headers
        ).status_code
        == 422
    )
    assert _stored() == 0
    # A year the city has no assessment for: refused, nothing stored.
    old = _entity([{"value": 3, "observedAt": "2019-05-01T10:00:00Z"}])
    assert client.post(URL, json=_notification(5, good, old), headers=headers).status_code == 404
    assert _stored() == 0


def test_tokens_and_permissions(client: FlaskClient, world: World) -> None:
    body = _notification(1, _entity(_readings(range(1, 2))))
    missing = client.post(URL, json=body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post(URL, json=body, headers=bearer("kpi_wrong")).status_code == 401
    # An editor of another city: the draft stays hidden.
    other = bearer(world.token(world.other_editor))
    assert client.post(URL, json=body, headers=other).status_code == 404
    # Their own city, but its assessment is published: not editable.
    own = client.post(
        f"/api/v1/ngsi-ld/notify?city={world.published.city.slug}", json=body, headers=other
    )
    assert own.status_code == 403, own.get_json()
    assert _stored() == 0


def test_the_endpoint_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/ngsi-ld/notify"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert "application/ld+json" in operation["requestBody"]["content"]

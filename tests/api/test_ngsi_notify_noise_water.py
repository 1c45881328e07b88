"""Broker notifications of NoiseLevelObserved and WaterQualityObserved entities.

What an Orion-LD subscription would post: bursts of notifications out of order, broker
retries, entities in both forms (a period with dateObservedFrom/To, property instances with
observedAt), and malformed ones refused whole with reasons. The annual statistics follow the
air-quality rules (18 of 24 hours make a valid day, 75 % of the days a counted station) and
the values below are computed by hand from the readings sent.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import SensorImport, SensorObservation
from kpi_app.services import sensors
from kpi_app.twin.sensors import kpi_values
from tests.api.conftest import World, bearer
from tests.factories import login

URL = "/api/v1/ngsi-ld/notify?city=secretville"
START = datetime(2024, 1, 1, tzinfo=UTC)  # 2024 has 366 days: 275 valid days are needed


def _at(day: int, hour: int) -> str:
    return (START + timedelta(days=day - 1, hours=hour)).isoformat().replace("+00:00", "Z")


def _notification(number: int | str, *entities: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Notification:nw-{number}",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:environment",
        "notifiedAt": "2024-12-31T23:00:00Z",
        "data": list(entities),
    }


def _level(hour: int) -> float:
    """60 dB by day (07-19 h), 55 dB in the evening (19-23 h), 50 dB at night."""
    return 60.0 if 7 <= hour < 19 else 55.0 if 19 <= hour < 23 else 50.0


def _noise(station: str, days: range) -> dict[str, Any]:
    """A sonometer's hourly LAeq for whole days, as property instances (unitCode 2N = dB)."""
    return {
        "id": f"urn:ngsi-ld:NoiseLevelObserved:{station}",
        "type": "NoiseLevelObserved",
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{station}"},
        "LAeq": [
            {
                "type": "Property",
                "value": _level(hour),
                "unitCode": "2N",
                "observedAt": _at(day, hour),
            }
            for day in days
            for hour in range(24)
        ],
    }


def _stored() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(SensorObservation)) or 0


def _result(body: dict[str, Any], parameter: str) -> dict[str, Any]:
    found = [r for r in body["imports"][0]["results"] if r["parameter"] == parameter]
    assert len(found) == 1, [r["parameter"] for r in body["imports"][0]["results"]]
    return found[0]


def _station(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["stations"] if s["station"] == name)


def test_noise_burst_out_of_order_with_retries_gives_the_hand_computed_levels(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    # "north" has 275 whole days (counts), "south" 274 (one day short of 75 %: excluded).
    # Newest first, in chunks, both sonometers in each notification.
    chunks = [range(start, min(start + 50, 276)) for start in range(1, 276, 50)][::-1]
    for number, days in enumerate(chunks, 1):
        south_days = range(days.start, min(days.stop, 275))
        body = _notification(number, _noise("north", days), _noise("south", south_days))
        answer = client.post(URL, json=body, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["stored"] == (len(days) + len(south_days)) * 24
    # A broker retry of the first notification: nothing new, all counted as duplicates.
    retry = client.post(URL, json=_notification(1, _noise("north", chunks[0])), headers=headers)
    assert retry.status_code == 200
    again = retry.get_json()
    assert (again["stored"], again["duplicates"]) == (0, len(chunks[0]) * 24)
    assert _stored() == (275 + 274) * 24
    # One more reading the way a broker sends an entity update: one period, no observedAt.
    period = {
        "id": "urn:ngsi-ld:NoiseLevelObserved:north",
        "type": "NoiseLevelObserved",
        "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:north"},
        "dateObservedFrom": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": "2024-12-30T11:00:00.00Z"},
        },
        "dateObservedTo": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": "2024-12-30T12:00:00.00Z"},
        },
        "LAeq": {"type": "Property", "value": 70.0},
        "LAmax": {"type": "Property", "value": 94.5, "unitCode": "2N"},
    }
    answer = client.post(URL, json=_notification(99, period), headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["stored"] == 2  # LAeq and LAmax, both kept with their provenance
    stored = db.session.scalar(
        db.select(SensorObservation).where(SensorObservation.parameter == "lamax")
    )
    assert stored is not None
    assert (stored.entity_type, stored.entity_id, stored.notification_id) == (
        "NoiseLevelObserved",
        "urn:ngsi-ld:NoiseLevelObserved:north",
        "urn:ngsi-ld:Notification:nw-99",
    )
    assert stored.observed_at.replace(tzinfo=UTC) == datetime(2024, 12, 30, 11, tzinfo=UTC)
    assert stored.value == 94.5

    # Lden of every whole day: 10·log10((12·10^6 + 4·10^((55+5)/10) + 8·10^((50+10)/10))/24)
    # = 60 dB exactly; the lone hour of 30 December is not a valid day and changes nothing.
    lden = _result(body, "lden")
    north = _station(lden, "urn:ngsi-ld:Device:north")
    south = _station(lden, "urn:ngsi-ld:Device:south")
    assert (north["valid_days"], north["days_in_year"], north["counts"]) == (275, 366, True)
    assert (south["valid_days"], south["counts"]) == (274, False)
    assert math.isclose(north["annual_mean"], 60.0, abs_tol=1e-9)
    assert lden["unit"] == "dB" and lden["value"] is None  # levels are per station
    assert lden["code"] is None  # evidence, never a value to accept
    evidence = lden["evidence"]
    assert evidence["code"] == "EN: EN: EQ: 2A"
    assert (evidence["matching"], evidence["stations"]) == (1, 1)  # south is not counted
    assert evidence["statement"].endswith(": 1 of 1")
    assert "inhabitants" in evidence["limits"]
    # The 24-hour LAeq: energy mean, (12·10^6 + 4·10^5.5 + 8·10^5) / 24 per day.
    laeq = _result(body, "laeq")
    expected = 10 * math.log10((12 * 10**6.0 + 4 * 10**5.5 + 8 * 10**5.0) / 24)
    assert math.isclose(_station(laeq, "urn:ngsi-ld:Device:north")["annual_mean"], expected)
    assert not any(r["parameter"] == "lamax" for r in body["imports"][0]["results"])

    # The review page shows the evidence and offers nothing to accept for it.
    record = db.session.scalars(
        db.select(SensorImport).where(SensorImport.file_format == sensors.BROKER_FORMAT)
    ).one()
    login(client, world.draft_editor.email)
    page = client.get(f"/scenarios/sensors/imports/{record.id}").get_data(as_text=True)
    assert "Noise monitoring stations with an annual Lden above 55 dB: 1 of 1" in page
    assert 'value="EN: EN: EQ: 2A' not in page
    assert "Not the KPI" in page


def _water(station: str, day: int, hour: int, **values: Any) -> dict[str, Any]:
    """A water-quality station's entity update (keyValues form, dateObserved)."""
    return {
        "id": f"urn:ngsi-ld:WaterQualityObserved:{station}",
        "type": "WaterQualityObserved",
        "dateObserved": _at(day, hour),
        "refPointOfInterest": f"urn:ngsi-ld:PointOfInterest:{station}",
        **values,
    }


def _instances(days: range, value: Any, unit: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "type": "Property",
            "value": value(day, hour),
            "observedAt": _at(day, hour),
            **({"unitCode": unit} if unit else {}),
        }
        for day in days
        for hour in range(18)
    ]


def _water_year(station: str, days: range, nitrate: Any) -> dict[str, Any]:
    """18 hourly samples a day as property instances (normalised form, observedAt)."""
    return {
        "id": f"urn:ngsi-ld:WaterQualityObserved:{station}",
        "type": "WaterQualityObserved",
        "refPointOfInterest": {
            "type": "Relationship",
            "object": f"urn:ngsi-ld:PointOfInterest:{station}",
        },
        "pH": _instances(days, lambda d, h: 7.0 if d % 2 else 7.5),
        "NO3": _instances(days, nitrate, "M1"),
        "conductivity": _instances(days, lambda d, h: 0.05, "D10"),  # 0.05 S/m = 500 µS/cm
        "escherichiaColi": _instances(days, lambda d, h: 0),
    }


def _chunks(last: int) -> list[range]:
    return [range(start, min(start + 60, last + 1)) for start in range(1, last + 1, 60)]


def test_water_quality_gives_the_hand_computed_means_and_limit_evidence(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    # "well" has 275 days of 18 hourly samples; on day 100 one sample has 60 mg/l of nitrate.
    # "river" has 276 days, always 20 mg/l. "spring" has 200 days: too sparse to count.
    stations = (
        ("well", 275, lambda d, h: 60.0 if (d, h) == (100, 5) else 10.0),
        ("river", 276, lambda d, h: 20.0),
        ("spring", 200, lambda d, h: 5.0),
    )
    notifications = [
        _notification(f"{name}-{days.start}", _water_year(name, days, nitrate))
        for name, last, nitrate in stations
        for days in _chunks(last)
    ]
    # Three key-value entity updates with dateObserved, as a broker sends one sample.
    updates = [
        {
            "id": "urn:ngsi-ld:WaterQualityObserved:tap",
            "type": "WaterQualityObserved",
            "dateObserved": _at(1, hour),
            "refPointOfInterest": "urn:ngsi-ld:PointOfInterest:tap",
            "pH": 7.2,
            "NO3": {"value": 3, "unitCode": "M1"},
        }
        for hour in range(3)
    ]
    notifications.append(_notification("tap", *updates))
    # A burst in reverse order, then a retry of one of them.
    for body in reversed(notifications):
        answer = client.post(URL, json=body, headers=headers)
        assert answer.status_code == 200, answer.get_json()
    retry = client.post(URL, json=notifications[-1], headers=headers).get_json()
    assert (retry["stored"], retry["duplicates"]) == (0, 6)
    body = answer.get_json()
    # pH: well alternates 7.0 (odd days) / 7.5 (even days) over days 1..275.
    ph = _result(body, "ph")
    odd, even = len(range(1, 276, 2)), len(range(2, 276, 2))
    well_ph = (odd * 7.0 + even * 7.5) / 275
    river_ph = (len(range(1, 277, 2)) * 7.0 + len(range(2, 277, 2)) * 7.5) / 276
    assert math.isclose(_station(ph, "urn:ngsi-ld:PointOfInterest:well")["annual_mean"], well_ph)
    assert _station(ph, "urn:ngsi-ld:PointOfInterest:spring")["counts"] is False
    assert _station(ph, "urn:ngsi-ld:PointOfInterest:tap")["valid_days"] == 0  # 3 hours
    assert math.isclose(ph["value"], (well_ph + river_ph) / 2)  # mean of counted stations
    conductivity = _result(body, "conductivity")
    assert conductivity["unit"] == "µS/cm"
    assert math.isclose(conductivity["value"], 500.0)
    # Nitrate: the well's day 100 mean is (17·10 + 60)/18, so its annual mean is not 10.
    no3 = _result(body, "no3")
    well = _station(no3, "urn:ngsi-ld:PointOfInterest:well")
    assert math.isclose(well["annual_mean"], (274 * 10 + (17 * 10 + 60) / 18) / 275)
    assert well["days_outside"] == 1
    assert _station(no3, "urn:ngsi-ld:PointOfInterest:river")["days_outside"] == 0
    evidence = no3["evidence"]
    assert evidence["code"] == "EC: I: WS: 2C"
    assert (evidence["matching"], evidence["stations"]) == (1, 2)
    assert evidence["matching_stations"] == ["urn:ngsi-ld:PointOfInterest:river"]
    assert _result(body, "ecoli")["evidence"]["matching"] == 2
    # None of these is a KPI value: nothing can be accepted into the assessment.
    assert all(r["code"] is None for r in body["imports"][0]["results"])
    record = db.session.get(SensorImport, body["imports"][0]["import_id"])
    assert record is not None
    assert kpi_values(sensors.results_of(record)) == []
    stored = db.session.scalar(
        db.select(SensorObservation).where(
            SensorObservation.parameter == "conductivity",
            SensorObservation.entity_id == "urn:ngsi-ld:WaterQualityObserved:river",
        )
    )
    assert stored is not None
    assert (stored.entity_type, stored.value) == ("WaterQualityObserved", 500.0)


def test_malformed_noise_and_water_notifications_are_refused_whole(
    client: FlaskClient, world: World
) -> None:
    headers = bearer(world.token(world.draft_editor))
    good = _noise("north", range(1, 2))
    wrong_type = {"id": "urn:x:2", "type": "NoiseObserved", "LAeq": {"value": 50}}
    no_time = {"id": "urn:x:3", "type": "WaterQualityObserved", "pH": {"value": 7.1}}
    words = _noise("east", range(1, 2))
    words["LAeq"][3]["value"] = "loud"
    wrong_unit = _water("tap", 1, 1, NO3={"value": 12, "unitCode": "GQ"})  # µg/m³ is air
    db_in_air = _noise("west", range(1, 2))
    db_in_air["LAeq"][0]["unitCode"] = "GQ"
    impossible = _water("tap2", 1, 1, pH=15)
    nothing = _water("tap3", 1, 1, temperature=12)
    answer = client.post(
        URL,
        json=_notification(
            1, good, wrong_type, no_time, words, wrong_unit, db_in_air, impossible, nothing
        ),
        headers=headers,
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert "nothing was stored" in error["message"]
    reasons = {e["index"]: " ".join(e["reasons"]) for e in error["details"]["entities"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8]
    assert "'NoiseObserved' is not" in reasons[2]
    assert "timestamp is not a date and time" in reasons[3]
    assert "LAeq" in reasons[4] and "not a number" in reasons[4]
    assert "NO3" in reasons[5] and "unit is not a known unit" in reasons[5]
    assert "unit is not a known unit" in reasons[6]
    assert "largest possible" in reasons[7]
    assert "no water-quality property" in reasons[8]
    assert _stored() == 0  # the good sonometer was not stored either
    assert db.session.scalar(db.select(db.func.count()).select_from(SensorImport)) == 0

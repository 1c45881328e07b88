"""services.sensors: a generated year of hourly readings with gaps, uploaded, reviewed, accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, IndicatorValue, Role, Status
from kpi_app.models.sensors import SensorImport
from kpi_app.services import sensors


@pytest.fixture(autouse=True)
def request_context(app: Any) -> Any:
    with app.test_request_context():
        yield


def hourly_csv(year: int) -> bytes:
    """Two stations of PM10 for a whole year, hourly, with realistic gaps.

    Station "port": every hour at 30 µg/m³ except a 10-day outage and, every 7th day, only
    17 hours (those days do not count) with a spike of 500 that must not leak into the mean.
    Station "hill": at 10 µg/m³ but down for 120 days (too little coverage: excluded).
    """
    hours = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left")
    day = np.asarray(hours.day_of_year)
    port = pd.DataFrame({"timestamp": hours, "value": 30.0})
    short_day = (day % 7 == 0) & (np.asarray(hours.hour) >= 17)
    port = port.loc[~short_day & ~((day >= 200) & (day < 210))].copy()
    port.loc[np.asarray(port["timestamp"].dt.day_of_year) % 7 == 0, "value"] = 500.0
    port["station"] = "port"
    hill = pd.DataFrame({"timestamp": hours, "value": 10.0, "station": "hill"})
    hill = hill.loc[np.asarray(hill["timestamp"].dt.day_of_year) > 120]
    frame = pd.concat([port, hill]).assign(parameter="PM10", unit="ug/m3")
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        frame[["timestamp", "station", "parameter", "value", "unit"]].to_csv(index=False).encode()
    )


@pytest.fixture
def world(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("harbourtown")
    return {
        "assessment": make_assessment(city, 2023),
        "editor": make_user(Role.CITY_EDITOR, city),
        "verifier": make_user(Role.VERIFIER),
    }


def test_upload_computes_annual_mean_with_coverage(world: dict[str, Any]) -> None:
    record = sensors.upload(
        world["assessment"],
        world["editor"],
        filename="pm10.csv",
        payload=hourly_csv(2023),
        file_format="csv",
    )
    (result,) = sensors.results_of(record)
    stations = {s.station: s for s in result.stations}
    # Valid days: all 365 minus the short days (day numbers divisible by 7) and the outage
    # (days 200-209), counting day 203, which is both, once: 365 − 52 − 10 + 1 = 304.
    short_days = {d for d in range(1, 366) if d % 7 == 0}
    outage = set(range(200, 210))
    assert stations["port"].valid_days == 365 - len(short_days | outage) == 304
    assert stations["port"].annual_mean == pytest.approx(30.0)  # the 500 spikes are excluded
    assert stations["hill"].valid_days == 245 and not stations["hill"].counts
    assert result.value == pytest.approx(30.0)
    assert record.rejected == 0 and record.problems == []


def test_accepting_saves_an_audited_value_with_provenance(world: dict[str, Any]) -> None:
    assessment = world["assessment"]
    record = sensors.upload(
        assessment,
        world["editor"],
        filename="pm10.csv",
        payload=hourly_csv(2023),
        file_format="csv",
    )
    outcome = sensors.accept(record, world["editor"], [("EN: EN: AQ: 1C", "pm10")])
    assert outcome.saved == [("EN: EN: AQ: 1C", "pm10")] and not outcome.problems
    value = db.session.scalar(db.select(IndicatorValue).where(IndicatorValue.data_point == "pm10"))
    assert value.value == 30.0 and value.data_year == 2023
    assert "port (304/365 days)" in value.source and "hill (245/365 days, excluded)" in value.source
    assert value.updated_by_id == world["editor"].id
    actions = {(e.entity_type, e.action) for e in db.session.scalars(db.select(AuditEvent))}
    assert ("indicator_value", "create") in actions
    assert ("sensor_import", "sensor_upload") in actions
    assert ("sensor_import", "sensor_accept") in actions
    assert "EN: EN: AQ: 1C|pm10" in db.session.get(SensorImport, record.id).accepted


def test_only_editors_of_an_editable_assessment_may_upload(world: dict[str, Any]) -> None:
    with pytest.raises(sensors.SensorError):
        sensors.upload(
            world["assessment"],
            world["verifier"],
            filename="x.csv",
            payload=b"",
            file_format="csv",
        )
    world["assessment"].status = Status.SUBMITTED
    db.session.commit()
    with pytest.raises(sensors.SensorError):
        sensors.upload(
            world["assessment"],
            world["editor"],
            filename="x.csv",
            payload=hourly_csv(2023),
            file_format="csv",
        )


def test_bad_options_and_unreadable_files(world: dict[str, Any]) -> None:
    with pytest.raises(sensors.SensorError, match="time zone"):
        sensors.upload(
            world["assessment"],
            world["editor"],
            filename="x.csv",
            payload=b"a",
            file_format="csv",
            timezone="Mars/Olympus",
        )
    record = sensors.upload(
        world["assessment"],
        world["editor"],
        filename="x.json",
        payload=b"{oops",
        file_format="ngsi-ld",
    )
    assert record.results == [] and "not valid JSON" in record.problems[0]
    with pytest.raises(sensors.SensorError, match="at least one"):
        sensors.accept(record, world["editor"], [("EN: EN: AQ: 1C", "pm10")])


def test_an_uploaded_water_quality_file_is_evidence_and_cannot_be_accepted(
    world: dict[str, Any],
) -> None:
    """WaterQualityObserved entities uploaded as a file: the upload rules, no KPI value."""
    days = pd.date_range("2023-01-01", periods=300, freq="D", tz="UTC")
    entities = [
        {
            "id": "urn:ngsi-ld:WaterQualityObserved:tap-1",
            "type": "WaterQualityObserved",
            "refPointOfInterest": "urn:ngsi-ld:PointOfInterest:tap-1",
            "dateObserved": day.strftime("%Y-%m-%dT08:00:00Z"),
            "NO3": {"value": 55.0 if number == 10 else 12.0, "unitCode": "M1"},
            "pH": 7.0,
        }
        for number, day in enumerate(days)
    ]
    record = sensors.upload(
        world["assessment"],
        world["editor"],
        filename="water.jsonld",
        payload=json.dumps(entities).encode(),
        file_format="ngsi-ld",
        resolution="daily",
    )
    assert record.problems == [] and record.observations == 600
    results = {r.parameter: r for r in sensors.results_of(record)}
    no3 = results["no3"]
    (station,) = no3.stations
    assert (station.valid_days, station.counts, station.days_outside) == (300, True, 1)
    assert no3.value == pytest.approx((299 * 12.0 + 55.0) / 300)
    assert no3.code is None
    evidence = no3.evidence
    assert evidence is not None and evidence.statement().endswith(": 0 of 1")
    assert results["ph"].evidence is not None and len(results["ph"].evidence.matching) == 1
    with pytest.raises(sensors.SensorError, match="at least one"):
        sensors.accept(record, world["editor"], [("EC: I: WS: 2C", "")])

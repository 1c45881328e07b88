"""Sensor aggregation on a generated year of hourly readings with gaps, and both upload parsers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kpi_app.twin.sensors import (
    MIN_HOURS_PER_DAY,
    SensorValue,
    annual_values,
    days_in_year,
    parse_csv,
    parse_ngsi_ld,
)

YEAR = 2023  # 365 days: a station counts with ≥ 273.75, i.e. 274 valid days


def hourly_year(station: str, value: float, *, skip_days: int = 0) -> pd.DataFrame:
    hours = pd.date_range(
        f"{YEAR}-01-01", f"{YEAR + 1}-01-01", freq="h", inclusive="left", tz="UTC"
    )
    frame = pd.DataFrame(
        {
            "timestamp": hours,
            "station": station,
            "parameter": "pm25",
            "value": value,
            "unit": "µg/m³",
        }
    )
    if skip_days:
        # Whole days missing at the end of the year (a sensor out of service).
        cutoff = hours[-1].normalize() - pd.Timedelta(days=skip_days - 1)
        frame = frame.loc[frame["timestamp"] < cutoff]
    return frame


def generated_year() -> pd.DataFrame:
    a = hourly_year("A", 10.0)
    # Day 1 of station A keeps only 17 hours, all very high: the day is invalid (< 18 hours)
    # and must not leak into the annual mean.
    first_day = a["timestamp"] < pd.Timestamp(f"{YEAR}-01-02", tz="UTC")
    a = a.loc[~first_day | (a["timestamp"].dt.hour < 17)].copy()
    a.loc[a["timestamp"] < pd.Timestamp(f"{YEAR}-01-02", tz="UTC"), "value"] = 1000.0
    # Day 2 loses 6 hours but keeps 18: still valid.
    second_day = (a["timestamp"].dt.day_of_year == 2) & (a["timestamp"].dt.hour < 6)
    a = a.loc[~second_day]
    # Two readings in one hour are averaged first: 10 and 10 stay 10.
    extra = a.iloc[[100]].assign(timestamp=a.iloc[100]["timestamp"] + pd.Timedelta(minutes=30))
    b = hourly_year("B", 50.0, skip_days=100)  # 265 days: 72.6 % < 75 %, excluded
    c = hourly_year("C", 20.0, skip_days=91)  # 274 days: 75.07 %, counts
    return pd.concat([a, extra, b, c], ignore_index=True)


def test_annual_value_applies_daily_and_yearly_coverage_rules() -> None:
    (result,) = annual_values(generated_year(), YEAR)
    stations = {s.station: s for s in result.stations}
    assert stations["A"].valid_days == 364  # day 1 had 17 hours
    assert stations["A"].annual_mean == pytest.approx(10.0)
    assert stations["B"].valid_days == 265 and not stations["B"].counts
    assert stations["C"].valid_days == 274 and stations["C"].counts
    assert [s.station for s in result.used] == ["A", "C"]
    # City value: mean of the counted stations' annual means: (10 + 20) / 2.
    assert result.value == pytest.approx(15.0)
    assert (result.code, result.data_point) == ("EN: EN: AQ: 1C", "pm25")
    provenance = result.provenance("upload pm.csv")
    assert "A (364/365 days)" in provenance and "B (265/365 days, excluded)" in provenance
    assert f"{MIN_HOURS_PER_DAY} of 24" in provenance
    assert SensorValue.from_dict(result.to_dict()) == result


def test_no_station_meeting_coverage_gives_no_value() -> None:
    (result,) = annual_values(hourly_year("B", 50.0, skip_days=100), YEAR)
    assert result.value is None


def test_daily_resolution_uploads_skip_the_hourly_rule() -> None:
    days = pd.date_range(f"{YEAR}-01-01", periods=300, freq="D", tz="UTC")
    frame = pd.DataFrame({"timestamp": days, "station": "D", "parameter": "no2", "value": 30.0})
    (result,) = annual_values(frame, YEAR, resolution="daily")
    assert result.stations[0].valid_days == 300 and result.value == pytest.approx(30.0)


def test_leap_year_has_366_days() -> None:
    assert days_in_year(2024) == 366 and days_in_year(2023) == 365


def test_csv_parser_converts_units_and_reports_bad_rows() -> None:
    text = (
        "Timestamp,Station,Pollutant,Value,Unit\n"
        "2023-01-01T00:00:00Z,S1,PM2.5,12.5,ug/m3\n"
        "2023-01-01T01:00:00+01:00,S1,NO2,10,ppb\n"
        "2023-01-01 02:00,S1,pm10,0.02,mg/m3\n"
        "not a date,S1,PM10,3,µg/m³\n"
        "2023-01-01T03:00:00Z,S1,benzene,3,µg/m³\n"
        "2023-01-01T03:00:00Z,S1,PM10,-2,µg/m³\n"
        "2023-01-01T03:00:00Z,S1,PM10,2,ppb\n"
    )
    parsed = parse_csv(text)
    assert parsed.rejected == 4
    assert parsed.problems[0] == "row 5: timestamp is not a date and time"
    assert "row 6: parameter" in parsed.problems[1]
    assert parsed.problems[2] == "row 7: value is negative (sensor fault)"
    assert "row 8: unit" in parsed.problems[3]  # particles have no ppb
    frame = parsed.frame
    assert list(frame["parameter"]) == ["pm25", "no2", "pm10"]
    assert frame["value"].tolist() == pytest.approx([12.5, 19.1, 20.0])
    # +01:00 is converted to UTC; the naive time is read as UTC (the default zone).
    assert frame["timestamp"].dt.hour.tolist() == [0, 0, 2]


def test_csv_without_required_columns() -> None:
    parsed = parse_csv("time,value\n2023-01-01,3\n")
    assert (
        parsed.frame.empty and "missing column(s): station, parameter, unit" in parsed.problems[0]
    )


def test_ngsi_ld_normalised_and_key_value_entities() -> None:
    entities = [
        {
            "id": "urn:ngsi-ld:AirQualityObserved:S1:1",
            "type": "AirQualityObserved",
            "dateObserved": {
                "type": "Property",
                "value": {"@type": "DateTime", "@value": "2023-03-01T10:00:00Z"},
            },
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:S1"},
            "pm25": {"type": "Property", "value": 8.0, "unitCode": "GQ"},
            "no2": [
                {
                    "type": "Property",
                    "value": 5.0,
                    "unitCode": "61",
                    "observedAt": "2023-03-01T11:00:00Z",
                },
                {
                    "type": "Property",
                    "value": 6.0,
                    "unitCode": "61",
                    "observedAt": "2023-03-01T12:00:00Z",
                },
            ],
            "temperature": {"type": "Property", "value": 12.0},
        },
        {
            "id": "x",
            "type": "AirQualityObserved",
            "name": "S2",
            "dateObserved": "2023-03-01T10:00:00Z",
            "pm10": 14,
        },
        {"id": "y", "type": "WeatherObserved"},
    ]
    parsed = parse_ngsi_ld(json.dumps(entities))
    frame = parsed.frame.sort_values(["station", "timestamp", "parameter"]).reset_index(drop=True)
    assert frame["station"].tolist() == [
        "S2",
        "urn:ngsi-ld:Device:S1",
        "urn:ngsi-ld:Device:S1",
        "urn:ngsi-ld:Device:S1",
    ]
    assert frame["parameter"].tolist() == ["pm10", "pm25", "no2", "no2"]
    assert frame["value"].tolist() == pytest.approx([14.0, 8.0, 5 * 1.91, 6 * 1.91])
    assert parsed.problems == (
        "entity 3: type 'WeatherObserved' is not AirQualityObserved, NoiseLevelObserved or "
        "WaterQualityObserved",
    )


def test_ngsi_ld_rejects_invalid_json() -> None:
    parsed = parse_ngsi_ld("{not json")
    assert parsed.frame.empty and "not valid JSON" in parsed.problems[0]


def test_generated_year_is_what_the_tests_claim() -> None:
    frame = generated_year()
    assert np.isclose(frame.loc[frame["station"] == "C", "value"].mean(), 20.0)

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


# --- noise and water quality ----------------------------------------------------------------


def test_every_declared_derivation_names_a_catalogue_item() -> None:
    from kpi_app.catalogue import load_catalogue
    from kpi_app.twin.sensors import DERIVATIONS, EVIDENCE, PARAMETER_ITEMS

    catalogue = load_catalogue()
    for derivation in DERIVATIONS:
        item = catalogue.item(derivation.code, derivation.data_point)
        assert item is not None, derivation
        if derivation.kind == "evidence":
            assert derivation.label and derivation.limits.startswith("Not the KPI")
    # Only the air pollutants are values; noise and water are evidence, never values.
    assert set(PARAMETER_ITEMS) == {"pm25", "pm10", "no2", "so2", "o3"}
    assert set(EVIDENCE) == {"lden", "ecoli", "no3", "ph", "conductivity"}


def test_csv_with_noise_and_water_rows_converts_units_and_refuses_wrong_ones() -> None:
    parsed = parse_csv(
        "timestamp,station,parameter,value,unit\n"
        "2023-05-01T10:00:00Z,S1,LAeq,61.5,dB(A)\n"
        "2023-05-01T10:00:00Z,S1,LAeq_d,58,2N\n"
        "2023-05-01T10:00:00Z,W1,pH,7.2,\n"
        "2023-05-01T10:00:00Z,W1,conductivity,0.45,mS/cm\n"
        "2023-05-01T10:00:00Z,W1,nitrate,12,mg/l\n"
        "2023-05-01T10:00:00Z,W1,escherichiaColi,0,CFU/100mL\n"
        "2023-05-01T10:00:00Z,S1,LAeq,61.5,µg/m³\n"
        "2023-05-01T10:00:00Z,W1,pH,15,\n"
        "2023-05-01T10:00:00Z,W1,NO3,abc,mg/l\n"
    )
    frame = parsed.frame
    assert frame["parameter"].tolist() == ["laeq", "laeq_d", "ph", "conductivity", "no3", "ecoli"]
    assert frame["value"].tolist() == pytest.approx([61.5, 58.0, 7.2, 450.0, 12.0, 0.0])
    assert frame["unit"].tolist() == ["dB", "dB", "pH", "µS/cm", "mg/l", "per 100 ml"]
    assert set(parsed.problems) == {
        "row 8: unit is not a known unit for this parameter",
        "row 9: value is above the largest possible reading (sensor fault)",
        "row 10: value is not a number",
    }


def _noise_day(day: str, level: dict[str, float]) -> pd.DataFrame:
    hours = pd.date_range(day, periods=24, freq="h", tz="UTC")
    values = [level["day"] if 7 <= h < 19 else level["evening"] if h < 23 and h >= 19 else
              level["night"] for h in hours.hour]  # fmt: skip
    return pd.DataFrame(
        {"timestamp": hours, "station": "N1", "parameter": "laeq", "value": values, "unit": "dB"}
    )


def test_sound_levels_are_energy_means_and_lden_carries_the_penalties() -> None:
    # Day 1: 70/65/60 dB -> Lden = 70 dB; day 2: 60/55/50 dB -> Lden = 60 dB.
    frame = pd.concat(
        [
            _noise_day("2023-03-01", {"day": 70, "evening": 65, "night": 60}),
            _noise_day("2023-03-02", {"day": 60, "evening": 55, "night": 50}),
        ],
        ignore_index=True,
    )
    results = {r.parameter: r for r in annual_values(frame, 2023)}
    lden = results["lden"].stations[0]
    assert lden.valid_days == 2
    # Energy mean of 70 and 60 dB: 10·log10((10^7 + 10^6) / 2) = 67.40 dB, not 65.
    assert lden.annual_mean == pytest.approx(10 * np.log10((10**7 + 10**6) / 2))
    day1 = (12 * 10**7 + 4 * 10**6.5 + 8 * 10**6) / 24
    day2 = (12 * 10**6 + 4 * 10**5.5 + 8 * 10**5) / 24
    laeq = results["laeq"].stations[0]
    assert laeq.annual_mean == pytest.approx(10 * np.log10((day1 + day2) / 2))
    assert results["laeq"].value is None and results["lden"].value is None
    assert results["lden"].code is None
    evidence = results["lden"].evidence
    assert evidence is not None and evidence.counted == ()  # 2 days: below 75 % coverage
    # The local time zone moves the evening and night penalties: in UTC+2 the same readings
    # are not 70 dB Lden on any whole local day.
    shifted = {r.parameter: r for r in annual_values(frame, 2023, timezone="Europe/Helsinki")}
    assert shifted["lden"].stations[0].annual_mean != pytest.approx(lden.annual_mean)


def test_ngsi_ld_noise_file_uses_the_period_start() -> None:
    entity = {
        "id": "urn:ngsi-ld:NoiseLevelObserved:V1",
        "type": "NoiseLevelObserved",
        "dateObserved": "2016-12-28T11:00:00.00Z/2016-12-28T12:00:00.00Z",
        "LAeq": 67.8,
        "LAmax": {"value": 94.5, "unitCode": "2N"},
        "sonometerClass": "1",
    }
    parsed = parse_ngsi_ld(json.dumps([entity]))
    assert parsed.problems == ()
    assert parsed.frame["timestamp"].tolist() == [pd.Timestamp("2016-12-28T11:00:00Z")] * 2
    assert parsed.frame["parameter"].tolist() == ["laeq", "lamax"]

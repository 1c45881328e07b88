"""Screening: pure checks with hand-computed numbers, then the database-backed report."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpi_app.extensions import db
from kpi_app.models import CityYearFacts, Role, Status
from kpi_app.services import screening, snapshots
from kpi_app.services.screening import CrossRule
from tests.factories import add_value

INTERNET, BROADBAND = "EC: ICT: ICT: 1C", "EC: ICT: ICT: 2C"
RD, ENROLMENT = "EC: P: IN: 1C", "SC: EH: ED: 2C"


def frame(rows):
    records = [
        {
            "code": r[0],
            "data_point": r[1] if len(r) > 2 else "",
            "value": r[-1],
            "numerator": None,
            "denominator": None,
        }
        for r in rows
    ]
    return pd.DataFrame(records, columns=screening.VALUE_COLUMNS)


def test_robust_z_by_hand():
    # median 10, absolute deviations 0,0,1,1,2 → MAD 1; z(20) = 0.6745 * 10 / 1
    assert screening.robust_z(20, [10, 10, 11, 9, 12]) == pytest.approx(6.745)
    assert screening.robust_z(5, [3, 3, 3, 3]) is None  # no spread: undecidable


def test_peer_outliers_need_enough_peers_and_a_large_z():
    peers = frame([(INTERNET, v) for v in (70, 72, 74, 76, 78)])
    # median 74, MAD 2 → z(90) = 0.6745 * 16 / 2 = 5.396 > 3.5; z(78) = 1.349
    flags = screening.peer_outlier_flags(frame([(INTERNET, 90)]), peers)
    assert len(flags) == 1 and flags[0].params["z"] == pytest.approx(5.4, abs=0.01)
    assert screening.peer_outlier_flags(frame([(INTERNET, 78)]), peers) == []
    assert screening.peer_outlier_flags(frame([(INTERNET, 90)]), peers.head(4)) == []


def test_previous_year_change_threshold():
    before = frame([(INTERNET, 40.0), (BROADBAND, 0.0), (RD, 2.0)])
    now = frame([(INTERNET, 61.0), (BROADBAND, 5.0), (RD, 2.9)])
    flags = {f.code: f for f in screening.previous_year_flags(now, before)}
    assert flags[INTERNET].params["change_percent"] == 52.5  # (61 − 40) / 40
    assert flags[BROADBAND].params["change_percent"] is None  # from zero
    assert RD not in flags  # +45 % stays under 50 %
    assert screening.relative_gap(3, 0) == math.inf


def test_cross_kpi_rules():
    values = frame([(INTERNET, 70), (BROADBAND, 85), (RD, 6.2), (ENROLMENT, 104)])
    flags = {f.rule: f for f in screening.cross_kpi_flags(values)}
    assert flags["broadband_below_internet"].params == {
        "value": 85.0,
        "bound": 70.0,
        "bound_code": INTERNET,
    }
    assert flags["rd_below_5_percent"].severity == screening.WARNING
    assert flags["enrolment_above_100"].severity == screening.INFO
    fine = frame([(INTERNET, 90), (BROADBAND, 40), (RD, 2.0), (ENROLMENT, 98)])
    assert screening.cross_kpi_flags(fine) == []
    # A rule whose bound KPI is missing says nothing rather than guess.
    rule = CrossRule("x", (BROADBAND, ""), (INTERNET, ""))
    assert screening.cross_kpi_flags(frame([(BROADBAND, 85)]), [rule]) == []


def test_denominator_gap_above_five_percent():
    values = pd.DataFrame(
        [
            {"code": INTERNET, "data_point": "", "value": 50, "numerator": 1, "denominator": 10600},
            {
                "code": BROADBAND,
                "data_point": "",
                "value": 50,
                "numerator": 1,
                "denominator": 10400,
            },
        ],
        columns=screening.VALUE_COLUMNS,
    )
    fields = {(INTERNET, ""): "households", (BROADBAND, ""): "households"}
    flags = screening.denominator_gaps(values, fields, {"households": 10_000})
    assert [(f.code, f.params["gap_percent"]) for f in flags] == [(INTERNET, 6.0)]


def test_plausibility_and_completeness(catalogue):
    items = catalogue.to_frame()
    values = frame([(INTERNET, 130.0), (BROADBAND, None)])
    flags = screening.plausibility_flags(values, items)
    assert [(f.code, f.params["max"]) for f in flags] == [(INTERNET, 100.0)]
    done = screening.completeness(items, values)
    assert done.reported == 1
    assert done.total == len(items)
    assert done.total_core == int((items["tier"] == "core").sum())
    assert (BROADBAND, "") in done.missing_core and (INTERNET, "") not in done.missing_core


def test_denominator_mapping_from_catalogue(catalogue):
    fields = screening.denominator_fields_from_catalogue(
        (i.code, i.data_point, catalogue.indicator(i.code).denominator) for i in catalogue.items()
    )
    assert fields[(INTERNET, "")] == "households"
    assert fields[(RD, "")] == "gdp"
    assert fields[("EC: P: IN: 2C", "")] == "population"


def test_screen_assessment_uses_facts_previous_year_and_published_peers(
    app, make_city, make_user, make_assessment
):
    city = make_city("alpha")
    editor = make_user(Role.CITY_EDITOR, city)
    db.session.add(CityYearFacts(city=city, year=2024, households=10_000, population=25_000))
    previous = make_assessment(city, year=2023)
    add_value(previous, INTERNET, 30.0)
    current = make_assessment(city, year=2024)
    add_value(current, INTERNET, 90.0, numerator=9000.0, denominator=10_000.0)
    add_value(current, BROADBAND, 95.0, numerator=11400.0, denominator=12_000.0)
    for n, value in enumerate((60, 62, 64, 66, 68)):
        peer = make_assessment(make_city(f"peer-{n}"), year=2024, status=Status.PUBLISHED)
        add_value(peer, INTERNET, float(value))
        snapshots.freeze(peer, actor=None)
    db.session.commit()

    report = screening.screen_assessment(current, editor)
    kinds = {(f.code, f.kind) for f in report.flags}
    assert (BROADBAND, screening.DENOMINATOR_GAP) in kinds  # 12 000 vs 10 000 households
    assert (INTERNET, screening.DENOMINATOR_GAP) not in kinds
    assert (INTERNET, screening.PREVIOUS_YEAR) in kinds  # 30 → 90, seen live by its editor
    assert (INTERNET, screening.PEER_OUTLIER) in kinds  # median 64, MAD 2 → z ≈ 8.8
    assert (BROADBAND, screening.CROSS_RULE) in kinds
    assert report.peers == 5 and report.previous_year == 2023
    assert report.completeness.reported == 2


def test_previous_unpublished_year_is_hidden_from_a_verifier_not_assigned_to_it(
    app, make_city, make_user, make_assessment
):
    city = make_city("alpha")
    previous = make_assessment(city, year=2023)
    add_value(previous, INTERNET, 30.0)
    current = make_assessment(city, year=2024)
    add_value(current, INTERNET, 90.0)
    report = screening.screen_assessment(current, make_user(Role.VERIFIER))
    assert report.previous_year is None
    assert not any(f.kind == screening.PREVIOUS_YEAR for f in report.flags)

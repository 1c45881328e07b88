"""The scores service: live and published values, scoring, and a cache that never goes stale."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, Role
from kpi_app.scoring.spec import PRESETS
from kpi_app.services import scores, snapshots
from kpi_app.services.cache import get_cache

HOUSEHOLD_INTERNET = "EC: ICT: ICT: 1C"  # higher-better percentage, indicative target 100
PM25 = ("EN: EN: AQ: 1C", "pm25")


def add_value(assessment, code, value, data_point="", **kw):
    row = IndicatorValue(
        assessment_id=assessment.id, code=code, data_point=data_point, computed_value=value, **kw
    )
    db.session.add(row)
    db.session.commit()
    return row


def item_points(result, city, code, data_point=""):
    items = result.items
    row = items[
        (items["city"] == city) & (items["code"] == code) & (items["data_point"] == data_point)
    ]
    assert len(row) == 1
    points = row["points"].iloc[0]
    return None if points is None or (isinstance(points, float) and math.isnan(points)) else points


@pytest.fixture
def assessed(make_city, make_assessment):
    city = make_city("ostby")
    assessment = make_assessment(city, 2024)
    return assessment


def test_live_values_use_effective_value_and_drop_unreported(assessed):
    add_value(assessed, HOUSEHOLD_INTERNET, 50.0, override_value=80.0, override_reason="survey")
    add_value(assessed, "EC: ICT: ICT: 2C", None, reported=False, not_reported_reason="n/a")
    add_value(assessed, *PM25[:1], 10.0, data_point=PM25[1])

    frame = scores.values_frame([assessed], "live")

    assert list(frame.columns) == ["city", "year", "code", "data_point", "value", "quality"]
    by_key = {(r.code, r.data_point): r.value for r in frame.itertuples()}
    assert by_key == {(HOUSEHOLD_INTERNET, ""): 80.0, PM25: 10.0}
    assert set(frame["city"]) == {"ostby"}
    assert set(frame["year"]) == {2024}


def test_verifier_reported_override_removes_a_value(assessed):
    add_value(assessed, HOUSEHOLD_INTERNET, 50.0, reported_override=False)
    assert scores.values_frame([assessed], "live").empty


def test_published_values_come_from_the_latest_snapshot(assessed):
    value = add_value(assessed, HOUSEHOLD_INTERNET, 40.0)
    snapshots.freeze(assessed, actor=None)
    db.session.commit()
    value.computed_value = 90.0  # edited after publishing: not public until republished
    db.session.commit()

    published = scores.values_frame([assessed], "published")
    live = scores.values_frame([assessed], "live")

    assert published["value"].tolist() == [40.0]
    assert live["value"].tolist() == [90.0]


def test_score_reflects_an_edit_immediately(assessed):
    value = add_value(assessed, HOUSEHOLD_INTERNET, 20.0)  # 20 % of 100 → band 1
    first = scores.score_assessments([assessed], source="live")
    assert item_points(first, "ostby", HOUSEHOLD_INTERNET) == 1

    value.computed_value = 97.0  # → band 4
    db.session.commit()
    second = scores.score_assessments([assessed], source="live")

    assert item_points(second, "ostby", HOUSEHOLD_INTERNET) == 4
    overall = second.overall.iloc[0]
    assert overall["score"] == pytest.approx(100.0)


def test_unchanged_inputs_hit_the_cache(assessed):
    add_value(assessed, HOUSEHOLD_INTERNET, 20.0)
    cache = get_cache()
    scores.score_assessments([assessed], source="live")
    hits = cache.stats.hits
    scores.score_assessments([assessed], source="live")
    assert cache.stats.hits == hits + 1


def test_method_and_benchmark_changes_change_the_key(assessed, monkeypatch):
    add_value(assessed, HOUSEHOLD_INTERNET, 20.0)
    u4ssc = scores.score_assessments([assessed], source="live")
    # Coverage rule off: one reported KPI would otherwise have its group scores withheld.
    spec = replace(PRESETS["distance-arith"], min_coverage=0.0)
    composite = scores.score_assessments([assessed], source="live", method=spec)
    assert u4ssc.method == "u4ssc"
    assert composite.method == "composite"
    assert composite.overall["score"].iloc[0] == pytest.approx(20.0)

    # A benchmark edited in place (same id and version) must still change the score.
    real = scores.configured_benchmark_set

    def halved_target(set_id=None):
        bset = real(set_id)
        changed = tuple(
            replace(b, target=50.0) if b.code == HOUSEHOLD_INTERNET else b for b in bset.benchmarks
        )
        return replace(bset, benchmarks=changed)

    monkeypatch.setattr(scores, "configured_benchmark_set", halved_target)
    rescored = scores.score_assessments([assessed], source="live", method=spec)
    assert rescored.overall["score"].iloc[0] == pytest.approx(40.0)


def test_publishing_changes_published_scores(assessed):
    value = add_value(assessed, HOUSEHOLD_INTERNET, 20.0)
    snapshots.freeze(assessed, actor=None)
    db.session.commit()
    before = scores.score_assessments([assessed], source="published")
    value.computed_value = 99.0
    db.session.commit()
    still = scores.score_assessments([assessed], source="published")
    snapshots.freeze(assessed, actor=None)
    db.session.commit()
    after = scores.score_assessments([assessed], source="published")

    assert item_points(before, "ostby", HOUSEHOLD_INTERNET) == 1
    assert item_points(still, "ostby", HOUSEHOLD_INTERNET) == 1
    assert item_points(after, "ostby", HOUSEHOLD_INTERNET) == 4


def test_an_assessment_without_values_is_scored_with_zero_coverage(assessed):
    result = scores.score_assessments([assessed], source="live")
    overall = result.overall.iloc[0]
    assert overall["coverage"] == 0
    assert math.isnan(overall["score"])


def test_score_city_year_errors(assessed):
    with pytest.raises(scores.ScoresError, match="no city"):
        scores.score_city_year("atlantis", 2024)
    with pytest.raises(scores.ScoresError, match="2019"):
        scores.score_city_year("ostby", 2019)
    with pytest.raises(scores.ScoresError, match="unknown scoring method"):
        scores.score_city_year("ostby", 2024, method="astrology")
    with pytest.raises(scores.ScoresError, match="not published"):
        scores.score_city_year("ostby", 2024, source="published")


def test_published_assessments_filters_and_hides_drafts(make_city, make_assessment, make_user):
    norway = make_city("nordhavn", country="NO")
    kenya = make_city("lakeview", country="KE")
    published_no = make_assessment(norway, 2023)
    draft_no = make_assessment(norway, 2024)
    published_ke = make_assessment(kenya, 2023)
    for assessment in (published_no, published_ke):
        add_value(assessment, HOUSEHOLD_INTERNET, 60.0)
        snapshots.freeze(assessment, actor=None)
    db.session.commit()

    everyone = scores.published_assessments()
    assert {a.id for a in everyone} == {published_no.id, published_ke.id}
    assert [a.id for a in scores.published_assessments(country="ke")] == [published_ke.id]
    assert scores.published_assessments(years=[2024]) == []

    editor = make_user(Role.CITY_EDITOR, city=norway)
    assert {a.id for a in scores.live_assessments(editor)} == {published_no.id, draft_no.id}
    assert scores.live_assessments(None) == []

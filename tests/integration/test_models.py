"""The data model on every backend: constraints, defaults, optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kpi_app.extensions import db
from kpi_app.models import Assessment, IndicatorValue, Status


def test_assessment_defaults_to_draft_and_is_unique_per_city_year(make_city, make_assessment):
    city = make_city("oslo-demo")
    assessment = make_assessment(city, 2024)
    assert assessment.status is Status.DRAFT
    assert assessment.status.editable_by_city
    db.session.add(Assessment(city_id=city.id, year=2024, catalogue_version="x", benchmark_set="y"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_value_rows_are_keyed_by_code_and_data_point(make_city, make_assessment):
    assessment = make_assessment(make_city())
    db.session.add_all(
        [
            IndicatorValue(assessment_id=assessment.id, code="EN: EN: AQ: 1C", data_point="pm25"),
            IndicatorValue(assessment_id=assessment.id, code="EN: EN: AQ: 1C", data_point="pm10"),
        ]
    )
    db.session.commit()
    db.session.add(
        IndicatorValue(assessment_id=assessment.id, code="EN: EN: AQ: 1C", data_point="pm25")
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_effective_value_prefers_override_and_hides_not_reported(make_city, make_assessment):
    assessment = make_assessment(make_city())
    value = IndicatorValue(
        assessment_id=assessment.id, code="EC: ICT: ICT: 1C", computed_value=80.0
    )
    assert value.value == 80.0
    value.override_value = 82.5
    assert value.value == 82.5
    value.reported = False
    assert value.value is None


def test_concurrent_update_of_a_value_raises_stale_data(make_city, make_assessment):
    assessment = make_assessment(make_city())
    value = IndicatorValue(
        assessment_id=assessment.id, code="EC: ICT: ICT: 1C", computed_value=10.0
    )
    db.session.add(value)
    db.session.commit()
    assert value.version == 1

    with Session(db.engine) as other:
        theirs = other.get(IndicatorValue, value.id)
        assert theirs is not None
        theirs.computed_value = 20.0
        other.commit()

    value.computed_value = 30.0
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    db.session.refresh(value)
    assert value.computed_value == 20.0
    assert value.version == 2

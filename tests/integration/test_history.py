"""Value history from the audit trail, and reverting to an earlier version."""

from __future__ import annotations

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status
from kpi_app.services import audit, history
from kpi_app.services.workflow import StaleValue, WorkflowDenied, WorkflowError
from tests.factories import add_value, edit_value, set_status

KPI = "EC: ICT: ICT: 1C"  # numerator / denominator × 100


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city)
    value = add_value(
        assessment,
        KPI,
        50.0,
        actor=editor,
        numerator=50.0,
        denominator=100.0,
        source=None,
        quality=None,
    )
    edit_value(value, editor, numerator=60.0, computed_value=60.0, source="survey A")
    edit_value(value, editor, numerator=70.0, computed_value=70.0, source="survey B")
    return assessment, value, editor


def events(value):
    return history.value_events(value)


def test_history_lists_every_change_newest_first(world):
    _, value, editor = world
    entries = history.value_history(value)
    assert [e.event.action for e in entries] == ["update", "update", "create"]
    newest = {c.field: (c.old, c.new) for c in entries[0].changes}
    assert newest["numerator"] == (60.0, 70.0)
    assert newest["source"] == ("survey A", "survey B")
    assert entries[0].event.actor_id == editor.id


def test_state_after_rebuilds_each_version(world):
    _, value, _ = world
    create, first_edit, _ = events(value)
    assert history.state_after(value, first_edit.id)["numerator"] == 60.0
    assert history.state_after(value, first_edit.id)["source"] == "survey A"
    original = history.state_after(value, create.id)
    assert original["numerator"] == 50.0 and original["source"] is None


def test_revert_is_a_new_audited_change_and_can_itself_be_reverted(world):
    _, value, editor = world
    create, _first_edit, _ = events(value)
    version = value.version
    history.revert_value(value, create.id, editor, expected_version=version, reason="typo")
    assert value.numerator == 50.0 and value.computed_value == 50.0 and value.source is None
    assert value.version == version + 1
    revert_event = events(value)[-1]
    assert revert_event.action == "revert" and revert_event.reason == "typo"
    assert revert_event.new["reverted_to_event"] == create.id
    assert len(events(value)) == 4  # nothing removed
    history.revert_value(
        value, events(value)[2].id, editor, expected_version=value.version, reason="undo"
    )
    assert value.numerator == 70.0 and value.source == "survey B"


def test_revert_checks_version_reason_status_and_role(world, make_user):
    assessment, value, editor = world
    create = events(value)[0]
    with pytest.raises(StaleValue):
        history.revert_value(value, create.id, editor, expected_version=0, reason="x")
    with pytest.raises(WorkflowError, match="why"):
        history.revert_value(value, create.id, editor, expected_version=value.version, reason="")
    with pytest.raises(WorkflowError, match="already"):
        history.revert_value(
            value, events(value)[-1].id, editor, expected_version=value.version, reason="same"
        )
    with pytest.raises(WorkflowDenied):
        history.revert_value(
            value, create.id, make_user(Role.VERIFIER), expected_version=value.version, reason="x"
        )
    set_status(assessment, Status.SUBMITTED)
    with pytest.raises(WorkflowDenied):
        history.revert_value(value, create.id, editor, expected_version=value.version, reason="x")


def test_lost_concurrent_saves_are_shown_but_never_restored(world):
    assessment, value, editor = world
    audit.record(
        "save_conflict",
        "indicator_value",
        value.id,
        actor=editor,
        old={"numerator": 70.0},
        new={"numerator": 999.0},
        assessment_id=assessment.id,
    )
    db.session.commit()
    entries = history.value_history(value)
    assert entries[0].event.action == "save_conflict" and not entries[0].revertable
    last_applied = events(value)[2]
    assert history.state_after(value, last_applied.id)["numerator"] == 70.0


def test_assessment_history_collects_all_events(world):
    assessment, _, _ = world
    trail = history.assessment_history(assessment)
    assert len(trail) == 3
    assert all(isinstance(e, AuditEvent) for e in trail)

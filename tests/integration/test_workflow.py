"""The assessment workflow: legal and illegal transitions, audit, assignment, snapshots."""

from __future__ import annotations

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Snapshot, Status
from kpi_app.services import review_threads, snapshots, workflow
from kpi_app.services.workflow import Action, StaleValue, WorkflowDenied, WorkflowError
from tests.factories import add_value, decide_all, edit_value, set_status

KPI = "EC: ICT: ICT: 1C"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    people = {
        "editor": make_user(Role.CITY_EDITOR, city),
        "other_editor": make_user(Role.CITY_EDITOR, make_city("beta")),
        "verifier": make_user(Role.VERIFIER),
        "stranger": make_user(Role.VERIFIER),
        "coordinator": make_user(Role.COORDINATOR),
        "viewer": make_user(Role.VIEWER),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    value = add_value(assessment, KPI, 80.0, actor=people["editor"])
    return assessment, value, people


def status_events(assessment):
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action == "status_change", AuditEvent.entity_id == assessment.id)
            .order_by(AuditEvent.id)
        )
    )


def test_full_path_is_audited_step_by_step(world):
    assessment, value, p = world
    workflow.transition(assessment, Action.SUBMIT, p["editor"])
    assert assessment.submitted_at is not None
    workflow.transition(assessment, Action.START_REVIEW, p["verifier"])
    query = review_threads.open_query(value, p["verifier"], "Which survey is this from?")
    workflow.transition(assessment, Action.RETURN, p["verifier"], reason="see query")
    review_threads.reply(query, p["editor"], "The 2024 household survey.")
    workflow.transition(assessment, Action.SUBMIT, p["editor"])
    workflow.transition(assessment, Action.START_REVIEW, p["verifier"])
    review_threads.resolve(query, p["verifier"])
    workflow.set_value_verification(
        value,
        p["verifier"],
        verified=True,
        code="source_checked",
        note=None,
        expected_version=value.version,
    )
    workflow.transition(assessment, Action.VERIFY, p["verifier"])
    workflow.transition(assessment, Action.PUBLISH, p["coordinator"])

    assert assessment.status is Status.PUBLISHED
    assert assessment.published_at is not None
    events = status_events(assessment)
    assert [(e.old["status"], e.new["status"]) for e in events] == [
        ("draft", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "returned"),
        ("returned", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "verified"),
        ("verified", "published"),
    ]
    assert events[2].reason == "see query"
    assert events[2].actor_id == p["verifier"].id
    assert all(e.at is not None and e.assessment_id == assessment.id for e in events)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.DRAFT, Action.VERIFY),
        (Status.DRAFT, Action.PUBLISH),
        (Status.SUBMITTED, Action.SUBMIT),
        (Status.SUBMITTED, Action.VERIFY),
        (Status.IN_REVIEW, Action.PUBLISH),
        (Status.PUBLISHED, Action.SUBMIT),
        (Status.RETURNED, Action.VERIFY),
        (Status.DRAFT, Action.REOPEN),
    ],
)
def test_illegal_transitions_say_why_and_change_nothing(world, status, action):
    assessment, _, p = world
    set_status(assessment, status)
    actor = p["editor"] if action is Action.SUBMIT else p["coordinator"]
    before = len(status_events(assessment))
    with pytest.raises(WorkflowError, match="not possible while the assessment is"):
        workflow.transition(assessment, action, actor, reason="x", target="draft")
    assert assessment.status is status
    assert len(status_events(assessment)) == before


@pytest.mark.parametrize(
    ("action", "who"),
    [
        (Action.SUBMIT, "other_editor"),
        (Action.SUBMIT, "verifier"),
        (Action.START_REVIEW, "stranger"),
        (Action.START_REVIEW, "editor"),
        (Action.PUBLISH, "verifier"),
        (Action.REOPEN, "editor"),
        (Action.VERIFY, "viewer"),
    ],
)
def test_roles_that_may_not_act_are_denied(world, action, who):
    assessment, _, p = world
    with pytest.raises(WorkflowDenied):
        workflow.transition(assessment, action, p[who], reason="r", target="draft")


def test_return_and_reopen_need_a_reason(world):
    assessment, _, p = world
    set_status(assessment, Status.IN_REVIEW)
    with pytest.raises(WorkflowError, match="reason"):
        workflow.transition(assessment, Action.RETURN, p["verifier"], reason="  ")
    set_status(assessment, Status.PUBLISHED)
    with pytest.raises(WorkflowError, match="reason"):
        workflow.transition(assessment, Action.REOPEN, p["coordinator"], target="draft")
    with pytest.raises(WorkflowError, match="Reopen to"):
        workflow.transition(
            assessment, Action.REOPEN, p["coordinator"], target="verified", reason="x"
        )


def test_cannot_verify_with_unresolved_queries(world):
    assessment, value, p = world
    set_status(assessment, Status.IN_REVIEW)
    decide_all(assessment)
    review_threads.open_query(value, p["verifier"], "Check the denominator")
    with pytest.raises(WorkflowError, match="unresolved"):
        workflow.transition(assessment, Action.VERIFY, p["verifier"])


def test_submitting_an_empty_assessment_is_refused(make_city, make_user, make_assessment):
    city = make_city()
    assessment = make_assessment(city)
    with pytest.raises(WorkflowError, match="at least one value"):
        workflow.transition(assessment, Action.SUBMIT, make_user(Role.CITY_EDITOR, city))


def test_edits_after_reopen_never_change_the_published_snapshot(world):
    assessment, value, p = world
    set_status(assessment, Status.VERIFIED)
    decide_all(assessment)
    workflow.transition(assessment, Action.PUBLISH, p["coordinator"])
    published = snapshots.latest(assessment.id)
    frozen_hash, frozen_content = published.content_hash, dict(published.content)
    workflow.transition(
        assessment, Action.REOPEN, p["coordinator"], target="draft", reason="late correction"
    )
    assert assessment.status is Status.DRAFT
    edit_value(value, p["editor"], computed_value=12.5)

    db.session.expire_all()
    again = db.session.get(Snapshot, published.id)
    assert again.content_hash == frozen_hash
    assert again.content == frozen_content
    assert snapshots.content_hash(again.content) == frozen_hash
    assert again.content["values"][0]["value"] == 80.0
    assert assessment.published_at is not None  # the public keeps seeing the frozen result


def test_assign_and_unassign_verifier(world):
    assessment, _, p = world
    with pytest.raises(WorkflowError, match="already assigned"):
        workflow.assign_verifier(assessment, p["verifier"], p["coordinator"])
    with pytest.raises(WorkflowError, match="not an active verifier"):
        workflow.assign_verifier(assessment, p["editor"], p["coordinator"])
    with pytest.raises(WorkflowDenied):
        workflow.assign_verifier(assessment, p["stranger"], p["verifier"])
    workflow.unassign_verifier(assessment, p["verifier"], p["coordinator"])
    assert assessment.verifiers == []
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert "assign_verifier" in actions and "unassign_verifier" in actions


def test_value_verification_with_reason_codes_and_locking(world):
    assessment, value, p = world
    with pytest.raises(WorkflowError, match="Start the review"):
        workflow.set_value_verification(
            value,
            p["verifier"],
            verified=True,
            code="source_checked",
            note=None,
            expected_version=value.version,
        )
    set_status(assessment, Status.IN_REVIEW)
    with pytest.raises(WorkflowError, match="does not fit"):
        workflow.set_value_verification(
            value,
            p["verifier"],
            verified=True,
            code="implausible",
            note=None,
            expected_version=value.version,
        )
    with pytest.raises(WorkflowError, match="note"):
        workflow.set_value_verification(
            value,
            p["verifier"],
            verified=False,
            code="implausible",
            note="",
            expected_version=value.version,
        )
    with pytest.raises(StaleValue):
        workflow.set_value_verification(
            value,
            p["verifier"],
            verified=True,
            code="source_checked",
            note=None,
            expected_version=value.version - 1,
        )
    workflow.set_value_verification(
        value,
        p["verifier"],
        verified=True,
        code="recalculated",
        note=None,
        expected_version=value.version,
    )
    assert value.verified is True and value.verification_code == "recalculated"
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "verify_value"))
    assert event.old["verified"] is None and event.new["verified"] is True


def test_reported_override_needs_reason_and_can_go_back_to_automatic(world):
    assessment, value, p = world
    set_status(assessment, Status.IN_REVIEW)
    assert workflow.effective_reported(value) is True
    with pytest.raises(WorkflowError, match="reason"):
        workflow.override_reported(
            value, p["verifier"], reported=False, reason=None, expected_version=value.version
        )
    workflow.override_reported(
        value,
        p["verifier"],
        reported=False,
        reason="estimate from 2012",
        expected_version=value.version,
    )
    assert workflow.effective_reported(value) is False
    assert snapshots.value_record(value)["reported"] is False
    workflow.override_reported(
        value, p["verifier"], reported=None, reason=None, expected_version=value.version
    )
    assert workflow.effective_reported(value) is True
    assert value.reported_override_reason is None


def test_open_assessment_for_a_new_cycle(world, make_city):
    _, _, p = world
    city = make_city("gamma")
    created = workflow.open_assessment(city, 2025, p["coordinator"])
    assert created.status is Status.DRAFT and created.catalogue_version
    with pytest.raises(WorkflowError, match="already has"):
        workflow.open_assessment(city, 2025, p["coordinator"])
    with pytest.raises(WorkflowDenied):
        workflow.open_assessment(city, 2026, p["editor"])


def test_available_actions_follow_status_and_role(world):
    assessment, _, p = world
    assert workflow.available_actions(p["editor"], assessment) == [Action.SUBMIT]
    assert workflow.available_actions(p["verifier"], assessment) == []
    set_status(assessment, Status.SUBMITTED)
    assert set(workflow.available_actions(p["verifier"], assessment)) == {
        Action.START_REVIEW,
        Action.RETURN,
    }
    set_status(assessment, Status.VERIFIED)
    assert set(workflow.available_actions(p["coordinator"], assessment)) == {
        Action.PUBLISH,
        Action.REOPEN,
    }


def test_nobody_verifies_a_value_they_entered(world, make_user):
    assessment, _, p = world
    admin = make_user(Role.ADMIN)
    own = add_value(assessment, "EC: ICT: ICT: 2C", 40.0, actor=admin)
    set_status(assessment, Status.IN_REVIEW)
    with pytest.raises(WorkflowError, match="another person must verify"):
        workflow.set_value_verification(
            own,
            admin,
            verified=True,
            code="source_checked",
            note=None,
            expected_version=own.version,
        )
    workflow.set_value_verification(
        own,
        p["verifier"],
        verified=True,
        code="source_checked",
        note=None,
        expected_version=own.version,
    )
    # The verifier's own verdicts do not count as entering the value: they may revise them.
    workflow.set_value_verification(
        own,
        p["verifier"],
        verified=False,
        code="implausible",
        note="too low",
        expected_version=own.version,
    )
    assert own.verified is False

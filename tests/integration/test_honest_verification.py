"""Issue 13 item 3, honest verification, at the service level and through the CLI:

- "Mark verified" (and publishing) needs a decision on every reported value;
- the verifier bulk-verifies the values the screening did not flag, one audit event each;
- submission needs a source and a data-quality level on every reported value;
- published records state the verified share ("N of M reported values verified").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status
from kpi_app.services import interop, snapshots, values, workflow
from kpi_app.services.workflow import Action, WorkflowError
from tests.factories import add_value, set_status

INTERNET = "EC: ICT: ICT: 1C"
BROADBAND = "EC: ICT: ICT: 2C"  # 85 above Internet access 70: flagged by a cross-KPI rule
UNEMPLOYMENT = "EC: P: EM: 1C"
YOUTH = "EC: P: EM: 2C"
BIN = Path(sys.executable).parent


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    people = {
        "editor": make_user(Role.CITY_EDITOR, city),
        "verifier": make_user(Role.VERIFIER),
        "coordinator": make_user(Role.COORDINATOR),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    rows = {
        code: add_value(assessment, code, number, actor=people["editor"])
        for code, number in (
            (INTERNET, 70.0),
            (BROADBAND, 85.0),
            (UNEMPLOYMENT, 5.0),
            (YOUTH, 12.0),
        )
    }
    rows["unreported"] = add_value(
        assessment, "EC: ICT: ICT: 3C", None, actor=people["editor"], not_reported_reason="n/a"
    )
    return assessment, rows, people


def decide(row, actor, code="source_checked", note=None):
    supports = workflow.VERIFICATION_CODES[code][0]
    workflow.set_value_verification(
        row, actor, verified=supports, code=code, note=note, expected_version=row.version
    )


def test_mark_verified_needs_a_decision_on_every_reported_value(world):
    assessment, rows, p = world
    set_status(assessment, Status.IN_REVIEW)
    decide(rows[INTERNET], p["verifier"])
    with pytest.raises(WorkflowError, match="3 of 4 reported values have no verification"):
        workflow.transition(assessment, Action.VERIFY, p["verifier"])
    assert assessment.status is Status.IN_REVIEW
    for code in (UNEMPLOYMENT, YOUTH):
        decide(rows[code], p["verifier"], "consistent")
    # "Not verified" with a reason code and a note is a decision too; the value not
    # reported needs none.
    decide(rows[BROADBAND], p["verifier"], "implausible", note="above Internet access")
    workflow.transition(assessment, Action.VERIFY, p["verifier"])
    assert assessment.status is Status.VERIFIED
    share = workflow.verified_share(assessment)
    assert (share.verified, share.not_verified, share.reported) == (3, 1, 4)


def test_publishing_refuses_values_without_a_decision(world):
    assessment, _, p = world
    set_status(assessment, Status.VERIFIED)  # e.g. verified before this rule existed
    with pytest.raises(WorkflowError, match="no verification decision"):
        workflow.transition(assessment, Action.PUBLISH, p["coordinator"])
    assert snapshots.latest(assessment.id) is None


def test_bulk_verify_only_touches_unflagged_undecided_values(world):
    assessment, rows, p = world
    set_status(assessment, Status.IN_REVIEW)
    decide(rows[YOUTH], p["verifier"], "implausible", note="check the survey")
    selection = {row.id: row.version for row in rows.values()}
    selection[rows[UNEMPLOYMENT].id] -= 1  # the page was shown before a change
    result = workflow.bulk_verify(assessment, p["verifier"], selection, code="consistent")

    assert result.verified == [rows[INTERNET].id]
    assert (result.flagged, result.decided, result.stale, result.not_reported) == (1, 1, 1, 1)
    assert rows[INTERNET].verified is True and rows[INTERNET].verification_code == "consistent"
    assert rows[BROADBAND].verified is None  # flagged: judged one by one
    assert rows[YOUTH].verified is False  # a "not verified" decision is never overwritten
    events = list(
        db.session.scalars(
            db.select(AuditEvent).where(
                AuditEvent.action == "verify_value", AuditEvent.reason == workflow.BULK_REASON
            )
        )
    )
    assert [(e.entity_id, e.actor_id, e.new["verified"]) for e in events] == [
        (rows[INTERNET].id, p["verifier"].id, True)
    ]


def test_bulk_verify_refuses_a_no_reason_and_the_wrong_status(world):
    assessment, rows, p = world
    selection = {rows[INTERNET].id: rows[INTERNET].version}
    with pytest.raises(workflow.WorkflowError, match="Start the review"):
        workflow.bulk_verify(assessment, p["verifier"], selection, code="consistent")
    set_status(assessment, Status.IN_REVIEW)
    with pytest.raises(workflow.WorkflowError, match="supports"):
        workflow.bulk_verify(assessment, p["verifier"], selection, code="implausible")
    with pytest.raises(workflow.WorkflowDenied):
        workflow.bulk_verify(assessment, p["editor"], selection, code="consistent")
    assert rows[INTERNET].verified is None


def test_bulk_verify_skips_values_the_verifier_entered(world, make_user):
    assessment, rows, p = world
    coordinator = p["coordinator"]
    values.save_entries(
        assessment,
        [
            values.Entry(
                values.ValueInput(
                    code=INTERNET, value=71.0, source="own survey", quality=2, comment="fix"
                )
            )
        ],
        coordinator,
    )
    set_status(assessment, Status.IN_REVIEW)
    db.session.refresh(rows[INTERNET])
    result = workflow.bulk_verify(
        assessment, coordinator, {rows[INTERNET].id: rows[INTERNET].version}, code="consistent"
    )
    assert result.verified == [] and result.own == 1


def test_submission_needs_source_and_quality_on_every_reported_value(world, make_user):
    assessment, _rows, p = world
    add_value(assessment, "EN: EN: AQ: 1C", 9.0, data_point="pm25", source=None)
    add_value(assessment, "SC: EH: ED: 2C", 98.0, quality=None, actor=p["editor"])
    # A web address alone is a source.
    add_value(assessment, "EC: ICT: ICT: 4C", 50.0, source=None, source_url="https://stat.example")
    with pytest.raises(WorkflowError, match="lack a source") as refused:
        workflow.transition(assessment, Action.SUBMIT, p["editor"])
    assert "2 reported values lack a source or a data-quality level" in str(refused.value)
    grouped = {
        gap.category_id: [(m.value.code, m.missing_source, m.missing_quality) for m in gap.items]
        for gap in getattr(refused.value, "gaps", [])
    }
    assert grouped == {
        "EN: EN: AQ": [("EN: EN: AQ: 1C", True, False)],
        "SC: EH: ED": [("SC: EH: ED: 2C", False, True)],
    }
    assert assessment.status is Status.DRAFT


def test_changing_a_verified_value_needs_a_new_decision(world):
    assessment, rows, p = world
    row = rows[INTERNET]
    row.verified, row.verification_code = True, "source_checked"
    set_status(assessment, Status.RETURNED)
    values.save_entries(
        assessment,
        [values.Entry(values.ValueInput(code=INTERNET, value=72.0, source="survey", quality=2))],
        p["editor"],
    )
    db.session.refresh(row)
    assert row.computed_value == 72.0 and row.verified is None and row.verification_code is None
    update = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.entity_id == row.id, AuditEvent.action == "update")
        .order_by(AuditEvent.id.desc())
    )
    assert update.old["verified"] is True and update.new["verified"] is None


def test_published_record_states_the_verified_share(world):
    assessment, rows, p = world
    set_status(assessment, Status.IN_REVIEW)
    for code in (INTERNET, UNEMPLOYMENT, YOUTH):
        decide(rows[code], p["verifier"])
    decide(rows[BROADBAND], p["verifier"], "implausible", note="too high")
    workflow.transition(assessment, Action.VERIFY, p["verifier"])
    workflow.transition(assessment, Action.PUBLISH, p["coordinator"])
    record = interop.published_assessment("alpha", 2024)
    assert (record.reported, record.reported_verified) == (4, 3)
    assert record.verified_share == "3 of 4 reported values verified"


def test_workflow_status_command_prints_share_and_missing_fields(world, database_url):
    assessment, _rows, _p = world
    add_value(assessment, "EN: EN: AQ: 1C", 9.0, data_point="pm25", source=None, quality=None)
    db.session.commit()
    result = subprocess.run(
        [str(BIN / "kpi-app"), "workflow-status", "--city", "alpha", "--year", "2024"],
        env={**os.environ, "DATABASE_URL": database_url, "KPI_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "0 of 5 reported values verified (0 not verified, 5 without a decision)" in result.stdout
    assert (
        "missing before submission: EN: EN: AQ / EN: EN: AQ: 1C [pm25]: source, data-quality level"
        in result.stdout
    )

"""The workflow commands: assign-verifier, workflow-status, screen, todo."""

from __future__ import annotations

import json

from kpi_app.models import Role, Status
from kpi_app.services import workflow
from tests.factories import add_value


def test_assign_verifier_command(runner, make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    verifier = make_user(Role.VERIFIER)
    result = runner.invoke(
        args=["assign-verifier", verifier.email, "--city", "alpha", "--year", "2024"]
    )
    assert result.exit_code == 0, result.output
    assert assessment.verifiers == [verifier]
    again = runner.invoke(
        args=["assign-verifier", verifier.email, "--city", "alpha", "--year", "2024"]
    )
    assert again.exit_code == 1 and "already assigned" in again.output
    missing = runner.invoke(
        args=["assign-verifier", verifier.email, "--city", "nowhere", "--year", "2024"]
    )
    assert missing.exit_code == 1 and "no assessment" in missing.output
    removed = runner.invoke(
        args=["assign-verifier", verifier.email, "--city", "alpha", "--year", "2024", "--remove"]
    )
    assert removed.exit_code == 0 and "Removed" in removed.output


def test_status_screen_and_todo_commands(runner, make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city)
    add_value(assessment, "EC: ICT: ICT: 1C", 70.0)
    add_value(assessment, "EC: ICT: ICT: 2C", 85.0)
    workflow.transition(assessment, "submit", editor)

    status = runner.invoke(args=["workflow-status", "--city", "alpha", "--year", "2024"])
    assert "alpha 2024: submitted" in status.output
    assert "draft -> submitted by " + editor.email in status.output

    screened = runner.invoke(
        args=["screen", "--city", "alpha", "--year", "2024", "--format", "json"]
    )
    payload = json.loads(screened.output)
    assert any(f["rule"] == "broadband_below_internet" for f in payload["flags"])
    assert payload["completeness"]["reported_core"] == 2

    todo = runner.invoke(args=["todo", make_user(Role.COORDINATOR).email])
    assert "awaiting_assignment: alpha 2024" in todo.output
    assert assessment.status is Status.SUBMITTED

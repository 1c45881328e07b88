"""Issue 15, assignment and status that tell the truth, through the web client: the banner on
the city's assessment page, the return reason on the to-do list, last year's verifier carried
over when a coordinator confirms, and each role landing on its to-do list after login."""

from __future__ import annotations

import html

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status
from kpi_app.services import review_threads, workflow
from tests.factories import PASSWORD, add_value, login

INTERNET = "EC: ICT: ICT: 1C"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city, 2024)
    people = {
        "editor": make_user(Role.CITY_EDITOR, city),
        "verifier": make_user(Role.VERIFIER),
        "coordinator": make_user(Role.COORDINATOR),
        "viewer": make_user(Role.VIEWER),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    value = add_value(assessment, INTERNET, 70.0, actor=people["editor"])
    return assessment, value, people


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_returned_assessment_page_shows_reason_and_query_counts(app, world):
    assessment, value, p = world
    workflow.transition(assessment, "submit", p["editor"])
    workflow.transition(assessment, "start_review", p["verifier"])
    review_threads.open_query(value, p["verifier"], "Which survey?")
    workflow.transition(assessment, "return", p["verifier"], reason="Please cite the survey")
    editor = app.test_client()
    login(editor, p["editor"].email)
    page = text(editor.get(f"/assessments/{assessment.id}"))
    assert 'id="status-banner"' in page
    assert "Status: Returned to the city" in page
    assert "<q>Please cite the survey</q>" in page
    assert "Questions from the verifier: 1 waiting for your answer, 0 answered" in page
    inbox = text(editor.get("/verification/"))
    assert "was returned by the verifier" in inbox and "<q>Please cite the survey</q>" in inbox


def test_submitted_page_names_the_reviewer(app, world):
    assessment, _, p = world
    workflow.transition(assessment, "submit", p["editor"])
    editor = app.test_client()
    login(editor, p["editor"].email)
    page = text(editor.get(f"/assessments/{assessment.id}"))
    assert f"Under review by {p['verifier'].email}." in page


def test_last_years_verifier_carries_over_when_the_coordinator_confirms(
    app, world, make_assessment
):
    previous, _, p = world
    current = make_assessment(previous.city, 2025)
    add_value(current, INTERNET, 72.0, actor=p["editor"])
    workflow.transition(current, "submit", p["editor"])
    coordinator = app.test_client()
    login(coordinator, p["coordinator"].email)
    inbox = text(coordinator.get("/verification/"))
    assert "Alpha 2025 is submitted but has no verifier" in inbox
    assert f"Assign last year's verifier: {p['verifier'].email}" in inbox
    assert current.verifiers == []  # nothing carried over before the coordinator confirms

    editor = app.test_client()
    login(editor, p["editor"].email)
    assert editor.post(f"/verification/assessments/{current.id}/carry-over").status_code == 403
    verifier = app.test_client()
    login(verifier, p["verifier"].email)  # not assigned (yet): the assessment stays hidden
    assert verifier.post(f"/verification/assessments/{current.id}/carry-over").status_code == 404

    done = coordinator.post(
        f"/verification/assessments/{current.id}/carry-over", follow_redirects=True
    )
    assert "Last year's verifier is assigned to Alpha 2025." in text(done)
    db.session.refresh(current)
    assert current.verifiers == [p["verifier"]]
    assert db.session.scalar(
        db.select(AuditEvent).where(
            AuditEvent.action == "assign_verifier",
            AuditEvent.assessment_id == current.id,
            AuditEvent.actor_id == p["coordinator"].id,
        )
    )
    again = coordinator.post(
        f"/verification/assessments/{current.id}/carry-over", follow_redirects=True
    )
    assert "no other active verifier to carry over" in text(again)


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("editor", "/verification/"),
        ("verifier", "/verification/"),
        ("coordinator", "/verification/"),
        ("viewer", "/"),
    ],
)
def test_each_role_lands_on_its_to_do_list_after_login(app, world, role, landing):
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"email": world[2][role].email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == landing
    assert Status.DRAFT is world[0].status

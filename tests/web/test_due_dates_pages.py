"""Due dates on the pages (issue 15): the coordinator's form (validated, clear messages), the
assessment banner, the review page and the to-do lists, overdue written out in words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kpi_app.extensions import db
from kpi_app.models import AssessmentDueDates, AuditEvent, Role
from kpi_app.services import due_dates, workflow
from tests.factories import add_value, login


@pytest.fixture
def world(app, make_city, make_user):
    city = make_city("alpha", name="Alpha")
    editor = make_user(Role.CITY_EDITOR, city)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    assessment = workflow.open_assessment(city, 2026, coordinator)
    add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=editor)
    workflow.assign_verifier(assessment, verifier, coordinator)
    return assessment, editor, verifier, coordinator


def _post(client, assessment, entry, verification):
    return client.post(
        f"/admin/assessments/{assessment.id}/due-dates",
        data={"entry_due": entry, "verification_due": verification},
    )


def test_coordinator_sets_the_due_dates_on_the_assignment_page(client, world):
    assessment, _editor, _verifier, coordinator = world
    login(client, coordinator.email)
    page = client.get(f"/admin/assessments/{assessment.id}/verifiers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'type="date"' in html and "No due date set." in html
    response = _post(client, assessment, "2027-03-31", "2027-05-31")
    assert response.status_code == 302 and response.headers["Location"].endswith("#due")
    row = db.session.get(AssessmentDueDates, assessment.id)
    assert (str(row.entry_due), str(row.verification_due)) == ("2027-03-31", "2027-05-31")
    shown = client.get(f"/admin/assessments/{assessment.id}/verifiers").get_data(as_text=True)
    assert "2027-03-31" in shown and "2027-05-31" in shown
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "set_due_dates")
    ).one()
    assert event.actor_id == coordinator.id
    history = client.get(f"/verification/assessments/{assessment.id}/history")
    assert "set_due_dates" in history.get_data(as_text=True)
    assert "Data entry due" in history.get_data(as_text=True)


@pytest.mark.parametrize(
    ("entry", "verification", "message"),
    [
        ("2027-02-30", "", "Enter a real date as YYYY-MM-DD"),
        ("31/03/2027", "", "Enter a real date as YYYY-MM-DD"),
        ("2027-05-31", "2027-03-31", "is before the data-entry due date (2027-05-31)"),
        ("0027-03-31", "", "not a plausible due date"),
    ],
)
def test_impossible_dates_are_refused_with_a_clear_message(
    client, world, entry, verification, message
):
    assessment, _editor, _verifier, coordinator = world
    login(client, coordinator.email)
    response = _post(client, assessment, entry, verification)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="error-summary"' in html
    assert f'value="{entry}"' in html  # what was typed is kept for correction
    assert db.session.get(AssessmentDueDates, assessment.id) is None


def test_only_coordinators_set_due_dates(client, world):
    assessment, editor, verifier, _coordinator = world
    for user in (editor, verifier):
        login(client, user.email)
        assert _post(client, assessment, "2027-03-31", "").status_code == 403
        client.post("/auth/logout")
    assert db.session.get(AssessmentDueDates, assessment.id) is None


def test_overdue_is_written_on_the_banner_the_review_and_the_to_do_lists(client, world):
    assessment, editor, verifier, coordinator = world
    today = due_dates.today_utc()
    due_dates.set_due_dates(
        assessment,
        coordinator,
        entry_due=today - timedelta(days=2),
        verification_due=today + timedelta(days=20),
    )
    login(client, editor.email)
    banner = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert "Overdue:" in banner
    assert f"data entry was due on {(today - timedelta(days=2)).isoformat()}, 2 days ago." in banner
    inbox = client.get("/verification/").get_data(as_text=True)
    assert "Overdue:" in inbox
    client.post("/auth/logout")

    login(client, coordinator.email)
    admin = client.get("/admin/").get_data(as_text=True)
    assert "is behind schedule" in admin and "Overdue:" in admin
    review = client.get(f"/verification/assessments/{assessment.id}").get_data(as_text=True)
    assert "Overdue:" in review
    assert f"Verification due date: {(today + timedelta(days=20)).isoformat()}." in review
    client.post("/auth/logout")

    # due soon, in words, for the verifier once it is submitted
    due_dates.set_due_dates(
        assessment,
        coordinator,
        entry_due=today - timedelta(days=2),
        verification_due=today + timedelta(days=1),
    )
    value = assessment.values[0]
    value.source, value.quality = "Census", 1
    db.session.commit()
    workflow.transition(assessment, "submit", editor)
    login(client, verifier.email)
    inbox = client.get("/verification/").get_data(as_text=True)
    assert "Due soon:" in inbox and "the verification is due on" in inbox and "in 1 day." in inbox

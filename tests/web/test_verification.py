"""The verification workspace through the test client: pages, steps, queries, history."""

from __future__ import annotations

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, QueryStatus, Role, Status, ValueQuery
from kpi_app.services import workflow
from tests.factories import add_value, decide_all, edit_value, login, set_status

INTERNET = "EC: ICT: ICT: 1C"
BROADBAND = "EC: ICT: ICT: 2C"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    workflow.assign_verifier(assessment, verifier, coordinator)
    internet = add_value(assessment, INTERNET, 70.0, actor=editor, unit="%")
    broadband = add_value(assessment, BROADBAND, 85.0, actor=editor, unit="%")
    return {
        "a": assessment,
        "editor": editor,
        "verifier": verifier,
        "coordinator": coordinator,
        "internet": internet,
        "broadband": broadband,
    }


def text(response):
    return response.get_data(as_text=True)


def test_editor_submits_and_the_verifier_sees_it_in_the_inbox(app, world):
    editor, verifier = app.test_client(), app.test_client()
    login(editor, world["editor"].email)
    response = editor.post(f"/verification/assessments/{world['a'].id}/submit")
    assert response.status_code == 302
    assert world["a"].status is Status.SUBMITTED
    again = editor.post(f"/verification/assessments/{world['a'].id}/submit", follow_redirects=True)
    assert "not possible while the assessment is" in text(again)

    login(verifier, world["verifier"].email)
    inbox = text(verifier.get("/verification/"))
    assert "Alpha 2024 waits for your review" in inbox
    assert "<caption>Assessments you can see before publication</caption>" in inbox
    assert f'href="/verification/assessments/{world["a"].id}"' in inbox


def test_review_page_shows_values_and_screening_hints(app, world):
    set_status(world["a"], Status.SUBMITTED)
    client = app.test_client()
    login(client, world["verifier"].email)
    page = text(client.get(f"/verification/assessments/{world['a'].id}"))
    assert "<caption>Values reported by Alpha for 2024</caption>" in page
    assert INTERNET in page and BROADBAND in page
    # Broadband (85) above household Internet access (70) breaks a documented rule.
    assert "Fixed broadband (85) is above household Internet access (70)" in page
    assert "Start review" in page


def test_verifier_queries_city_answers_verifier_resolves(app, world):
    set_status(world["a"], Status.IN_REVIEW)
    verifier, editor = app.test_client(), app.test_client()
    login(verifier, world["verifier"].email)
    login(editor, world["editor"].email)
    value_id = world["broadband"].id

    empty = verifier.post(f"/verification/values/{value_id}/queries", data={"new-body": " "})
    assert empty.status_code == 400
    assert "There is a problem" in text(empty)
    verifier.post(
        f"/verification/values/{value_id}/queries",
        data={"new-body": "Broadband above Internet access?"},
    )
    query = db.session.scalar(db.select(ValueQuery))
    assert query.status is QueryStatus.OPEN

    returned = verifier.post(
        f"/verification/assessments/{world['a'].id}/return",
        data={"reason": "Please check broadband"},
    )
    assert returned.status_code == 302 and world["a"].status is Status.RETURNED

    city_page = text(editor.get(f"/verification/assessments/{world['a'].id}/queries"))
    assert "Broadband above Internet access?" in city_page
    assert "Open: waiting for the city" in city_page
    editor.post(
        f"/verification/queries/{query.id}/reply",
        data={f"q{query.id}-body": "Counted business lines; corrected.", "next": "city"},
    )
    db.session.refresh(query)
    assert query.status is QueryStatus.ANSWERED
    assert [m.body for m in query.messages][-1] == "Counted business lines; corrected."

    # The editor may not resolve; the verifier does.
    assert editor.post(f"/verification/queries/{query.id}/resolve").status_code == 403
    set_status(world["a"], Status.IN_REVIEW)
    verifier.post(f"/verification/queries/{query.id}/resolve", data={f"r{query.id}-note": "OK"})
    db.session.refresh(query)
    assert query.status is QueryStatus.RESOLVED


def test_value_verification_form_and_stale_version(app, world):
    set_status(world["a"], Status.IN_REVIEW)
    client = app.test_client()
    login(client, world["verifier"].email)
    value = world["internet"]
    url = f"/verification/values/{value.id}/verification"
    page = text(client.get(f"/verification/values/{value.id}"))
    assert 'name="version"' in page
    stale = client.post(
        url, data={"version": value.version - 1, "verified": "yes", "code": "source_checked"}
    )
    assert stale.status_code == 400
    assert "Someone changed this value" in text(stale)
    ok = client.post(
        url, data={"version": value.version, "verified": "yes", "code": "source_checked"}
    )
    assert ok.status_code == 302
    db.session.refresh(value)
    assert value.verified is True and value.verification_code == "source_checked"


def test_reported_override_through_the_form(app, world):
    set_status(world["a"], Status.IN_REVIEW)
    client = app.test_client()
    login(client, world["verifier"].email)
    value = world["internet"]
    url = f"/verification/values/{value.id}/reported"
    missing_reason = client.post(url, data={"version": value.version, "reported": "no"})
    assert "Give a reason" in text(missing_reason)
    client.post(url, data={"version": value.version, "reported": "no", "reason": "old survey"})
    db.session.refresh(value)
    assert value.reported_override is False and value.reported_override_reason == "old survey"


def test_history_and_revert_through_the_ui(app, world):
    editor = app.test_client()
    login(editor, world["editor"].email)
    value = world["internet"]
    edit_value(value, world["editor"], computed_value=75.0, source="survey B")
    page = text(editor.get(f"/verification/values/{value.id}/history"))
    assert "survey B" in page and "Restore this version" in page
    assert '<span class="field-name">Computed value</span>: <span class="old">70.0</span>' in page
    first_event = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.entity_id == value.id, AuditEvent.entity_type == "indicator_value")
        .order_by(AuditEvent.id)
    )
    response = editor.post(
        f"/verification/values/{value.id}/revert/{first_event.id}",
        data={f"e{first_event.id}-version": value.version, f"e{first_event.id}-reason": "typo"},
        follow_redirects=True,
    )
    assert "earlier version is restored" in text(response)
    db.session.refresh(value)
    assert value.computed_value == 70.0 and value.source == "Municipal statistics office"


def test_publish_and_reopen_pages(app, world):
    set_status(world["a"], Status.VERIFIED)
    decide_all(world["a"])
    client = app.test_client()
    login(client, world["coordinator"].email)
    client.post(f"/verification/assessments/{world['a'].id}/publish")
    assert world["a"].status is Status.PUBLISHED
    form = client.get(f"/verification/assessments/{world['a'].id}/reopen")
    assert "Reopen to" in text(form)
    missing = client.post(
        f"/verification/assessments/{world['a'].id}/reopen", data={"target": "draft"}
    )
    assert missing.status_code == 400 and "There is a problem" in text(missing)
    client.post(
        f"/verification/assessments/{world['a'].id}/reopen",
        data={"target": "returned", "reason": "typo in PM2.5"},
    )
    assert world["a"].status is Status.RETURNED
    trail = text(client.get(f"/verification/assessments/{world['a'].id}/history"))
    assert "typo in PM2.5" in trail and "status_change" in trail


def test_unassigned_verifier_and_other_city_get_404(app, world, make_user, make_city):
    client = app.test_client()
    login(client, make_user(Role.VERIFIER).email)
    assert client.get(f"/verification/assessments/{world['a'].id}").status_code == 404
    assert client.get(f"/verification/values/{world['internet'].id}").status_code == 404
    other = app.test_client()
    login(other, make_user(Role.CITY_EDITOR, make_city("beta")).email)
    assert other.get(f"/verification/assessments/{world['a'].id}/queries").status_code == 404
    assert other.post(f"/verification/assessments/{world['a'].id}/submit").status_code == 404


def test_anonymous_users_are_sent_to_login(client, world):
    response = client.get(f"/verification/assessments/{world['a'].id}/queries")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]

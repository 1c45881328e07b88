"""Query threads: who may open, answer and resolve; statuses; audit."""

from __future__ import annotations

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, QueryStatus, Role, Status
from kpi_app.services import review_threads, workflow
from kpi_app.services.workflow import WorkflowDenied, WorkflowError
from tests.factories import add_value, set_status


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city, status=Status.IN_REVIEW)
    editor = make_user(Role.CITY_EDITOR, city)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    workflow.assign_verifier(assessment, verifier, coordinator)
    value = add_value(assessment, "EC: ICT: ICT: 1C", 80.0)
    return assessment, value, editor, verifier


def test_thread_moves_open_answered_open_resolved(world):
    _assessment, value, editor, verifier = world
    query = review_threads.open_query(value, verifier, "  Source?  ")
    assert query.status is QueryStatus.OPEN and query.messages[0].body == "Source?"
    review_threads.reply(query, editor, "National statistics office")
    assert query.status is QueryStatus.ANSWERED
    review_threads.reply(query, verifier, "Which table?")
    assert query.status is QueryStatus.OPEN
    review_threads.resolve(query, verifier, "Found it")
    assert query.status is QueryStatus.RESOLVED and query.resolved_at is not None
    assert [m.body for m in query.messages][-1] == "Found it"
    with pytest.raises(WorkflowError, match="resolved"):
        review_threads.reply(query, editor, "late")
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-4:] == ["open_query", "reply_query", "reply_query", "resolve_query"]


def test_only_verifiers_open_and_resolve(world, make_user, make_city):
    _assessment, value, editor, verifier = world
    with pytest.raises(WorkflowDenied):
        review_threads.open_query(value, editor, "Me?")
    query = review_threads.open_query(value, verifier, "Question")
    with pytest.raises(WorkflowDenied):
        review_threads.resolve(query, editor)
    with pytest.raises(WorkflowDenied):
        review_threads.reply(query, make_user(Role.CITY_EDITOR, make_city("beta")), "not my city")
    with pytest.raises(WorkflowDenied):
        review_threads.reply(query, make_user(Role.VERIFIER), "not assigned")


def test_queries_need_a_review_and_a_message(world):
    assessment, value, _editor, verifier = world
    with pytest.raises(WorkflowError, match="Write a message"):
        review_threads.open_query(value, verifier, "   ")
    with pytest.raises(WorkflowError, match="under"):
        review_threads.open_query(value, verifier, "x" * (review_threads.MAX_MESSAGE_LENGTH + 1))
    set_status(assessment, Status.DRAFT)
    with pytest.raises(WorkflowError, match="being verified"):
        review_threads.open_query(value, verifier, "Too early")


def test_city_cannot_answer_once_verified(world):
    assessment, value, editor, verifier = world
    query = review_threads.open_query(value, verifier, "Q")
    set_status(assessment, Status.VERIFIED)
    with pytest.raises(WorkflowDenied):
        review_threads.reply(query, editor, "A")


def test_listing_and_counts(world):
    assessment, value, _editor, verifier = world
    first = review_threads.open_query(value, verifier, "first")
    second = review_threads.open_query(value, verifier, "second")
    review_threads.resolve(first, verifier)
    listed = review_threads.queries_for_assessment(assessment)
    assert [q.id for q in listed] == [second.id, first.id]  # unresolved first
    counts = review_threads.count_by_status([assessment.id])
    assert counts == {
        (assessment.id, QueryStatus.OPEN): 1,
        (assessment.id, QueryStatus.RESOLVED): 1,
    }
    assert workflow.unresolved_query_count(assessment) == 1

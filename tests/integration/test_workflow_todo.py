"""To-do lists per role, computed from statuses, queries and assignments."""

from __future__ import annotations

from kpi_app.models import Role, Status
from kpi_app.services import review_threads, todo, workflow
from tests.factories import add_value, set_status


def kinds(items):
    return sorted((item.kind, item.assessment.year) for item in items)


def test_todo_per_role(make_city, make_user, make_assessment):
    city = make_city("alpha")
    editor = make_user(Role.CITY_EDITOR, city)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    draft = make_assessment(city, year=2025)
    add_value(draft, "EC: ICT: ICT: 1C", 80.0)
    review = make_assessment(city, year=2024, status=Status.IN_REVIEW)
    value = add_value(review, "EC: ICT: ICT: 2C", 40.0)
    unassigned = make_assessment(make_city("beta"), year=2024, status=Status.SUBMITTED)
    add_value(unassigned, "EC: ICT: ICT: 1C", 50.0)
    workflow.assign_verifier(review, verifier, coordinator)
    query = review_threads.open_query(value, verifier, "Source?")

    editor_items = todo.todo_for(editor)
    assert kinds(editor_items) == [("missing_core", 2025), ("open_queries", 2024)]
    missing = next(i for i in editor_items if i.kind == "missing_core")
    assert missing.count == todo.missing_core_count(draft) > 0

    assert kinds(todo.todo_for(verifier)) == [("awaiting_review", 2024)]
    review_threads.reply(query, editor, "Statistics office")
    assert kinds(todo.todo_for(verifier)) == [("answered_queries", 2024), ("awaiting_review", 2024)]

    set_status(review, Status.VERIFIED)
    coordinator_items = todo.todo_for(coordinator)
    assert kinds(coordinator_items) == [
        ("awaiting_assignment", 2024),
        ("awaiting_publication", 2024),
    ]
    assert {i.assessment.id for i in coordinator_items} == {unassigned.id, review.id}

    assert todo.todo_for(make_user(Role.VIEWER)) == []
    assert todo.todo_for(None) == []

"""Two editors saving the same value at the same moment (PostgreSQL, real threads).

One wins, the other gets a conflict carrying both values, the audit trail shows both
attempts (the losing one as "save_conflict"), and nothing typed is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from kpi_app.extensions import db
from kpi_app.models import Assessment, AuditEvent, Role, User
from kpi_app.services import values
from kpi_app.services.values import Entry, SaveResult, ValueInput

CODE = "EC: ICT: ICT: 5C"


@pytest.fixture
def race(
    app: Flask,
    backend: str,
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    city = make_city("racetown")
    first = make_user(Role.CITY_EDITOR, city=city, name="Ada")
    second = make_user(Role.CITY_EDITOR, city=city, name="Bo")
    assessment = make_assessment(city, 2024)
    values.save_entries(assessment, [Entry(ValueInput(CODE, value=1))], first)
    version = values.records_by_key(assessment)[(CODE, "")].version
    state = {"assessment_id": assessment.id, "users": (first.id, second.id), "version": version}
    db.session.remove()  # the threads open their own sessions
    return state


def save_in_thread(
    app: Flask,
    assessment_id: int,
    user_id: int,
    value: float,
    version: int,
    results: dict[int, Any],
    barrier: threading.Barrier | None = None,
) -> None:
    with app.app_context():
        try:
            assessment = db.session.get(Assessment, assessment_id)
            actor = db.session.get(User, user_id)
            assert assessment is not None and actor is not None
            if barrier is not None:
                barrier.wait(timeout=10)
            results[user_id] = values.save_entries(
                assessment, [Entry(ValueInput(CODE, value=value), version)], actor
            )
        except Exception as error:  # reported to the test thread
            results[user_id] = error
        finally:
            db.session.remove()


def run_pair(app: Flask, race: dict[str, Any], barrier: threading.Barrier | None) -> dict[int, Any]:
    results: dict[int, Any] = {}
    first, second = race["users"]
    threads = [
        threading.Thread(
            target=save_in_thread,
            args=(app, race["assessment_id"], first, 10.0, race["version"], results, barrier),
        ),
        threading.Thread(
            target=save_in_thread,
            args=(app, race["assessment_id"], second, 20.0, race["version"], results, barrier),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def check_one_winner(race: dict[str, Any], results: dict[int, Any]) -> None:
    assert all(isinstance(r, SaveResult) for r in results.values()), results
    winners = [uid for uid, r in results.items() if r.saved]
    losers = [uid for uid, r in results.items() if r.conflicts]
    assert len(winners) == 1 and len(losers) == 1
    winner, loser = winners[0], losers[0]
    attempted = {race["users"][0]: 10.0, race["users"][1]: 20.0}
    (conflict,) = results[loser].conflicts
    assert conflict.mine.value == attempted[loser]
    assert conflict.theirs.value == attempted[winner]
    db.session.expire_all()
    assessment = db.session.get(Assessment, race["assessment_id"])
    assert values.records_by_key(assessment)[(CODE, "")].computed_value == attempted[winner]
    trail = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.entity_type == "indicator_value")
        .order_by(AuditEvent.id)
    ).all()
    updates = [e for e in trail if e.action == "update"]
    conflicts = [e for e in trail if e.action == "save_conflict"]
    assert [e.actor_id for e in updates] == [winner]
    assert [e.actor_id for e in conflicts] == [loser]
    assert conflicts[0].new["value"] == attempted[loser]  # what the loser typed is kept


def test_simultaneous_saves_one_wins_one_conflicts(app: Flask, race: dict[str, Any]) -> None:
    results = run_pair(app, race, threading.Barrier(2))
    check_one_winner(race, results)


def test_true_race_after_the_version_check_is_caught_by_the_orm(
    app: Flask, race: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both writers pass the form's version check before either writes: the row lock and
    SQLAlchemy's version_id_col (StaleDataError) must still stop the second one."""
    both_checked = threading.Barrier(2)
    original_write = values._write

    def write_after_both_checked(*args: Any, **kwargs: Any) -> tuple[str, str]:
        both_checked.wait(timeout=10)
        return original_write(*args, **kwargs)

    monkeypatch.setattr(values, "_write", write_after_both_checked)
    results = run_pair(app, race, None)
    check_one_winner(race, results)

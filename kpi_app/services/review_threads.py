"""Query threads between verifiers and cities, one thread per question on one value.

This replaces the separate "questions sheet" of the spreadsheet process: a verifier opens a
query on a value, the city answers (and may correct the value while the assessment is
returned), and the verifier resolves it. A reply by the city marks the query "answered"; a
follow-up by the verifier opens it again. Nothing is deleted: resolved threads stay readable.
"""

from __future__ import annotations

from typing import Any

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import (
    Assessment,
    IndicatorValue,
    QueryMessage,
    QueryStatus,
    Role,
    Status,
    User,
    ValueQuery,
)
from kpi_app.models.base import utcnow
from kpi_app.services import audit, evidence, notifications, permissions
from kpi_app.services.workflow_terms import WorkflowDenied, WorkflowError, item_label

MAX_MESSAGE_LENGTH = 5000
# The city may answer while it has the assessment back, and also during review (a quick
# answer can save a full return round trip).
CITY_REPLY_STATUSES = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.RETURNED})
OPENING_STATUSES = frozenset({Status.SUBMITTED, Status.IN_REVIEW})


def _clean_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise WorkflowError(_("Write a message."))
    if len(text) > MAX_MESSAGE_LENGTH:
        raise WorkflowError(_("Keep the message under %(n)d characters.", n=MAX_MESSAGE_LENGTH))
    return text


def _value_label(value: IndicatorValue) -> str:
    return item_label(value)


def is_city_side(user: Any, assessment: Assessment) -> bool:
    """An editor of the assessment's city (the party that answers queries)."""
    return bool(permissions.can_view_assessment(user, assessment) and user.role is Role.CITY_EDITOR)


def may_reply(user: Any, query: ValueQuery) -> bool:
    assessment = query.value.assessment
    if query.status is QueryStatus.RESOLVED:
        return False
    if permissions.can_verify(user, assessment):
        return True
    return is_city_side(user, assessment) and assessment.status in CITY_REPLY_STATUSES


def may_resolve(user: Any, query: ValueQuery) -> bool:
    return query.status is not QueryStatus.RESOLVED and permissions.can_verify(
        user, query.value.assessment
    )


def open_query(value: IndicatorValue, actor: User, body: str | None) -> ValueQuery:
    """A verifier asks the city about one value."""
    assessment = value.assessment
    if not permissions.can_verify(actor, assessment):
        raise WorkflowDenied(_("You are not a verifier of this assessment."))
    if assessment.status not in OPENING_STATUSES:
        raise WorkflowError(_("Queries are opened while the assessment is being verified."))
    text = _clean_body(body)
    query = ValueQuery(value=value, opened_by=actor, status=QueryStatus.OPEN)
    query.messages.append(QueryMessage(author=actor, body=text))
    db.session.add(query)
    db.session.flush()
    audit.record(
        "open_query",
        "value_query",
        query.id,
        actor=actor,
        new={
            "value_id": value.id,
            "code": value.code,
            "data_point": value.data_point,
            "body": text,
        },
        assessment_id=assessment.id,
    )
    notifications.on_question(assessment, _value_label(value), actor)
    db.session.commit()
    return query


def may_attach(user: Any, query: ValueQuery) -> bool:
    """The city's editors may attach a file to their reply (it becomes evidence of the value)."""
    return may_reply(user, query) and is_city_side(user, query.value.assessment)


def reply(
    query: ValueQuery,
    actor: User,
    body: str | None,
    attachment: tuple[str, bytes] | None = None,
) -> QueryMessage:
    """Add a message; the city's reply marks the query answered, a verifier's reopens it.

    `attachment` (file name, bytes) is checked like any evidence upload (type by content,
    size limit; evidence.EvidenceRejected says why) before anything is written, then stored
    as evidence of the queried value linked to this reply, in the same transaction. A reply
    with a file may have no text."""
    if not may_reply(actor, query):
        if query.status is QueryStatus.RESOLVED:
            raise WorkflowError(_("This query is resolved; open a new one if needed."))
        raise WorkflowDenied(_("You may not reply to this query."))
    checked = None
    if attachment is not None:
        if not may_attach(actor, query):
            raise WorkflowDenied(_("Only the city's editors attach files to a reply."))
        checked = evidence.check(*attachment)
    text = "" if checked is not None and not (body or "").strip() else _clean_body(body)
    assessment = query.value.assessment
    old_status = query.status
    message = QueryMessage(author=actor, body=text)
    query.messages.append(message)
    from_city = not permissions.can_verify(actor, assessment)
    query.status = QueryStatus.ANSWERED if from_city else QueryStatus.OPEN
    db.session.flush()
    new: dict[str, Any] = {"status": query.status.value, "body": text}
    if checked is not None and attachment is not None:
        try:
            item = evidence.add_checked(
                query.value, actor, checked, attachment[1], query_message_id=message.id
            )
        except OSError:
            db.session.rollback()
            raise
        new["evidence_id"] = item.id
    audit.record(
        "reply_query",
        "value_query",
        query.id,
        actor=actor,
        old={"status": old_status.value},
        new=new,
        assessment_id=assessment.id,
    )
    if from_city:
        notifications.on_answer(assessment, _value_label(query.value), query.opened_by, actor)
    else:
        notifications.on_question(assessment, _value_label(query.value), actor)
    db.session.commit()
    return message


def resolve(query: ValueQuery, actor: User, note: str | None = None) -> None:
    """The verifier closes the thread (optionally with a last message)."""
    if not may_resolve(actor, query):
        if query.status is QueryStatus.RESOLVED:
            raise WorkflowError(_("This query is already resolved."))
        raise WorkflowDenied(_("Only the assessment's verifiers resolve queries."))
    note = (note or "").strip() or None
    if note is not None:
        query.messages.append(QueryMessage(author=actor, body=_clean_body(note)))
    old_status = query.status
    query.status = QueryStatus.RESOLVED
    query.resolved_at = utcnow()
    audit.record(
        "resolve_query",
        "value_query",
        query.id,
        actor=actor,
        old={"status": old_status.value},
        new={"status": QueryStatus.RESOLVED.value},
        reason=note,
        assessment_id=query.value.assessment_id,
    )
    db.session.commit()


def get_query(query_id: int) -> ValueQuery | None:
    return db.session.get(ValueQuery, query_id)


def queries_for_assessment(
    assessment: Assessment, statuses: frozenset[QueryStatus] | None = None
) -> list[ValueQuery]:
    """The assessment's queries, unresolved first, then newest first."""
    query = (
        db.select(ValueQuery)
        .join(IndicatorValue, ValueQuery.value_id == IndicatorValue.id)
        .where(IndicatorValue.assessment_id == assessment.id)
    )
    if statuses:
        query = query.where(ValueQuery.status.in_(statuses))
    found = list(db.session.scalars(query.order_by(ValueQuery.id.desc())))
    found.sort(key=lambda q: q.status is QueryStatus.RESOLVED)  # stable: keeps newest first
    return found


def queries_for_value(value: IndicatorValue) -> list[ValueQuery]:
    return list(
        db.session.scalars(
            db.select(ValueQuery).where(ValueQuery.value_id == value.id).order_by(ValueQuery.id)
        )
    )


def count_by_status(assessment_ids: list[int]) -> dict[tuple[int, QueryStatus], int]:
    """(assessment id, status) → number of queries, in one query (for to-do lists)."""
    if not assessment_ids:
        return {}
    rows = db.session.execute(
        db.select(IndicatorValue.assessment_id, ValueQuery.status, db.func.count(ValueQuery.id))
        .join(IndicatorValue, ValueQuery.value_id == IndicatorValue.id)
        .where(IndicatorValue.assessment_id.in_(assessment_ids))
        .group_by(IndicatorValue.assessment_id, ValueQuery.status)
    ).all()
    return {(int(a), QueryStatus(s)): int(n) for a, s, n in rows}

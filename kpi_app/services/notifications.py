"""Notifications: in-app (a row per recipient) and e-mail (standard library smtplib).

Services call the `on_*` helpers *before* their own commit: the notification rows join the
same transaction (a rolled-back step tells nobody), and the e-mails are queued on the
session and sent only once the transaction has committed (`after_commit`). A failing mail
server is logged and never undoes the workflow change. No mail is sent when MAIL_SERVER is
unset; a user can switch e-mail off on the account page (in-app notices stay).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from flask import current_app, has_request_context
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.orm import Session

from kpi_app.extensions import db
from kpi_app.models import Assessment, Notification, NotificationPreference, Role, User
from kpi_app.models.base import utcnow

log = logging.getLogger(__name__)
PENDING_KEY = "kpi_pending_mail"
PAGE_SIZE = 50

#: kind → message; %(city)s, %(year)s and the kind's own params fill it in.
MESSAGES: dict[str, Any] = {
    "submitted": lazy_gettext("%(city)s %(year)s was submitted for verification."),
    "submitted_unassigned": lazy_gettext(
        "%(city)s %(year)s was submitted and has no verifier: assign one."
    ),
    "assigned": lazy_gettext("You were assigned to verify %(city)s %(year)s."),
    "review_started": lazy_gettext("The review of %(city)s %(year)s has started."),
    "returned": lazy_gettext("%(city)s %(year)s was returned to the city: %(reason)s"),
    "verified": lazy_gettext("%(city)s %(year)s was verified and can be published."),
    "published": lazy_gettext("%(city)s %(year)s was published."),
    "reopened": lazy_gettext("%(city)s %(year)s was reopened: %(reason)s"),
    "question_asked": lazy_gettext(
        "A verifier asked a question about %(item)s (%(city)s %(year)s)."
    ),
    "question_answered": lazy_gettext(
        "The city answered your question about %(item)s (%(city)s %(year)s)."
    ),
    # due-date reminders (services/due_dates.py, `kpi-app send-reminders`)
    "entry_due_soon": lazy_gettext("Data entry for %(city)s %(year)s is due on %(due)s."),
    "entry_overdue": lazy_gettext("Overdue: data entry for %(city)s %(year)s was due on %(due)s."),
    "verification_due_soon": lazy_gettext(
        "The verification of %(city)s %(year)s is due on %(due)s."
    ),
    "verification_overdue": lazy_gettext(
        "Overdue: the verification of %(city)s %(year)s was due on %(due)s."
    ),
}
SUBJECT = lazy_gettext("U4SSC KPIs: %(city)s %(year)s")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


# --- recipients ----------------------------------------------------------------------------


def city_editors(assessment: Assessment) -> list[User]:
    return list(
        db.session.scalars(
            db.select(User).where(
                User.role == Role.CITY_EDITOR,
                User.city_id == assessment.city_id,
                User.active.is_(True),
            )
        )
    )


def coordinators() -> list[User]:
    return list(
        db.session.scalars(
            db.select(User).where(User.role == Role.COORDINATOR, User.active.is_(True))
        )
    )


def verifiers(assessment: Assessment) -> list[User]:
    return [v for v in assessment.verifiers if v.active]


# --- emitting --------------------------------------------------------------------------------


def message_text(kind: str, params: dict[str, Any]) -> str:
    """The notification's sentence in the current language."""
    template = MESSAGES.get(kind)
    if template is None:
        return kind
    values = {"city": "", "year": "", "reason": "", "item": "", "due": "", **params}
    return str(template) % values


# Kinds that ask a verifier to act open the review page; the others the assessment page.
REVIEW_KINDS = frozenset(
    {"submitted", "assigned", "question_answered", "verification_due_soon", "verification_overdue"}
)


def link_endpoint(kind: str) -> str:
    return "verification.review" if kind in REVIEW_KINDS else "assessments.show"


#: Where the web layer installs its address builder: services build no URLs themselves.
LINK_BUILDER = "kpi_app.link_builder"


def _assessment_link(kind: str, assessment: Assessment | None) -> str | None:
    """The page to open, as a full address (only known inside a request)."""
    build = current_app.extensions.get(LINK_BUILDER)
    if assessment is None or build is None or not has_request_context():
        return None
    return str(build(link_endpoint(kind), assessment_id=assessment.id))


def notify(
    recipients: list[User],
    kind: str,
    assessment: Assessment | None,
    *,
    actor: User | None = None,
    **extra: Any,
) -> list[Notification]:
    """Add one notification per recipient (not the actor) and queue their e-mails."""
    params: dict[str, Any] = {**extra}
    if assessment is not None:
        params.setdefault("city", assessment.city.name)
        params.setdefault("year", assessment.year)
    seen: set[int] = set()
    created = []
    for user in recipients:
        if user.id in seen or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        note = Notification(
            user_id=user.id,
            kind=kind,
            assessment_id=assessment.id if assessment is not None else None,
            params=params,
        )
        db.session.add(note)
        created.append(note)
        if email_enabled(user):
            text = message_text(kind, params)
            link = _assessment_link(kind, assessment)
            body = text + ("\n\n" + link if link else "") + "\n"
            subject = str(SUBJECT) % params if assessment is not None else "U4SSC KPIs"
            queue_mail(Mail(to=user.email, subject=subject, body=body))
    return created


def queue_mail(mail: Mail) -> None:
    """Send `mail` once the current transaction commits (dropped if it rolls back)."""
    if not current_app.config.get("MAIL_SERVER"):
        return
    db.session().info.setdefault(PENDING_KEY, []).append(mail)


def send_now(mail: Mail) -> bool:
    """Deliver one e-mail; False (and a log line) when the server fails."""
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        return False
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM") or "noreply@localhost"
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    try:
        with smtplib.SMTP(str(server), int(config.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.error("mail to %s (%s) failed: %s", mail.to, mail.subject, error)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    for mail in pending or []:
        send_now(mail)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


# --- workflow and query hooks ------------------------------------------------------------------


def on_transition(
    assessment: Assessment, action: str, actor: User | None, reason: str | None
) -> None:
    """Tell the people who act next about one workflow step (called before the commit)."""
    if action == "submit":
        assigned = verifiers(assessment)
        if assigned:
            notify(assigned, "submitted", assessment, actor=actor)
        else:
            notify(coordinators(), "submitted_unassigned", assessment, actor=actor)
    elif action == "return":
        notify(city_editors(assessment), "returned", assessment, actor=actor, reason=reason or "")
    elif action == "verify":
        notify(city_editors(assessment) + coordinators(), "verified", assessment, actor=actor)
    elif action == "publish":
        notify(
            city_editors(assessment) + verifiers(assessment), "published", assessment, actor=actor
        )
    elif action == "reopen":
        notify(city_editors(assessment), "reopened", assessment, actor=actor, reason=reason or "")


def on_assigned(assessment: Assessment, verifier: User, actor: User | None) -> None:
    notify([verifier], "assigned", assessment, actor=actor)


def on_question(assessment: Assessment, item: str, actor: User) -> None:
    notify(city_editors(assessment), "question_asked", assessment, actor=actor, item=item)


def on_answer(assessment: Assessment, item: str, opener: User | None, actor: User) -> None:
    recipients = [opener] if opener is not None and opener.active else verifiers(assessment)
    notify(recipients, "question_answered", assessment, actor=actor, item=item)


# --- reading -----------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            db.select(db.func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def for_user(user: User, limit: int = PAGE_SIZE) -> list[Notification]:
    return list(
        db.session.scalars(
            db.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with None, every) unread notification of `user` read; returns how many."""
    query = db.select(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    now = utcnow()
    count = 0
    for note in db.session.scalars(query):
        note.read_at = now
        count += 1
    db.session.commit()
    return count


def email_enabled(user: User) -> bool:
    pref = db.session.get(NotificationPreference, user.id)
    return pref is None or pref.email_enabled


def set_email_enabled(user: User, enabled: bool) -> None:
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id, email_enabled=enabled)
        db.session.add(pref)
    pref.email_enabled = enabled
    db.session.commit()

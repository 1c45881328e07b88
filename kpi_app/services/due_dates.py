"""Due dates per assessment (data entry, verification) and the reminders about them.

A coordinator sets two dates on the assessment's assignment page: when the city's data entry
is due (the assessment submitted) and when the verification is due (it verified). Each date
counts only while its stage is under way: data entry while the assessment is a draft or
returned to the city, verification while it is submitted or in review. A date is "due soon"
from KPI_REMINDER_DAYS days before it up to the day itself, and "overdue" from the next day
on (dates are calendar days in UTC).

`send_reminders` (the `kpi-app send-reminders` command, run daily by cron) tells the people
who act next through the notification service (in-app, and e-mail unless they opted out):
due soon → the city's editors (data entry) or the assigned verifiers (verification; the
coordinators when none is assigned); overdue → the same people and the coordinators. Each
reminder is sent once per assessment, kind and due date: the DueReminder row is committed
with the notifications, and its unique key makes a second run (or a concurrent one) a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from kpi_app.extensions import db
from kpi_app.models import (
    Assessment,
    AssessmentDueDates,
    DueReminder,
    Status,
    User,
)
from kpi_app.services import audit, notifications, permissions
from kpi_app.services.workflow import WorkflowDenied, WorkflowError, _

ENTRY = "entry"
VERIFICATION = "verification"
KINDS = (ENTRY, VERIFICATION)
#: The statuses during which each date counts.
ACTIVE_STATUSES = {
    ENTRY: frozenset({Status.DRAFT, Status.RETURNED}),
    VERIFICATION: frozenset({Status.SUBMITTED, Status.IN_REVIEW}),
}
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

# Deadline states
UNSET = "unset"
INACTIVE = "inactive"  # the stage is not under way (not yet, or done)
UPCOMING = "upcoming"
DUE_SOON = "due_soon"
OVERDUE = "overdue"


class DueDateError(WorkflowError):
    """Due dates that cannot be saved; the message says why, `field` which date it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def today_utc() -> date:
    return datetime.now(UTC).date()


def reminder_days() -> int:
    """How many days before a due date the "due soon" reminder goes out."""
    return int(current_app.config.get("KPI_REMINDER_DAYS", 3))


@dataclass(frozen=True)
class Deadline:
    """One due date of one assessment as of `today`."""

    kind: str  # ENTRY or VERIFICATION
    due: date | None
    state: str
    days_left: int | None  # due - today; negative when overdue

    @property
    def overdue(self) -> bool:
        return self.state == OVERDUE

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


@dataclass(frozen=True)
class DueSummary:
    entry: Deadline
    verification: Deadline

    @property
    def deadlines(self) -> tuple[Deadline, Deadline]:
        return (self.entry, self.verification)

    @property
    def any_set(self) -> bool:
        return any(d.due is not None for d in self.deadlines)

    @property
    def current(self) -> Deadline | None:
        """The date of the stage under way, when one is set."""
        return next((d for d in self.deadlines if d.state not in (UNSET, INACTIVE)), None)


def deadline(kind: str, due: date | None, status: Status, today: date, soon_days: int) -> Deadline:
    if due is None:
        return Deadline(kind, None, UNSET, None)
    left = (due - today).days
    if status not in ACTIVE_STATUSES[kind]:
        return Deadline(kind, due, INACTIVE, left)
    if left < 0:
        state = OVERDUE
    elif left <= soon_days:
        state = DUE_SOON
    else:
        state = UPCOMING
    return Deadline(kind, due, state, left)


def _summary(
    assessment: Assessment, row: AssessmentDueDates | None, today: date, soon_days: int
) -> DueSummary:
    return DueSummary(
        entry=deadline(ENTRY, row.entry_due if row else None, assessment.status, today, soon_days),
        verification=deadline(
            VERIFICATION,
            row.verification_due if row else None,
            assessment.status,
            today,
            soon_days,
        ),
    )


def summary(assessment: Assessment, today: date | None = None) -> DueSummary:
    """The assessment's two due dates and where each stands today."""
    row = db.session.get(AssessmentDueDates, assessment.id)
    return _summary(assessment, row, today or today_utc(), reminder_days())


def summaries(
    assessments: Iterable[Assessment], today: date | None = None
) -> dict[int, DueSummary]:
    """Summaries of many assessments in one query (for to-do lists), keyed by id."""
    chosen = list(assessments)
    ids = [a.id for a in chosen]
    rows = (
        {
            r.assessment_id: r
            for r in db.session.scalars(
                db.select(AssessmentDueDates).where(AssessmentDueDates.assessment_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    day, soon = today or today_utc(), reminder_days()
    return {a.id: _summary(a, rows.get(a.id), day, soon) for a in chosen}


# --- setting the dates ---------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def validate(entry_due: date | None, verification_due: date | None) -> None:
    """Refuse dates out of range and a verification due before the data entry it follows."""
    for field, value in (("entry_due", entry_due), ("verification_due", verification_due)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise DueDateError(
                _(
                    "%(date)s is not a plausible due date: use a date between %(first)s and "
                    "%(last)s.",
                    date=value.isoformat(),
                    first=EARLIEST.isoformat(),
                    last=LATEST.isoformat(),
                ),
                field,
            )
    if entry_due is not None and verification_due is not None and verification_due < entry_due:
        raise DueDateError(
            _(
                "The verification due date (%(verification)s) is before the data-entry due "
                "date (%(entry)s): verification can only follow data entry.",
                verification=verification_due.isoformat(),
                entry=entry_due.isoformat(),
            ),
            "verification_due",
        )


def set_due_dates(
    assessment: Assessment,
    actor: User | None,
    *,
    entry_due: date | None,
    verification_due: date | None,
) -> bool:
    """Set (or clear, with None) both due dates; audited. False when nothing changed.

    Coordinators and admins only; `None` is the operator at the command line."""
    if actor is not None and not permissions.can_coordinate(actor):
        raise WorkflowDenied(_("Only coordinators set due dates."))
    validate(entry_due, verification_due)
    row = db.session.get(AssessmentDueDates, assessment.id)
    old = {
        "entry_due": _iso(row.entry_due) if row else None,
        "verification_due": _iso(row.verification_due) if row else None,
    }
    new = {"entry_due": _iso(entry_due), "verification_due": _iso(verification_due)}
    if old == new:
        return False
    if row is None:
        row = AssessmentDueDates(assessment_id=assessment.id)
        db.session.add(row)
    row.entry_due = entry_due
    row.verification_due = verification_due
    row.updated_by_id = actor.id if actor is not None else None
    audit.record(
        "set_due_dates",
        "assessment",
        assessment.id,
        actor=actor,
        old=old,
        new=new,
        assessment_id=assessment.id,
    )
    db.session.commit()
    return True


# --- reminders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    assessment: Assessment
    kind: str  # e.g. "entry_overdue"
    due: date
    recipients: tuple[User, ...]


@dataclass
class ReminderRun:
    sent: list[Reminder]
    already_sent: int = 0


def reminder_kind(item: Deadline) -> str | None:
    if item.due is None:
        return None
    if item.state == OVERDUE:
        return f"{item.kind}_overdue"
    if item.state == DUE_SOON:
        return f"{item.kind}_due_soon"
    return None


def recipients(assessment: Assessment, kind: str) -> list[User]:
    """Who is reminded: the people who act next; on overdue, the coordinators too."""
    if kind.startswith(ENTRY):
        people = notifications.city_editors(assessment)
    else:
        people = notifications.verifiers(assessment) or notifications.coordinators()
    if kind.endswith("_overdue"):
        people = people + notifications.coordinators()
    unique: dict[int, User] = {}
    for person in people:
        unique.setdefault(person.id, person)
    return list(unique.values())


def _was_sent(assessment_id: int, kind: str, due: date) -> bool:
    return (
        db.session.scalar(
            db.select(DueReminder.id).where(
                DueReminder.assessment_id == assessment_id,
                DueReminder.kind == kind,
                DueReminder.due_date == due,
            )
        )
        is not None
    )


def due_reminders(today: date | None = None, soon_days: int | None = None) -> list[Reminder]:
    """The reminders due today that were not sent yet (nothing is written)."""
    return _pending(today, soon_days)[0]


def _pending(today: date | None, soon_days: int | None) -> tuple[list[Reminder], int]:
    """(reminders to send, how many of today's reminders were sent by an earlier run)."""
    day = today or today_utc()
    soon = reminder_days() if soon_days is None else soon_days
    rows = db.session.execute(
        db.select(Assessment, AssessmentDueDates)
        .join(AssessmentDueDates, AssessmentDueDates.assessment_id == Assessment.id)
        .order_by(Assessment.id)
    ).all()
    found: list[Reminder] = []
    earlier = 0
    for assessment, row in rows:
        for item in _summary(assessment, row, day, soon).deadlines:
            kind = reminder_kind(item)
            if kind is None or item.due is None:
                continue
            if _was_sent(assessment.id, kind, item.due):
                earlier += 1
                continue
            found.append(Reminder(assessment, kind, item.due, tuple(recipients(assessment, kind))))
    return found, earlier


def send_reminders(today: date | None = None, soon_days: int | None = None) -> ReminderRun:
    """Send every reminder due today, each once; one commit per reminder, so the e-mails go
    out as each is recorded (a rolled-back reminder mails nobody)."""
    pending, earlier = _pending(today, soon_days)
    run = ReminderRun(sent=[], already_sent=earlier)
    for reminder in pending:
        notifications.notify(
            list(reminder.recipients),
            reminder.kind,
            reminder.assessment,
            due=reminder.due.isoformat(),
        )
        db.session.add(
            DueReminder(
                assessment_id=reminder.assessment.id,
                kind=reminder.kind,
                due_date=reminder.due,
                recipients=len(reminder.recipients),
            )
        )
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent run recorded it first: it sent it
            db.session.rollback()
            run.already_sent += 1
            continue
        run.sent.append(reminder)
    return run

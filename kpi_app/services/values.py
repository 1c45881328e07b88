"""Indicator values: validating, computing, saving (audited, optimistically locked), progress.

This is the one write path for what a city reports. The category forms, the file importer
(`services.data_io`) and the API all go through :func:`save_entries`, so every change is
checked the same way, stamped with its author and recorded in the audit trail.

Storage conventions (see `IndicatorValue`):
- a KPI with a method (numerator ÷ denominator × multiplier) entered with both parts stores
  them and the computed value in ``computed_value``; a different direct value entered next
  to them is an *override* (``override_value``) and needs a reason;
- a value entered directly (no numerator and denominator, or a KPI without a method) is
  kept in ``computed_value``: it is "the computed or direct value" of the model;
- yes/no KPIs store 1.0 (yes) and 0.0 (no), as the catalogue prescribes;
- "not reported" is ``reported = False`` with a reason; whatever numbers were typed are kept
  so nothing is lost, but the effective value (``IndicatorValue.value``) is None.

Concurrency: the form carries each value's ``version``. A value changed by someone else
since the form was opened is not overwritten but returned as a :class:`Conflict` with both
versions. True races between the check and the write are caught by SQLAlchemy's
``version_id_col`` (StaleDataError) or the unique key (IntegrityError); the losing attempt is
rolled back and recorded as an audit event ``save_conflict``, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from kpi_app.catalogue import Catalogue, Category, Dimension, Indicator
from kpi_app.catalogue.model import Item
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, City, IndicatorValue, Role, User
from kpi_app.services import assessments, audit, city_profile, permissions
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Invalid
from kpi_app.services.value_checks import (
    FIRST_REPORTING_YEAR,
    MAX_TEXT,
    MAX_URL,
    QUALITY_LEVELS,
    RELATIVE_TOLERANCE,
    Problem,
    Severity,
    StoredNumbers,
    ValueInput,
    _text,
    blocking,
    canonical,
    check_entry,
    compute,
    effective_value,
    has_method,
    is_share,
    same_number,
    stored_numbers,
)

# The public names, with those `value_checks` holds (callers import them from here).
__all__ = [
    "AUDIT_FIELDS",
    "FIRST_REPORTING_YEAR",
    "MAX_TEXT",
    "MAX_URL",
    "QUALITY_LEVELS",
    "RELATIVE_TOLERANCE",
    "VERIFICATION_FIELDS",
    "AssessmentProgress",
    "CategoryProgress",
    "CategoryState",
    "Completeness",
    "Conflict",
    "DimensionProgress",
    "Entry",
    "ItemState",
    "Problem",
    "SaveResult",
    "Severity",
    "StoredNumbers",
    "ValueInput",
    "ValuesError",
    "apply_entry",
    "assessment_progress",
    "audit_fields",
    "blocking",
    "canonical",
    "category_state",
    "check_entry",
    "cities_user_may_open",
    "compute",
    "effective_value",
    "ensure_editable",
    "get_assessment",
    "has_method",
    "input_from_record",
    "is_share",
    "may_open_assessment",
    "open_assessment",
    "records_by_key",
    "same_number",
    "save_entries",
    "stored_numbers",
    "unchecked_entries",
    "visible_assessments",
]


AUDIT_FIELDS = (
    "numerator",
    "denominator",
    "computed_value",
    "override_value",
    "override_reason",
    "unit",
    "data_year",
    "source",
    "source_url",
    "quality",
    "reported",
    "not_reported_reason",
    "comment",
)


class ValuesError(Invalid):
    """A user-facing refusal (locked assessment, duplicate year...)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One item as submitted, with what the submitter saw when they opened the form.

    ``expected_version`` is the version of the stored value the form was built from (0 when
    there was none); None skips the check (file imports replace deliberately).
    ``original_digest`` is the fingerprint of the content shown in the form; when the
    submitted content still matches it, the user did not touch the item and a newer value
    saved meanwhile by someone else is kept without a conflict.
    """

    entry: ValueInput
    expected_version: int | None = None
    original_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """An item someone else saved after the form was opened: both sides, nothing lost."""

    code: str
    data_point: str
    mine: ValueInput
    theirs: ValueInput
    their_version: int
    their_author: str | None


@dataclass
class SaveResult:
    """What :func:`save_entries` did: keys written, untouched count and conflicts."""

    saved: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[Conflict] = field(default_factory=list)


# ----- reading stored values --------------------------------------------------------------


def input_from_record(record: IndicatorValue) -> ValueInput:
    """The input that, saved again, reproduces the record (round trip of the form)."""
    has_parts = record.numerator is not None and record.denominator is not None
    if record.override_value is not None:
        value = record.override_value
    elif has_parts:
        value = None  # shown as "computed", not as a typed value
    else:
        value = record.computed_value
    return ValueInput(
        code=record.code,
        data_point=record.data_point,
        value=value,
        numerator=record.numerator,
        denominator=record.denominator,
        override_reason=record.override_reason,
        data_year=record.data_year,
        source=record.source,
        source_url=record.source_url,
        quality=record.quality,
        reported=record.reported,
        not_reported_reason=record.not_reported_reason,
        comment=record.comment,
    )


def audit_fields(record: IndicatorValue | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {name: getattr(record, name) for name in AUDIT_FIELDS} | {"version": record.version}


def records_by_key(assessment: Assessment) -> dict[tuple[str, str], IndicatorValue]:
    rows = db.session.scalars(
        db.select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    return {(row.code, row.data_point): row for row in rows}


def get_assessment(assessment_id: int) -> Assessment | None:
    return db.session.get(Assessment, assessment_id)


# ----- writing ----------------------------------------------------------------------------


def ensure_editable(assessment: Assessment) -> None:
    if not assessment.status.editable_by_city:
        raise ValuesError(
            _(
                "This assessment is %(status)s: values can only change while it is a draft "
                "or returned to the city.",
                status=assessment.status.value,
            )
        )


def save_entries(
    assessment: Assessment,
    entries: Sequence[Entry],
    actor: User | None,
    *,
    reason: str | None = None,
    catalogue: Catalogue | None = None,
    all_or_nothing: bool = False,
) -> SaveResult:
    """Write the changed entries in one transaction, audited; return conflicts, never lose.

    The caller has validated the entries (:func:`check_entry`) and authorised the actor.
    Entries whose stored value changed since the form was opened come back as conflicts;
    the others are written, or, with ``all_or_nothing`` (a confirmed file import), none
    is. If the database reports a race at write time, nothing of this batch is written and
    every attempted entry comes back as a conflict.
    """
    ensure_editable(assessment)
    catalogue = catalogue or current_catalogue()
    records = records_by_key(assessment)
    result = SaveResult()
    pending: list[tuple[Entry, IndicatorValue | None]] = []
    for given in entries:
        indicator = catalogue.indicator(given.entry.code)
        item = catalogue.item(given.entry.code, given.entry.data_point)
        submitted = replace(given, entry=canonical(indicator, item, given.entry))
        record = records.get(submitted.entry.key)
        decision = _decide(submitted, record)
        if decision == "unchanged":
            result.unchanged += 1
        elif decision == "conflict" and record is not None:
            result.conflicts.append(_conflict(submitted.entry, record))
        elif decision == "conflict":
            result.unchanged += 1  # a stale form cannot conflict with a value that is gone
        else:
            pending.append((submitted, record))
    if all_or_nothing and result.conflicts:
        pending = []
    try:
        for submitted, record in pending:
            written = _write(assessment, catalogue, submitted.entry, record, actor, reason)
            result.saved.append(written)
        for conflict in result.conflicts:
            _record_conflict(assessment, conflict, actor)
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        return _lost_race(assessment, [p[0].entry for p in pending], actor, result)
    return result


def _decide(submitted: Entry, record: IndicatorValue | None) -> str:
    current = input_from_record(record) if record is not None else None
    entry = submitted.entry
    if current == entry or (current is None and entry.is_blank):
        return "unchanged"
    if submitted.original_digest is not None and entry.digest() == submitted.original_digest:
        return "unchanged"  # the user left it as shown; a newer value stays
    stored_version = record.version if record is not None else 0
    if submitted.expected_version is not None and submitted.expected_version != stored_version:
        return "conflict"
    return "write"


def _write(
    assessment: Assessment,
    catalogue: Catalogue,
    entry: ValueInput,
    record: IndicatorValue | None,
    actor: User | None,
    reason: str | None = None,
) -> tuple[str, str]:
    indicator = catalogue.indicator(entry.code)
    item = catalogue.item(entry.code, entry.data_point)
    old = audit_fields(record)
    if record is None:
        record = IndicatorValue(
            assessment_id=assessment.id, code=entry.code, data_point=entry.data_point
        )
        db.session.add(record)
    apply_entry(record, indicator, item, entry)
    record.updated_by_id = actor.id if actor is not None else None
    reset = _reset_verification(record)
    db.session.flush()  # raises StaleDataError / IntegrityError when another writer won
    new = audit_fields(record)
    if reset is not None and old is not None and new is not None:
        old, new = old | reset, new | dict.fromkeys(reset)
    audit.record(
        "create" if old is None else "update",
        "indicator_value",
        record.id,
        actor=actor,
        old=old,
        new=new,
        reason=reason,
        assessment_id=assessment.id,
    )
    return entry.key


VERIFICATION_FIELDS = ("verified", "verification_code", "verification_note")


def _reset_verification(record: IndicatorValue) -> dict[str, Any] | None:
    """A changed value needs a new verification decision: clear the old one.

    Returns the decision that was cleared (for the audit trail), or None if there was none.
    """
    if all(getattr(record, name) is None for name in VERIFICATION_FIELDS):
        return None
    cleared = {name: getattr(record, name) for name in VERIFICATION_FIELDS}
    for name in VERIFICATION_FIELDS:
        setattr(record, name, None)
    return cleared


def apply_entry(
    record: IndicatorValue, indicator: Indicator, item: Item, entry: ValueInput
) -> None:
    """Copy an input onto a record, computing the value (no flush, no audit)."""
    numbers = stored_numbers(indicator, item, entry)
    record.numerator = numbers.numerator
    record.denominator = numbers.denominator
    record.computed_value = numbers.computed_value
    record.override_value = numbers.override_value
    record.override_reason = _text(entry.override_reason) if numbers.override_value else None
    record.unit = item.unit
    record.data_year = entry.data_year
    record.source = _text(entry.source)
    record.source_url = _text(entry.source_url)
    record.quality = entry.quality
    record.reported = entry.reported
    record.not_reported_reason = None if entry.reported else _text(entry.not_reported_reason)
    record.comment = _text(entry.comment)


def _conflict(mine: ValueInput, record: IndicatorValue) -> Conflict:
    author = record.updated_by
    return Conflict(
        code=record.code,
        data_point=record.data_point,
        mine=mine,
        theirs=input_from_record(record),
        their_version=record.version,
        their_author=(author.name or author.email) if author is not None else None,
    )


def _record_conflict(assessment: Assessment, conflict: Conflict, actor: User | None) -> None:
    """The losing attempt goes into the audit trail, so what was typed is never lost."""
    record = records_by_key(assessment).get((conflict.code, conflict.data_point))
    audit.record(
        "save_conflict",
        "indicator_value",
        record.id if record is not None else None,
        actor=actor,
        old=asdict(conflict.theirs) | {"version": conflict.their_version},
        new=asdict(conflict.mine),
        reason=_("Not saved: the value was changed by someone else in the meantime."),
        assessment_id=assessment.id,
    )


def _lost_race(
    assessment: Assessment, attempted: list[ValueInput], actor: User | None, result: SaveResult
) -> SaveResult:
    """After a rollback: every attempted entry becomes a conflict against what won."""
    db.session.expire_all()
    records = records_by_key(assessment)
    lost = SaveResult(unchanged=result.unchanged)
    for entry in attempted:
        record = records.get(entry.key)
        if record is None:
            continue
        lost.conflicts.append(_conflict(entry, record))
    for conflict in [*lost.conflicts, *result.conflicts]:
        _record_conflict(assessment, conflict, actor)
    lost.conflicts.extend(result.conflicts)
    db.session.commit()
    return lost


# ----- what a category form shows ----------------------------------------------------------


@dataclass
class ItemState:
    """One item of a category form: catalogue entry, stored record and shared denominator."""

    indicator: Indicator
    item: Item
    record: IndicatorValue | None
    entry: ValueInput
    version: int
    fact: str | None = None
    fact_value: float | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def uses_fact(self) -> bool:
        """Tick "use the city profile" when the stored denominator is that figure (or empty)."""
        if self.fact_value is None:
            return False
        return self.entry.denominator is None or same_number(
            self.entry.denominator, self.fact_value
        )

    @property
    def computed_value(self) -> float | None:
        if self.record is None or self.record.numerator is None or self.record.denominator is None:
            return None
        return self.record.computed_value

    @property
    def effective_value(self) -> float | None:
        return self.record.value if self.record is not None else None


@dataclass
class CategoryState:
    assessment: Assessment
    category: Category
    items: list[ItemState]
    completeness: Completeness


def category_state(
    assessment: Assessment, category: Category, catalogue: Catalogue | None = None
) -> CategoryState:
    """Everything the form of one category needs, read in one go."""
    catalogue = catalogue or current_catalogue()
    records = records_by_key(assessment)
    facts = city_profile.facts_for(assessment.city_id, assessment.year)
    items: list[ItemState] = []
    counts = Completeness()
    for indicator in category.indicators:
        fact = city_profile.shared_fact(indicator)
        for item in indicator.items():
            record = records.get(item.key)
            entry = input_from_record(record) if record is not None else ValueInput(*item.key)
            counts.add(indicator.tier, record)
            warnings = (
                [p for p in check_entry(indicator, item, entry, assessment.year) if not p.is_error]
                if record is not None
                else []
            )
            items.append(
                ItemState(
                    indicator=indicator,
                    item=item,
                    record=record,
                    entry=entry,
                    version=record.version if record is not None else 0,
                    fact=fact if has_method(indicator, item) else None,
                    fact_value=city_profile.fact_value(facts, fact) if fact else None,
                    warnings=warnings,
                )
            )
    return CategoryState(assessment, category, items, counts)


# ----- assessments ------------------------------------------------------------------------


def may_open_assessment(user: Any, city: City) -> bool:
    """City editors open years for their own city; coordinators and admins for any city."""
    if permissions.can_coordinate(user):
        return True
    return bool(
        getattr(user, "is_authenticated", False)
        and user.role is Role.CITY_EDITOR
        and user.city_id == city.id
    )


def open_assessment(city: City, year: int, actor: User | None) -> Assessment:
    """Create the draft assessment of a city for a reporting year (see may_open_assessment)."""
    try:
        return assessments.create_assessment(city, year, actor)
    except assessments.AssessmentError as error:
        raise ValuesError(str(error)) from None


def visible_assessments(user: Any) -> list[Assessment]:
    query = permissions.visible_assessments(user).order_by(City.name, Assessment.year.desc())
    return list(db.session.scalars(query))


def cities_user_may_open(user: Any) -> list[City]:
    cities = db.session.scalars(db.select(City).order_by(City.name))
    return [city for city in cities if may_open_assessment(user, city)]


# ----- completeness -----------------------------------------------------------------------


@dataclass
class Completeness:
    """Items with a value out of all items, core and advanced apart."""

    reported: int = 0
    total: int = 0
    core_reported: int = 0
    core_total: int = 0
    advanced_reported: int = 0
    advanced_total: int = 0
    marked_not_reported: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.reported / self.total) if self.total else 0

    def add(self, tier: str, record: IndicatorValue | None) -> None:
        has_value = record is not None and record.value is not None
        self.total += 1
        self.reported += has_value
        self.marked_not_reported += bool(record is not None and not record.reported)
        if tier == "core":
            self.core_total += 1
            self.core_reported += has_value
        else:
            self.advanced_total += 1
            self.advanced_reported += has_value


@dataclass
class CategoryProgress:
    category: Category
    completeness: Completeness


@dataclass
class DimensionProgress:
    dimension: Dimension
    completeness: Completeness
    categories: list[CategoryProgress]


@dataclass
class AssessmentProgress:
    overall: Completeness
    dimensions: list[DimensionProgress]

    def for_category(self, category_id: str) -> Completeness:
        for dimension in self.dimensions:
            for progress in dimension.categories:
                if progress.category.id == category_id:
                    return progress.completeness
        raise KeyError(category_id)


def assessment_progress(
    assessment: Assessment, catalogue: Catalogue | None = None
) -> AssessmentProgress:
    """Completeness per category and dimension, as shown on the assessment page."""
    catalogue = catalogue or current_catalogue()
    records = records_by_key(assessment)
    overall = Completeness()
    dimensions = []
    for dimension in catalogue.dimensions:
        dim_total = Completeness()
        categories = []
        for category in dimension.categories:
            counts = Completeness()
            for indicator in category.indicators:
                for item in indicator.items():
                    record = records.get(item.key)
                    for tally in (counts, dim_total, overall):
                        tally.add(indicator.tier, record)
            categories.append(CategoryProgress(category, counts))
        dimensions.append(DimensionProgress(dimension, dim_total, categories))
    return AssessmentProgress(overall, dimensions)


def unchecked_entries(entries: Iterable[ValueInput]) -> list[Entry]:
    """Entries without version checks (imports and scripts replace deliberately)."""
    return [Entry(entry) for entry in entries]

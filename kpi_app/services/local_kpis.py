"""Local KPIs, the write path: definitions per city, values per assessment, verification.

A city may report indicators of its own beside the U4SSC set (Kyebi's snapshot adds 26).
This service is their one write path and their one reader (docs/local-kpis.md):

* **Definitions** (:func:`create_kpi`, :func:`update_kpi`): by a coordinator or an admin, or
  by the city's editors when a coordinator allows it for that city (:func:`set_policy`).
  Codes live in the namespace ``LOCAL:<city slug>:<CODE>``; U4SSC codes never start with
  ``LOCAL:``, so the two can never collide. Every change is audited (``local_kpi``); an edit
  bumps ``revision``. Publications keep the definition as published: the frozen copy
  (``local_kpi_snapshots.freeze``) holds the texts, unit, direction and benchmark of that day,
  and published reports read only it, so editing a definition later changes live views only.
* **Values** (:func:`save_values`): entered on the assessment's "Local KPIs" form while the
  city may edit (``permissions.can_edit_values``); a changed value loses its verification
  decision, as U4SSC values do. **Verification** (:func:`decide`) follows the same rules and
  reasons as U4SSC values (``workflow.VERIFICATION_CODES``), by whoever may verify.
* **Scored apart** (:mod:`kpi_app.services.local_kpi_reports`, the read side):
  :mod:`kpi_app.scoring.local` bands each item by its own benchmark; nothing here is ever
  passed to the U4SSC scoring, rankings or comparisons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from kpi_app.catalogue import VALUE_TYPES, Direction
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import (
    Assessment,
    AuditEvent,
    City,
    LocalKpi,
    LocalKpiPolicy,
    LocalKpiValue,
    Role,
    Status,
    User,
)
from kpi_app.models.local_kpis import LOCAL_PREFIX
from kpi_app.services import audit, permissions
from kpi_app.services.workflow_terms import VERIFICATION_CODES

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,23}$")
POINT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
#: An SDG goal (1-17), target (number or letter) and optionally indicator: 11.6, 11.6.2, 11.a.
SDG_REF_PATTERN = re.compile(r"^(\d{1,2})\.(\d{1,2}|[a-z])(\.\d{1,2})?$")
SDG_GOALS = range(1, 18)
QUALITY_LEVELS = (1, 2, 3, 4, 5, 6)
DIRECTIONS = tuple(d.value for d in Direction)
MAX_TEXT = 4000
DEFINITION_FIELDS = (
    "code",
    "name",
    "definition",
    "unit",
    "value_type",
    "direction",
    "numerator",
    "denominator",
    "multiplier",
    "data_points",
    "sdg_refs",
    "benchmark_target",
    "benchmark_source",
    "active",
)
VALUE_FIELDS = (
    "numerator",
    "denominator",
    "value",
    "reported",
    "not_reported_reason",
    "data_year",
    "source",
    "source_url",
    "quality",
    "comment",
)
VERIFICATION_FIELDS = ("verified", "verification_code", "verification_note")


class LocalKpiError(ValueError):
    """A user-facing problem: invalid definition or value, or not allowed."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


class NotAllowed(LocalKpiError):
    """The user may not do this (views answer 403 or 404)."""


# --- codes ------------------------------------------------------------------------------


def full_code(city_slug: str, code: str) -> str:
    """``LOCAL:<city slug>:<CODE>``: the public code of a local KPI (exports, API, VLR)."""
    return f"{LOCAL_PREFIX}:{city_slug}:{code}"


def is_local_code(code: str) -> bool:
    return code.startswith(f"{LOCAL_PREFIX}:")


# --- who may define ---------------------------------------------------------------------


def editors_may_define(city: City) -> bool:
    policy = db.session.get(LocalKpiPolicy, city.id)
    return bool(policy and policy.editors_may_define)


def can_define(user: Any, city: City) -> bool:
    """Coordinators and admins; the city's editors when a coordinator allowed it."""
    if permissions.can_coordinate(user):
        return True
    account = permissions._user(user)
    return (
        account is not None
        and account.role is Role.CITY_EDITOR
        and account.city_id == city.id
        and editors_may_define(city)
    )


def can_see_definitions(user: Any, city: City) -> bool:
    """Who sees the definitions page: those who may define, and the city's own editors."""
    if can_define(user, city):
        return True
    account = permissions._user(user)
    return account is not None and account.role is Role.CITY_EDITOR and account.city_id == city.id


def set_policy(city: City, allowed: bool, actor: User) -> None:
    """A coordinator lets the city's editors define its local KPIs (or stops them)."""
    if not permissions.can_coordinate(actor):
        raise NotAllowed(_("Only a coordinator decides who defines a city's local KPIs."))
    policy = db.session.get(LocalKpiPolicy, city.id)
    old = bool(policy and policy.editors_may_define)
    if policy is None:
        policy = LocalKpiPolicy(city_id=city.id)
        db.session.add(policy)
    policy.editors_may_define = allowed
    policy.updated_by_id = actor.id
    audit.record(
        "set_local_kpi_policy",
        "city",
        city.id,
        actor=actor,
        old={"editors_may_define": old},
        new={"editors_may_define": allowed},
    )
    db.session.commit()


# --- definitions ------------------------------------------------------------------------


@dataclass
class DefinitionInput:
    """What the definition form (or a test, or a file) gives for one local KPI."""

    code: str
    name: dict[str, str]
    definition: dict[str, str] = field(default_factory=dict)
    unit: str = ""
    value_type: str = "count"
    direction: str = Direction.HIGHER_BETTER.value
    numerator: str | None = None
    denominator: str | None = None
    multiplier: float | None = None
    data_points: list[dict[str, Any]] = field(default_factory=list)
    sdg_refs: list[str] = field(default_factory=list)
    benchmark_target: float | None = None
    benchmark_source: str | None = None
    active: bool = True


def validate_definition(data: DefinitionInput, languages: Iterable[str]) -> list[str]:
    """Every problem of a definition, in the user's language (empty: valid)."""
    problems: list[str] = []
    known = set(languages)
    if not CODE_PATTERN.match(data.code or ""):
        problems.append(
            _(
                "Code: 1 to 24 capital letters, digits, “-” or “_”, starting with a letter or "
                "digit (it becomes %(example)s).",
                example=full_code("city", "WASTE-1"),
            )
        )
    if not (data.name.get("en") or "").strip():
        problems.append(_("Give the name in English (other languages are optional)."))
    for texts in (data.name, data.definition):
        for lang, value in texts.items():
            if lang not in known:
                problems.append(_("Unknown language %(lang)s.", lang=lang))
            if len(value) > MAX_TEXT:
                problems.append(_("A text is longer than %(n)d characters.", n=MAX_TEXT))
    if data.value_type not in VALUE_TYPES:
        problems.append(_("Choose a value type from the list."))
    if data.direction not in DIRECTIONS:
        problems.append(_("Choose a direction from the list."))
    if data.multiplier is not None and not (math.isfinite(data.multiplier) and data.multiplier > 0):
        problems.append(_("The multiplier must be a positive number."))
    if bool(data.numerator) != bool(data.denominator):
        problems.append(_("Give both the numerator and the denominator, or neither."))
    problems.extend(_validate_points(data.data_points))
    for ref in data.sdg_refs:
        match = SDG_REF_PATTERN.match(ref)
        if not match or int(match.group(1)) not in SDG_GOALS:
            problems.append(
                _("“%(ref)s” is not an SDG target or indicator (e.g. 11.6 or 11.6.2).", ref=ref)
            )
    target = data.benchmark_target
    if target is not None:
        if not math.isfinite(target):
            problems.append(_("The benchmark must be a number."))
        if not (data.benchmark_source or "").strip():
            problems.append(_("A benchmark needs its source (where the target comes from)."))
    if data.direction == Direction.TARGET_VALUE and target == 0:
        problems.append(_("A two-sided target cannot be 0."))
    return problems


def _validate_points(points: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for point in points:
        point_id = str(point.get("id", ""))
        if not POINT_PATTERN.match(point_id):
            problems.append(
                _("Data point “%(id)s”: lower-case letters, digits and “_” only.", id=point_id)
            )
        if point_id in seen:
            problems.append(_("Data point “%(id)s” is given twice.", id=point_id))
        seen.add(point_id)
        if not (point.get("label") or {}).get("en"):
            problems.append(_("Data point “%(id)s” needs an English label.", id=point_id))
        target = point.get("target")
        if target is not None and not math.isfinite(float(target)):
            problems.append(_("Data point “%(id)s”: the target must be a number.", id=point_id))
    return problems


def definition_record(kpi: LocalKpi) -> dict[str, Any]:
    """A definition as plain data (audit trail, frozen copies, exports)."""
    return {
        "id": kpi.id,
        "code": kpi.code,
        "full_code": kpi.full_code,
        "name": dict(kpi.name or {}),
        "definition": dict(kpi.definition or {}),
        "unit": kpi.unit,
        "value_type": kpi.value_type,
        "direction": kpi.direction,
        "numerator": kpi.numerator,
        "denominator": kpi.denominator,
        "multiplier": kpi.multiplier,
        "data_points": [dict(p) for p in kpi.data_points or []],
        "sdg_refs": list(kpi.sdg_refs or []),
        "benchmark_target": kpi.benchmark_target,
        "benchmark_source": kpi.benchmark_source,
        "active": kpi.active,
        "revision": kpi.revision,
    }


def _clean(data: DefinitionInput) -> DefinitionInput:
    data.code = (data.code or "").strip().upper()
    data.name = {k: v.strip() for k, v in data.name.items() if v and v.strip()}
    data.definition = {k: v.strip() for k, v in data.definition.items() if v and v.strip()}
    data.unit = (data.unit or "").strip()
    data.numerator = (data.numerator or "").strip() or None
    data.denominator = (data.denominator or "").strip() or None
    data.sdg_refs = list(dict.fromkeys(r.strip() for r in data.sdg_refs if r.strip()))
    data.benchmark_source = (data.benchmark_source or "").strip() or None
    return data


def create_kpi(
    city: City, data: DefinitionInput, actor: User, languages: Iterable[str]
) -> LocalKpi:
    """Define a new local KPI for the city (LocalKpiError with every problem if invalid)."""
    if not can_define(actor, city):
        raise NotAllowed(_("You may not define this city's local KPIs."))
    data = _clean(data)
    problems = validate_definition(data, languages)
    if not problems and find_kpi(city, data.code) is not None:
        problems.append(_("This city already has a local KPI %(code)s.", code=data.code))
    if problems:
        raise LocalKpiError(problems[0], problems)
    kpi = LocalKpi(city=city, created_by_id=actor.id, revision=1)
    _apply(kpi, data)
    db.session.add(kpi)
    db.session.flush()
    audit.record("create", "local_kpi", kpi.id, actor=actor, new=definition_record(kpi))
    db.session.commit()
    return kpi


def update_kpi(kpi: LocalKpi, data: DefinitionInput, actor: User, languages: Iterable[str]) -> bool:
    """Change a definition; published snapshots keep theirs. Returns False when unchanged.

    The code cannot change once values exist for it (they are recorded under it).
    """
    if not can_define(actor, kpi.city):
        raise NotAllowed(_("You may not define this city's local KPIs."))
    data = _clean(data)
    problems = validate_definition(data, languages)
    if data.code != kpi.code:
        if _has_values(kpi):
            problems.append(_("The code cannot change: values are recorded under it."))
        elif find_kpi(kpi.city, data.code) is not None:
            problems.append(_("This city already has a local KPI %(code)s.", code=data.code))
    if problems:
        raise LocalKpiError(problems[0], problems)
    old = definition_record(kpi)
    _apply(kpi, data)
    new = definition_record(kpi)
    if {k: v for k, v in old.items() if k != "revision"} == {
        k: v for k, v in new.items() if k != "revision"
    }:
        db.session.rollback()
        return False
    kpi.revision = old["revision"] + 1
    new["revision"] = kpi.revision
    changed = [k for k in new if old.get(k) != new.get(k)]
    audit.record(
        "update",
        "local_kpi",
        kpi.id,
        actor=actor,
        old={k: old[k] for k in changed},
        new={k: new[k] for k in changed},
    )
    db.session.commit()
    return True


def _apply(kpi: LocalKpi, data: DefinitionInput) -> None:
    kpi.code = data.code
    kpi.name = dict(data.name)
    kpi.definition = dict(data.definition)
    kpi.unit = data.unit
    kpi.value_type = data.value_type
    kpi.direction = data.direction
    kpi.numerator = data.numerator
    kpi.denominator = data.denominator
    kpi.multiplier = data.multiplier
    kpi.data_points = [dict(p) for p in data.data_points]
    kpi.sdg_refs = list(data.sdg_refs)
    kpi.benchmark_target = data.benchmark_target
    kpi.benchmark_source = data.benchmark_source
    kpi.active = data.active


def _has_values(kpi: LocalKpi) -> bool:
    return (
        db.session.scalar(
            select(LocalKpiValue.id).where(LocalKpiValue.local_kpi_id == kpi.id).limit(1)
        )
        is not None
    )


def find_kpi(city: City, code: str) -> LocalKpi | None:
    return db.session.scalar(
        select(LocalKpi).where(LocalKpi.city_id == city.id, LocalKpi.code == code)
    )


def city_kpis(city: City, *, active_only: bool = False) -> list[LocalKpi]:
    query = select(LocalKpi).where(LocalKpi.city_id == city.id).order_by(LocalKpi.code)
    if active_only:
        query = query.where(LocalKpi.active.is_(True))
    return list(db.session.scalars(query))


def find_city(slug: str) -> City | None:
    return db.session.scalar(select(City).where(City.slug == slug))


# --- items ------------------------------------------------------------------------------


def items_of(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of a definition record: one per data point, or the KPI itself.

    A data point's own target wins over the KPI's benchmark; without either it is not scored.
    """
    points = record.get("data_points") or []
    kpi_target = record.get("benchmark_target")
    if not points:
        return [{"data_point": "", "label": record.get("name") or {}, "target": kpi_target}]
    return [
        {
            "data_point": str(p["id"]),
            "label": p.get("label") or {},
            "target": p.get("target") if p.get("target") is not None else kpi_target,
        }
        for p in points
    ]


def text_in(texts: Mapping[str, str], lang: str) -> str:
    """A ``{lang: text}`` map's text in ``lang``, English when that language is missing."""
    return texts.get(lang) or texts.get("en") or ""


# --- values -----------------------------------------------------------------------------


@dataclass
class ValueInput:
    """One local KPI item as typed on the form."""

    kpi_id: int
    data_point: str = ""
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    reported: bool = True
    not_reported_reason: str | None = None
    data_year: int | None = None
    source: str | None = None
    source_url: str | None = None
    quality: int | None = None
    comment: str | None = None


def values_of(assessment: Assessment) -> dict[tuple[int, str], LocalKpiValue]:
    rows = db.session.scalars(
        select(LocalKpiValue).where(LocalKpiValue.assessment_id == assessment.id)
    )
    return {(row.local_kpi_id, row.data_point): row for row in rows}


def _computed(kpi: LocalKpi, entry: ValueInput) -> float | None:
    if entry.numerator is not None and entry.denominator is not None:
        if entry.denominator == 0:
            raise LocalKpiError(_("The denominator cannot be 0."))
        return entry.numerator / entry.denominator * (kpi.multiplier or 1.0)
    return entry.value


def check_value(kpi: LocalKpi, entry: ValueInput, year: int) -> list[str]:
    problems: list[str] = []
    label = kpi.full_code + (f" ({entry.data_point})" if entry.data_point else "")
    points = {str(p["id"]) for p in kpi.data_points or []}
    if (points and entry.data_point not in points) or (not points and entry.data_point):
        problems.append(_("%(kpi)s: unknown data point.", kpi=label))
    if entry.reported:
        if entry.value is not None and not math.isfinite(entry.value):
            problems.append(_("%(kpi)s: the value must be a number.", kpi=label))
        if kpi.value_type == "boolean" and entry.value not in (None, 0.0, 1.0):
            problems.append(_("%(kpi)s: answer 1 (yes) or 0 (no).", kpi=label))
        if kpi.value_type == "percentage" and entry.value is not None and entry.value < 0:
            problems.append(_("%(kpi)s: a percentage cannot be negative.", kpi=label))
    elif not (entry.not_reported_reason or "").strip():
        problems.append(_("%(kpi)s: say why it is not reported.", kpi=label))
    if entry.quality is not None and entry.quality not in QUALITY_LEVELS:
        problems.append(_("%(kpi)s: the data quality is a level from 1 to 6.", kpi=label))
    if entry.data_year is not None and not 2000 <= entry.data_year <= year:
        problems.append(
            _("%(kpi)s: the data year must be between 2000 and %(year)d.", kpi=label, year=year)
        )
    return problems


@dataclass
class PlannedChange:
    """One local value that a save would create or change: old and new stored fields."""

    kpi: LocalKpi
    entry: ValueInput
    row: LocalKpiValue | None
    old: dict[str, Any]
    new: dict[str, Any]


def stored_fields(row: LocalKpiValue) -> dict[str, Any]:
    return {name: getattr(row, name) for name in VALUE_FIELDS}


def plan_values(
    assessment: Assessment,
    entries: Sequence[ValueInput],
    *,
    existing: Mapping[tuple[int, str], LocalKpiValue] | None = None,
) -> tuple[list[PlannedChange], list[str]]:
    """Check the entries and work out what they change (no write): (changes, problems).

    ``existing`` are the stored rows to compare with (default: read now); the import reads
    them locked for update.
    """
    kpis = {k.id: k for k in city_kpis(assessment.city, active_only=True)}
    stored = values_of(assessment) if existing is None else existing
    problems: list[str] = []
    planned: list[PlannedChange] = []
    for entry in entries:
        kpi = kpis.get(entry.kpi_id)
        if kpi is None:
            problems.append(_("Unknown local KPI."))
            continue
        found = check_value(kpi, entry, assessment.year)
        try:
            value = _computed(kpi, entry)
        except LocalKpiError as error:
            found.append(str(error))
            value = None
        problems.extend(found)
        row = stored.get((kpi.id, entry.data_point))
        blank = value is None and entry.reported and not (entry.source or "").strip()
        if row is None and blank:
            continue  # nothing typed for an item never saved
        new = {
            "numerator": entry.numerator,
            "denominator": entry.denominator,
            "value": value if entry.reported else None,
            "reported": entry.reported,
            "not_reported_reason": None
            if entry.reported
            else (entry.not_reported_reason or "").strip(),
            "data_year": entry.data_year,
            "source": (entry.source or "").strip() or None,
            "source_url": (entry.source_url or "").strip() or None,
            "quality": entry.quality,
            "comment": (entry.comment or "").strip() or None,
        }
        old = stored_fields(row) if row is not None else {}
        if row is not None and old == new:
            continue
        planned.append(PlannedChange(kpi, entry, row, old, new))
    return planned, problems


def write_values(
    assessment: Assessment,
    planned: Sequence[PlannedChange],
    actor: User | None,
    *,
    reason: str | None = None,
) -> int:
    """Write planned changes, each audited; a changed value loses its verification decision.

    ``actor`` None is the operator's command line (``kpi-app import --local``), audited with
    no actor like the U4SSC import. No commit: the caller commits (one transaction per file).
    """
    for change in planned:
        row = change.row
        if row is None:
            row = LocalKpiValue(
                assessment_id=assessment.id,
                local_kpi_id=change.kpi.id,
                data_point=change.entry.data_point,
            )
            db.session.add(row)
        for name, item in change.new.items():
            setattr(row, name, item)
        row.updated_by_id = actor.id if actor is not None else None
        cleared = None
        if change.old and any(getattr(row, name) is not None for name in VERIFICATION_FIELDS):
            cleared = {name: getattr(row, name) for name in VERIFICATION_FIELDS}
            for name in VERIFICATION_FIELDS:
                setattr(row, name, None)
        db.session.flush()
        audit.record(
            "update" if change.old else "create",
            "local_kpi_value",
            row.id,
            actor=actor,
            old={**change.old, **({"verification": cleared} if cleared else {})} or None,
            new={**change.new, "code": change.kpi.full_code, "data_point": change.entry.data_point},
            reason=reason,
            assessment_id=assessment.id,
        )
    return len(planned)


def save_values(assessment: Assessment, entries: Sequence[ValueInput], actor: User) -> int:
    """Save the typed local values (all or none); returns how many rows changed.

    A value whose numbers, source or reported flag change loses its verification decision
    (audited with the change), as a U4SSC value does.
    """
    if not permissions.can_edit_values(actor, assessment):
        raise NotAllowed(_("This assessment cannot be edited now."))
    planned, problems = plan_values(assessment, entries)
    if problems:
        raise LocalKpiError(problems[0], problems)
    changed = write_values(assessment, planned, actor)
    db.session.commit()
    return changed


def decide(row: LocalKpiValue, verified: bool, code: str, note: str | None, actor: User) -> None:
    """Record a verifier's decision on one local value (same reasons as U4SSC values)."""
    assessment = row.assessment
    if not permissions.can_verify(actor, assessment):
        raise NotAllowed(_("You may not verify this assessment."))
    if assessment.status is not Status.IN_REVIEW:
        raise LocalKpiError(_("Start the review before judging values."))
    if _entered_by(row, actor):
        raise LocalKpiError(
            _("You entered or changed this value yourself; another person must verify it.")
        )
    if code not in VERIFICATION_CODES:
        raise LocalKpiError(_("Choose a reason from the list."))
    supports, _label = VERIFICATION_CODES[code]
    if supports is not verified:
        raise LocalKpiError(_("This reason does not fit this answer."))
    note = (note or "").strip() or None
    if not verified and note is None:
        raise LocalKpiError(_("Say what is wrong in a note."))
    old = {name: getattr(row, name) for name in VERIFICATION_FIELDS}
    row.verified, row.verification_code, row.verification_note = verified, code, note
    audit.record(
        "verify_value" if verified else "reject_value",
        "local_kpi_value",
        row.id,
        actor=actor,
        old=old,
        new={"verified": verified, "verification_code": code, "verification_note": note},
        assessment_id=assessment.id,
    )
    db.session.commit()


def _entered_by(row: LocalKpiValue, user: User) -> bool:
    """Did this user ever enter or change the value? (Verification must be independent.)"""
    if row.updated_by_id == user.id:
        return True
    found = db.session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.entity_type == "local_kpi_value",
            AuditEvent.entity_id == row.id,
            AuditEvent.actor_id == user.id,
            AuditEvent.action.in_(("create", "update")),
        )
        .limit(1)
    )
    return found is not None


def undecided_count(assessment: Assessment) -> int:
    """Reported local values of active KPIs without a verification decision."""
    active = select(LocalKpi.id).where(
        LocalKpi.city_id == assessment.city_id, LocalKpi.active.is_(True)
    )
    rows = db.session.scalars(
        select(LocalKpiValue).where(
            LocalKpiValue.assessment_id == assessment.id,
            LocalKpiValue.local_kpi_id.in_(active),
            LocalKpiValue.reported.is_(True),
            LocalKpiValue.value.is_not(None),
            LocalKpiValue.verified.is_(None),
        )
    )
    return len(list(rows))


def get_value(value_id: int) -> LocalKpiValue | None:
    return db.session.get(LocalKpiValue, value_id)

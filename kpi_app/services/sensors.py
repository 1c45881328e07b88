"""Sensor-fed KPIs: upload observations, compute annual values, let the city editor accept them.

The pure work (parsing, coverage rules, annual means) is in :mod:`kpi_app.twin.sensors`. This
module stores each upload as a :class:`~kpi_app.models.sensors.SensorImport` (file hash,
counts, problems, computed values with provenance) and, when the editor accepts a value,
saves it through :func:`kpi_app.services.values.save_entries` like any other edit: validated,
optimistically locked and audited, with the provenance in the value's ``source``.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from flask_babel import gettext as _
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import Assessment, DataQuality, User
from kpi_app.models.base import utcnow
from kpi_app.models.sensors import SensorImport
from kpi_app.services import audit, permissions, values
from kpi_app.services.catalogue import current_catalogue
from kpi_app.twin.sensors import (
    Observations,
    Resolution,
    SensorValue,
    annual_values,
    parse_csv,
    parse_ngsi_ld,
)

FORMATS: Final[tuple[str, ...]] = ("csv", "ngsi-ld")
RESOLUTIONS: Final[tuple[Resolution, ...]] = ("hourly", "daily")


class SensorError(ValueError):
    """A user-facing refusal (unreadable file, no permission, nothing to accept)."""


def _parse(payload: bytes, file_format: str, timezone: str) -> Observations:
    if file_format == "csv":
        try:
            text = payload.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SensorError(_("The file is not UTF-8 text.")) from error
        return parse_csv(text, timezone=timezone)
    return parse_ngsi_ld(payload, timezone=timezone)


def _check_options(file_format: str, resolution: str, timezone: str) -> None:
    if file_format not in FORMATS:
        raise SensorError(_("Choose CSV or NGSI-LD JSON."))
    if resolution not in RESOLUTIONS:
        raise SensorError(_("Choose hourly or daily readings."))
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise SensorError(_("Unknown time zone %(zone)s.", zone=timezone)) from error


def upload(
    assessment: Assessment,
    actor: User,
    *,
    filename: str,
    payload: bytes,
    file_format: str,
    resolution: str = "hourly",
    timezone: str = "UTC",
    year: int | None = None,
) -> SensorImport:
    """Parse and aggregate an upload for the assessment's year; store it for review."""
    if not permissions.can_edit_values(actor, assessment):
        raise SensorError(_("You may not change this assessment's values."))
    _check_options(file_format, resolution, timezone)
    observations = _parse(payload, file_format, timezone)
    chosen_year = year or assessment.year
    results = (
        annual_values(
            observations.frame,
            chosen_year,
            resolution=resolution,  # type: ignore[arg-type]  # checked above
            timezone=timezone,
        )
        if not observations.frame.empty
        else []
    )
    record = SensorImport(
        assessment_id=assessment.id,
        uploaded_by_id=actor.id,
        filename=filename[:255] or "upload",
        file_sha256=hashlib.sha256(payload).hexdigest(),
        file_format=file_format,
        resolution=resolution,
        timezone=timezone,
        year=chosen_year,
        observations=len(observations.frame),
        rejected=observations.rejected,
        problems=list(observations.problems),
        results=[r.to_dict() for r in results],
        accepted={},
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "sensor_upload",
        "sensor_import",
        record.id,
        actor=actor,
        new={
            "filename": record.filename,
            "sha256": record.file_sha256,
            "observations": record.observations,
            "rejected": record.rejected,
        },
        assessment_id=assessment.id,
    )
    db.session.commit()
    return record


def editable_assessments(user: Any) -> list[Assessment]:
    """Assessments whose values the user may change now: the ones sensor data can feed."""
    query = permissions.visible_assessments(user)
    found = db.session.scalars(query).unique()
    return [a for a in found if permissions.can_edit_values(user, a)]


def get_import(import_id: int) -> SensorImport | None:
    return db.session.get(SensorImport, import_id)


def imports_for(assessment: Assessment) -> list[SensorImport]:
    query = (
        select(SensorImport)
        .where(SensorImport.assessment_id == assessment.id)
        .order_by(SensorImport.id.desc())
    )
    return list(db.session.scalars(query))


def results_of(record: SensorImport) -> list[SensorValue]:
    return [SensorValue.from_dict(r) for r in record.results]


def item_key(code: str, data_point: str) -> str:
    return f"{code}|{data_point}"


@dataclass(frozen=True)
class Acceptance:
    """What accepting did: keys saved, conflicts (someone saved meanwhile), problems."""

    saved: list[tuple[str, str]]
    conflicts: list[values.Conflict]
    problems: list[str]


def _entry(
    assessment: Assessment, result: SensorValue, origin: str
) -> tuple[values.ValueInput, int]:
    """The value input for one accepted result, starting from what is stored now."""
    assert result.code is not None and result.value is not None
    record = values.records_by_key(assessment).get((result.code, result.data_point))
    base = (
        values.input_from_record(record)
        if record is not None
        else values.ValueInput(result.code, result.data_point)
    )
    entry = replace(
        base,
        value=round(result.value, 3),
        numerator=None,
        denominator=None,
        override_reason=None,
        data_year=result.year,
        source=result.provenance(origin)[: values.MAX_TEXT],
        quality=int(DataQuality.ACCURATE_MEASUREMENT),
        reported=True,
        not_reported_reason=None,
    )
    return entry, (record.version if record is not None else 0)


def accept(record: SensorImport, actor: User, keys: Iterable[tuple[str, str]]) -> Acceptance:
    """Save the chosen computed values into the assessment (a normal, audited value save)."""
    assessment = record.assessment
    if not permissions.can_edit_values(actor, assessment):
        raise SensorError(_("You may not change this assessment's values."))
    chosen = set(keys)
    results = [
        r
        for r in results_of(record)
        if r.code is not None and r.value is not None and (r.code, r.data_point) in chosen
    ]
    if not results:
        raise SensorError(_("Choose at least one computed value to accept."))
    catalogue = current_catalogue()
    origin = _(
        "upload %(name)s (sha256 %(hash)s)", name=record.filename, hash=record.file_sha256[:12]
    )
    entries, problems = [], []
    for result in results:
        entry, version = _entry(assessment, result, origin)
        assert result.code is not None
        found = values.check_entry(
            catalogue.indicator(result.code),
            catalogue.item(result.code, result.data_point),
            entry,
            assessment.year,
        )
        blocking = values.blocking(found, entry)
        if blocking:
            problems += [f"{result.parameter}: {p.message}" for p in blocking]
            continue
        entries.append(values.Entry(entry, expected_version=version))
    if problems:
        return Acceptance([], [], problems)
    saved = values.save_entries(assessment, entries, actor, catalogue=catalogue)
    _mark_accepted(record, actor, saved.saved, results)
    return Acceptance(saved.saved, saved.conflicts, [])


def _mark_accepted(
    record: SensorImport,
    actor: User,
    saved: list[tuple[str, str]],
    results: list[SensorValue],
) -> None:
    if not saved:
        return
    by_key = {(r.code, r.data_point): r for r in results}
    accepted: dict[str, Any] = dict(record.accepted or {})
    now = utcnow()
    for key in saved:
        accepted[item_key(*key)] = {
            "value": by_key[key].value,
            "at": now.isoformat(),
            "by": actor.id,
        }
    record.accepted = accepted
    record.accepted_at = now
    audit.record(
        "sensor_accept",
        "sensor_import",
        record.id,
        actor=actor,
        new={"accepted": [item_key(*k) for k in saved]},
        assessment_id=record.assessment_id,
    )
    db.session.commit()

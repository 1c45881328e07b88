"""Sensor-fed KPIs: upload observations, compute annual values, let the city editor accept them.

The pure work (parsing, coverage rules, annual means) is in :mod:`kpi_app.twin.sensors`. This
module stores each upload as a :class:`~kpi_app.models.sensors.SensorImport` (file hash,
counts, problems, computed values with provenance) and, when the editor accepts a value,
saves it through :func:`kpi_app.services.values.save_entries` like any other edit: validated,
optimistically locked and audited, with the provenance in the value's ``source``.
"""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, DataQuality, User
from kpi_app.models.base import utcnow
from kpi_app.models.sensors import SensorImport, SensorObservation
from kpi_app.services import audit, permissions, values
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Invalid
from kpi_app.twin.sensors import (
    NGSI_TYPES,
    Notification,
    Observations,
    Resolution,
    SensorValue,
    annual_values,
    parameter_unit,
    parse_csv,
    parse_ngsi_ld,
    parse_notification,
)

FORMATS: Final[tuple[str, ...]] = ("csv", "ngsi-ld")
__all__ = ["NGSI_TYPES"]  # the entity types a notification or an NGSI-LD upload may carry
RESOLUTIONS: Final[tuple[Resolution, ...]] = ("hourly", "daily")


class SensorError(Invalid):
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
    origin = (
        _("received from a context broker (NGSI-LD notifications)")
        if record.file_format == BROKER_FORMAT
        else _(
            "upload %(name)s (sha256 %(hash)s)",
            name=record.filename,
            hash=record.file_sha256[:12],
        )
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


# --------------------------------------------------------------------------------------------
# Context-broker notifications (POST /api/v1/ngsi-ld/notify)
# --------------------------------------------------------------------------------------------

#: ``SensorImport.file_format`` of the one review record per assessment fed by a broker.
BROKER_FORMAT: Final[str] = "ngsi-ld-broker"
BROKER_FILENAME: Final[str] = "context broker notifications"


class NotificationRefused(SensorError):
    """A notification refused as a whole; nothing of it was stored."""

    def __init__(self, message: str, notification: Notification | None = None) -> None:
        super().__init__(message)
        self.notification = notification


@dataclass(frozen=True)
class NotifyOutcome:
    """What one notification did: readings stored, repeats ignored, review records updated."""

    notification_id: str
    subscription_id: str
    received: int
    stored: int
    duplicates: int
    imports: list[SensorImport]


def _naive_utc(moment: Any) -> datetime:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def receive_notification(
    city: str, actor: User, payload: Any, *, timezone: str = "UTC"
) -> NotifyOutcome:
    """Store a broker notification's readings (all or nothing) and recompute the annual values.

    Entities may be AirQualityObserved, NoiseLevelObserved or WaterQualityObserved (one
    notification may mix them). Every year the readings fall in (in ``timezone``) needs an
    assessment of the city the
    actor may edit (:func:`kpi_app.services.interop.editable_assessment`: NotFoundError or
    AccessDeniedError otherwise). Readings already stored (same entity, parameter and
    ``observedAt``) are ignored. The annual values of each touched year are recomputed from
    all of the city's stored readings of that year with the file uploads' rules and kept in
    one review record per assessment, where the editor accepts them as with an upload.
    """
    from kpi_app.services import interop

    _check_options("ngsi-ld", "hourly", timezone)
    parsed = parse_notification(payload, timezone=timezone)
    if not parsed.ok:
        raise NotificationRefused(_("The notification has problems; nothing was stored."), parsed)
    frame = parsed.frame.drop_duplicates(["entity_id", "parameter", "timestamp"])
    years = sorted({int(y) for y in frame["timestamp"].dt.tz_convert(timezone).dt.year})
    assessments = {year: interop.editable_assessment(city, year, actor) for year in years}
    city_id = next(iter(assessments.values())).city_id
    keys = [
        (str(e), str(p), _naive_utc(t))
        for e, p, t in zip(frame["entity_id"], frame["parameter"], frame["timestamp"], strict=True)
    ]
    existing = {
        (e, p, _naive_utc(t))
        for e, p, t in db.session.execute(
            select(
                SensorObservation.entity_id,
                SensorObservation.parameter,
                SensorObservation.observed_at,
            ).where(
                SensorObservation.city_id == city_id,
                SensorObservation.entity_id.in_({k[0] for k in keys}),
                SensorObservation.observed_at >= min(k[2] for k in keys),
                SensorObservation.observed_at <= max(k[2] for k in keys),
            )
        )
    }
    fresh = 0
    rows = zip(keys, frame["station"], frame["value"], frame["entity_type"], strict=True)
    for key, station, value, entity_type in rows:
        if key in existing:
            continue
        db.session.add(
            SensorObservation(
                city_id=city_id,
                entity_id=key[0][:255],
                entity_type=str(entity_type)[:64],
                station=str(station)[:255],
                parameter=key[1],
                observed_at=key[2].replace(tzinfo=UTC),
                value=float(value),
                subscription_id=parsed.subscription_id[:255],
                notification_id=parsed.notification_id[:255],
                received_by_id=actor.id,
            )
        )
        fresh += 1
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    try:
        db.session.flush()
        imports = [
            _refresh_broker_import(assessment, actor, year, timezone, digest)
            for year, assessment in assessments.items()
        ]
        audit.record(
            "sensor_notify",
            "city",
            city_id,
            actor=actor,
            new={
                "notification": parsed.notification_id,
                "subscription": parsed.subscription_id,
                "received": len(parsed.frame),
                "stored": fresh,
            },
        )
        db.session.commit()
    except IntegrityError as error:  # the same readings arriving twice at the same moment
        db.session.rollback()
        raise NotificationRefused(
            _("The same readings are being stored by another request; send it again.")
        ) from error
    return NotifyOutcome(
        parsed.notification_id,
        parsed.subscription_id,
        len(parsed.frame),
        fresh,
        len(parsed.frame) - fresh,
        imports,
    )


def stored_observations(city_id: int, year: int, timezone: str) -> pd.DataFrame:
    """The city's stored broker readings around ``year`` as an observations frame."""
    start = datetime(year - 1, 12, 30, tzinfo=UTC)
    end = datetime(year + 1, 1, 3, tzinfo=UTC)
    rows = db.session.execute(
        select(
            SensorObservation.observed_at,
            SensorObservation.station,
            SensorObservation.parameter,
            SensorObservation.value,
        ).where(
            SensorObservation.city_id == city_id,
            SensorObservation.observed_at >= start,
            SensorObservation.observed_at < end,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["timestamp", "station", "parameter", "value"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype(float)
    return frame.assign(unit=frame["parameter"].map(parameter_unit).astype(object))


def _refresh_broker_import(
    assessment: Assessment, actor: User, year: int, timezone: str, digest: str
) -> SensorImport:
    frame = stored_observations(assessment.city_id, year, timezone)
    results = annual_values(frame, year, resolution="hourly", timezone=timezone)
    record = db.session.scalar(
        select(SensorImport).where(
            SensorImport.assessment_id == assessment.id,
            SensorImport.file_format == BROKER_FORMAT,
        )
    )
    if record is None:
        record = SensorImport(
            assessment_id=assessment.id,
            uploaded_by_id=actor.id,
            filename=BROKER_FILENAME,
            file_format=BROKER_FORMAT,
            resolution="hourly",
            rejected=0,
            problems=[],
            accepted={},
        )
        db.session.add(record)
    local_year = frame["timestamp"].dt.tz_convert(timezone).dt.year == year
    record.file_sha256 = digest
    record.timezone = timezone
    record.year = year
    record.observations = int(local_year.sum())
    record.results = [r.to_dict() for r in results]
    db.session.flush()
    return record

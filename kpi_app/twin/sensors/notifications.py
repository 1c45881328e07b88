"""Context-broker notifications (NGSI-LD): checked strictly, per entity, all or nothing.

A notification (``POST /api/v1/ngsi-ld/notify``) carries entities of the
:data:`~kpi_app.twin.sensors.parameters.NGSI_TYPES`; each entity's readings go through the
same checks as an upload (:mod:`~kpi_app.twin.sensors.parsing`), and any problem refuses the
whole notification with its reasons, entity by entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from kpi_app.twin.sensors.parameters import NGSI_TYPE, NOISE_TYPE, WATER_TYPE, _short_type
from kpi_app.twin.sensors.parsing import (
    OBSERVATION_COLUMNS,
    _checked,
    _empty_frame,
    _entity_records,
    _listed,
)

NOTIFICATION_TYPE: Final[str] = "Notification"


@dataclass(frozen=True)
class EntityProblem:
    """Why one entity of a notification was refused (position from 1, its id if it has one)."""

    index: int
    entity_id: str | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.entity_id, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Notification:
    """A parsed broker notification: its ids, observations (with entity ids) and problems.

    ``frame`` has the observation columns plus ``entity_id`` and ``entity_type``; it is only
    meaningful when ``problems`` and ``entity_problems`` are both empty (all or nothing).
    """

    notification_id: str
    subscription_id: str
    notified_at: str | None
    frame: pd.DataFrame
    problems: tuple[str, ...] = ()
    entity_problems: tuple[EntityProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.entity_problems


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_notification(payload: Any, *, timezone: str = "UTC") -> Notification:
    """Check an NGSI-LD notification of the :data:`NGSI_TYPES` entities, entity by entity.

    Every reading needs a number (not negative, not above the parameter's largest possible
    reading), a unit known for its parameter (the model's default unit when it names none)
    and a time (``observedAt`` of the property, else the entity's ``dateObserved`` or, for
    noise, ``dateObservedFrom``). A notification with any problem yields
    its reasons and is meant to be refused as a whole.
    """
    if not isinstance(payload, Mapping):
        return Notification("", "", None, _empty_frame(), ("the body is not a JSON object",))
    problems: list[str] = []
    notification_id = _text(payload.get("id"))
    subscription_id = _text(payload.get("subscriptionId"))
    if payload.get("type") != NOTIFICATION_TYPE:
        problems.append(f"type must be {NOTIFICATION_TYPE!r}")
    if notification_id is None:
        problems.append("id (the notification's id) is missing")
    if subscription_id is None:
        problems.append("subscriptionId is missing")
    data = payload.get("data")
    if not isinstance(data, list) or not data:
        problems.append("data must be a non-empty list of entities")
        data = []
    # All entities' readings are checked in one pass (a per-entity pass costs ~10 ms each).
    records: list[dict[str, Any]] = []
    reasons: dict[int, list[str]] = {}
    ids: dict[int, str | None] = {}
    for index, entity in enumerate(data, start=1):
        entity_id = _text(entity.get("id")) if isinstance(entity, Mapping) else None
        ids[index] = entity_id
        found: list[str] = []
        if isinstance(entity, Mapping) and entity_id is None:
            found.append("id is missing")
        own = _entity_records(entity, "entity", found)
        found = [r.removeprefix("entity: ") for r in found]
        if not own and not found:
            found.append(_no_measurement(entity))
        for record in own:
            record["where"] = record["where"].removeprefix("entity (").removesuffix(")")
            record["index"] = index
            record["entity_id"] = entity_id
            record["entity_type"] = _short_type(str(entity.get("type", "")))
        records += own
        reasons[index] = found
    frame = _empty_frame().assign(entity_id=pd.Series([], dtype=object), entity_type="")
    if records:
        raw = pd.DataFrame(records)
        checked, bad, rejected = _checked(raw[OBSERVATION_COLUMNS], timezone)
        per_entity: dict[int, list[str]] = {}
        for label, message in rejected:  # labels are positions in ``records``
            record = records[label]
            per_entity.setdefault(record["index"], []).append(f"{record['where']}: {message}")
        for index, messages in per_entity.items():
            reasons[index] += _listed(messages)
        good = ~bad.to_numpy(dtype=bool)
        frame = checked.loc[good].assign(
            entity_id=raw["entity_id"].loc[good], entity_type=raw["entity_type"].loc[good]
        )
        frame = frame.reset_index(drop=True)
    refused = [
        EntityProblem(index, ids[index], tuple(found)) for index, found in reasons.items() if found
    ]
    return Notification(
        notification_id or "",
        subscription_id or "",
        _text(payload.get("notifiedAt")),
        frame,
        tuple(problems),
        tuple(refused),
    )


#: What each entity type measures, for the "nothing measured" reason.
MEASURED: Final[dict[str, str]] = {
    NGSI_TYPE: "no pollutant property (PM2.5, PM10, NO2, SO2, O3, CO)",
    NOISE_TYPE: "no sound level property (LAeq, LAeq_d, LAmax, LAS)",
    WATER_TYPE: (
        "no water-quality property (pH, conductivity, turbidity, O2, NO3, escherichiaColi)"
    ),
}


def _no_measurement(entity: Any) -> str:
    kind = _short_type(str(entity.get("type", ""))) if isinstance(entity, Mapping) else ""
    return MEASURED.get(kind, MEASURED[NGSI_TYPE])

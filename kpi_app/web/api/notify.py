# mypy: disable-error-code="untyped-decorator"
# (flask-smorest ships no type hints, so its decorators are untyped; the views are typed.)
"""Context-broker notifications: `POST /api/v1/ngsi-ld/notify?city=<slug>`.

A FIWARE city subscribes the platform to its `AirQualityObserved`, `NoiseLevelObserved` and
`WaterQualityObserved` entities (Smart Data Models attribute names); the broker posts
NGSI-LD notifications here with a personal API token (`Authorization: Bearer kpi_…`, set as a
receiver header in the subscription). The token's user must be allowed to edit the city's
values (`permissions.can_edit_values`) for every year the readings fall in. Each notification
is stored all or nothing (`services.sensors.receive_notification`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import g, request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from kpi_app.services import sensors
from kpi_app.web.api.write import authenticate_token

notify_bp = Blueprint(
    "api_ngsi_notify",
    __name__,
    url_prefix="/api/v1",
    description="Receive NGSI-LD notifications from a context broker (personal API token).",
)
notify_bp.before_request(authenticate_token)

NOTIFICATION_EXAMPLE = {
    "id": "urn:ngsi-ld:Notification:5fd0fa684eb81930c97005f3",
    "type": "Notification",
    "subscriptionId": "urn:ngsi-ld:Subscription:kpi-air",
    "notifiedAt": "2024-03-01T10:00:05.000Z",
    "data": [
        {
            "id": "urn:ngsi-ld:AirQualityObserved:station-1",
            "type": "AirQualityObserved",
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:station-1"},
            "no2": {
                "type": "Property",
                "value": 21.5,
                "unitCode": "GQ",
                "observedAt": "2024-03-01T10:00:00Z",
            },
            "pm25": {
                "type": "Property",
                "value": 7.2,
                "unitCode": "GQ",
                "observedAt": "2024-03-01T10:00:00Z",
            },
        },
        {
            "id": "urn:ngsi-ld:NoiseLevelObserved:sonometer-7",
            "type": "NoiseLevelObserved",
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:sonometer-7"},
            "dateObservedFrom": {
                "type": "Property",
                "value": {"@type": "DateTime", "@value": "2024-03-01T09:00:00Z"},
            },
            "dateObservedTo": {
                "type": "Property",
                "value": {"@type": "DateTime", "@value": "2024-03-01T10:00:00Z"},
            },
            "LAeq": {"type": "Property", "value": 61.4, "unitCode": "2N"},
            "LAmax": {"type": "Property", "value": 83.0, "unitCode": "2N"},
        },
        {
            "id": "urn:ngsi-ld:WaterQualityObserved:tap-3",
            "type": "WaterQualityObserved",
            "dateObserved": {
                "type": "Property",
                "value": {"@type": "DateTime", "@value": "2024-03-01T09:45:00Z"},
            },
            "pH": {"type": "Property", "value": 7.4},
            "conductivity": {"type": "Property", "value": 410, "unitCode": "G42"},
            "NO3": {"type": "Property", "value": 12.5, "unitCode": "M1"},
            "escherichiaColi": {"type": "Property", "value": 0},
        },
    ],
}
NOTIFICATION_BODY = {
    "required": True,
    "description": (
        "An NGSI-LD notification (normalised or key-value entities of type "
        "AirQualityObserved, NoiseLevelObserved or WaterQualityObserved, with the Smart Data "
        "Models attribute names). Each measured property needs a number, a unit known for it "
        "(unitCode; the model's default unit if absent) and observedAt (else the entity's "
        "dateObserved, or dateObservedFrom for noise). Air: pm25, pm10, no2, so2, o3, co in "
        "GQ = µg/m³, GP = mg/m³, 61 = ppb, 59 = ppm (default µg/m³). Noise: LAeq, LAeq_d, "
        "LAmax, LAS in 2N = dB. Water: pH (no unit), conductivity (G42 = µS/cm, H61 = mS/cm, "
        "D10 = S/m, default S/m), turbidity (NTU/FTU/FNU, default FTU), O2 and NO3 (M1 = "
        "mg/l, default), escherichiaColi (per 100 ml, CFU/100mL, MPN/100mL)."
    ),
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["id", "type", "subscriptionId", "data"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "type": {"type": "string", "enum": ["Notification"]},
                    "subscriptionId": {"type": "string", "minLength": 1},
                    "notifiedAt": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["id", "type"],
                            "properties": {
                                "id": {"type": "string", "minLength": 1},
                                "type": {
                                    "type": "string",
                                    "enum": list(sensors.NGSI_TYPES),
                                },
                            },
                            "additionalProperties": True,
                        },
                    },
                },
            },
            "example": NOTIFICATION_EXAMPLE,
        }
        for media in ("application/json", "application/ld+json")
    },
}


class NotifyQuerySchema(Schema):
    city = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
        metadata={"description": "Slug of the city the readings belong to", "example": "fjordby"},
    )
    timezone = fields.String(
        load_default="UTC",
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "IANA time zone of the city's day boundaries (coverage rules)",
            "example": "Europe/Oslo",
        },
    )


class NotifyImportSchema(Schema):
    year = fields.Integer()
    assessment_id = fields.Integer()
    import_id = fields.Integer(metadata={"description": "Review record (sensor page)"})
    observations = fields.Integer(metadata={"description": "Stored readings of the year"})
    results = fields.List(
        fields.Dict(),
        metadata={
            "description": (
                "Annual statistics per parameter and station (coverage rules applied); "
                "`code` is set only where the value is a KPI item's value (air pollutants); "
                "`evidence` (noise Lden, water limits) names its KPI and is never a value"
            )
        },
    )


class NotifyResultSchema(Schema):
    notification_id = fields.String()
    subscription_id = fields.String()
    received = fields.Integer(metadata={"description": "Readings in the notification"})
    stored = fields.Integer(metadata={"description": "New readings stored"})
    duplicates = fields.Integer(metadata={"description": "Readings already stored, ignored"})
    imports = fields.List(fields.Nested(NotifyImportSchema))


@notify_bp.route("/ngsi-ld/notify", methods=["POST"])
@notify_bp.arguments(NotifyQuerySchema, location="query")
@notify_bp.doc(requestBody=NOTIFICATION_BODY, security=[{"bearerAuth": []}])
@notify_bp.response(200, NotifyResultSchema)
@notify_bp.alt_response(400, schema="Error", description="The body is not JSON")
@notify_bp.alt_response(401, schema="Error", description="Missing or invalid API token")
@notify_bp.alt_response(403, schema="Error", description="Not allowed to edit the city's values")
@notify_bp.alt_response(404, schema="Error", description="No assessment of the readings' year")
@notify_bp.alt_response(
    422, schema="Error", description="Problems per entity (details.entities); nothing stored"
)
@notify_bp.alt_response(409, schema="Error", description="Same readings stored concurrently")
@notify_bp.alt_response(429, schema="Error", description="Too many requests")
def notify(query: dict[str, Any]) -> Any:
    """Store a notification's readings (all or nothing) and recompute the annual values."""
    try:
        payload = json.loads(request.get_data())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        abort(400, message=f"the body is not valid JSON: {error}")
    try:
        outcome = sensors.receive_notification(
            query["city"], g.api_user, payload, timezone=query["timezone"]
        )
    except sensors.NotificationRefused as error:
        parsed = error.notification
        if parsed is None:
            abort(409, message=str(error))
        else:
            abort(
                422,
                message=str(error),
                errors={
                    "problems": list(parsed.problems),
                    "entities": [p.to_dict() for p in parsed.entity_problems],
                },
            )
    except sensors.SensorError as error:
        abort(422, message=str(error), errors={"problems": [str(error)], "entities": []})
    return {
        "notification_id": outcome.notification_id,
        "subscription_id": outcome.subscription_id,
        "received": outcome.received,
        "stored": outcome.stored,
        "duplicates": outcome.duplicates,
        "imports": [
            {
                "year": record.year,
                "assessment_id": record.assessment_id,
                "import_id": record.id,
                "observations": record.observations,
                "results": record.results,
            }
            for record in outcome.imports
        ],
    }

"""NGSI-LD entities of the FIWARE smart data model `KeyPerformanceIndicator`, both ways.

One entity per city × KPI item × reporting year. The model's own attributes carry what they
mean in FIWARE (name, description, category, organization, kpiValue, calculationPeriod …) and
are defined by the official Smart Data Models @context of the model
(`SMART_DATA_MODEL_CONTEXT`), so a broker expands them to the model's IRIs
(`https://smartdatamodels.org/name`, `http://purl.org/dc/terms/description`, …). What U4SSC
needs beyond them travels in extension attributes defined by the app's own, separate JSON-LD
@context (`context_document`): the framework code and data point, the benchmark target, the
unit, the data-quality level (1–6), the verification status and the reporting flag. The
NGSI-LD core context comes last, as the NGSI-LD API requires.

A city-defined (local) KPI value is an entity of the same type with `localCode`
(`LOCAL:<city>:<CODE>`) in place of `frameworkCode` and an id under `LOCAL_URN_PREFIX`
(docs/local-kpis.md); the importer leaves such entities out.

Two representations, as NGSI-LD brokers offer them: *normalised* (every attribute an object
with "type": "Property" | "GeoProperty"; kpiValue and kpiTarget carry `unitCode`, the
UN/CEFACT code of the unit where one exists, and kpiValue `observedAt`, the end of the period
the value describes) and *keyValues* (plain values; the form the FIWARE JSON Schema describes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kpi_app.interop.records import (
    InteropFormatError,
    Observation,
    ParsedValue,
    checked_code,
    code_token,
    is_local_code,
    local_code_parts,
    optional_int,
    optional_number,
)
from kpi_app.interop.units import uncefact_code

ENTITY_TYPE = "KeyPerformanceIndicator"
NGSI_LD_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
SMART_DATA_MODEL_VOCAB = "https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/"
#: The official @context of the model, as Smart Data Models publishes it.
SMART_DATA_MODEL_CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/"
    "dataModel.KeyPerformanceIndicator/master/context.jsonld"
)
URN_PREFIX = f"urn:ngsi-ld:{ENTITY_TYPE}:u4ssc"
#: Entities of city-defined (local) KPIs: same type, their own namespace of ids.
LOCAL_URN_PREFIX = f"urn:ngsi-ld:{ENTITY_TYPE}:local"

#: Attributes of the FIWARE model this exporter fills.
MODEL_TERMS = (
    "address",
    "area",
    "calculatedBy",
    "calculationFrequency",
    "calculationMethod",
    "calculationPeriod",
    "category",
    "dateModified",
    "description",
    "effectiveSince",
    "kpiValue",
    "name",
    "organization",
    "process",
    "source",
)
#: Extension attributes (U4SSC specifics), defined in the app's @context.
EXTENSION_TERMS = {
    "frameworkCode": "U4SSC KPI code (ITU-T Y.4903), e.g. 'EC: ICT: ICT: 1C'",
    "dataPoint": "Identifier of the data point for KPIs reported as several values",
    "kpiTarget": "Benchmark target the value is compared with (same unit as kpiValue)",
    "kpiUnit": "Unit of kpiValue and kpiTarget, as the U4SSC catalogue states it",
    "dataQualityLevel": "U4SSC data-quality level, 1 (accurate measurement) to 6 (unknown)",
    "verificationStatus": "verified, notVerified or pending (independent U4SSC verification)",
    "reported": "false when the city did not report this KPI item for the period",
    "notReportedReason": "Why the city did not report this KPI item (when reported is false)",
    "dataYear": "Year the underlying data refer to, when it differs from the reporting year",
    "referenceYear": "U4SSC reporting year (assessment cycle)",
    "cityIdentifier": "The platform's identifier (slug) of the assessed city",
    "benchmarkSet": "Identifier of the benchmark set the target comes from",
    "catalogueVersion": "Version of the KPI catalogue the value was reported against",
    "localCode": (
        "Code of a city-defined (local) KPI, LOCAL:<city>:<CODE>: not a U4SSC KPI, never in "
        "U4SSC scores (an entity carries either frameworkCode or localCode)"
    ),
    "benchmarkSource": "Where the city's own benchmark target of a local KPI comes from",
}

#: Attribute → importer field, for the fields an entity may or may not carry (NGSI-LD has no
#: null: an entity leaves out what it does not know, so an absent attribute changes nothing).
CARRIED_ATTRIBUTES = {
    "kpiUnit": "unit",
    "source": "source",
    "dataQualityLevel": "quality",
    "dataYear": "data_year",
    "notReportedReason": "not_reported_reason",
}


def context_document(vocab_base: str) -> dict[str, Any]:
    """The U4SSC extension @context served by the app (the model's terms are not in it:
    they come from the official Smart Data Models context the entities name first)."""
    terms: dict[str, Any] = {term: f"{vocab_base}#{term}" for term in EXTENSION_TERMS}
    return {"@context": terms}


def entity_context(context_url: str) -> list[str]:
    """An entity's @context: the official model context, the extension, the NGSI-LD core."""
    return [SMART_DATA_MODEL_CONTEXT, context_url, NGSI_LD_CORE_CONTEXT]


def entity_id(city: str, year: int, code: str, data_point: str = "") -> str:
    """A stable URN: the same city, year and item always get the same id (a local KPI's
    under LOCAL_URN_PREFIX, with its own code: `…:local:kyebi:2024:WASTE-1`)."""
    if is_local_code(code):
        parts = [LOCAL_URN_PREFIX, city, str(year), local_code_parts(code)[1]]
    else:
        parts = [URN_PREFIX, city, str(year), code_token(code)]
    if data_point:
        parts.append(data_point)
    return ":".join(parts)


def _verification_status(verified: bool | None) -> str:
    if verified is None:
        return "pending"
    return "verified" if verified else "notVerified"


def _key_values(obs: Observation) -> dict[str, Any]:
    """The entity's attributes as plain values (NGSI-LD keyValues / FIWARE schema form)."""
    name = obs.kpi_name
    local = is_local_code(obs.code)
    attributes: dict[str, Any] = {
        "name": name,
        "description": (
            f"Local KPI {obs.code}, defined by {obs.city_name} beside the U4SSC KPIs, "
            f"reported for {obs.year}"
            if local
            else f"U4SSC KPI {obs.code} reported by {obs.city_name} for {obs.year}"
        ),
        # Yes/no KPIs are qualitative judgements; every other U4SSC KPI is measured.
        "category": ["qualitative" if obs.value_type == "boolean" else "quantitative"],
        "organization": obs.city_name,
        "calculatedBy": obs.city_name,
        "area": obs.city_name,
        "address": {"addressLocality": obs.city_name, "addressCountry": obs.country},
        "process": (
            "City-defined local KPI, reported beside the U4SSC self-assessment"
            if local
            else "U4SSC smart sustainable city self-assessment"
        ),
        "calculationMethod": "manual",
        "calculationFrequency": "yearly",
        "calculationPeriod": {"from": f"{obs.year}-01-01", "to": f"{obs.year}-12-31"},
        ("localCode" if local else "frameworkCode"): obs.code,
        "referenceYear": obs.year,
        "cityIdentifier": obs.city,
        "reported": obs.has_value,
        "verificationStatus": _verification_status(obs.verified),
    }
    optional: dict[str, Any] = {
        "kpiValue": obs.value if obs.has_value else None,
        "dataPoint": obs.data_point or None,
        "kpiTarget": obs.target,
        "kpiUnit": obs.unit,
        "dataQualityLevel": obs.quality,
        "dataYear": obs.data_year,
        "source": obs.source,
        "benchmarkSet": obs.benchmark_set,
        "catalogueVersion": obs.catalogue_version,
        "notReportedReason": None if obs.has_value else obs.not_reported_reason,
        "benchmarkSource": obs.benchmark_source,
    }
    attributes.update({key: value for key, value in optional.items() if value is not None})
    if obs.published_at is not None:
        attributes["dateModified"] = obs.published_at.isoformat()
    if obs.latitude is not None and obs.longitude is not None:
        attributes["location"] = {"type": "Point", "coordinates": [obs.longitude, obs.latitude]}
    return attributes


def observed_at(obs: Observation) -> str:
    """The end of the year the value describes (its data year, else the reporting year)."""
    return f"{obs.data_year or obs.year}-12-31T23:59:59Z"


def _normalised(attributes: Mapping[str, Any], obs: Observation) -> dict[str, Any]:
    """Wrap each attribute as NGSI-LD Property / GeoProperty; dates get a typed @value."""
    wrapped: dict[str, Any] = {}
    unit_code = uncefact_code(obs.unit, obs.value_type)
    for key, value in attributes.items():
        if key == "location":
            wrapped[key] = {"type": "GeoProperty", "value": value}
        elif key == "dateModified":
            wrapped[key] = {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
        else:
            wrapped[key] = {"type": "Property", "value": value}
        if key in ("kpiValue", "kpiTarget") and unit_code:
            wrapped[key]["unitCode"] = unit_code
        if key == "kpiValue":
            wrapped[key]["observedAt"] = observed_at(obs)
    return wrapped


def to_entity(obs: Observation, context_url: str, *, key_values: bool = False) -> dict[str, Any]:
    attributes = _key_values(obs)
    body = attributes if key_values else _normalised(attributes, obs)
    return {
        "id": entity_id(obs.city, obs.year, obs.code, obs.data_point),
        "type": ENTITY_TYPE,
        **body,
        "@context": entity_context(context_url),
    }


def to_entities(
    observations: Iterable[Observation], context_url: str, *, key_values: bool = False
) -> list[dict[str, Any]]:
    return [to_entity(obs, context_url, key_values=key_values) for obs in observations]


def _plain(attribute: Any) -> Any:
    """An attribute's value whichever representation it came in."""
    if isinstance(attribute, Mapping) and attribute.get("type") in ("Property", "GeoProperty"):
        value = attribute.get("value")
        if isinstance(value, Mapping) and "@value" in value:
            return value["@value"]
        return value
    return attribute


def _year_of(attributes: Mapping[str, Any], where: str, problems: list[str]) -> int | None:
    year = optional_int(_plain(attributes.get("referenceYear")), where, "referenceYear", problems)
    if year is not None:
        return year
    period = _plain(attributes.get("calculationPeriod"))
    if isinstance(period, Mapping) and isinstance(period.get("from"), str):
        return optional_int(period["from"][:4], where, "calculationPeriod.from", problems)
    return None


def _parse_entity(entity: Any, where: str, problems: list[str]) -> ParsedValue | None:
    if not isinstance(entity, Mapping):
        problems.append(f"{where}: an entity must be a JSON object")
        return None
    if entity.get("type") != ENTITY_TYPE:
        problems.append(f"{where}: type must be {ENTITY_TYPE!r}, not {entity.get('type')!r}")
        return None
    found = len(problems)
    code = checked_code(_plain(entity.get("frameworkCode")), where, problems)
    data_point = _plain(entity.get("dataPoint")) or ""
    if not isinstance(data_point, str):
        problems.append(f"{where}: dataPoint must be text")
    value = optional_number(_plain(entity.get("kpiValue")), where, "kpiValue", problems)
    if _plain(entity.get("reported")) is False:
        value = None  # an explicit "not reported" wins over a stray value
    quality = optional_int(
        _plain(entity.get("dataQualityLevel")), where, "dataQualityLevel", problems
    )
    year = _year_of(entity, where, problems)
    city = _plain(entity.get("cityIdentifier"))
    data_year = optional_int(_plain(entity.get("dataYear")), where, "dataYear", problems)
    if code is None or len(problems) > found:
        return None
    return ParsedValue(
        city=city if isinstance(city, str) else None,
        year=year,
        code=code,
        data_point=str(data_point),
        value=value,
        unit=_text(_plain(entity.get("kpiUnit"))),
        source=_text(_plain(entity.get("source"))),
        quality=quality,
        data_year=data_year,
        not_reported_reason=_text(_plain(entity.get("notReportedReason"))),
        carried=frozenset(
            field for attribute, field in CARRIED_ATTRIBUTES.items() if attribute in entity
        ),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def is_local_entity(entity: Any) -> bool:
    """Whether an entity is a local KPI's (it carries localCode, not frameworkCode)."""
    return isinstance(entity, Mapping) and "localCode" in entity and "frameworkCode" not in entity


def parse_entities(payload: Any) -> list[ParsedValue]:
    """Values from a list of KeyPerformanceIndicator entities (normalised or keyValues).

    Accepts a JSON array, a single entity, or a JSON-LD document with "@graph". Raises
    InteropFormatError listing every entity that cannot be read (nothing half-read).
    Local KPI entities (``localCode``) are left out: local values are entered in the app
    (docs/local-kpis.md); a file holding nothing else is refused with that reason.
    """
    entities = payload.get("@graph", [payload]) if isinstance(payload, Mapping) else payload
    if not isinstance(entities, list) or not entities:
        raise InteropFormatError(["expected a non-empty JSON array of NGSI-LD entities"])
    if all(is_local_entity(entity) for entity in entities):
        raise InteropFormatError(
            [
                "the file holds only local KPI entities (localCode): local KPI values are "
                "entered in the app, not imported from exchange files"
            ]
        )
    problems: list[str] = []
    parsed: list[ParsedValue] = []
    for index, entity in enumerate(entities, start=1):
        if is_local_entity(entity):
            continue
        label = entity.get("id", "") if isinstance(entity, Mapping) else ""
        value = _parse_entity(entity, f"entity {index} {label}".rstrip(), problems)
        if value is not None:
            parsed.append(value)
    if problems:
        raise InteropFormatError(problems)
    return parsed

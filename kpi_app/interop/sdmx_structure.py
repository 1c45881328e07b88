"""The SDMX structure of the SDMX-CSV export: DSD, dataflow, concepts and code lists.

Built with the `sdmx1` library and written as an SDMX-ML 2.1 structure message, so an SDMX
tool (sdmx1, a .Stat Suite) can read `U4SSC:DF_U4SSC_KPI(1.0)`, the dataflow every SDMX-CSV
row names, and then the data:

- dimensions REF_AREA (CL_CITY), INDICATOR (CL_INDICATOR), DATA_POINT (CL_DATA_POINT, `_Z`
  for single-value KPIs) and the time dimension TIME_PERIOD (reporting year);
- the measure OBS_VALUE (a double; `NaN` when the item was not reported);
- attributes UNIT_MEASURE (CL_UNIT), OBS_STATUS (CL_OBS_STATUS: the codes and names of the
  SDMX cross-domain code list that the export uses), DATA_QUALITY (CL_DATA_QUALITY, U4SSC
  levels 1–6), VERIFIED (boolean), COUNTRY (CL_COUNTRY, ISO 3166-1 alpha-2), DATA_YEAR,
  SOURCE_DETAIL and NOT_REPORTED_REASON (free text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sdmx
from sdmx.message import StructureMessage
from sdmx.model import common, v21

from kpi_app.interop.records import indicator_token
from kpi_app.interop.sdmx import LOCAL_STRUCTURE_ID, NOT_APPLICABLE, STRUCTURE_ID
from kpi_app.interop.units import unit_codes

AGENCY_ID = "U4SSC"
VERSION = "1.0"
DATAFLOW_ID = "DF_U4SSC_KPI"
DSD_ID = "DSD_U4SSC_KPI"
CONCEPT_SCHEME_ID = "CS_U4SSC_KPI"
MEDIA_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"

#: The codes of the SDMX cross-domain code list CL_OBS_STATUS the export writes.
OBS_STATUS_CODES = {
    "A": "Normal value",
    "E": "Estimated value",
    "U": "Low reliability",
    "O": "Missing value",
}

LOCAL_DATAFLOW_ID = "DF_U4SSC_LOCAL"

assert f"{AGENCY_ID}:{DATAFLOW_ID}({VERSION})" == STRUCTURE_ID
assert f"{AGENCY_ID}:{LOCAL_DATAFLOW_ID}({VERSION})" == LOCAL_STRUCTURE_ID


@dataclass(frozen=True)
class Flow:
    """What differs between the U4SSC dataflow and the local KPIs' one: the ids of the
    artefacts whose content differs (the KPI, data point and unit code lists, the concepts,
    the DSD) and their names. The code lists both share (cities, countries, observation
    status, quality levels) have the same ids and the same content in both messages."""

    dataflow_id: str
    dsd_id: str
    concept_scheme_id: str
    header_id: str
    indicator_list: tuple[str, str, str]  # id, name, description
    data_point_list: str
    unit_list: str
    indicator_concept: str
    dsd_name: str
    flow_name: str


U4SSC_FLOW = Flow(
    dataflow_id=DATAFLOW_ID,
    dsd_id=DSD_ID,
    concept_scheme_id=CONCEPT_SCHEME_ID,
    header_id="U4SSC_KPI_STRUCTURE",
    indicator_list=("CL_INDICATOR", "U4SSC KPIs", "ITU-T Y.4903 KPI codes"),
    data_point_list="CL_DATA_POINT",
    unit_list="CL_UNIT",
    indicator_concept="U4SSC KPI",
    dsd_name="U4SSC Key Performance Indicators for smart sustainable cities",
    flow_name="U4SSC KPIs: published, independently verified city results",
)
#: City-defined KPIs, in a dataflow of their own so that CL_INDICATOR stays the U4SSC list.
LOCAL_FLOW = Flow(
    dataflow_id=LOCAL_DATAFLOW_ID,
    dsd_id="DSD_U4SSC_LOCAL",
    concept_scheme_id="CS_U4SSC_LOCAL",
    header_id="U4SSC_LOCAL_STRUCTURE",
    indicator_list=(
        "CL_LOCAL_INDICATOR",
        "Local KPIs",
        "KPIs a city defined beside the U4SSC set (LOCAL:<city>:<CODE> as "
        "LOCAL_<city>_<CODE>), built from the published definitions; not U4SSC KPIs",
    ),
    data_point_list="CL_LOCAL_DATA_POINT",
    unit_list="CL_LOCAL_UNIT",
    indicator_concept="Local KPI (city-defined)",
    dsd_name="Local KPIs cities publish beside the U4SSC KPIs",
    flow_name="Local KPIs: published city-defined indicators, scored apart from U4SSC",
)


@dataclass(frozen=True)
class StructureItem:
    """One KPI item of the catalogue, as the code lists need it."""

    code: str
    data_point: str
    kpi_name: str
    point_label: str
    unit: str


def _agency() -> common.Agency:
    return common.Agency(id=AGENCY_ID, name="United for Smart Sustainable Cities (U4SSC)")


def _codelist(
    ident: str, name: str, codes: Iterable[tuple[str, str]], description: str | None = None
) -> common.Codelist:
    codelist = common.Codelist(
        id=ident,
        name={"en": name},
        description={"en": description} if description else None,
        maintainer=_agency(),
        version=VERSION,
        is_final=True,
        is_external_reference=False,
    )
    for code, label in codes:
        codelist.append(common.Code(id=code, name={"en": label}))
    return codelist


def _enumerated(codelist: common.Codelist) -> common.Representation:
    return common.Representation(enumerated=codelist)


def _text(kind: common.FacetValueType) -> common.Representation:
    return common.Representation(non_enumerated=[common.Facet(value_type=kind)])


def structure_message(
    items: Sequence[StructureItem],
    cities: Sequence[tuple[str, str]],
    countries: Sequence[tuple[str, str]],
    quality_levels: Mapping[int, str],
    flow: Flow = U4SSC_FLOW,
) -> StructureMessage:
    """The structure message of the dataflow (`cities` and `countries` are (id, name));
    ``flow=LOCAL_FLOW`` with the published local KPI items gives the local dataflow's."""
    kpis: dict[str, str] = {}
    points: dict[str, str] = {NOT_APPLICABLE: "Not applicable (single-value KPI)"}
    for item in items:
        kpis.setdefault(indicator_token(item.code), f"{item.code}: {item.kpi_name}")
        if item.data_point:
            points.setdefault(item.data_point, item.point_label)
    units = unit_codes(item.unit for item in items if item.unit)
    list_id, list_name, list_description = flow.indicator_list
    codelists = {
        "REF_AREA": _codelist("CL_CITY", "Cities", cities, "Cities by their platform slug"),
        "INDICATOR": _codelist(list_id, list_name, sorted(kpis.items()), list_description),
        "DATA_POINT": _codelist(flow.data_point_list, "Data points", sorted(points.items())),
        "UNIT_MEASURE": _codelist(
            flow.unit_list, "Units", sorted((code, unit) for unit, code in units.items())
        ),
        "OBS_STATUS": _codelist(
            "CL_OBS_STATUS",
            "Observation status",
            OBS_STATUS_CODES.items(),
            "The codes of the SDMX cross-domain code list CL_OBS_STATUS used here: "
            "O (missing value) marks an item the city did not report",
        ),
        "DATA_QUALITY": _codelist(
            "CL_DATA_QUALITY",
            "U4SSC data-quality levels",
            [(str(level), label) for level, label in sorted(quality_levels.items())],
        ),
        "COUNTRY": _codelist("CL_COUNTRY", "Countries (ISO 3166-1 alpha-2)", countries),
    }
    concepts = common.ConceptScheme(
        id=flow.concept_scheme_id,
        name={"en": "U4SSC KPI concepts"},
        maintainer=_agency(),
        version=VERSION,
        is_final=True,
        is_external_reference=False,
    )

    def concept(ident: str, name: str) -> common.Concept:
        found = common.Concept(id=ident, name={"en": name})
        concepts.append(found)
        return found

    dsd = v21.DataStructureDefinition(
        id=flow.dsd_id,
        name={"en": flow.dsd_name},
        maintainer=_agency(),
        version=VERSION,
        is_final=True,
        is_external_reference=False,
    )
    dimensions = (
        ("REF_AREA", "City"),
        ("INDICATOR", flow.indicator_concept),
        ("DATA_POINT", "Data point of the KPI"),
    )
    for order, (ident, name) in enumerate(dimensions, start=1):
        dsd.dimensions.getdefault(
            ident,
            concept_identity=concept(ident, name),
            local_representation=_enumerated(codelists[ident]),
            order=order,
        )
    dsd.dimensions.getdefault(
        "TIME_PERIOD",
        cls=common.TimeDimension,
        concept_identity=concept("TIME_PERIOD", "Reporting year"),
        local_representation=_text(common.FacetValueType.observationalTimePeriod),
        order=len(dimensions) + 1,
    )
    dsd.measures.getdefault(
        "OBS_VALUE",
        concept_identity=concept("OBS_VALUE", "Published value (yes/no: 1 / 0)"),
        local_representation=_text(common.FacetValueType.double),
    )
    attributes = (
        ("UNIT_MEASURE", "Unit of measure", _enumerated(codelists["UNIT_MEASURE"]), True),
        ("OBS_STATUS", "Observation status", _enumerated(codelists["OBS_STATUS"]), True),
        ("DATA_QUALITY", "U4SSC data-quality level", _enumerated(codelists["DATA_QUALITY"]), False),
        ("VERIFIED", "Independently verified", _text(common.FacetValueType.boolean), False),
        ("COUNTRY", "Country of the city", _enumerated(codelists["COUNTRY"]), True),
        ("DATA_YEAR", "Year the data refer to", _text(common.FacetValueType.integer), False),
        ("SOURCE_DETAIL", "Source as the city gave it", _text(common.FacetValueType.string), False),
        (
            "NOT_REPORTED_REASON",
            "Why the city did not report the item",
            _text(common.FacetValueType.string),
            False,
        ),
    )
    for ident, name, representation, mandatory in attributes:
        dsd.attributes.getdefault(
            ident,
            concept_identity=concept(ident, name),
            local_representation=representation,
            related_to=v21.PrimaryMeasureRelationship(),
            usage_status=(
                common.UsageStatus.mandatory if mandatory else common.UsageStatus.conditional
            ),
        )
    dataflow = v21.DataflowDefinition(
        id=flow.dataflow_id,
        name={"en": flow.flow_name},
        maintainer=_agency(),
        version=VERSION,
        is_final=True,
        is_external_reference=False,
        structure=dsd,
    )
    header = sdmx.message.Header(
        id=flow.header_id,
        prepared=datetime.now(UTC).replace(microsecond=0),
        sender=_agency(),
    )
    message = StructureMessage(header=header)
    for artefact in (*codelists.values(), concepts, dsd, dataflow):
        message.add(artefact)
    return message


def structure_xml(message: StructureMessage) -> bytes:
    """The message as SDMX-ML 2.1."""
    xml: bytes = sdmx.to_xml(message, pretty_print=True)
    return xml

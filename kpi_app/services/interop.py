"""The open-data read model and the exchange formats, over published snapshots only.

Everything here reads what was *published* (the latest Snapshot of an assessment with
`published_at` set), never live values: the open data API, the NGSI-LD / SDMX-CSV / Data
Package exports and the CLI share these functions, so none of them can leak a draft.

The one write path, `submit_values` (API) and `import_interop` (exchange files), goes through
`services.data_io.import_rows`: the same validation and all-or-nothing transaction as an
uploaded spreadsheet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi_app.catalogue import BenchmarkSet, Catalogue, normalise_code
from kpi_app.catalogue.model import text
from kpi_app.extensions import db
from kpi_app.interop import (
    IndicatorRow,
    InteropFormatError,
    ParsedValue,
    build_files,
    context_document,
    parse_entities,
    parse_package,
    parse_sdmx_csv,
    to_entities,
    to_sdmx_csv,
    to_zip,
)
from kpi_app.interop.datapackage import DEFAULT_LICENSE, PackageSource
from kpi_app.interop.sdmx import LOCAL_STRUCTURE_ID
from kpi_app.interop.units import sdmx_unit_id, unit_codes
from kpi_app.models import Assessment, City, User
from kpi_app.models.base import utcnow
from kpi_app.services import local_open_data, permissions, published_values, scores
from kpi_app.services.cache import files_digest, get_cache, page_key
from kpi_app.services.catalogue import benchmark_sets, current_catalogue
from kpi_app.services.errors import Invalid, PermissionDenied
from kpi_app.services.open_data import NotFoundError as NotFoundError
from kpi_app.services.open_data import PublishedAssessment as PublishedAssessment
from kpi_app.services.open_data import _published
from kpi_app.services.open_data import city_record as city_record
from kpi_app.services.open_data import has_published as has_published
from kpi_app.services.open_data import iter_observations as iter_observations
from kpi_app.services.open_data import public_cities as public_cities
from kpi_app.services.open_data import public_cities_page as public_cities_page
from kpi_app.services.open_data import public_city as public_city
from kpi_app.services.open_data import public_city_records_page as public_city_records_page
from kpi_app.services.open_data import published_assessment as published_assessment
from kpi_app.services.open_data import published_assessments as published_assessments
from kpi_app.services.open_data import published_observations as published_observations

FORMATS = ("ngsi-ld", "sdmx-csv", "datapackage")
#: What `export` writes: the exchange formats, the SDMX structure message of sdmx-csv, and
#: the local KPIs' own SDMX dataflow (data and structure; docs/local-kpis.md).
EXPORT_FORMATS = (*FORMATS, "sdmx-structure", "sdmx-local-csv", "sdmx-local-structure")
#: Which entities an NGSI-LD export holds: both sets (None, "all"), U4SSC or local only.
KPI_SETS = ("all", "u4ssc", "local")
SDMX_STRUCTURE_MEDIA_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"


class AccessDeniedError(PermissionDenied):
    """The user may see the resource but not change it."""


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    content: bytes


class UnknownBenchmarkSet(ValueError):
    """An analysis asked for a benchmark set this installation does not have."""


class PeerGroupError(Invalid):
    """A relative method without a usable peer group (the API answers 422)."""


def published_scores(
    city: str,
    year: int,
    method: str,
    peers: Sequence[str] | None = None,
    *,
    benchmark_set: str | None = None,
) -> dict[str, Any]:
    """`ScoreResult.to_dict` of a published assessment (same numbers as `kpi-app score`),
    labelled as the published result or as an analysis against ``benchmark_set``."""
    assessment = _published_one(city, year)
    if benchmark_set and benchmark_set not in benchmark_sets():
        known = ", ".join(sorted(benchmark_sets()))
        raise UnknownBenchmarkSet(f"unknown benchmark set {benchmark_set!r}; known: {known}")
    try:
        result = scores.score_assessment(
            assessment,
            source="published",
            method=method,
            peers=peers,
            benchmark_set=benchmark_set,
        )
    except scores.PeersError as error:
        raise PeerGroupError(str(error)) from None
    except scores.ScoresError as error:
        raise NotFoundError(str(error)) from None
    return result.to_dict(city, year) | scores.result_label("published", benchmark_set)


def _published_one(city: str, year: int) -> Assessment:
    found = _published(city=city, year=year)
    if not found:
        raise NotFoundError(f"no published {year} assessment for city {city!r}")
    return found[0]


def scoring_methods() -> list[dict[str, Any]]:
    from kpi_app.scoring.spec import PRESETS

    return [{"id": name, "spec": spec.to_dict()} for name, spec in PRESETS.items()]


# --- catalogue ------------------------------------------------------------------------------


def indicator_records(
    *, dimension: str | None = None, code: str | None = None, lang: str = "en"
) -> list[Any]:
    catalogue = current_catalogue()
    wanted = normalise_code(code) if code else None
    return [
        record
        for record in catalogue.records(lang)
        if (dimension is None or record["dimension_code"] == dimension.upper())
        and (wanted is None or record["code"] == wanted)
    ]


def catalogue_version() -> str:
    return current_catalogue().version


def benchmark_set_list() -> list[BenchmarkSet]:
    return sorted(benchmark_sets().values(), key=lambda s: s.id)


def benchmark_set_detail(set_id: str) -> BenchmarkSet:
    found = benchmark_sets().get(set_id)
    if found is None:
        raise NotFoundError(f"no benchmark set {set_id!r}")
    return found


def sdg_links(*, code: str | None = None, sdg: str | None = None) -> list[dict[str, str]]:
    """KPI ↔ SDG indicator links the catalogue records (one row per link)."""
    wanted = normalise_code(code) if code else None
    links = []
    for kpi in current_catalogue().indicators:
        if wanted and kpi.code != wanted:
            continue
        for ref in kpi.sdg_refs:
            goal = ref.split(".", 1)[0]
            if sdg and sdg not in {goal, ref} and not ref.startswith(f"{sdg}."):
                continue
            links.append({"code": kpi.code, "name": kpi.label(), "sdg": goal, "sdg_ref": ref})
    return links


# --- exports ------------------------------------------------------------------------------


def ngsi_ld_context(vocab_base: str) -> dict[str, Any]:
    return context_document(vocab_base)


def _kpi_set(kpi_set: str | None) -> str:
    chosen = kpi_set or "all"
    if chosen not in KPI_SETS:
        raise ValueError(f"unknown KPI set {kpi_set!r}; choose from {', '.join(KPI_SETS)}")
    return chosen


def ngsi_ld_entities(
    context_url: str,
    *,
    year: int | None = None,
    city: str | None = None,
    key_values: bool = False,
    kpi_set: str | None = None,
) -> list[dict[str, Any]]:
    """Entities of the published values: the U4SSC ones, then the local KPIs' (``kpi_set``
    "u4ssc" or "local" for one set only)."""
    chosen = _kpi_set(kpi_set)
    observations = [] if chosen == "local" else published_observations(year=year, city=city)
    if chosen != "u4ssc":
        observations += local_open_data.observations(year=year, city=city)
    return to_entities(observations, context_url, key_values=key_values)


def ngsi_ld_page(
    context_url: str,
    *,
    year: int | None = None,
    city: str | None = None,
    key_values: bool = False,
    offset: int = 0,
    limit: int | None = None,
    kpi_set: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of entities and the number of all matches: the U4SSC page is read in SQL
    (``offset``/``limit``) and counted there, the local values (few, one query) follow the
    U4SSC ones; a page costs the same number of statements whatever the data."""
    chosen = _kpi_set(kpi_set)
    observations: list[Any] = []
    u4ssc_total = 0
    if chosen != "local":
        observations = published_observations(year=year, city=city, offset=offset, limit=limit)
        u4ssc_total = published_values.count_rows(year=year, city=city)
    local: list[Any] = []
    if chosen != "u4ssc":
        local = local_open_data.observations(year=year, city=city)
        start = max(0, offset - u4ssc_total)
        room = None if limit is None else max(0, limit - len(observations))
        observations += local[start:] if room is None else local[start : start + room]
    return to_entities(observations, context_url, key_values=key_values), u4ssc_total + len(local)


def _sdmx_units() -> dict[str, str]:
    """Catalogue unit → UNIT_MEASURE code of CL_UNIT."""
    return unit_codes(item.unit for item in current_catalogue().items())


def _unit_id(units: dict[str, str]) -> Any:
    def unit_id(unit: str | None) -> str:
        if not unit:
            return ""
        return units.get(unit) or sdmx_unit_id(unit)

    return unit_id


def sdmx_csv(*, year: int | None = None, city: str | None = None) -> str:
    """Published values as SDMX-CSV of the dataflow `sdmx_structure` defines."""
    return sdmx_csv_data(year=year, city=city).decode("utf-8")


def sdmx_csv_data(*, year: int | None = None, city: str | None = None) -> bytes:
    """:func:`sdmx_csv` encoded, built once per published data (see :func:`_cached_export`)."""

    def build() -> bytes:
        observations = iter_observations(year=year, city=city)
        return to_sdmx_csv(observations, _unit_id(_sdmx_units())).encode("utf-8")

    return _cached_export("sdmx-csv", {"year": year, "city": city}, build)


def sdmx_local_csv_data(*, year: int | None = None, city: str | None = None) -> bytes:
    """Published local KPI values as SDMX-CSV of their own dataflow
    (`U4SSC:DF_U4SSC_LOCAL(1.0)`, :func:`sdmx_local_structure`), built once per published
    data: the key adds the local copies' fingerprint to the U4SSC one."""

    def build() -> bytes:
        observations = local_open_data.observations(year=year, city=city)
        units = _local_units(local_open_data.definitions())
        return to_sdmx_csv(observations, _unit_id(units), LOCAL_STRUCTURE_ID).encode("utf-8")

    parts = {"year": year, "city": city}
    local = local_open_data.fingerprint(year=year, city=city)
    return _cached_export("sdmx-local-csv", {**parts, "local": local}, build)


def _local_units(definitions: Sequence[tuple[dict[str, Any], str]]) -> dict[str, str]:
    """Local unit → UNIT_MEASURE code of CL_LOCAL_UNIT (from every published definition,
    so data and structure agree)."""
    return unit_codes(str(record.get("unit")) for record, _ in definitions if record.get("unit"))


def _cached_export(kind: str, parts: dict[str, Any], build: Callable[[], bytes]) -> bytes:
    """An export file from the app cache (Redis when configured), built on a miss.

    Keyed like the pages: by a fingerprint of the published data it covers (the latest
    snapshots of that year or city and their cities' last change, one aggregate query),
    the catalogue and the licence. A publication asks for a new key, so an entry is never
    stale and several instances sharing Redis build each file once (issue 20).
    """
    key = page_key(
        f"export-{kind}",
        {
            **parts,
            "published": published_values.fingerprint(
                year=parts.get("year"), city=parts.get("city")
            ),
            "catalogue": current_catalogue().version,
            "catalogue_files": files_digest([Path(current_catalogue().path)]),
            "licence": data_license(),
        },
    )
    return get_cache().get_or_compute(key, build)


def sdmx_structure() -> bytes:
    """The SDMX-ML 2.1 structure message (DSD, dataflow, concepts, code lists) of sdmx_csv."""
    # sdmx1 takes half a second to import: only when a structure is asked for.
    from kpi_app.interop.sdmx_structure import StructureItem, structure_message, structure_xml
    from kpi_app.services.data_io import QUALITY_LABELS

    items = [
        StructureItem(
            code=item.code,
            data_point=item.data_point,
            kpi_name=text(item.kpi_name, "en"),
            point_label=text(item.point_label, "en") if item.data_point else "",
            unit=item.unit,
        )
        for item in current_catalogue().items()
    ]
    cities = public_cities()
    city_codes = [(city.slug, city.name) for city, _ in cities]
    countries = sorted({(city.country.iso2, city.country.name) for city, _ in cities})
    return structure_xml(structure_message(items, city_codes, countries, QUALITY_LABELS))


def sdmx_local_structure() -> bytes:
    """The SDMX-ML 2.1 structure message of the local KPIs' dataflow
    `U4SSC:DF_U4SSC_LOCAL(1.0)`: its own DSD, concepts and code lists of local KPIs
    (CL_LOCAL_INDICATOR, built from the published definitions), data points and units; the
    city, country, status and quality lists are those of the U4SSC message, unchanged."""
    from kpi_app.interop.sdmx_structure import (
        LOCAL_FLOW,
        StructureItem,
        structure_message,
        structure_xml,
    )
    from kpi_app.services.data_io import QUALITY_LABELS
    from kpi_app.services.local_kpis import items_of, text_in

    items = [
        StructureItem(
            code=str(record["full_code"]),
            data_point=item["data_point"],
            kpi_name=name,
            point_label=text_in(item["label"], "en") if item["data_point"] else "",
            unit=str(record.get("unit") or ""),
        )
        for record, name in local_open_data.definitions()
        for item in items_of(record)
    ]
    cities = public_cities()
    city_codes = [(city.slug, city.name) for city, _ in cities]
    countries = sorted({(city.country.iso2, city.country.name) for city, _ in cities})
    message = structure_message(items, city_codes, countries, QUALITY_LABELS, flow=LOCAL_FLOW)
    return structure_xml(message)


def _indicator_rows(catalogue: Catalogue) -> list[IndicatorRow]:
    rows = []
    for kpi in catalogue.indicators:
        for item in kpi.items():
            rows.append(
                IndicatorRow(
                    code=item.code,
                    data_point=item.data_point,
                    name=item.label(),
                    dimension=kpi.dimension,
                    sub_dimension=kpi.sub_dimension,
                    category=kpi.category,
                    tier=kpi.tier,
                    unit=item.unit,
                    value_type=item.value_type,
                    direction=str(item.direction),
                )
            )
    return rows


def data_license() -> str:
    """SPDX id of the licence published data carry (KPI_DATA_LICENSE, default CC-BY-4.0)."""
    import os

    from flask import current_app

    chosen = current_app.config.get("KPI_DATA_LICENSE") or os.environ.get("KPI_DATA_LICENSE")
    return str(chosen or DEFAULT_LICENSE)


def _package_sources(year: int) -> list[PackageSource]:
    sources = []
    for found in published_assessments(year=year):
        published = found.published_at.date().isoformat() if found.published_at else "unknown"
        sources.append(
            PackageSource(
                title=f"Self-assessment of {found.city_name} ({found.country}), {found.year}",
                description=(
                    f"Published {published}; snapshot {found.content_hash[:12]}, catalogue "
                    f"{found.catalogue_version}, benchmark set {found.benchmark_set}"
                ),
            )
        )
    return sources


def datapackage_zip(year: int) -> bytes:
    """The Data Package of a published year, built once per published data (its
    ``created`` time is when it was built; see :func:`_cached_export`)."""
    license_id = data_license()

    def build() -> bytes:
        observations = published_observations(year=year)
        indicators = _indicator_rows(current_catalogue())
        files = build_files(
            observations,
            indicators,
            year,
            utcnow(),
            license_id=license_id,
            sources=_package_sources(year),
        )
        return to_zip(files)

    return _cached_export("datapackage", {"year": year}, build)


def export(
    fmt: str,
    *,
    year: int | None,
    context_url: str,
    city: str | None = None,
    key_values: bool = False,
    kpi_set: str | None = None,
) -> ExportFile:
    """One export file of a published cycle, in one of EXPORT_FORMATS (the SDMX structure
    messages need no year: they cover every published city). ``kpi_set`` chooses the
    NGSI-LD entities: both sets (default), "u4ssc" or "local"."""
    if fmt == "sdmx-structure":
        return ExportFile("u4ssc-kpi-structure.xml", SDMX_STRUCTURE_MEDIA_TYPE, sdmx_structure())
    if fmt == "sdmx-local-structure":
        return ExportFile(
            "u4ssc-local-kpi-structure.xml", SDMX_STRUCTURE_MEDIA_TYPE, sdmx_local_structure()
        )
    if year is None:
        raise ValueError(f"{fmt} exports one reporting year: give the year")
    stem = f"u4ssc-kpi-{year}" + (f"-{city}" if city else "")
    if fmt == "ngsi-ld":
        entities = ngsi_ld_entities(
            context_url, year=year, city=city, key_values=key_values, kpi_set=kpi_set
        )
        body = json.dumps(entities, indent=2, ensure_ascii=False).encode("utf-8")
        return ExportFile(f"{stem}.jsonld", "application/ld+json", body)
    if fmt == "sdmx-csv":
        return ExportFile(
            f"{stem}.csv",
            "application/vnd.sdmx.data+csv; version=2.0.0",
            sdmx_csv_data(year=year, city=city),
        )
    if fmt == "sdmx-local-csv":
        return ExportFile(
            f"u4ssc-local-kpi-{year}" + (f"-{city}" if city else "") + ".csv",
            "application/vnd.sdmx.data+csv; version=2.0.0",
            sdmx_local_csv_data(year=year, city=city),
        )
    if fmt == "datapackage":
        if city:
            raise ValueError("a Data Package holds a whole cycle; leave out the city")
        return ExportFile(f"{stem}.zip", "application/zip", datapackage_zip(year))
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}")


# --- writes -------------------------------------------------------------------------------


def _assessment_for(city: str, year: int) -> Assessment | None:
    found: Assessment | None = db.session.scalar(
        db.select(Assessment).join(City).where(City.slug == city, Assessment.year == year)
    )
    return found


def editable_assessment(city: str, year: int, user: User) -> Assessment:
    """The assessment the user may write to; NotFoundError hides what they may not see."""
    assessment = _assessment_for(city, year)
    if assessment is None or not permissions.can_view_published(user, assessment):
        raise NotFoundError(f"no {year} assessment for city {city!r}")
    if not permissions.can_edit_values(user, assessment):
        raise AccessDeniedError(
            "you may not change this assessment's values (only its city's editors may, "
            "while it is a draft or returned)"
        )
    return assessment


def submit_values(
    city: str, year: int, user: User, rows: list[dict[str, Any]], *, dry_run: bool
) -> Any:
    """Validate and (unless dry_run) write the rows, all or nothing; returns data_io's report."""
    from kpi_app.services import data_io

    assessment = editable_assessment(city, year, user)
    return data_io.import_rows(assessment, rows, user, dry_run)


def parse_interop(data: bytes, fmt: str) -> list[ParsedValue]:
    """Values of an NGSI-LD JSON, SDMX-CSV or zipped Data Package file."""
    if fmt == "datapackage":
        return parse_package(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InteropFormatError(["the file is not UTF-8 text"]) from None
    if fmt == "sdmx-csv":
        by_code = {code: unit for unit, code in _sdmx_units().items()}
        return parse_sdmx_csv(text, lambda code: by_code.get(code, code))
    if fmt == "ngsi-ld":
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: [[[[...
            raise InteropFormatError([f"not valid JSON: {error}"]) from None
        return parse_entities(payload)
    raise InteropFormatError([f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}"])


def guess_format(filename: str, data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "datapackage"
    if filename.lower().endswith((".json", ".jsonld")) or data.lstrip()[:1] in (b"[", b"{"):
        return "ngsi-ld"
    return "sdmx-csv"


def rows_for(
    parsed: Sequence[ParsedValue], city: str, year: int, assessment: Assessment | None = None
) -> list[dict[str, Any]]:
    """Importer rows of the values that belong to (city, year); others are an error.

    With the assessment, every field a value does not carry is filled from what is stored,
    so re-importing a file that lacks a column (SDMX-CSV has no comment, NGSI-LD leaves out
    an unknown source) keeps that field instead of clearing it.
    """
    strays = sorted(
        {
            f"{p.city} {p.year}"
            for p in parsed
            if p.city not in (None, city) or p.year not in (None, year)
        }
    )
    if strays:
        raise InteropFormatError(
            [
                f"the file holds values of other cities or years ({', '.join(strays)}); "
                f"import one city and year at a time ({city} {year})"
            ]
        )
    if assessment is None:
        return [p.import_row() for p in parsed]
    from kpi_app.services import values

    stored = values.records_by_key(assessment)
    return [_with_stored_fields(p, stored.get((p.code, p.data_point))) for p in parsed]


#: ValueInput fields no exchange format carries: always kept from the stored value.
_NEVER_CARRIED = ("source_url", "comment")


def _with_stored_fields(parsed: ParsedValue, record: Any) -> dict[str, Any]:
    row = parsed.import_row()
    if record is None:
        return row
    from kpi_app.services import values

    stored = values.input_from_record(record)
    for field in ("source", "quality", "data_year"):
        if field not in parsed.carried:
            row[field] = getattr(stored, field)
    for field in _NEVER_CARRIED:
        row[field] = getattr(stored, field)
    if parsed.value is None:
        if not stored.reported and not (parsed.not_reported_reason or "").strip():
            row["not_reported_reason"] = stored.not_reported_reason
        return row
    if stored.reported and record.value is not None and float(record.value) == parsed.value:
        # The same value: keep how it was entered (numerator / denominator, an override).
        row.update(
            value=stored.value,
            numerator=stored.numerator,
            denominator=stored.denominator,
            override_reason=stored.override_reason,
        )
    return row


def import_interop(
    data: bytes, fmt: str, city: str, year: int, actor: User | None, *, dry_run: bool
) -> Any:
    """Import an exchange file into a city's assessment through data_io (all or nothing)."""
    from kpi_app.services import data_io

    parsed = parse_interop(data, fmt)
    assessment = _assessment_for(city, year)
    if assessment is None:
        rows_for(parsed, city, year)  # other cities or years are the first thing to say
        raise NotFoundError(f"no {year} assessment for city {city!r}")
    rows = rows_for(parsed, city, year, assessment)
    return data_io.import_rows(assessment, rows, actor, dry_run)

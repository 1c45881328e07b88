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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kpi_app.catalogue import BenchmarkSet, Catalogue, Item, normalise_code
from kpi_app.catalogue.model import text
from kpi_app.extensions import db
from kpi_app.interop import (
    IndicatorRow,
    InteropFormatError,
    Observation,
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
from kpi_app.interop.units import sdmx_unit_id, unit_codes
from kpi_app.models import Assessment, City, User
from kpi_app.models.base import utcnow
from kpi_app.services import permissions, scores
from kpi_app.services.catalogue import benchmark_sets, current_catalogue
from kpi_app.services.errors import Invalid, NotFound, PermissionDenied

FORMATS = ("ngsi-ld", "sdmx-csv", "datapackage")
#: What `export` writes: the exchange formats and the SDMX structure message of sdmx-csv.
EXPORT_FORMATS = (*FORMATS, "sdmx-structure")
SDMX_STRUCTURE_MEDIA_TYPE = "application/vnd.sdmx.structure+xml; version=2.1"


class NotFoundError(NotFound):
    """Nothing published (or visible to this user) answers the request."""


class AccessDeniedError(PermissionDenied):
    """The user may see the resource but not change it."""


@dataclass(frozen=True)
class PublishedAssessment:
    """What the public may know about one published assessment."""

    city: str
    city_name: str
    country: str
    year: int
    catalogue_version: str
    benchmark_set: str
    published_at: datetime | None
    snapshot_id: int
    content_hash: str
    items: int
    reported: int
    verified: int
    reported_verified: int = 0  # reported values verified (the share the public pages state)

    @property
    def verified_share(self) -> str:
        return f"{self.reported_verified} of {self.reported} reported values verified"


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    content: bytes


# --- published assessments and values ----------------------------------------------------


def _published(
    *, country: str | None = None, year: int | None = None, city: str | None = None
) -> list[Assessment]:
    """Published assessments (anonymous view: published only, whatever the caller's role)."""
    found = scores.published_assessments(
        None, country=country, years=None if year is None else [year]
    )
    return [a for a in found if city is None or a.city.slug == city]


def _content(assessments: Sequence[Assessment]) -> list[tuple[Assessment, Any]]:
    latest = scores.latest_snapshots(a.id for a in assessments)
    return [(a, latest[a.id]) for a in assessments if a.id in latest]


def published_assessments(
    *, country: str | None = None, year: int | None = None, city: str | None = None
) -> list[PublishedAssessment]:
    return [
        _summary(assessment, snapshot)
        for assessment, snapshot in _content(_published(country=country, year=year, city=city))
    ]


def published_assessment(city: str, year: int) -> PublishedAssessment:
    found = published_assessments(city=city, year=year)
    if not found:
        raise NotFoundError(f"no published {year} assessment for city {city!r}")
    return found[0]


def _summary(assessment: Assessment, snapshot: Any) -> PublishedAssessment:
    values = snapshot.content.get("values", [])
    return PublishedAssessment(
        city=assessment.city.slug,
        city_name=assessment.city.name,
        country=assessment.city.country.iso2,
        year=assessment.year,
        catalogue_version=snapshot.catalogue_version,
        benchmark_set=snapshot.benchmark_set,
        published_at=_aware(assessment.published_at),
        snapshot_id=snapshot.id,
        content_hash=snapshot.content_hash,
        items=len(values),
        reported=sum(1 for v in values if _counts_as_reported(v)),
        verified=sum(1 for v in values if v.get("verified")),
        reported_verified=sum(1 for v in values if _counts_as_reported(v) and v.get("verified")),
    )


def _counts_as_reported(record: dict[str, Any]) -> bool:
    return bool(record.get("reported") and record.get("value") is not None)


def public_cities(country: str | None = None) -> list[tuple[City, list[int]]]:
    """Cities with at least one published assessment, each with its published years.

    Two queries whatever the number of cities: the published (city, year) pairs as plain
    rows, then the cities themselves; no assessment is loaded as an object (issue 20).
    """
    years: dict[int, list[int]] = {}
    for row in scores.published_rows(country=country):
        years.setdefault(row.city_id, []).append(row.year)
    if not years:
        return []
    found = db.session.scalars(
        select(City).options(joinedload(City.country)).where(City.id.in_(list(years)))
    )
    ordered = sorted(found, key=lambda c: c.slug)
    return [(city, sorted(years[city.id])) for city in ordered]


def public_city(slug: str) -> tuple[City, list[int]]:
    for city, years in public_cities():
        if city.slug == slug:
            return city, years
    raise NotFoundError(f"no city {slug!r} with published results")


def _benchmark_lookup() -> dict[str, BenchmarkSet]:
    return benchmark_sets()


def _item_index(catalogue: Catalogue) -> dict[tuple[str, str], tuple[int, Item]]:
    return {item.key: (order, item) for order, item in enumerate(catalogue.items())}


def published_observations(
    *,
    year: int | None = None,
    city: str | None = None,
    country: str | None = None,
    code: str | None = None,
) -> list[Observation]:
    """Every published value matching the filters, in city, year, catalogue order."""
    wanted_code = normalise_code(code) if code else None
    catalogue = current_catalogue()
    items = _item_index(catalogue)
    sets = _benchmark_lookup()
    observations: list[tuple[tuple[str, int, int], Observation]] = []
    for assessment, snapshot in _content(_published(country=country, year=year, city=city)):
        targets = sets.get(snapshot.benchmark_set)
        terms = _frozen_terms(snapshot)
        for record in snapshot.content.get("values", []):
            if wanted_code and record.get("code") != wanted_code:
                continue
            order, item = items.get((record.get("code"), record.get("data_point", "")), (-1, None))
            obs = _observation(assessment, snapshot, record, item, targets)
            if terms is not None:  # the target and direction frozen at publication
                key = (obs.code, obs.data_point)
                target, direction = terms.get(key, (None, obs.direction))
                obs = replace(obs, target=target, direction=direction)
            observations.append(((obs.city, obs.year, order), obs))
    return [obs for _, obs in sorted(observations, key=lambda pair: pair[0])]


def _frozen_terms(snapshot: Any) -> dict[tuple[str, str], tuple[Any, Any]] | None:
    """Per item, the (target, direction) frozen in the snapshot; None before freezing."""
    block = (snapshot.content or {}).get("frozen")
    if not isinstance(block, dict):
        return None
    directions = {
        (str(i["code"]), str(i.get("data_point") or "")): i.get("direction")
        for i in block["catalogue"]["items"]
    }
    terms: dict[tuple[str, str], tuple[Any, Any]] = {}
    for key, direction in directions.items():
        terms[key] = (None, direction)
    for entry in block["benchmarks"]["entries"]:
        key = (str(entry["code"]), str(entry.get("data_point") or ""))
        terms[key] = (entry.get("target"), entry.get("direction") or directions.get(key))
    return terms


def _observation(
    assessment: Assessment,
    snapshot: Any,
    record: dict[str, Any],
    item: Item | None,
    targets: BenchmarkSet | None,
) -> Observation:
    code, data_point = record["code"], record.get("data_point") or ""
    value = record.get("value")
    return Observation(
        city=assessment.city.slug,
        city_name=assessment.city.name,
        country=assessment.city.country.iso2,
        year=assessment.year,
        code=code,
        data_point=data_point,
        kpi_name=item.label() if item else code,
        unit=record.get("unit") or (item.unit if item else None),
        value=None if value is None else float(value),
        reported=bool(record.get("reported", True)),
        verified=record.get("verified"),
        quality=record.get("quality"),
        source=record.get("source"),
        data_year=record.get("data_year"),
        target=targets.target(code, data_point) if targets and item else None,
        direction=str(item.direction) if item else None,
        value_type=item.value_type if item else None,
        published_at=_aware(assessment.published_at),
        catalogue_version=snapshot.catalogue_version,
        benchmark_set=snapshot.benchmark_set,
        latitude=assessment.city.latitude,
        longitude=assessment.city.longitude,
        not_reported_reason=record.get("not_reported_reason"),
    )


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the database stores UTC, so say so."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class UnknownBenchmarkSet(Invalid):
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


def ngsi_ld_entities(
    context_url: str,
    *,
    year: int | None = None,
    city: str | None = None,
    key_values: bool = False,
) -> list[dict[str, Any]]:
    observations = published_observations(year=year, city=city)
    return to_entities(observations, context_url, key_values=key_values)


def ngsi_ld_page(
    context_url: str,
    *,
    year: int | None = None,
    city: str | None = None,
    key_values: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of entities and the number of all matches (entities built for the page only)."""
    observations = published_observations(year=year, city=city)
    end = None if limit is None else offset + limit
    return to_entities(observations[offset:end], context_url, key_values=key_values), len(
        observations
    )


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
    observations = published_observations(year=year, city=city)
    return to_sdmx_csv(observations, _unit_id(_sdmx_units()))


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
    observations = published_observations(year=year)
    indicators = _indicator_rows(current_catalogue())
    files = build_files(
        observations,
        indicators,
        year,
        utcnow(),
        license_id=data_license(),
        sources=_package_sources(year),
    )
    return to_zip(files)


def export(
    fmt: str,
    *,
    year: int | None,
    context_url: str,
    city: str | None = None,
    key_values: bool = False,
) -> ExportFile:
    """One export file of a published cycle, in one of EXPORT_FORMATS (the SDMX structure
    message needs no year: it covers every published city)."""
    if fmt == "sdmx-structure":
        return ExportFile("u4ssc-kpi-structure.xml", SDMX_STRUCTURE_MEDIA_TYPE, sdmx_structure())
    if year is None:
        raise ValueError(f"{fmt} exports one reporting year: give the year")
    stem = f"u4ssc-kpi-{year}" + (f"-{city}" if city else "")
    if fmt == "ngsi-ld":
        entities = ngsi_ld_entities(context_url, year=year, city=city, key_values=key_values)
        body = json.dumps(entities, indent=2, ensure_ascii=False).encode("utf-8")
        return ExportFile(f"{stem}.jsonld", "application/ld+json", body)
    if fmt == "sdmx-csv":
        text = sdmx_csv(year=year, city=city)
        return ExportFile(
            f"{stem}.csv", "application/vnd.sdmx.data+csv; version=2.0.0", text.encode()
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

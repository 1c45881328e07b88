"""The methods lab: an analyst's scoring spec applied to a peer group of published assessments.

A lab query (year, country, region, size band, cities, benchmark set, normalisation,
aggregation per level, weights per level and per item, minimum coverage, down-weighting of
low-quality items, Monte Carlo draws, the city whose rank drivers are shown) is read from a
query string, so a lab view is a shareable address. The same query is a downloadable JSON
document (:meth:`LabQuery.to_dict`) that :mod:`kpi_app.services.lab_files` reads back;
:mod:`kpi_app.services.lab_relations` lists the group's synergies and trade-offs.
:func:`run_lab` scores the peer group's published snapshots with the chosen spec and
with the U4SSC rule through :mod:`kpi_app.services.scores` (the same numbers, the same cache),
and adds Monte Carlo 90 % rank intervals from the pure core. Only published data is read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kpi_app.i18n import _
from kpi_app.models.city import population_class
from kpi_app.scoring import (
    AGGREGATORS,
    NORMALISERS,
    monte_carlo_ranks,
)
from kpi_app.scoring.lab import (
    CSV_COLUMNS,
    LOO_COLUMNS,
    LabRow,
    LooRow,
    lab_rows,
    leave_one_out_rows,
)
from kpi_app.scoring.spec import (
    AGGREGATION_LEVELS,
    ScoringSpecError,
)
from kpi_app.services import scores
from kpi_app.services.catalogue import benchmark_sets, current_catalogue
from kpi_app.services.lab_query import (
    DEFAULT_AGGREGATION,
    DEFAULT_DRAWS,
    DEFAULT_NORMALISATION,
    LEVEL_AGGREGATION_PREFIX,
    MAX_DRAWS,
    SIZE_BANDS,
    WEIGHT_PREFIX,
    LabError,
    LabNotFound,
    LabQuery,
    parse_query,
    query_value,
)

#: Drivers of a city's rank shown by leave-one-KPI-out.
DRIVERS_SHOWN: Final = 10

__all__ = [
    "DEFAULT_AGGREGATION",
    "DEFAULT_DRAWS",
    "DEFAULT_NORMALISATION",
    "LEVEL_AGGREGATION_PREFIX",
    "MAX_DRAWS",
    "SIZE_BANDS",
    "WEIGHT_PREFIX",
    "LabError",
    "LabNotFound",
    "LabQuery",
    "LabResult",
    "candidates",
    "kpi_names",
    "lab_page",
    "parse_query",
    "query_value",
    "run_lab",
    "where",
]


# --- running a query ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A published assessment the query can pick: its city, region and size band."""

    slug: str
    name: str
    region: str | None
    size: str | None  # None: population unknown


@dataclass(frozen=True)
class LabResult:
    query: LabQuery
    #: Every published assessment of the year (and country, region, size) to pick from.
    candidates: tuple[tuple[str, str], ...]  # (slug, name)
    cities: tuple[str, ...]  # slugs scored
    rows: tuple[LabRow, ...]
    benchmark_set: str | None
    #: The query's city's rank drivers (leave-one-KPI-out), largest move first.
    drivers: tuple[LooRow, ...] = ()
    #: KPI code → name in the reader's language (for drivers).
    kpi_names: Mapping[str, str] = field(default_factory=dict)

    def levels(self) -> list[str]:
        return list(dict.fromkeys(r.level for r in self.rows))

    def groups(self, level: str) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows if r.level == level))

    def group_rows(self, level: str, group: str) -> list[LabRow]:
        return [r for r in self.rows if r.level == level and r.group == group]

    def overall(self) -> list[LabRow]:
        return [row for row in self.rows if row.level == "overall"]

    def dimensions(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows if r.level == "dimension"))

    def dimension_rows(self, dimension: str) -> list[LabRow]:
        return [r for r in self.rows if r.level == "dimension" and r.group == dimension]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.query.to_dict(),
            "cities": list(self.cities),
            "scored_benchmark_set": self.benchmark_set,
            "rows": [row.as_dict() for row in self.rows],
            "leave_one_out": [row.as_dict() for row in self.drivers],
        }

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: "" if v is None else v for k, v in row.as_dict().items()})
        return buffer.getvalue()

    def to_xlsx(self) -> bytes:
        """The results as a workbook: sheets ``results``, ``leave_one_out`` and ``spec``."""
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None  # a new workbook always has one sheet
        sheet.title = "results"
        sheet.append(list(CSV_COLUMNS))
        for row in self.rows:
            sheet.append([row.as_dict()[name] for name in CSV_COLUMNS])
        drivers = book.create_sheet("leave_one_out")
        drivers.append(["name", *LOO_COLUMNS])
        for loo in self.drivers:
            record = loo.as_dict()
            drivers.append([self.kpi_names.get(loo.code, ""), *(record[c] for c in LOO_COLUMNS)])
        spec_sheet = book.create_sheet("spec")
        document = self.query.to_dict()
        spec_sheet.append(["fingerprint", document["fingerprint"]])
        spec_sheet.append(["query", self.query.query_string()])
        spec_sheet.append(["spec (JSON)", json.dumps(document, sort_keys=True)])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def _population(city: Any, year: int) -> float | None:
    """The city's population in ``year`` from its facts, else its stored population."""
    for facts in city.facts:
        if facts.year == year and facts.population is not None:
            return float(facts.population)
    return None if city.population is None else float(city.population)


def describe(assessment: Any, year: int) -> Candidate:
    city = assessment.city
    population = _population(city, year)
    return Candidate(
        slug=city.slug,
        name=city.name,
        region=city.country.region or None,
        size=None if population is None else population_class(int(population)),
    )


def candidates(query: LabQuery, user: Any = None) -> list[Any]:
    """The published assessments of the query's year, country, regions and size bands."""
    found = scores.published_assessments(user, country=query.country, years=[query.year])
    if query.regions or query.sizes:
        found = [a for a in found if _in_peer_filters(describe(a, query.year), query)]
    return found


def _in_peer_filters(candidate: Candidate, query: LabQuery) -> bool:
    if query.regions and candidate.region not in query.regions:
        return False
    return not (query.sizes and candidate.size not in query.sizes)


def where(query: LabQuery) -> str:
    """The peer group's filters as words: " in FR in region 155 or 154 of size large"."""
    parts = [_("in %(country)s", country=query.country)] if query.country else []
    if query.regions:
        parts.append(_("in region %(regions)s", regions=_(" or ").join(query.regions)))
    if query.sizes:
        parts.append(_("of size %(sizes)s", sizes=_(" or ").join(query.sizes)))
    return "".join(f" {part}" for part in parts)


def run_lab(query: LabQuery, user: Any = None, lang: str = "en") -> LabResult:
    """Score the query's peer group with its spec and with the U4SSC rule; LabError."""
    available = candidates(query, user)
    by_slug = {a.city.slug: a for a in available}
    if query.cities:
        missing = [slug for slug in query.cities if slug not in by_slug]
        if missing:
            raise LabNotFound(
                _(
                    "no published %(year)d assessment for %(cities)s%(where)s",
                    year=query.year,
                    cities=", ".join(missing),
                    where=where(query),
                )
            )
        chosen = [by_slug[slug] for slug in query.cities]
    else:
        chosen = available
    if not chosen:
        raise LabNotFound(
            _(
                "no published assessments for %(year)d%(where)s",
                year=query.year,
                where=where(query),
            )
        )
    if query.loo_city and query.loo_city not in {a.city.slug for a in chosen}:
        raise LabError(
            _(
                "loo_city '%(value)s' is not in the peer group; choose one of its cities",
                value=query.loo_city,
            )
        )
    try:
        spec = query.spec()
        lab = scores.score_assessments(
            chosen, source="published", method=spec, benchmark_set=query.benchmark_set
        )
        rule = scores.score_assessments(
            chosen, source="published", method="u4ssc", benchmark_set=query.benchmark_set
        )
    except (ScoringSpecError, scores.ScoresError) as error:
        raise LabError(str(error)) from None
    mc = monte_carlo_ranks(lab.items, n=query.draws, seed=query.seed, base_spec=spec)
    drivers: tuple[LooRow, ...] = ()
    if query.loo_city:
        drivers = tuple(
            leave_one_out_rows(lab.items, spec, query.loo_city, query.year, DRIVERS_SHOWN)
        )
    return LabResult(
        query=query,
        candidates=tuple((a.city.slug, a.city.name) for a in available),
        cities=tuple(a.city.slug for a in chosen),
        rows=tuple(lab_rows(lab, rule, mc)),
        benchmark_set=lab.benchmark_set,
        drivers=drivers,
        kpi_names=kpi_names(lang) if drivers else {},
    )


def kpi_names(lang: str = "en") -> dict[str, str]:
    """KPI code → name in ``lang`` (English where no translation)."""
    return {kpi.code: kpi.label(lang) for kpi in current_catalogue().indicators}


def hierarchy(lang: str = "en") -> dict[str, list[tuple[str, str]]]:
    """The ids and names of every weightable group level, in catalogue order."""
    catalogue = current_catalogue()
    return {
        "dimension": [(d.id, d.label(lang)) for d in catalogue.dimensions],
        "sub_dimension": [(s.id, s.label(lang)) for s in catalogue.sub_dimensions],
        "category": [(c.id, c.label(lang)) for c in catalogue.categories],
    }


def choices() -> dict[str, list[str]]:
    """The form's options: benchmark sets, normalisations, aggregations and size bands."""
    return {
        "benchmark_sets": sorted(benchmark_sets()),
        "normalisations": sorted(NORMALISERS),
        "aggregations": sorted(AGGREGATORS),
        "sizes": list(SIZE_BANDS),
        "aggregation_levels": list(AGGREGATION_LEVELS),
    }


# --- the page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabPage:
    """What the lab page shows: the form's state and options, and the result when run."""

    year: int | None
    args: Mapping[str, Sequence[str]]
    options: dict[str, list[str]]
    candidates: tuple[tuple[str, str], ...]
    result: LabResult | None = None
    #: Regions of the year's published cities (for the region filter).
    regions: tuple[str, ...] = ()
    #: Weightable groups per level: (id, name).
    groups: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        found = query_value(self.args, name)
        return found if found is not None else default

    def values(self, name: str) -> list[str]:
        return [v for v in self.args.get(name, ()) if v.strip()]

    def checked(self, slug: str) -> bool:
        return slug in self.args.get("city", ())

    def group_names(self) -> dict[str, str]:
        """Group id → name in the page's language, for every weightable level."""
        return {gid: name for level in self.groups.values() for gid, name in level}

    def has_weights(self) -> bool:
        return any(
            name.startswith(WEIGHT_PREFIX) or (name == "item_weights" and self.values(name))
            for name in self.args
        )

    def weight_value(self, level: str, group_id: str) -> str:
        return self.value(f"{WEIGHT_PREFIX}{level}:{group_id}")

    def item_weights(self) -> str:
        if self.result is not None:
            return self.result.query.item_weights_text()
        lines = [
            f"{name[len(WEIGHT_PREFIX) + len('item:') :]} = {self.value(name)}"
            for name in self.args
            if name.startswith(f"{WEIGHT_PREFIX}item:")
        ]
        return "\n".join([*lines, *self.values("item_weights")])


def latest_year(user: Any = None) -> int | None:
    years = [a.year for a in scores.published_assessments(user)]
    return max(years) if years else None


def blank_page(
    user: Any = None, args: Mapping[str, Sequence[str]] | None = None, lang: str = "en"
) -> LabPage:
    """The form alone (first visit, or a query that could not run)."""
    args = args or {}
    raw = query_value(args, "year")
    year = int(raw) if raw and raw.isdigit() and len(raw) == 4 else latest_year(user)
    country = query_value(args, "country")
    found: list[Any] = []
    if year is not None:
        valid_country = country if country and len(country) == 2 and country.isalpha() else None
        found = scores.published_assessments(user, country=valid_country, years=[year])
    return LabPage(
        year=year,
        args=args,
        options=choices(),
        candidates=tuple((a.city.slug, a.city.name) for a in found),
        regions=_regions(found, year),
        groups=hierarchy(lang),
    )


def _regions(found: Sequence[Any], year: int | None) -> tuple[str, ...]:
    regions = {describe(a, year or 0).region for a in found}
    return tuple(sorted(r for r in regions if r))


def lab_page(args: Mapping[str, Sequence[str]], user: Any = None, lang: str = "en") -> LabPage:
    """Parse and run a query for the page; LabError for bad input."""
    query = parse_query(args)
    result = run_lab(query, user, lang)
    everyone = scores.published_assessments(user, country=query.country, years=[query.year])
    return LabPage(
        year=result.query.year,
        args=args,
        options=choices(),
        candidates=result.candidates,
        result=result,
        regions=_regions(everyone, query.year),
        groups=hierarchy(lang),
    )

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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from kpi_app.models.city import population_class
from kpi_app.scoring import (
    AGGREGATORS,
    NORMALISERS,
    PRESETS,
    ScoringSpec,
    monte_carlo_ranks,
)
from kpi_app.scoring.aggregate import DEFAULT_MIN_COVERAGE
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
    WEIGHT_LEVELS,
    Normalisation,
    ScoringSpecError,
)
from kpi_app.services import scores
from kpi_app.services.catalogue import benchmark_sets, current_catalogue
from kpi_app.services.errors import Invalid, NotFound

DEFAULT_NORMALISATION: Final = "distance_to_target"
DEFAULT_AGGREGATION: Final = "arithmetic"
DEFAULT_DRAWS: Final = 100
MAX_DRAWS: Final = 1000
#: Size bands of :func:`kpi_app.models.city.population_class`, smallest first.
SIZE_BANDS: Final[tuple[str, ...]] = ("small", "medium", "large", "metropolitan")
#: Query-string name of a weight: ``w_<level>:<id>`` (e.g. ``w_dimension:EC=2``).
WEIGHT_PREFIX: Final = "w_"
#: Query-string name of a level's aggregation: ``aggregation_<level>``.
LEVEL_AGGREGATION_PREFIX: Final = "aggregation_"
#: Drivers of a city's rank shown by leave-one-KPI-out.
DRIVERS_SHOWN: Final = 10


class LabError(Invalid):
    """A lab query that cannot be run: the message says which field and why."""


class LabNotFound(LabError, NotFound):
    """A well-formed query naming what does not exist: a benchmark set, a city's published
    assessment of that year, or any published assessment of that year (and country)."""

    status_code = NotFound.status_code


@dataclass(frozen=True)
class LabQuery:
    """A parsed lab query: the peer group, the spec's choices and the number of draws."""

    year: int
    country: str | None
    cities: tuple[str, ...]
    benchmark_set: str | None
    normalisation: str
    aggregation: str
    min_coverage: float
    draws: int
    seed: int = 0
    #: Peer filters: UN M49 region names of the cities' countries, and size bands.
    regions: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    #: (level, aggregation) for levels that do not use ``aggregation``.
    level_aggregation: tuple[tuple[str, str], ...] = ()
    #: (level, id, weight), sorted; weights of 1 (the default) are not listed.
    weights: tuple[tuple[str, str, float], ...] = ()
    down_weight_low_quality: bool = False
    #: The city whose rank drivers (leave-one-KPI-out) are computed; None: not computed.
    loo_city: str | None = None

    def spec(self) -> ScoringSpec:
        weights: dict[str, dict[str, float]] = {}
        for level, group_id, weight in self.weights:
            weights.setdefault(level, {})[group_id] = weight
        return ScoringSpec(
            method="composite",
            normalisation=Normalisation(self.normalisation),
            aggregation=self.aggregation,
            min_coverage=self.min_coverage,
            weights=weights,
            level_aggregation=dict(self.level_aggregation),
            down_weight_low_quality=self.down_weight_low_quality,
            name="lab",
        )

    def weight(self, level: str, group_id: str) -> float | None:
        """The weight the query gives one id (None: not listed, so 1)."""
        for lvl, gid, weight in self.weights:
            if (lvl, gid) == (level, group_id):
                return weight
        return None

    def item_weights_text(self) -> str:
        """Item weights as the form's text area shows them: one ``code = weight`` a line."""
        return "\n".join(f"{gid} = {_plain(w)}" for lvl, gid, w in self.weights if lvl == "item")

    def query_string(self) -> str:
        """The query string that reproduces this query (the shareable address)."""
        pairs: list[tuple[str, Any]] = [("year", self.year)]
        if self.country:
            pairs.append(("country", self.country))
        pairs += [("region", region) for region in self.regions]
        pairs += [("size", size) for size in self.sizes]
        pairs += [("city", slug) for slug in self.cities]
        if self.benchmark_set:
            pairs.append(("benchmark_set", self.benchmark_set))
        pairs += [
            ("normalisation", self.normalisation),
            ("aggregation", self.aggregation),
        ]
        pairs += [(f"{LEVEL_AGGREGATION_PREFIX}{lvl}", agg) for lvl, agg in self.level_aggregation]
        pairs += [(f"{WEIGHT_PREFIX}{lvl}:{gid}", _plain(w)) for lvl, gid, w in self.weights]
        pairs += [
            ("min_coverage", _plain(self.min_coverage)),
            ("draws", self.draws),
        ]
        if self.down_weight_low_quality:
            pairs.append(("down_weight_low_quality", "1"))
        if self.loo_city:
            pairs.append(("loo_city", self.loo_city))
        return urlencode(pairs)

    def to_dict(self) -> dict[str, Any]:
        """The downloadable spec: the peer group, the scoring spec and its fingerprint."""
        spec = self.spec()
        return {
            "peer_group": {
                "year": self.year,
                "country": self.country,
                "regions": list(self.regions),
                "sizes": list(self.sizes),
                "cities": list(self.cities),
                "source": "published",
            },
            "benchmark_set": self.benchmark_set,
            "monte_carlo": {"draws": self.draws, "seed": self.seed},
            "leave_one_out_city": self.loo_city,
            "spec": spec.to_dict(),
            "fingerprint": spec.fingerprint(),
        }


def _plain(number: float) -> str:
    """The shortest text that reads back as exactly ``number`` ("2" for 2.0): the address
    must give the same spec, and so the same fingerprint, as the JSON."""
    text = repr(float(number))
    return text[:-2] if text.endswith(".0") else text


def _one(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v.strip() for v in args.get(name, ()) if v.strip()]
    return values[-1] if values else None


def parse_query(args: Mapping[str, Sequence[str]]) -> LabQuery:
    """Read a lab query from query-string lists (``{"city": ["a", "b"], ...}``); LabError."""
    raw_year = _one(args, "year")
    if raw_year is None:
        raise LabError("year is required (the year of the published assessments to compare)")
    try:
        year = int(raw_year)
    except ValueError:
        raise LabError(f"year must be a whole number, got {raw_year!r}") from None
    country = _one(args, "country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise LabError(f"country must be a two-letter ISO code, got {country!r}")
    cities = tuple(dict.fromkeys(v.strip() for v in args.get("city", ()) if v.strip()))
    benchmark_set = _one(args, "benchmark_set")
    if benchmark_set is not None and benchmark_set not in benchmark_sets():
        known = ", ".join(sorted(benchmark_sets()))
        raise LabNotFound(f"unknown benchmark set {benchmark_set!r}; choose from {known}")
    preset = _preset(_one(args, "method"))
    normalisation = _one(args, "normalisation") or preset.normalisation.name
    if normalisation not in NORMALISERS:
        known = ", ".join(sorted(NORMALISERS))
        raise LabError(f"unknown normalisation {normalisation!r}; choose from {known}")
    aggregation = _one(args, "aggregation") or preset.aggregation
    if aggregation not in AGGREGATORS:
        known = ", ".join(sorted(AGGREGATORS))
        raise LabError(f"unknown aggregation {aggregation!r}; choose from {known}")
    min_coverage = _number(args, "min_coverage", DEFAULT_MIN_COVERAGE)
    if not 0.0 <= min_coverage <= 1.0:
        raise LabError(f"min_coverage must lie between 0 and 1, got {min_coverage:g}")
    draws = int(_number(args, "draws", DEFAULT_DRAWS))
    if not 1 <= draws <= MAX_DRAWS or draws != _number(args, "draws", DEFAULT_DRAWS):
        raise LabError(f"draws must be a whole number from 1 to {MAX_DRAWS}")
    sizes = _many(args, "size")
    unknown_sizes = [size for size in sizes if size not in SIZE_BANDS]
    if unknown_sizes:
        raise LabError(
            f"unknown size band {unknown_sizes[0]!r}; choose from {', '.join(SIZE_BANDS)}"
        )
    return LabQuery(
        year=year,
        country=country.upper() if country else None,
        cities=cities,
        benchmark_set=benchmark_set,
        normalisation=normalisation,
        aggregation=aggregation,
        min_coverage=min_coverage,
        draws=draws,
        regions=_many(args, "region"),
        sizes=tuple(size for size in SIZE_BANDS if size in sizes),
        level_aggregation=_level_aggregation(args, aggregation),
        weights=_weights(args),
        down_weight_low_quality=_flag(args, "down_weight_low_quality"),
        loo_city=_one(args, "loo_city"),
    )


def _many(args: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in args.get(name, ()) if v.strip()))


def _flag(args: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = _one(args, name)
    if raw is None:
        return False
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise LabError(f"{name} must be 1 or 0, got {raw!r}")


def _level_aggregation(
    args: Mapping[str, Sequence[str]], default: str
) -> tuple[tuple[str, str], ...]:
    chosen: list[tuple[str, str]] = []
    for level in AGGREGATION_LEVELS:
        name = _one(args, f"{LEVEL_AGGREGATION_PREFIX}{level}")
        if name is None or name == default:
            continue
        if name not in AGGREGATORS:
            known = ", ".join(sorted(AGGREGATORS))
            raise LabError(f"unknown aggregation {name!r} for level {level}; choose from {known}")
        chosen.append((level, name))
    return tuple(chosen)


def _weight_value(label: str, raw: str) -> float:
    try:
        weight = float(raw)
    except ValueError:
        raise LabError(f"the weight of {label} must be a number, got {raw!r}") from None
    if not math.isfinite(weight) or weight < 0:
        raise LabError(f"the weight of {label} must be a number of 0 or more, got {raw!r}")
    return weight


def _weights(args: Mapping[str, Sequence[str]]) -> tuple[tuple[str, str, float], ...]:
    """Weights from ``w_<level>:<id>=<weight>`` pairs and the ``item_weights`` text area.

    A blank value means "not set" (weight 1); weights of 1 are dropped, so equal queries
    have equal query strings and fingerprints.
    """
    found: dict[tuple[str, str], float] = {}
    for name in args:
        if not name.startswith(WEIGHT_PREFIX) or ":" not in name:
            continue
        level, group_id = name[len(WEIGHT_PREFIX) :].split(":", 1)
        if level not in WEIGHT_LEVELS:
            raise LabError(
                f"weights for unknown level {level!r}; levels are {', '.join(WEIGHT_LEVELS)}"
            )
        raw = _one(args, name)
        if raw is not None and group_id.strip():
            found[(level, group_id.strip())] = _weight_value(group_id.strip(), raw)
    for text in args.get("item_weights", ()):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if "=" not in line:
                raise LabError(
                    f"item weights, line {number}: write 'KPI code = weight', got {line.strip()!r}"
                )
            code, raw = (part.strip() for part in line.rsplit("=", 1))
            found[("item", code)] = _weight_value(code, raw)
    return tuple(
        (level, group_id, weight)
        for (level, group_id), weight in sorted(found.items())
        if weight != 1.0
    )


def _preset(name: str | None) -> ScoringSpec:
    """A composite preset giving the default normalisation and aggregation."""
    if name is None:
        return ScoringSpec(
            normalisation=Normalisation(DEFAULT_NORMALISATION), aggregation=DEFAULT_AGGREGATION
        )
    composite = sorted(key for key, spec in PRESETS.items() if spec.method == "composite")
    if name not in composite:
        raise LabError(
            f"unknown method {name!r}; choose a composite preset from {', '.join(composite)} "
            "(the U4SSC rule is always shown beside it)"
        )
    return PRESETS[name]


def _number(args: Mapping[str, Sequence[str]], name: str, default: float) -> float:
    raw = _one(args, name)
    if raw is None:
        return float(default)
    try:
        number = float(raw)
    except ValueError:
        raise LabError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise LabError(f"{name} must be a finite number, got {raw!r}")
    return number


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
    parts = [f"in {query.country}"] if query.country else []
    if query.regions:
        parts.append("in region " + " or ".join(query.regions))
    if query.sizes:
        parts.append("of size " + " or ".join(query.sizes))
    return "".join(f" {part}" for part in parts)


def run_lab(query: LabQuery, user: Any = None, lang: str = "en") -> LabResult:
    """Score the query's peer group with its spec and with the U4SSC rule; LabError."""
    available = candidates(query, user)
    by_slug = {a.city.slug: a for a in available}
    if query.cities:
        missing = [slug for slug in query.cities if slug not in by_slug]
        if missing:
            raise LabNotFound(
                f"no published {query.year} assessment for {', '.join(missing)}" + where(query)
            )
        chosen = [by_slug[slug] for slug in query.cities]
    else:
        chosen = available
    if not chosen:
        raise LabNotFound(f"no published assessments for {query.year}" + where(query))
    if query.loo_city and query.loo_city not in {a.city.slug for a in chosen}:
        raise LabError(
            f"loo_city {query.loo_city!r} is not in the peer group; choose one of its cities"
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
        found = _one(self.args, name)
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
    raw = _one(args, "year")
    year = int(raw) if raw and raw.isdigit() else latest_year(user)
    country = _one(args, "country")
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

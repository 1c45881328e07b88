"""The methods lab: an analyst's scoring spec applied to a peer group of published assessments.

A lab query (year, country, cities, benchmark set, normalisation, aggregation, minimum
coverage, Monte Carlo draws) is read from a query string, so a lab view is a shareable
address. :func:`run_lab` scores the peer group's published snapshots with the chosen spec and
with the U4SSC rule through :mod:`kpi_app.services.scores` (the same numbers, the same cache),
and adds Monte Carlo 90 % rank intervals from the pure core. Only published data is read.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from kpi_app.scoring import (
    AGGREGATORS,
    NORMALISERS,
    PRESETS,
    ScoringSpec,
    monte_carlo_ranks,
)
from kpi_app.scoring.aggregate import DEFAULT_MIN_COVERAGE
from kpi_app.scoring.lab import CSV_COLUMNS, LabRow, lab_rows
from kpi_app.scoring.spec import Normalisation, ScoringSpecError
from kpi_app.services import scores
from kpi_app.services.catalogue import benchmark_sets
from kpi_app.services.errors import Invalid, NotFound

DEFAULT_NORMALISATION: Final = "distance_to_target"
DEFAULT_AGGREGATION: Final = "arithmetic"
DEFAULT_DRAWS: Final = 100
MAX_DRAWS: Final = 1000


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

    def spec(self) -> ScoringSpec:
        return ScoringSpec(
            method="composite",
            normalisation=Normalisation(self.normalisation),
            aggregation=self.aggregation,
            min_coverage=self.min_coverage,
            name="lab",
        )

    def query_string(self) -> str:
        """The query string that reproduces this query (the shareable address)."""
        pairs: list[tuple[str, Any]] = [("year", self.year)]
        if self.country:
            pairs.append(("country", self.country))
        pairs += [("city", slug) for slug in self.cities]
        if self.benchmark_set:
            pairs.append(("benchmark_set", self.benchmark_set))
        pairs += [
            ("normalisation", self.normalisation),
            ("aggregation", self.aggregation),
            ("min_coverage", f"{self.min_coverage:g}"),
            ("draws", self.draws),
        ]
        return urlencode(pairs)

    def to_dict(self) -> dict[str, Any]:
        """The downloadable spec: the peer group, the scoring spec and its fingerprint."""
        spec = self.spec()
        return {
            "peer_group": {
                "year": self.year,
                "country": self.country,
                "cities": list(self.cities),
                "source": "published",
            },
            "benchmark_set": self.benchmark_set,
            "monte_carlo": {"draws": self.draws, "seed": self.seed},
            "spec": spec.to_dict(),
            "fingerprint": spec.fingerprint(),
        }


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
    return LabQuery(
        year=year,
        country=country.upper() if country else None,
        cities=cities,
        benchmark_set=benchmark_set,
        normalisation=normalisation,
        aggregation=aggregation,
        min_coverage=min_coverage,
        draws=draws,
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
class LabResult:
    query: LabQuery
    #: Every published assessment of the year (and country) the query could pick from.
    candidates: tuple[tuple[str, str], ...]  # (slug, name)
    cities: tuple[str, ...]  # slugs scored
    rows: tuple[LabRow, ...]
    benchmark_set: str | None

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
        }

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: "" if v is None else v for k, v in row.as_dict().items()})
        return buffer.getvalue()


def candidates(query: LabQuery, user: Any = None) -> list[Any]:
    """The published assessments of the query's year (and country)."""
    return scores.published_assessments(user, country=query.country, years=[query.year])


def run_lab(query: LabQuery, user: Any = None) -> LabResult:
    """Score the query's peer group with its spec and with the U4SSC rule; LabError."""
    available = candidates(query, user)
    by_slug = {a.city.slug: a for a in available}
    if query.cities:
        missing = [slug for slug in query.cities if slug not in by_slug]
        if missing:
            raise LabNotFound(
                f"no published {query.year} assessment for {', '.join(missing)}"
                + (f" in {query.country}" if query.country else "")
            )
        chosen = [by_slug[slug] for slug in query.cities]
    else:
        chosen = available
    if not chosen:
        raise LabNotFound(
            f"no published assessments for {query.year}"
            + (f" in {query.country}" if query.country else "")
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
    return LabResult(
        query=query,
        candidates=tuple((a.city.slug, a.city.name) for a in available),
        cities=tuple(a.city.slug for a in chosen),
        rows=tuple(lab_rows(lab, rule, mc)),
        benchmark_set=lab.benchmark_set,
    )


def choices() -> dict[str, list[str]]:
    """The form's options: benchmark sets, normalisations and aggregations."""
    return {
        "benchmark_sets": sorted(benchmark_sets()),
        "normalisations": sorted(NORMALISERS),
        "aggregations": sorted(AGGREGATORS),
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

    def value(self, name: str, default: str = "") -> str:
        found = _one(self.args, name)
        return found if found is not None else default

    def checked(self, slug: str) -> bool:
        return slug in self.args.get("city", ())


def latest_year(user: Any = None) -> int | None:
    years = [a.year for a in scores.published_assessments(user)]
    return max(years) if years else None


def blank_page(user: Any = None, args: Mapping[str, Sequence[str]] | None = None) -> LabPage:
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
    )


def lab_page(args: Mapping[str, Sequence[str]], user: Any = None) -> LabPage:
    """Parse and run a query for the page; LabError for bad input."""
    result = run_lab(parse_query(args), user)
    return LabPage(
        year=result.query.year,
        args=args,
        options=choices(),
        candidates=result.candidates,
        result=result,
    )

"""A lab query: the peer group and the spec's choices, read from a query string.

:func:`parse_query` turns query-string lists into a :class:`LabQuery` or raises
:class:`LabError` with a message (in the reader's language) naming the field and why;
:mod:`kpi_app.services.lab` runs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from kpi_app.i18n import _
from kpi_app.scoring import AGGREGATORS, NORMALISERS, PRESETS, ScoringSpec
from kpi_app.scoring.aggregate import DEFAULT_MIN_COVERAGE
from kpi_app.scoring.spec import AGGREGATION_LEVELS, WEIGHT_LEVELS, Normalisation
from kpi_app.services.catalogue import benchmark_sets
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


def query_value(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The last non-blank value given for `name` (a repeated field: the last one wins)."""
    values = [v.strip() for v in args.get(name, ()) if v.strip()]
    return values[-1] if values else None


#: The years a lab query may name (the API's YEAR range).
FIRST_YEAR, LAST_YEAR = 1900, 2200


def parse_query(args: Mapping[str, Sequence[str]]) -> LabQuery:
    """Read a lab query from query-string lists (``{"city": ["a", "b"], ...}``); LabError."""
    raw_year = query_value(args, "year")
    if raw_year is None:
        raise LabError(_("year is required (the year of the published assessments to compare)"))
    try:
        year = int(raw_year)
    except ValueError:
        raise LabError(_("year must be a whole number, got '%(value)s'", value=raw_year)) from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise LabError(
            _(
                "year must be between %(first)d and %(last)d, got %(value)s",
                first=FIRST_YEAR,
                last=LAST_YEAR,
                value=raw_year,
            )
        )
    country = query_value(args, "country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise LabError(_("country must be a two-letter ISO code, got '%(value)s'", value=country))
    cities = tuple(dict.fromkeys(v.strip() for v in args.get("city", ()) if v.strip()))
    benchmark_set = query_value(args, "benchmark_set")
    if benchmark_set is not None and benchmark_set not in benchmark_sets():
        known = ", ".join(sorted(benchmark_sets()))
        raise LabNotFound(
            _(
                "unknown benchmark set '%(value)s'; choose from %(known)s",
                value=benchmark_set,
                known=known,
            )
        )
    preset = _preset(query_value(args, "method"))
    normalisation = query_value(args, "normalisation") or preset.normalisation.name
    if normalisation not in NORMALISERS:
        known = ", ".join(sorted(NORMALISERS))
        raise LabError(
            _(
                "unknown normalisation '%(value)s'; choose from %(known)s",
                value=normalisation,
                known=known,
            )
        )
    aggregation = query_value(args, "aggregation") or preset.aggregation
    if aggregation not in AGGREGATORS:
        known = ", ".join(sorted(AGGREGATORS))
        raise LabError(
            _(
                "unknown aggregation '%(value)s'; choose from %(known)s",
                value=aggregation,
                known=known,
            )
        )
    min_coverage = _number(args, "min_coverage", DEFAULT_MIN_COVERAGE)
    if not 0.0 <= min_coverage <= 1.0:
        raise LabError(
            _("min_coverage must lie between 0 and 1, got %(value)s", value=f"{min_coverage:g}")
        )
    draws = int(_number(args, "draws", DEFAULT_DRAWS))
    if not 1 <= draws <= MAX_DRAWS or draws != _number(args, "draws", DEFAULT_DRAWS):
        raise LabError(_("draws must be a whole number from 1 to %(most)d", most=MAX_DRAWS))
    sizes = _many(args, "size")
    unknown_sizes = [size for size in sizes if size not in SIZE_BANDS]
    if unknown_sizes:
        raise LabError(
            _(
                "unknown size band '%(value)s'; choose from %(known)s",
                value=unknown_sizes[0],
                known=", ".join(SIZE_BANDS),
            )
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
        loo_city=query_value(args, "loo_city"),
    )


def _many(args: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in args.get(name, ()) if v.strip()))


def _flag(args: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = query_value(args, name)
    if raw is None:
        return False
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise LabError(_("%(name)s must be 1 or 0, got '%(value)s'", name=name, value=raw))


def _level_aggregation(
    args: Mapping[str, Sequence[str]], default: str
) -> tuple[tuple[str, str], ...]:
    chosen: list[tuple[str, str]] = []
    for level in AGGREGATION_LEVELS:
        name = query_value(args, f"{LEVEL_AGGREGATION_PREFIX}{level}")
        if name is None or name == default:
            continue
        if name not in AGGREGATORS:
            known = ", ".join(sorted(AGGREGATORS))
            raise LabError(
                _(
                    "unknown aggregation '%(value)s' for level %(level)s; choose from %(known)s",
                    value=name,
                    level=level,
                    known=known,
                )
            )
        chosen.append((level, name))
    return tuple(chosen)


def _weight_value(label: str, raw: str) -> float:
    try:
        weight = float(raw)
    except ValueError:
        raise LabError(
            _("the weight of %(label)s must be a number, got '%(value)s'", label=label, value=raw)
        ) from None
    if not math.isfinite(weight) or weight < 0:
        raise LabError(
            _(
                "the weight of %(label)s must be a number of 0 or more, got '%(value)s'",
                label=label,
                value=raw,
            )
        )
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
                _(
                    "weights for unknown level '%(value)s'; levels are %(known)s",
                    value=level,
                    known=", ".join(WEIGHT_LEVELS),
                )
            )
        raw = query_value(args, name)
        if raw is not None and group_id.strip():
            found[(level, group_id.strip())] = _weight_value(group_id.strip(), raw)
    for text in args.get("item_weights", ()):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if "=" not in line:
                raise LabError(
                    _(
                        "item weights, line %(number)d: write 'KPI code = weight', got '%(value)s'",
                        number=number,
                        value=line.strip(),
                    )
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
            _(
                "unknown method '%(value)s'; choose a composite preset from %(known)s "
                "(the U4SSC rule is always shown beside it)",
                value=name,
                known=", ".join(composite),
            )
        )
    return PRESETS[name]


def _number(args: Mapping[str, Sequence[str]], name: str, default: float) -> float:
    raw = query_value(args, name)
    if raw is None:
        return float(default)
    try:
        number = float(raw)
    except ValueError:
        raise LabError(
            _("%(name)s must be a number, got '%(value)s'", name=name, value=raw)
        ) from None
    if not math.isfinite(number):
        raise LabError(_("%(name)s must be a finite number, got '%(value)s'", name=name, value=raw))
    return number

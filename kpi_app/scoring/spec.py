"""Scoring specs: a complete, storable description of how scores were computed.

A :class:`ScoringSpec` plays the part of COINr's build log: it names the method, the
normalisation (a default plus per-indicator overrides), the weights at every level, the
aggregation and the minimum coverage. It is frozen, serialises to a JSON-ready dict that
round-trips exactly, and has a stable :meth:`~ScoringSpec.fingerprint`, so a stored result
says precisely which spec produced it and two results can be compared.

``PRESETS`` holds the named specs the interface offers; ``U4SSC_SPEC`` is the published rule.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, cast

from kpi_app.scoring.aggregate import AGGREGATORS, DEFAULT_MIN_COVERAGE
from kpi_app.scoring.normalise import NORMALISERS

Method = Literal["u4ssc", "composite"]
METHODS: Final[tuple[str, ...]] = ("u4ssc", "composite")

#: Levels that accept weights, from the finest to the coarsest. Item weights are keyed by
#: KPI code (all its data points) or by ``"code|data_point"`` (one data point).
WEIGHT_LEVELS: Final[tuple[str, ...]] = ("item", "category", "sub_dimension", "dimension")

#: Levels that accept their own aggregation (``ScoringSpec.level_aggregation``): each group of
#: the level is the mean of its children by that method; a level not listed uses ``aggregation``.
AGGREGATION_LEVELS: Final[tuple[str, ...]] = ("category", "sub_dimension", "dimension", "overall")

#: Version of the ``to_dict`` layout, so a stored spec can be migrated if the layout changes.
SPEC_SCHEMA: Final = 1

DEFAULT_TARGET_YEAR: Final = 2030


class ScoringSpecError(ValueError):
    """A spec names an unknown method or carries an impossible parameter."""


def item_key(code: str, data_point: str = "") -> str:
    """The key of a KPI item in overrides and item weights: ``code`` or ``code|data_point``."""
    return f"{code}|{data_point}" if data_point else code


def _frozen_mapping(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScoringSpecError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Normalisation:
    """A normalisation method by registry name, with its numeric parameters."""

    name: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in NORMALISERS:
            raise ScoringSpecError(
                f"unknown normaliser {self.name!r}; choose from {sorted(NORMALISERS)}"
            )
        params = {key: _check_number(f"{self.name}.{key}", v) for key, v in self.params.items()}
        # A read-only view keeps the frozen dataclass honest: nobody can mutate it later.
        object.__setattr__(self, "params", _frozen_mapping(params))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"name": ..., "params": {...}}`` with sorted parameter names."""
        return {"name": self.name, "params": dict(sorted(self.params.items()))}

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Normalisation:
        """Inverse of :meth:`to_dict`; a bare string is accepted as a method without params."""
        if isinstance(data, str):
            return cls(data)
        _reject_unknown_keys("normalisation", data, {"name", "params"})
        return cls(str(data["name"]), dict(data.get("params", {})))


@dataclass(frozen=True)
class ScoringSpec:
    """How to score: method, normalisation, overrides, weights, aggregation and coverage rule.

    ``weights`` maps a level in :data:`WEIGHT_LEVELS` to ``{id: weight}``; ids not listed weigh
    1 (for items: the frame's ``weight`` column, else 1). ``overrides`` maps an item key (see
    :func:`item_key`) to the normalisation used for that KPI or data point instead of the
    default. ``target_year`` is the horizon of progress assessments (2030, the SDG year).
    """

    method: Method = "composite"
    normalisation: Normalisation = field(
        default_factory=lambda: Normalisation("distance_to_target")
    )
    overrides: Mapping[str, Normalisation] = field(default_factory=dict)
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    aggregation: str = "arithmetic"
    min_coverage: float = DEFAULT_MIN_COVERAGE
    target_year: int = DEFAULT_TARGET_YEAR
    name: str = ""
    #: Aggregation per level (keys in :data:`AGGREGATION_LEVELS`); missing levels use
    #: ``aggregation``. Empty by default, and then left out of :meth:`to_dict`.
    level_aggregation: Mapping[str, str] = field(default_factory=dict)
    #: Multiply each item's weight by its data-quality factor
    #: (:data:`~kpi_app.scoring.confidence.QUALITY_WEIGHT_FACTORS`); composite methods only.
    down_weight_low_quality: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ScoringSpecError(f"unknown method {self.method!r}; choose from {list(METHODS)}")
        if self.aggregation not in AGGREGATORS:
            raise ScoringSpecError(
                f"unknown aggregation {self.aggregation!r}; choose from {sorted(AGGREGATORS)}"
            )
        coverage = _check_number("min_coverage", self.min_coverage)
        if not 0.0 <= coverage <= 1.0:
            raise ScoringSpecError(f"min_coverage must lie in [0, 1], got {coverage}")
        if isinstance(self.target_year, bool) or not isinstance(self.target_year, int):
            raise ScoringSpecError(f"target_year must be an integer, got {self.target_year!r}")
        unknown_levels = set(self.level_aggregation) - set(AGGREGATION_LEVELS)
        if unknown_levels:
            raise ScoringSpecError(
                f"aggregation for unknown level(s) {sorted(unknown_levels)}; "
                f"levels are {list(AGGREGATION_LEVELS)}"
            )
        for level, name in self.level_aggregation.items():
            if name not in AGGREGATORS:
                raise ScoringSpecError(
                    f"unknown aggregation {name!r} at level {level!r}; "
                    f"choose from {sorted(AGGREGATORS)}"
                )
        if not isinstance(self.down_weight_low_quality, bool):
            raise ScoringSpecError("down_weight_low_quality must be true or false")
        # A level set to the default aggregation is the same spec as one not listed.
        levels = {k: v for k, v in self.level_aggregation.items() if v != self.aggregation}
        object.__setattr__(self, "level_aggregation", _frozen_mapping(levels))
        object.__setattr__(self, "min_coverage", coverage)
        object.__setattr__(self, "overrides", _frozen_mapping(self.overrides))
        object.__setattr__(self, "weights", _checked_weights(self.weights))

    def __hash__(self) -> int:
        # The mapping fields cannot be hashed field by field; the fingerprint covers them all.
        return hash((self.fingerprint(), self.name))

    def normalisation_for(self, code: str, data_point: str = "") -> Normalisation:
        """An item's normalisation: data-point override, else KPI override, else the default."""
        for key in (item_key(code, data_point), code):
            if key in self.overrides:
                return self.overrides[key]
        return self.normalisation

    def aggregation_for(self, level: str) -> str:
        """The aggregation of one level (see :data:`AGGREGATION_LEVELS`)."""
        return str(self.level_aggregation.get(level, self.aggregation))

    def weight(self, level: str, group_id: str, default: float = 1.0) -> float:
        """The weight of one id at one level, ``default`` when the spec does not list it."""
        return float(self.weights.get(level, {}).get(group_id, default))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with sorted keys; :meth:`from_dict` turns it back into ``self``.

        ``level_aggregation`` and ``down_weight_low_quality`` appear only when set, so specs
        that do not use them keep the fingerprint they had before these options existed.
        """
        data: dict[str, Any] = {
            "schema": SPEC_SCHEMA,
            "name": self.name,
            "method": self.method,
            "normalisation": self.normalisation.to_dict(),
            "overrides": {key: self.overrides[key].to_dict() for key in sorted(self.overrides)},
            "weights": {
                level: dict(sorted(self.weights[level].items())) for level in sorted(self.weights)
            },
            "aggregation": self.aggregation,
            "min_coverage": self.min_coverage,
            "target_year": self.target_year,
        }
        if self.level_aggregation:
            data["level_aggregation"] = dict(sorted(self.level_aggregation.items()))
        if self.down_weight_low_quality:
            data["down_weight_low_quality"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringSpec:
        """Rebuild a spec from :meth:`to_dict` output (or a hand-written subset of it)."""
        _reject_unknown_keys("spec", data, set(_SPEC_KEYS))
        schema = data.get("schema", SPEC_SCHEMA)
        if schema != SPEC_SCHEMA:
            raise ScoringSpecError(f"spec schema {schema!r} is not supported (expected 1)")
        defaults = cls()
        return cls(
            method=cast(Method, data.get("method", defaults.method)),
            normalisation=Normalisation.from_dict(
                data.get("normalisation", defaults.normalisation.to_dict())
            ),
            overrides={
                key: Normalisation.from_dict(value)
                for key, value in data.get("overrides", {}).items()
            },
            weights=data.get("weights", {}),
            aggregation=str(data.get("aggregation", defaults.aggregation)),
            min_coverage=data.get("min_coverage", defaults.min_coverage),
            target_year=data.get("target_year", defaults.target_year),
            name=str(data.get("name", "")),
            level_aggregation={
                str(k): str(v) for k, v in dict(data.get("level_aggregation", {})).items()
            },
            down_weight_low_quality=data.get("down_weight_low_quality", False),
        )

    def to_json(self) -> str:
        """Canonical JSON text: sorted keys and no whitespace, the input of :meth:`fingerprint`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """A stable SHA-256 hex digest of the spec's content; equal specs share it.

        The display ``name`` is left out: renaming a preset does not change how it scores.
        """
        content = self.to_dict()
        del content["name"]
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SPEC_KEYS: Final[tuple[str, ...]] = (
    "schema",
    "name",
    "method",
    "normalisation",
    "overrides",
    "weights",
    "aggregation",
    "min_coverage",
    "target_year",
    "level_aggregation",
    "down_weight_low_quality",
    # Descriptive details an engine stores next to the spec (the U4SSC rule text); not read back.
    "rule",
)


def _reject_unknown_keys(what: str, data: Mapping[str, Any], known: set[str]) -> None:
    unknown = set(data) - known
    if unknown:
        raise ScoringSpecError(f"{what} has unknown key(s) {sorted(unknown)}")


def _checked_weights(weights: Mapping[str, Mapping[str, float]]) -> Mapping[str, Any]:
    unknown = set(weights) - set(WEIGHT_LEVELS)
    if unknown:
        raise ScoringSpecError(
            f"weights for unknown level(s) {sorted(unknown)}; levels are {list(WEIGHT_LEVELS)}"
        )
    checked: dict[str, Mapping[str, float]] = {}
    for level, by_id in weights.items():
        values = {str(key): _check_number(f"weight of {key!r}", v) for key, v in by_id.items()}
        if any(value < 0 for value in values.values()):
            raise ScoringSpecError(f"weights at level {level!r} must be non-negative")
        checked[level] = _frozen_mapping(values)
    return _frozen_mapping(checked)


#: The published U4SSC rule. The composite fields are descriptive only: the dispatcher sends
#: this method to ``score_u4ssc``, which pools band points over every item of a group and
#: never withholds a score (hence ``min_coverage`` 0).
U4SSC_SPEC: Final = ScoringSpec(
    method="u4ssc",
    normalisation=Normalisation("u4ssc_points"),
    aggregation="arithmetic",
    min_coverage=0.0,
    name="u4ssc",
)


def _composite(name: str, normaliser: str, aggregation: str) -> ScoringSpec:
    return ScoringSpec(
        method="composite",
        normalisation=Normalisation(normaliser),
        aggregation=aggregation,
        name=name,
    )


#: Named specs offered to users; the keys are what the interface and CLI accept.
PRESETS: Final[Mapping[str, ScoringSpec]] = MappingProxyType(
    {
        "u4ssc": U4SSC_SPEC,
        "distance-arith": _composite("distance-arith", "distance_to_target", "arithmetic"),
        "distance-geo": _composite("distance-geo", "distance_to_target", "geometric"),
        "minmax-arith": _composite("minmax-arith", "min_max", "arithmetic"),
        "minmax-geo": _composite("minmax-geo", "min_max", "geometric"),
        "zscore-arith": _composite("zscore-arith", "z_score", "arithmetic"),
        "percentile-arith": _composite("percentile-arith", "percentile_rank", "arithmetic"),
        "points-arith": _composite("points-arith", "u4ssc_points", "arithmetic"),
    }
)


def resolve_spec(spec: ScoringSpec | str) -> ScoringSpec:
    """A spec as given, or the preset of that name (error lists the preset names)."""
    if isinstance(spec, ScoringSpec):
        return spec
    try:
        return PRESETS[spec]
    except KeyError:
        raise ScoringSpecError(f"unknown preset {spec!r}; choose from {sorted(PRESETS)}") from None

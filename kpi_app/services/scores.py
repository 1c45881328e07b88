"""Scores of assessments: their values (:mod:`kpi_app.services.score_inputs`) scored and cached.

Data sources (``"published"`` snapshots or ``"live"`` value rows), which assessments a user
may score and the fingerprints of those inputs are in :mod:`kpi_app.services.score_inputs`;
their public names are re-exported here (``scores.values_frame``, ``scores.Source`` …).

Caching without invalidation hooks: the cache key is a fingerprint of every input of a score,
computed by one aggregate query per call (per assessment: number of value rows, sum of their
optimistic-lock ``version``, highest value id, latest snapshot id) plus the scoring spec's
fingerprint, the benchmark set's id, version and content hash, the catalogue version, and
whether the caller chose the set (a published score against a chosen set is an analysis; the
published score itself reads the targets frozen in the snapshot, covered by its id).
Any edit bumps a ``version`` (SQLAlchemy's version counter), an insert raises the count and
the highest id, a delete lowers the count, publishing adds a snapshot; so an edit made through
any app instance changes the key seen by every other instance sharing the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from kpi_app.catalogue import BenchmarkSet, Catalogue
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Snapshot
from kpi_app.scoring.composite import score, uses_peer_group
from kpi_app.scoring.frame import build_items, catalogue_items, items_for
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.spec import PRESETS, ScoringSpec, ScoringSpecError, resolve_spec
from kpi_app.services import frozen_inputs
from kpi_app.services.cache import get_cache
from kpi_app.services.catalogue import benchmark_set as configured_benchmark_set
from kpi_app.services.catalogue import current_catalogue

# Re-exported: the inputs of a score are read through this module by most callers.
from kpi_app.services.score_inputs import SOURCES as SOURCES
from kpi_app.services.score_inputs import VALUE_COLUMNS as VALUE_COLUMNS
from kpi_app.services.score_inputs import ScoresError as ScoresError
from kpi_app.services.score_inputs import Source as Source
from kpi_app.services.score_inputs import assessments_by_id as assessments_by_id
from kpi_app.services.score_inputs import benchmark_fingerprint as benchmark_fingerprint
from kpi_app.services.score_inputs import (
    check_source,
    snapshot_fingerprint,
    typed_values,
)
from kpi_app.services.score_inputs import data_fingerprint as data_fingerprint
from kpi_app.services.score_inputs import latest_digests as latest_digests
from kpi_app.services.score_inputs import latest_snapshots as latest_snapshots
from kpi_app.services.score_inputs import live_assessments as live_assessments
from kpi_app.services.score_inputs import published_assessments as published_assessments
from kpi_app.services.score_inputs import published_cities as published_cities
from kpi_app.services.score_inputs import published_rows as published_rows
from kpi_app.services.score_inputs import values_frame as values_frame

log = logging.getLogger(__name__)


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringContext:
    """The resolved inputs of one scoring call besides the values."""

    spec: ScoringSpec
    catalogue: Catalogue
    benchmarks: BenchmarkSet
    #: True when the caller chose the set: published values are then scored against it as an
    #: analysis instead of against the targets frozen in their snapshots.
    chosen_set: bool = False


def resolve_method(method: str | ScoringSpec) -> ScoringSpec:
    """A spec, or the preset of that name; ScoresError names the presets."""
    try:
        return resolve_spec(method)
    except ScoringSpecError:
        known = ", ".join(sorted(PRESETS))
        raise ScoresError(f"unknown scoring method {method!r}; choose from {known}") from None


@dataclass(frozen=True)
class ScoreRequest:
    """One scoring call resolved down to its cache key (one aggregate query, no scoring).

    Pages key their own cached view on :attr:`key`: it changes whenever any input of the
    score does, so a page cached under it can never show a stale score.
    """

    assessments: tuple[Assessment, ...]
    source: Source
    context: ScoringContext
    key: str
    #: Published assessments scored alongside (read from their snapshots whatever ``source``
    #: is): the peer group of a relative method for a live assessment.
    peers: tuple[Assessment, ...] = ()


def score_request(
    assessments: Sequence[Assessment],
    *,
    source: Source,
    method: str | ScoringSpec = "u4ssc",
    benchmark_set: str | None = None,
    peers: Sequence[Assessment] = (),
) -> ScoreRequest:
    """Resolve the method, catalogue and benchmark set of a scoring call and fingerprint it.

    ``benchmark_set`` defaults to the set the assessments were collected under (when they
    agree) or the configured default. ``peers`` are published assessments scored with them
    from their snapshots (see :func:`score_assessment`).
    """
    check_source(source)
    context = ScoringContext(
        spec=resolve_method(method),
        catalogue=current_catalogue(),
        benchmarks=benchmarks_for(assessments, benchmark_set),
        chosen_set=bool(benchmark_set),
    )
    chosen = tuple(assessments)
    key = cache_key(chosen, source, context)
    if peers:
        peer_part = json.dumps(snapshot_fingerprint([a.id for a in peers]), default=str)
        key += ":peers:" + hashlib.sha256(peer_part.encode("utf-8")).hexdigest()
    return ScoreRequest(chosen, source, context, key, tuple(peers))


def scores_for(request: ScoreRequest) -> ScoreResult:
    """The score of a resolved request, from the cache or computed and stored."""
    return get_cache().get_or_compute(
        request.key,
        lambda: compute_scores(
            request.assessments, request.source, request.context, peers=request.peers
        ),
    )


def score_assessments(
    assessments: Sequence[Assessment],
    *,
    source: Source,
    method: str | ScoringSpec = "u4ssc",
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score the assessments together (one result, every city-year in it), from the cache.

    ``benchmark_set`` defaults to the set the assessments were collected under (when they
    agree) or the configured default.
    """
    return scores_for(
        score_request(assessments, source=source, method=method, benchmark_set=benchmark_set)
    )


def compute_scores(
    assessments: Sequence[Assessment],
    source: Source,
    context: ScoringContext,
    *,
    peers: Sequence[Assessment] = (),
) -> ScoreResult:
    """Score without the cache (the cache calls this on a miss)."""
    if source == "published":
        return _compute_published(assessments, context)
    catalogue_frame = context.catalogue.to_frame()
    values = values_frame(assessments, source)
    if peers:
        values = typed_values(
            pd.concat([values, values_frame(peers, "published")], ignore_index=True)
        )
    everyone = [*assessments, *peers]
    values = _known_items_only(values, catalogue_frame)
    values = _with_every_assessment(values, everyone, catalogue_frame)
    items = build_items(catalogue_frame, context.benchmarks.to_frame(), values)
    return score(
        items,
        context.spec,
        catalogue_version=context.catalogue.version,
        benchmark_set=context.benchmarks.id,
    )


def _known_items_only(
    values: pd.DataFrame, catalogue_frame: pd.DataFrame, known: pd.MultiIndex | None = None
) -> pd.DataFrame:
    """Drop values of items the current catalogue no longer has (old data, renamed points).

    ``known`` is the catalogue's (code, data point) index when the caller has it."""
    if known is None:
        known = _item_index(catalogue_frame)
    mask = pd.MultiIndex.from_frame(values[["code", "data_point"]]).isin(known)
    if not mask.all():
        log.info("ignoring %d values of items outside the catalogue", int((~mask).sum()))
    return values.loc[mask]


def _item_index(catalogue_frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(catalogue_frame[["code", "data_point"]])


@dataclass(frozen=True)
class _JoinedCatalogue:
    """A frozen catalogue joined with its targets (:func:`catalogue_items`), and its keys."""

    items: pd.DataFrame
    known: pd.MultiIndex


#: Joined frozen catalogues by (frozen-context key, chosen set), newest last. Every published
#: score of a request reads one; snapshots frozen alike share it, so it is joined once per
#: process instead of on every request. Read only; a handful of contexts exist at a time.
_JOINED: dict[tuple[str, str], _JoinedCatalogue] = {}
_JOINED_MAX = 16
_JOINED_LOCK = threading.Lock()


def _joined_catalogue(
    key: str, context: ScoringContext, catalogue_frame: pd.DataFrame, bench: pd.DataFrame
) -> _JoinedCatalogue:
    """The joined catalogue of one frozen context (``key`` from :func:`frozen_inputs.frozen_key`).

    "current" (a snapshot from before freezing, read with the installed catalogue, which a
    changed file may alter under the same version) is joined afresh every time."""
    if key == "current":
        return _join(context, catalogue_frame, bench)
    chosen = benchmark_fingerprint(context.benchmarks) if context.chosen_set else ""
    cache_key = (key, chosen)
    with _JOINED_LOCK:  # threaded servers: one request's eviction never breaks another's
        joined = _JOINED.pop(cache_key, None)
    if joined is None:
        joined = _join(context, catalogue_frame, bench)
    with _JOINED_LOCK:
        while len(_JOINED) >= _JOINED_MAX:
            _JOINED.pop(next(iter(_JOINED)))
        _JOINED[cache_key] = joined
    return joined


def _join(
    context: ScoringContext, catalogue_frame: pd.DataFrame, bench: pd.DataFrame
) -> _JoinedCatalogue:
    if context.chosen_set:  # the chosen set's targets of the items this catalogue has
        bench = _known_items_only(bench, catalogue_frame)
    return _JoinedCatalogue(catalogue_items(catalogue_frame, bench), _item_index(catalogue_frame))


def _with_every_assessment(
    values: pd.DataFrame, assessments: Sequence[Assessment], catalogue_frame: pd.DataFrame
) -> pd.DataFrame:
    """Give an assessment without any reported value one not-reported row.

    The engine lays out every catalogue item for each (city, year) present in the values, so
    this makes an empty assessment appear with coverage 0 instead of vanishing.
    """
    present = set(zip(values["city"], values["year"], strict=True))
    first = catalogue_frame.iloc[0]
    missing = [
        {
            "city": a.city.slug,
            "year": a.year,
            "code": first["code"],
            "data_point": first["data_point"],
            "value": np.nan,
        }
        for a in assessments
        if (a.city.slug, a.year) not in present
    ]
    if not missing:
        return values
    return typed_values(pd.concat([values, pd.DataFrame(missing)], ignore_index=True))


def _compute_published(
    assessments: Sequence[Assessment],
    context: ScoringContext,
    snapshots: dict[int, Snapshot] | None = None,
) -> ScoreResult:
    """Score snapshots with what each froze: its catalogue items, targets and method spec.

    Assessments frozen alike are laid out together; different frozen contexts (published
    under different sets or catalogue versions) are laid out separately and scored as one
    frame, so every city keeps its own published targets. With ``context.chosen_set`` the
    chosen set's targets replace the frozen ones (an analysis, not the published result).
    A snapshot published before freezing is read with the current catalogue and its set.
    ``snapshots`` (assessment id → snapshot) are read instead of the latest ones stored.
    """
    inputs = frozen_inputs.stored_inputs(assessments) if snapshots is None else None
    if inputs is None:
        if snapshots is None:
            snapshots = latest_snapshots([a.id for a in assessments])
        inputs = frozen_inputs.snapshot_inputs(assessments, snapshots)
    values, frozen = inputs
    groups: dict[str, tuple[list[Assessment], pd.DataFrame, pd.DataFrame, dict[str, Any]]] = {}
    for assessment in assessments:
        entry = frozen.get(assessment.id)
        key = "current" if entry is None else entry[0]
        if key in groups:
            groups[key][0].append(assessment)
            continue
        if entry is None:
            catalogue_frame = context.catalogue.to_frame()
            bench = context.benchmarks.to_frame()
        else:
            catalogue_frame, frozen_bench = frozen_inputs.frozen_frames(key, entry[1])
            bench = context.benchmarks.to_frame() if context.chosen_set else frozen_bench
        groups[key] = ([assessment], catalogue_frame, bench, {} if entry is None else entry[1])
    frames = []
    for key, (members, catalogue_frame, bench, _block) in groups.items():
        slugs = {(a.city.slug, a.year) for a in members}
        pairs = zip(values["city"], values["year"], strict=True)
        mine = values.loc[np.fromiter((p in slugs for p in pairs), dtype=bool, count=len(values))]
        joined = _joined_catalogue(key, context, catalogue_frame, bench)
        mine = _known_items_only(mine, catalogue_frame, joined.known)
        mine = _with_every_assessment(mine, members, catalogue_frame)
        frames.append(items_for(joined.items, mine))
    items = frames[0] if len(frames) == 1 else _concat_items(frames)
    blocks = [block for _members, _c, _b, block in groups.values()]
    spec = _frozen_spec(blocks, context.spec)
    set_ids = sorted({b["benchmarks"]["id"] for b in blocks if b} or {context.benchmarks.id})
    versions = sorted(
        {b["catalogue"]["version"] for b in blocks if b} or {context.catalogue.version}
    )
    return score(
        items,
        spec,
        catalogue_version=", ".join(versions),
        benchmark_set=context.benchmarks.id if context.chosen_set else ", ".join(set_ids),
    )


BENCHMARK_FRAME = frozen_inputs.BENCHMARK_FRAME
TARGET_COLUMNS = ["city", "code", "data_point", "target", "direction"]


def published_targets(assessments: Sequence[Assessment]) -> pd.DataFrame:
    """Per city, the target and direction of every item as frozen in its latest published
    year (a snapshot from before freezing: its set as installed now, catalogue directions)."""
    latest: dict[str, Assessment] = {}
    for assessment in assessments:
        known = latest.get(assessment.city.slug)
        if known is None or assessment.year > known.year:
            latest[assessment.city.slug] = assessment
    snapshots = latest_snapshots([a.id for a in latest.values()])
    rows: list[dict[str, Any]] = []
    for slug, assessment in latest.items():
        block = frozen_inputs.frozen_block(snapshots.get(assessment.id))
        if block is None:
            catalogue = current_catalogue()
            directions = {item.key: str(item.direction) for item in catalogue.items()}
            for entry in benchmarks_for([assessment], None).benchmarks:
                direction = str(entry.direction) if entry.direction else directions.get(entry.key)
                rows.append(
                    {
                        "city": slug,
                        "code": entry.code,
                        "data_point": entry.data_point,
                        "target": entry.target,
                        "direction": direction,
                    }
                )
            continue
        directions = {
            (str(i["code"]), str(i.get("data_point") or "")): i.get("direction")
            for i in block["catalogue"]["items"]
        }
        for record in block["benchmarks"]["entries"]:
            key = (str(record["code"]), str(record.get("data_point") or ""))
            rows.append(
                {
                    "city": slug,
                    "code": key[0],
                    "data_point": key[1],
                    "target": record.get("target"),
                    "direction": record.get("direction") or directions.get(key),
                }
            )
    frame = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    return frame.astype({"target": "float64"})


def _frozen_spec(blocks: list[dict[str, Any]], requested: ScoringSpec) -> ScoringSpec:
    """The spec frozen at publication when the request names the same method (and every
    snapshot froze the same one), else the requested spec."""
    frozen = [b.get("method") for b in blocks if b]
    if not frozen or len(frozen) != len(blocks) or any(f != frozen[0] for f in frozen):
        return requested
    if not isinstance(frozen[0], dict) or frozen[0].get("name") != requested.name:
        return requested
    try:
        return ScoringSpec.from_dict(frozen[0])
    except (ScoringSpecError, KeyError, TypeError, ValueError):
        return requested


def _concat_items(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Items frames of different frozen contexts as one (categoricals re-encoded)."""
    categorical = [
        column
        for column in frames[0].columns
        if isinstance(frames[0][column].dtype, pd.CategoricalDtype)
    ]
    plain = [f.astype(dict.fromkeys(categorical, object)) for f in frames]
    items = pd.concat(plain, ignore_index=True)
    items = items.sort_values(["city", "year"], kind="stable").reset_index(drop=True)
    return items.astype(dict.fromkeys(categorical, "category"))


def benchmarks_for(assessments: Sequence[Assessment], chosen: str | None) -> BenchmarkSet:
    """The chosen set, else the set the assessments were collected under (when they agree),
    else the configured default. ScoresError for an unknown chosen set."""
    return _benchmarks_for(assessments, chosen)


def _benchmarks_for(assessments: Sequence[Assessment], chosen: str | None) -> BenchmarkSet:
    recorded = {a.benchmark_set for a in assessments}
    set_id = chosen or (recorded.pop() if len(recorded) == 1 else None)
    try:
        return configured_benchmark_set(set_id)
    except KeyError:
        if chosen:
            raise ScoresError(f"unknown benchmark set {chosen!r}") from None
        # The assessments name a set this installation no longer has: use the default.
        return configured_benchmark_set(None)


def score_city_year(
    city_slug: str,
    year: int,
    *,
    method: str | ScoringSpec = "u4ssc",
    source: Source = "live",
    peers: Sequence[str] | None = None,
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score one city's assessment of one year; ScoresError when it does not exist.

    Relative methods score it among its peers (see :func:`score_assessment`).
    ``benchmark_set`` scores against that set instead (for a published assessment: an
    analysis, not the published result; see :func:`result_label`).
    """
    assessment = find_assessment(city_slug, year)
    if source == "published" and assessment.published_at is None:
        raise ScoresError(f"the {year} assessment of {city_slug!r} is not published")
    return score_assessment(
        assessment, source=source, method=method, peers=peers, benchmark_set=benchmark_set
    )


def result_label(source: str, benchmark_set: str | None) -> dict[str, Any]:
    """JSON fields saying whether a score is the published result or an analysis."""
    published = source == "published" and not benchmark_set
    fields: dict[str, Any] = {"published_result": published}
    if benchmark_set:
        fields["analysis"] = (
            f"Analysis against benchmark set {benchmark_set}: not the published result"
        )
    return fields


# --- the peer group of relative methods -------------------------------------------------------


class PeersError(ScoresError):
    """A relative method has no usable peer group: too few assessments, or an unknown peer."""


def score_assessment(
    assessment: Assessment,
    *,
    source: Source,
    method: str | ScoringSpec = "u4ssc",
    peers: Sequence[str] | None = None,
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score one assessment; relative methods (min-max, z-score, percentile rank) among peers.

    The peer group of a relative method is the year's published assessments, or the
    published assessments of that year of the cities named in ``peers`` (slugs); the
    assessment itself is always in it, read from ``source``, the peers from their published
    snapshots. ``result.peers`` names them all. Fewer than two assessments in the group, an
    unknown peer, or ``peers`` with an absolute method raise :class:`PeersError`. With
    ``source="published"`` this is the very score the compare page computes for the group.
    """
    spec = resolve_method(method)
    if not uses_peer_group(spec):
        if peers:
            raise PeersError(
                f"peers apply to relative methods only ({', '.join(relative_presets())}); "
                f"{_method_name(method, spec)} scores a city against its benchmarks alone"
            )
        return score_assessments(
            [assessment], source=source, method=spec, benchmark_set=benchmark_set
        )
    group = peer_assessments(assessment, peers, _method_name(method, spec))
    if source == "published":
        return score_assessments(
            [assessment, *group], source="published", method=spec, benchmark_set=benchmark_set
        )
    request = score_request(
        [assessment], source=source, method=spec, peers=group, benchmark_set=benchmark_set
    )
    return scores_for(request)


def peer_assessments(
    assessment: Assessment, peers: Sequence[str] | None, method_name: str = "this method"
) -> list[Assessment]:
    """The other published assessments of the year (all, or those of the named cities)."""
    year, own = assessment.year, assessment.city.slug
    others = [
        a for a in published_assessments(None, years=[year]) if a.city_id != assessment.city_id
    ]
    if peers is not None:
        wanted = [slug for slug in dict.fromkeys(p.strip() for p in peers) if slug and slug != own]
        by_slug = {a.city.slug: a for a in others}
        missing = [slug for slug in wanted if slug not in by_slug]
        if missing:
            raise PeersError(
                f"no published {year} assessment for peer(s) {', '.join(missing)}; "
                "peers must be published assessments of the same year"
            )
        others = [by_slug[slug] for slug in wanted]
    if not others:
        raise PeersError(
            f"{method_name} ranks a city among its peers, but the peer group of {own!r} in "
            f"{year} has only one assessment (its own); it needs at least two. Name "
            "published peers of that year (--peers / ?peers=slug,slug) or publish more."
        )
    return others


def relative_presets() -> list[str]:
    """Names of the presets whose scores depend on the peer group."""
    return sorted(name for name, spec in PRESETS.items() if uses_peer_group(spec))


def _method_name(method: str | ScoringSpec, spec: ScoringSpec) -> str:
    return method if isinstance(method, str) else (spec.name or "this method")


def find_assessment(city_slug: str, year: int) -> Assessment:
    city = db.session.scalar(select(City).where(City.slug == city_slug))
    if city is None:
        raise ScoresError(f"no city with slug {city_slug!r}")
    assessment = db.session.scalar(
        select(Assessment).where(Assessment.city_id == city.id, Assessment.year == year)
    )
    if assessment is None:
        raise ScoresError(f"{city.name} has no assessment for {year}")
    return assessment


# --- the cache key --------------------------------------------------------------------------


def cache_key(assessments: Sequence[Assessment], source: Source, context: ScoringContext) -> str:
    """A fingerprint of every input of a score (see the module docstring)."""
    parts = {
        "source": source,
        "assessments": data_fingerprint([a.id for a in assessments], source),
        "spec": context.spec.fingerprint(),
        "benchmarks": [
            context.benchmarks.id,
            context.benchmarks.version,
            benchmark_fingerprint(context.benchmarks),
        ],
        "catalogue": context.catalogue.version,
        # Published + chosen set is an analysis: never the same entry as the published score
        # (whose frozen targets are covered by the snapshot ids above).
        "chosen_set": context.chosen_set,
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "scores:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def score_snapshots(
    pairs: Sequence[tuple[Snapshot, Assessment]], *, method: str | ScoringSpec = "u4ssc"
) -> ScoreResult:
    """The published score of these snapshots (no chosen set), computed from them without
    reading the database: what :func:`scores_for` gives for them as the latest snapshots.
    Each assessment needs its ``city`` and ``benchmark_set``."""
    assessments = [assessment for _snapshot, assessment in pairs]
    context = ScoringContext(
        spec=resolve_method(method),
        catalogue=current_catalogue(),
        benchmarks=benchmarks_for(assessments, None),
    )
    given = {assessment.id: snapshot for snapshot, assessment in pairs}
    return _compute_published(assessments, context, snapshots=given)

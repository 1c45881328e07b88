"""What a published score is computed from: each snapshot's frozen context and values.

A snapshot freezes, at publication, the catalogue items and benchmark targets it was scored
against (``content["frozen"]``). :mod:`kpi_app.services.scores` scores published
assessments with what their latest snapshots froze; this module reads that:

* :func:`stored_inputs` without the snapshots' content: ``snapshot.frozen_digest`` names
  the frozen context, read from one snapshot per digest and process, and the values are
  the snapshot's ``published_value`` rows (71 KB of JSON a snapshot not read; issue 20);
* :func:`snapshot_inputs` from the content of snapshots in hand (publication, bulk loads,
  snapshots published before the digest).

Both give the same values frame and, per assessment, the same (frozen-context key, frozen
block); the keys and frames are remembered per process (read only, shared by threads).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import Assessment, Snapshot
from kpi_app.services.score_inputs import (
    latest_digests,
    scoring_digest,
    scoring_part,
    snapshot_values,
    stored_values,
)

log = logging.getLogger(__name__)

BENCHMARK_FRAME = ["code", "data_point", "target", "direction", "source"]

#: Per-assessment frozen context of a published score: (frozen-context key, what scoring
#: reads of the block); assessments without one are scored with the current catalogue.
FrozenInputs = tuple[pd.DataFrame, dict[int, tuple[str, dict[str, Any]]]]
#: What scoring reads of a frozen block, with its key, by ``snapshot.frozen_digest``: read
#: from one snapshot's content per digest and process (a few digests exist at a time).
DIGEST_BLOCKS: dict[str, tuple[str, dict[str, Any]]] = {}
DIGEST_BLOCKS_MAX = 64


def snapshot_inputs(
    assessments: Sequence[Assessment], snapshots: dict[int, Snapshot]
) -> FrozenInputs:
    """Values and frozen contexts from the snapshots' content (given, or read whole)."""
    # The values frame ``values_frame(assessments, "published")`` reads, from the snapshots
    # in hand (stored, or given by publication and bulk loads) instead of a second query.
    values = snapshot_values(snapshots[a.id] for a in assessments if a.id in snapshots)
    frozen: dict[int, tuple[str, dict[str, Any]]] = {}
    keys: dict[int, str] = {}  # per frozen block object (bulk loads share one)
    for assessment in assessments:
        snapshot = snapshots.get(assessment.id)
        block = frozen_block(snapshot)
        if block is None:
            continue
        if id(block) not in keys:
            keys[id(block)] = snapshot_frozen_key(snapshot, block)
        frozen[assessment.id] = (keys[id(block)], block)
    return values, frozen


def stored_inputs(assessments: Sequence[Assessment]) -> FrozenInputs | None:
    """Values and frozen contexts of the latest snapshots without reading their content:
    each snapshot's ``frozen_digest`` names its frozen context (read once per digest and
    process) and its ``published_value`` rows are its values. None when a latest snapshot
    has no digest (published before the column, or unfrozen): then they are read whole."""
    latest = latest_digests([a.id for a in assessments])
    if any(digest is None for _snapshot, digest in latest.values()):
        return None
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for snapshot_id, digest in latest.values():
        assert digest is not None
        if digest in found:
            continue
        entry = DIGEST_BLOCKS.get(digest)
        if entry is None:
            content = db.session.scalar(select(Snapshot.content).where(Snapshot.id == snapshot_id))
            part = scoring_part((content or {}).get("frozen"))
            if part is None or scoring_digest(content) != digest:
                log.warning("snapshot %s: frozen digest does not match its content", snapshot_id)
                return None
            entry = (frozen_key(part), part)
            with FROZEN_LOCK:
                while len(DIGEST_BLOCKS) >= DIGEST_BLOCKS_MAX:
                    DIGEST_BLOCKS.pop(next(iter(DIGEST_BLOCKS)))
                DIGEST_BLOCKS[digest] = entry
        found[digest] = entry
    slugs = {latest[a.id][0]: a.city.slug for a in assessments if a.id in latest}
    frozen = {a.id: found[str(latest[a.id][1])] for a in assessments if a.id in latest}
    return stored_values(slugs), frozen


def frozen_block(snapshot: Snapshot | None) -> dict[str, Any] | None:
    block = (snapshot.content or {}).get("frozen") if snapshot is not None else None
    return block if isinstance(block, dict) else None


#: Frozen-context keys of stored snapshots by (id, content hash). What a snapshot froze
#: never changes (completing an old one changes its hash), so its key is hashed once per
#: process (0.8 ms a snapshot), not on every page that scores it.
SNAPSHOT_KEYS: dict[tuple[int, str], str] = {}
SNAPSHOT_KEYS_MAX = 100_000  # ~10 MB; cleared when full
#: The catalogue and targets frames of a frozen context by key (read only, shared).
FROZEN_FRAMES: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
FROZEN_FRAMES_MAX = 16
FROZEN_LOCK = threading.Lock()


def snapshot_frozen_key(snapshot: Snapshot | None, block: dict[str, Any]) -> str:
    """:func:`frozen_key` of a stored snapshot's block, remembered by its id and hash."""
    if snapshot is None or snapshot.id is None or not snapshot.content_hash:
        return frozen_key(block)
    cache_key = (int(snapshot.id), str(snapshot.content_hash))
    key = SNAPSHOT_KEYS.get(cache_key)
    if key is None:
        key = frozen_key(block)
        with FROZEN_LOCK:
            if len(SNAPSHOT_KEYS) >= SNAPSHOT_KEYS_MAX:
                SNAPSHOT_KEYS.clear()
            SNAPSHOT_KEYS[cache_key] = key
    return key


def frozen_frames(key: str, block: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frozen catalogue items and benchmark entries of ``block`` as frames (built once
    per frozen context and process; callers only read them)."""
    frames = FROZEN_FRAMES.get(key)
    if frames is None:
        frames = (
            pd.DataFrame(block["catalogue"]["items"]),
            pd.DataFrame(block["benchmarks"]["entries"], columns=BENCHMARK_FRAME),
        )
        with FROZEN_LOCK:
            while len(FROZEN_FRAMES) >= FROZEN_FRAMES_MAX:
                FROZEN_FRAMES.pop(next(iter(FROZEN_FRAMES)))
            FROZEN_FRAMES[key] = frames
    return frames


def frozen_key(block: dict[str, Any]) -> str:
    text = json.dumps(
        [block["catalogue"]["items"], block["benchmarks"]["entries"]], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

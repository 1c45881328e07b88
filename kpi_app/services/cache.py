"""A tiny result cache: Redis when ``REDIS_URL`` is configured, an in-process LRU otherwise.

Callers never invalidate entries. They build keys from a fingerprint of everything the
cached value depends on (see :mod:`kpi_app.services.scores`), so a changed input simply asks
for a different key and stale entries age out (LRU eviction or the Redis TTL). That is what
makes one Redis shared by several app instances safe without any invalidation message.

Values are stored pickled in both backends: a caller that modifies what it got back can
never corrupt the cached copy, and the two backends behave the same.

Two kinds of entries share the store: score results (keyed in :mod:`kpi_app.services.scores`)
and whole dashboard pages (keyed with :func:`page_key` in :mod:`kpi_app.web.dashboards.pages`).

A missing entry is computed once, not once per worker: the first request claims the key (a
Redis ``SET NX`` with an expiry, shared by every instance; a set of keys in process), and the
others asking for it meanwhile wait for its result instead of computing it too (a cold ``/sdg``
at 1,000 cities costs seconds; three workers computing it at once tripled that). A waiter that
sees the claim gone without a result (the holder failed) or waits longer than
:data:`WAIT_SECONDS` computes it itself, so a stuck holder delays, never blocks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from flask import Flask, current_app

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 24 * 3600  # keys change with their inputs; the TTL only bounds memory
DEFAULT_LRU_SIZE = 512  # score results and rendered pages (~20-200 KB each) share it
KEY_PREFIX = "kpi:"
EXTENSION_KEY = "kpi_cache"
CLAIM_SECONDS = 120  # a claim outlives the slowest computation, and expires if its holder dies
WAIT_SECONDS = 60.0  # then a waiter computes the value itself


class CacheBackend(Protocol):
    """What a backend offers: bytes in, bytes out, by string key."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: int) -> None: ...

    def clear(self) -> None: ...

    def claim(self, key: str, seconds: int) -> bool:
        """Mark `key` as being computed; False when someone else holds the claim."""
        ...

    def release(self, key: str) -> None: ...


class LRUBackend:
    """A bounded, thread-safe in-process store (one per app instance)."""

    def __init__(self, max_entries: int = DEFAULT_LRU_SIZE) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._claims: set[str] = set()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: int) -> None:
        # The TTL is irrelevant here: fingerprinted keys never go stale, eviction bounds size.
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def claim(self, key: str, seconds: int) -> bool:
        with self._lock:
            if key in self._claims:
                return False
            self._claims.add(key)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._claims.discard(key)


class RedisBackend:
    """Redis via redis-py; every key is prefixed so a shared database is not polluted."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> bytes | None:
        value = self._client.get(KEY_PREFIX + key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self._client.set(KEY_PREFIX + key, value, ex=ttl)

    def clear(self) -> None:
        keys = list(self._client.scan_iter(match=KEY_PREFIX + "*", count=500))
        if keys:
            self._client.delete(*keys)

    def claim(self, key: str, seconds: int) -> bool:
        return bool(self._client.set(KEY_PREFIX + "claim:" + key, b"1", nx=True, ex=seconds))

    def release(self, key: str) -> None:
        self._client.delete(KEY_PREFIX + "claim:" + key)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    waits: int = 0  # misses answered by another request's computation


class ResultCache:
    """Get-or-compute over a backend. A broken backend degrades to computing, never to a 500."""

    def __init__(self, backend: CacheBackend, ttl: int = DEFAULT_TTL_SECONDS) -> None:
        self.backend = backend
        self.ttl = ttl
        self.stats = CacheStats()

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        cached = self._load(key)
        if cached is not None:
            self.stats.hits += 1
            return cached
        self.stats.misses += 1
        claimed = self._claim(key)
        if not claimed:
            cached, claimed = self._wait_for(key)
            if cached is not None:
                self.stats.waits += 1
                return cached
        try:
            value = compute()
            self._store(key, value)
        finally:
            if claimed:
                self._release(key)
        return value

    def _wait_for(self, key: str) -> tuple[Any | None, bool]:
        """Another request computes `key`: its result, or (None, claimed) when this one must
        compute it after all (the claim was freed without a result, or the wait ran out)."""
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.01
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
            cached = self._load(key)
            if cached is not None:
                return cached, False
            if self._claim(key):
                return None, True
        return None, False

    def _claim(self, key: str) -> bool:
        try:
            return self.backend.claim(key, CLAIM_SECONDS)
        except Exception as error:  # no claim without the backend: compute, don't wait
            self.stats.errors += 1
            log.warning("cache claim failed (%s); computing without it", error)
            return True

    def _release(self, key: str) -> None:
        try:
            self.backend.release(key)
        except Exception as error:  # the claim expires by itself
            self.stats.errors += 1
            log.warning("cache release failed (%s)", error)

    def clear(self) -> None:
        self.backend.clear()

    def _load(self, key: str) -> Any | None:
        try:
            raw = self.backend.get(key)
        except Exception as error:  # a cache outage must not take the dashboards down
            self.stats.errors += 1
            log.warning("cache read failed (%s); computing instead", error)
            return None
        # Only this module writes these keys, with pickle, so unpickling them is trusted.
        return None if raw is None else pickle.loads(raw)

    def _store(self, key: str, value: Any) -> None:
        try:
            self.backend.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), self.ttl)
        except Exception as error:
            self.stats.errors += 1
            log.warning("cache write failed (%s); result not cached", error)


def build_cache(app: Flask) -> ResultCache:
    """The cache an app's configuration asks for."""
    ttl = int(app.config.get("SCORE_CACHE_TTL", DEFAULT_TTL_SECONDS))
    url = app.config.get("REDIS_URL")
    if url:
        return ResultCache(RedisBackend(str(url)), ttl)
    size = int(app.config.get("SCORE_CACHE_SIZE", DEFAULT_LRU_SIZE))
    return ResultCache(LRUBackend(size), ttl)


def get_cache() -> ResultCache:
    """The current app's cache, created on first use and kept in ``app.extensions``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        cache = build_cache(app)
        app.extensions[EXTENSION_KEY] = cache
    return cache


# --- keys ---------------------------------------------------------------------------------


def page_key(kind: str, parts: Mapping[str, Any]) -> str:
    """A cache key for one kind of page: a hash of every part it depends on (JSON-able)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"page:{kind}:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


_file_hashes: dict[tuple[str, int, int], str] = {}
_file_hashes_lock = threading.Lock()


def files_digest(folders: Iterable[Path]) -> str:
    """A digest of the content of every file under ``folders`` (sorted, recursive).

    Content hashes are memoised by (path, modification time, size), so a request only pays
    a ``stat`` per file; a file changed on disk is hashed again. The digest is the same on
    every host that has the same files, so app instances sharing Redis share page entries.
    """
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file():
                digest.update(str(path.relative_to(folder.parent)).encode("utf-8"))
                digest.update(_content_hash(path).encode("ascii"))
    return digest.hexdigest()[:16]


def _content_hash(path: Path) -> str:
    stat = os.stat(path)
    memo_key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _file_hashes_lock:
        known = _file_hashes.get(memo_key)
    if known is None:
        known = hashlib.sha256(path.read_bytes()).hexdigest()
        with _file_hashes_lock:
            _file_hashes[memo_key] = known
    return known

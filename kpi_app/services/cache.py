"""A tiny result cache: Redis when ``REDIS_URL`` is configured, an in-process LRU otherwise.

Callers never invalidate entries. They build keys from a fingerprint of everything the
cached value depends on (see :mod:`kpi_app.services.scores`), so a changed input simply asks
for a different key and stale entries age out (LRU eviction or the Redis TTL). That is what
makes one Redis shared by several app instances safe without any invalidation message.

Values are stored pickled in both backends: a caller that modifies what it got back can
never corrupt the cached copy, and the two backends behave the same.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from flask import Flask, current_app

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 24 * 3600  # keys change with their inputs; the TTL only bounds memory
DEFAULT_LRU_SIZE = 256
KEY_PREFIX = "kpi:"
EXTENSION_KEY = "kpi_cache"


class CacheBackend(Protocol):
    """What a backend offers: bytes in, bytes out, by string key."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: int) -> None: ...

    def clear(self) -> None: ...


class LRUBackend:
    """A bounded, thread-safe in-process store (one per app instance)."""

    def __init__(self, max_entries: int = DEFAULT_LRU_SIZE) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

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


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0


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
        value = compute()
        self._store(key, value)
        return value

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

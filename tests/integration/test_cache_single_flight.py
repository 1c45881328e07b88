"""A missing cache entry is computed once, however many requests (workers, instances) ask.

Two threads stand for two gunicorn workers; each Redis case gives them their own client, as
two instances have. The computation counts its calls and holds for a while, so the second
request arrives while the first computes.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from kpi_app.services import cache as cache_module
from kpi_app.services.cache import LRUBackend, RedisBackend, ResultCache

REDIS_URL = "redis://127.0.0.1:6379/14"  # this test's own database (12, 13, 15: other tests)


def _redis_backend() -> RedisBackend:
    redis = pytest.importorskip("redis")
    backend = RedisBackend(REDIS_URL)
    try:
        backend.clear()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return backend


class Slow:
    """A computation that takes `seconds`, counts its calls and may fail on the first."""

    def __init__(self, seconds: float = 0.4, fail_first: bool = False) -> None:
        self.seconds = seconds
        self.fail_first = fail_first
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.seconds)
        if self.fail_first and call == 1:
            raise RuntimeError("the first computation fails")
        return {"page": "body", "call": call}


def _ask_together(caches: list[ResultCache], compute: Slow) -> list[Any]:
    results: list[Any] = [None] * len(caches)

    def ask(index: int) -> None:
        try:
            results[index] = caches[index].get_or_compute("sdg-page", compute)
        except RuntimeError as error:
            results[index] = error

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(caches))]
    for number, thread in enumerate(threads):
        thread.start()
        if number == 0:
            time.sleep(0.05)  # the first one claims the key
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("kind", ["in-process", "redis"])
def test_concurrent_misses_compute_once(kind: str) -> None:
    if kind == "redis":
        _redis_backend()
        caches = [ResultCache(RedisBackend(REDIS_URL)) for _ in range(3)]
    else:
        shared = ResultCache(LRUBackend(8))
        caches = [shared, shared, shared]
    compute = Slow()
    results = _ask_together(caches, compute)
    assert compute.calls == 1
    assert results == [{"page": "body", "call": 1}] * 3
    assert sum(cache.stats.waits for cache in set(caches)) == 2


@pytest.mark.parametrize("kind", ["in-process", "redis"])
def test_a_failed_holder_lets_a_waiter_compute(kind: str) -> None:
    if kind == "redis":
        _redis_backend()
        caches = [ResultCache(RedisBackend(REDIS_URL)) for _ in range(2)]
    else:
        shared = ResultCache(LRUBackend(8))
        caches = [shared, shared]
    compute = Slow(fail_first=True)
    first, second = _ask_together(caches, compute)
    assert isinstance(first, RuntimeError)
    assert second == {"page": "body", "call": 2}
    assert compute.calls == 2
    # The claim was released: the next miss is not kept waiting.
    assert caches[0].backend.claim("sdg-page", 5) is True


def test_a_stuck_holder_delays_but_never_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "WAIT_SECONDS", 0.3)
    cache = ResultCache(LRUBackend(8))
    assert cache.backend.claim("sdg-page", 60)  # held by a worker that never answers
    compute = Slow(seconds=0.0)
    started = time.monotonic()
    assert cache.get_or_compute("sdg-page", compute) == {"page": "body", "call": 1}
    assert 0.3 <= time.monotonic() - started < 5


def test_a_backend_that_cannot_claim_computes_without_waiting() -> None:
    class Broken(LRUBackend):
        def claim(self, key: str, seconds: int) -> bool:
            raise ConnectionError("redis is down")

        def release(self, key: str) -> None:
            raise ConnectionError("redis is down")

    cache = ResultCache(Broken(8))
    compute = Slow(seconds=0.0)
    started = time.monotonic()
    assert cache.get_or_compute("k", compute)["call"] == 1
    assert time.monotonic() - started < 1 and cache.stats.errors == 2

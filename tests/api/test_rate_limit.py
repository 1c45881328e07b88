"""Rate limits on /api/v1 answer 429 in the API's JSON error shape (limits on for this app)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask


def test_api_rate_limit_gives_json_429(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(RATELIMIT_ENABLED=True, KPI_API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.get("/api/v1/indicators?page_size=1").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    # The limit is shared by the whole API, not per endpoint.
    limited = client.get("/api/v1/benchmark-sets")
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert "3 per 1 minute" in error["message"]
    assert int(limited.headers["Retry-After"]) > 0
    # Pages outside the API are not counted against the API's budget.
    assert client.get("/").status_code == 200

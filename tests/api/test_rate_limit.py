"""Rate limits on /api/v1 answer 429 in the API's JSON error shape (limits on for this app)."""

from __future__ import annotations

from flask import Flask

from kpi_app.extensions import db
from tests.conftest import build_app


def test_api_rate_limit_gives_json_429(database_url: str) -> None:
    app: Flask = build_app(database_url, RATELIMIT_ENABLED=True, KPI_API_RATE_LIMIT="3 per minute")
    with app.app_context():
        db.create_all()
        try:
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
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()

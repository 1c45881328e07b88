"""`/healthz`: is the app up and can it reach its database (and Redis when configured)?"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from kpi_app.extensions import limiter
from kpi_app.services.health import database_status, redis_status

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    started = time.perf_counter()
    checks = {"database": database_status()}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = redis_status(redis_url)
    status = 200 if all(check == "ok" for check in checks.values()) else 503
    body = {
        "status": "ok" if status == 200 else "unavailable",
        "checks": checks,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return jsonify(body), status

"""`/healthz`: is the app up and can it reach its database (and Redis when configured)?"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from werkzeug.wrappers import Response

from kpi_app.extensions import db, limiter

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    status = 200
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not healthy", reported, never raised
        db.session.rollback()
        checks["database"] = f"error: {type(error).__name__}"
        status = 503
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=1).ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {type(error).__name__}"
            status = 503
    body = {
        "status": "ok" if status == 200 else "unavailable",
        "checks": checks,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return jsonify(body), status

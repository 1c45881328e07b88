"""Health checks for `/healthz`: can the app reach its database (and Redis when configured)?"""

from __future__ import annotations

from sqlalchemy import text

from kpi_app.extensions import db


def database_status() -> str:
    """`"ok"`, or `"error: <ExceptionName>"` when the database does not answer `SELECT 1`."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not healthy", reported, never raised
        db.session.rollback()
        return f"error: {type(error).__name__}"
    return "ok"


def redis_status(redis_url: str) -> str:
    """`"ok"`, or `"error: <ExceptionName>"` when Redis at `redis_url` does not answer a PING."""
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_timeout=1).ping()
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"

"""Operations: health check, security headers, request ids, database outages, config safety."""

from __future__ import annotations

import pytest

from kpi_app import create_app
from kpi_app.config import ProductionConfig
from tests.conftest import build_app


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["checks"]["database"] == "ok"


def test_security_headers_and_request_id(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    script_policy = csp.split("script-src")[1].split(";")[0]
    assert "'self'" in script_policy and "unsafe-inline" not in script_policy
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-ID"]) == 16
    echoed = client.get("/", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    forged = client.get("/", headers={"X-Request-ID": "<script>"})
    assert forged.headers["X-Request-ID"] != "<script>"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_session_cookie_is_httponly_and_samesite(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unreachable_database_gives_a_clean_503():
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    app = build_app("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503
    assert "temporarily unavailable" in page.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["checks"]["database"].startswith("error")


def test_production_refuses_a_default_secret(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "dev-only-not-secret")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 40)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="debug"):
        create_app(ProductionConfig)

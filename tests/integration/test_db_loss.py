"""The database connection dying in the middle of a save: a clean 503 and no partial write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from kpi_app.extensions import db
from kpi_app.models import Role
from kpi_app.services import audit
from tests.factories import login

ICT = "/assessments/{id}/categories/ec-ict-ict"
SHARE = "item_ec_ict_ict_1c-"


def test_connection_killed_mid_save_gives_503_and_writes_nothing(
    app, backend, database_url, client, make_city, make_user, make_assessment, monkeypatch
):
    if backend != "postgresql":
        pytest.skip("kills the server-side connection: PostgreSQL")
    city = make_city("severed")
    editor = make_user(Role.CITY_EDITOR, city=city)
    assessment = make_assessment(city, 2024)
    assessment_id = assessment.id
    login(client, editor.email)

    real_record = audit.record
    calls: list[str] = []

    def record_then_lose_the_database(*args: Any, **kwargs: Any) -> Any:
        event = real_record(*args, **kwargs)
        if not calls:
            calls.append("killed")
            db.session.flush()  # the value rows are written inside the open transaction...
            # ...then the server ends this connection, as a crash or failover would.
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return event

    monkeypatch.setattr(audit, "record", record_then_lose_the_database)
    response = client.post(
        ICT.format(id=assessment_id),
        data={
            SHARE + "numerator": "500",
            SHARE + "denominator": "1000",
            SHARE + "version": "0",
            SHARE + "source": "Census",
        },
    )
    assert calls == ["killed"]
    assert response.status_code == 503
    assert "temporarily unavailable" in response.get_data(as_text=True)

    engine = create_engine(database_url)
    with engine.connect() as connection:
        values = connection.execute(
            text("SELECT count(*) FROM indicator_value WHERE assessment_id = :a"),
            {"a": assessment_id},
        ).scalar()
        saves = connection.execute(
            text("SELECT count(*) FROM audit_event WHERE entity_type = 'indicator_value'")
        ).scalar()
    engine.dispose()
    assert values == 0
    assert saves == 0
    monkeypatch.undo()
    # The app recovers on the next request with a fresh connection.
    assert client.get("/healthz").status_code == 200

"""The migrations build the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from kpi_app.extensions import db


def test_upgrade_on_an_empty_database_matches_the_models(app):
    db.drop_all()
    # A test that ran `init-db` on this process's PostgreSQL database (tests/integration/
    # test_published_*.py) left its stamp: without it, the upgrade starts from nothing.
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"assessment", "indicator_value", "audit_event", "user_account"} <= tables
    # leave the schema as the fixture expects to tear it down
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")

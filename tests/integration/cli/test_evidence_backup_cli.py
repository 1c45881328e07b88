"""Evidence files survive `kpi-app backup` -> `kpi-app restore` (issue 15), as an operator runs
them: the console script in a subprocess, migrated databases, a new upload folder."""

from __future__ import annotations

import hashlib
import zipfile

from sqlalchemy import create_engine, select

from kpi_app.extensions import db
from kpi_app.models import Evidence, Role
from kpi_app.services import cities, evidence, users, workflow
from tests.conftest import build_app
from tests.factories import add_value
from tests.integration.cli.process import ok, run_kpi_app

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def test_backup_and_restore_carry_the_evidence_file_bytes(new_database, tmp_path):
    source, source_uploads = new_database("evsource"), tmp_path / "uploads"
    ok(run_kpi_app(source, "init-db"))  # the migrations, this one's included, build the schema
    app = build_app(source, KPI_UPLOAD_DIR=str(source_uploads))
    with app.app_context():
        city = cities.create_city("nordvik", "Nordvik", "NO", population=50_000)
        editor, _ = users.create_user("editor@example.org", Role.CITY_EDITOR, city_slug="nordvik")
        coordinator, _ = users.create_user("coord@example.org", Role.COORDINATOR)
        assessment = workflow.open_assessment(city, 2024, coordinator)
        value = add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=editor)
        db.session.commit()
        evidence.attach(value, editor, "survey.pdf", PDF)
        removed = evidence.attach(value, editor, "photo.png", PNG)
        evidence.remove(removed, editor)  # removed, yet its file is kept and backed up
        db.session.remove()
        db.engine.dispose()

    archive = tmp_path / "kpi.zip"
    ok(
        run_kpi_app(
            source,
            "backup",
            "--output",
            str(archive),
            extra_env={"KPI_UPLOAD_DIR": str(source_uploads)},
        )
    )
    with zipfile.ZipFile(archive) as zipped:
        for data in (PDF, PNG):
            assert zipped.read(f"evidence/{hashlib.sha256(data).hexdigest()}") == data

    target, target_uploads = new_database("evtarget"), tmp_path / "restored-uploads"
    ok(
        run_kpi_app(
            target, "restore", str(archive), extra_env={"KPI_UPLOAD_DIR": str(target_uploads)}
        )
    )
    for data in (PDF, PNG):
        digest = hashlib.sha256(data).hexdigest()
        assert (target_uploads / digest[:2] / digest).read_bytes() == data
    engine = create_engine(target)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Evidence.filename, Evidence.sha256, Evidence.deleted_at).order_by(
                    Evidence.id
                )
            ).all()
    finally:
        engine.dispose()
    assert [(name, deleted is not None) for name, _, deleted in rows] == [
        ("survey.pdf", False),
        ("photo.png", True),
    ]

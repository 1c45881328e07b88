"""Evidence files per value (issue 15): upload, download, who may see them, hostile files,
audit, removal that loses nothing, and backup -> restore with the file bytes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Evidence, Role
from kpi_app.services import workflow
from tests.factories import add_value, login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


@pytest.fixture
def uploads(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["KPI_UPLOAD_DIR"] = str(folder)
    return folder


@pytest.fixture
def world(app, uploads, make_city, make_user):
    city, other = make_city("alpha"), make_city("beta")
    editor = make_user(Role.CITY_EDITOR, city)
    other_editor = make_user(Role.CITY_EDITOR, other)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    assessment = workflow.open_assessment(city, 2024, coordinator)
    value = add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=editor)
    workflow.assign_verifier(assessment, verifier, coordinator)
    db.session.commit()
    return {
        "editor": editor,
        "other_editor": other_editor,
        "verifier": verifier,
        "assessment": assessment,
        "value": value,
    }


def _upload(client, value_id, name, data, content_type="application/pdf"):
    return client.post(
        f"/assessments/values/{value_id}/evidence",
        data={"file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
    )


def _download(client, evidence_id):
    """GET a download and close it (the response streams the stored file)."""
    response = client.get(f"/assessments/evidence/{evidence_id}/download")
    response.get_data()
    response.close()
    return response


def _xlsx() -> bytes:
    book = Workbook()
    book.active["A1"] = "households with broadband"
    book.active["B1"] = 74
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_editor_uploads_and_downloads_evidence_stored_by_sha256_outside_static(
    app, client, world, uploads
):
    value = world["value"]
    login(client, world["editor"].email)
    page = client.get(f"/assessments/values/{value.id}/evidence")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.data

    response = _upload(client, value.id, "Survey 2024.pdf", PDF, "text/html")
    assert response.status_code == 302
    row = db.session.scalars(select(Evidence)).one()
    digest = hashlib.sha256(PDF).hexdigest()
    # The type comes from the bytes, not from the browser's Content-Type.
    assert (row.filename, row.media_type, row.size, row.sha256) == (
        "Survey 2024.pdf",
        "application/pdf",
        len(PDF),
        digest,
    )
    assert row.uploaded_by_id == world["editor"].id and row.uploaded_at is not None
    stored = uploads / digest[:2] / digest
    assert stored.read_bytes() == PDF
    static = Path(app.static_folder or "").resolve()
    assert static not in stored.resolve().parents

    download = _download(client, row.id)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "Survey 2024.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"

    # Listed on the data-entry form of the value's category, with its link.
    form = client.get(f"/assessments/{world['assessment'].id}/categories/ec-ict-ict")
    assert f"/assessments/evidence/{row.id}/download".encode() in form.data

    added = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_added"))
    event = added.one()
    assert event.actor_id == world["editor"].id and event.new["sha256"] == digest


def test_xlsx_csv_png_jpeg_are_accepted(client, world):
    login(client, world["editor"].email)
    files = {
        "table.xlsx": _xlsx(),
        "table.csv": "kommune;verdi\nBærum;74\n".encode(),
        "photo.png": PNG,
        "scan.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20,
    }
    for name, data in files.items():
        assert _upload(client, world["value"].id, name, data).status_code == 302, name
    types = {e.filename: e.media_type for e in db.session.scalars(select(Evidence))}
    assert types == {
        "table.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "table.csv": "text/csv",
        "photo.png": "image/png",
        "scan.jpg": "image/jpeg",
    }


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", b"Web pages"),
        ("chart.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', b"SVG"),
        ("chart.png", b'<?xml version="1.0"?><svg onload="x()"/>', b"SVG"),
        ("empty.pdf", b"", b"empty"),
        ("tool.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(range(256)), b"is not a PDF"),
        ("photo.pdf", PNG, b"rename it"),
        ("archive.xlsx", b"PK\x03\x04" + b"\x00" * 40, b"not an Excel workbook"),
    ],
)
def test_hostile_or_wrong_files_are_refused_with_a_message(client, world, name, data, message):
    login(client, world["editor"].email)
    response = _upload(client, world["value"].id, name, data)
    assert response.status_code == 400
    assert message in response.data
    assert db.session.scalars(select(Evidence)).first() is None


def test_a_file_over_the_limit_is_refused(app, client, world):
    app.config["KPI_EVIDENCE_MAX_BYTES"] = 1000
    login(client, world["editor"].email)
    too_big = PDF + b"0" * (1001 - len(PDF))
    response = _upload(client, world["value"].id, "big.pdf", too_big)
    assert response.status_code == 400 and b"larger than the limit" in response.data
    exact = PDF + b"0" * (1000 - len(PDF))
    assert _upload(client, world["value"].id, "ok.pdf", exact).status_code == 302
    assert [e.size for e in db.session.scalars(select(Evidence))] == [1000]


def test_default_limit_is_ten_megabytes_and_the_route_accepts_it(app, client, world):
    assert app.config["KPI_EVIDENCE_MAX_BYTES"] == 10 * 1024 * 1024
    login(client, world["editor"].email)
    eight_mb = PDF + b"0" * (8 * 1024 * 1024)  # above the 5 MB limit of the other uploads
    # The body encoded here, in memory (the test client would spool it to an unclosed file).
    boundary = "kpi-evidence-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + eight_mb
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/assessments/values/{world['value'].id}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Evidence)).one().size == len(eight_mb)


def test_verifier_sees_evidence_other_city_editor_does_not(client, world):
    value = world["value"]
    login(client, world["editor"].email)
    _upload(client, value.id, "survey.pdf", PDF)
    row = db.session.scalars(select(Evidence)).one()
    client.post("/auth/logout")

    login(client, world["verifier"].email)
    assert row.filename.encode() in client.get(f"/verification/values/{value.id}").data
    review = client.get(f"/verification/assessments/{world['assessment'].id}")
    assert f"/assessments/evidence/{row.id}/download".encode() in review.data
    assert _download(client, row.id).data == PDF
    # A verifier reads but does not change the city's evidence.
    assert _upload(client, value.id, "mine.pdf", PDF).status_code == 403
    client.post("/auth/logout")

    login(client, world["other_editor"].email)
    assert _download(client, row.id).status_code == 404
    assert client.get(f"/assessments/values/{value.id}/evidence").status_code == 404
    assert _upload(client, value.id, "x.pdf", PDF).status_code == 404
    assert client.post(f"/assessments/evidence/{row.id}/remove").status_code == 404
    client.post("/auth/logout")
    anonymous = _download(client, row.id)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_removal_marks_the_row_keeps_the_file_and_is_audited(client, world, uploads):
    login(client, world["editor"].email)
    _upload(client, world["value"].id, "survey.pdf", PDF)
    row = db.session.scalars(select(Evidence)).one()
    assert client.post(f"/assessments/evidence/{row.id}/remove").status_code == 302
    db.session.refresh(row)
    assert row.deleted_at is not None and row.deleted_by_id == world["editor"].id
    digest = hashlib.sha256(PDF).hexdigest()
    assert (uploads / digest[:2] / digest).read_bytes() == PDF
    page = client.get(f"/assessments/values/{world['value'].id}/evidence")
    assert f"/assessments/evidence/{row.id}/download".encode() not in page.data
    assert _download(client, row.id).status_code == 404
    removed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_removed"))
    assert removed.one().old["filename"] == "survey.pdf"


def test_backup_refuses_when_an_evidence_file_is_missing(app, client, world, uploads, runner):
    login(client, world["editor"].email)
    _upload(client, world["value"].id, "survey.pdf", PDF)
    digest = hashlib.sha256(PDF).hexdigest()
    (uploads / digest[:2] / digest).unlink()
    result = runner.invoke(args=["backup", "--output", str(uploads.parent / "b.zip")])
    assert result.exit_code == 1 and "evidence file" in result.output

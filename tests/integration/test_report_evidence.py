"""The verification report lists each value's evidence files (issue 15): name, type, size,
SHA-256, uploaded by and at; as of publication for the published report; hidden from readers
who may not see the assessment's unpublished data. The PDF is generated and read back."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from kpi_app.extensions import db
from kpi_app.models import Role
from kpi_app.services import evidence, report_evidence, workflow
from tests.factories import add_value, login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
CSV = b"year;households with broadband\n2024;74\n"


@pytest.fixture
def world(app, tmp_path, make_city, make_user):
    app.config["KPI_UPLOAD_DIR"] = str(tmp_path / "uploads")
    city = make_city("alpha", name="Alpha")
    editor = make_user(Role.CITY_EDITOR, city, name="Ada Editor")
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    assessment = workflow.open_assessment(city, 2024, coordinator)
    first = add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=editor)
    second = add_value(assessment, "EC: ICT: ICT: 2C", 35.0, actor=editor)
    for value in (first, second):
        value.source, value.quality = "National survey", 2
    db.session.commit()
    evidence.attach(first, editor, "survey.pdf", PDF)
    evidence.attach(first, editor, "table.csv", CSV)
    removed = evidence.attach(second, editor, "draft.csv", b"a;b\n1;2\n")
    evidence.remove(removed, editor)
    workflow.assign_verifier(assessment, verifier, coordinator)
    return assessment, editor, verifier, coordinator, first


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _report(client, source: str = "live") -> str:
    response = client.get(f"/cities/alpha/2024/download/verification-report.pdf?source={source}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return _text(response.data)


def test_listing_per_value_with_every_field(world, app):
    assessment, _editor, _verifier, coordinator, first = world
    with app.test_request_context("/"):
        found = report_evidence.listing(assessment, coordinator, "live")
    assert found.visible and found.file_count == 2  # the removed file is not listed
    (value,) = found.values
    assert (value.code, value.data_point) == (first.code, first.data_point)
    survey, table = value.files
    assert (survey.filename, survey.media_type, survey.size, survey.sha256) == (
        "survey.pdf",
        "application/pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
    )
    assert table.media_type == "text/csv" and survey.uploaded_by == "Ada Editor"
    assert survey.uploaded_at.tzinfo is not None


def test_the_pdf_lists_the_files_for_the_coordinator(client, world):
    *_, coordinator, _first = world
    login(client, coordinator.email)
    text = _report(client)
    flat = re.sub(r"\s+", "", text)
    assert "Evidence files" in text
    assert "survey.pdf" in text and "table.csv" in text and "draft.csv" not in text
    assert "application/pdf" in flat and "text/csv" in flat and "Ada Editor" in text
    assert hashlib.sha256(PDF).hexdigest() in flat
    assert hashlib.sha256(CSV).hexdigest() in flat
    assert "2 files attached to the values now" in text


def test_published_report_lists_the_files_held_at_publication(client, world):
    assessment, editor, verifier, coordinator, first = world
    workflow.transition(assessment, "submit", editor)
    workflow.transition(assessment, "start_review", verifier)
    for value in assessment.values:
        workflow.set_value_verification(
            value,
            verifier,
            verified=True,
            code="source_checked",
            note=None,
            expected_version=value.version,
        )
    workflow.transition(assessment, "verify", verifier)
    workflow.transition(assessment, "publish", coordinator)
    workflow.transition(assessment, "reopen", coordinator, reason="one more table", target="draft")
    evidence.attach(first, editor, "later.pdf", PDF + b"%later\n")

    login(client, coordinator.email)
    published = _report(client, "published")
    assert "survey.pdf" in published and "later.pdf" not in published
    assert "when the assessment was published" in published
    assert "later.pdf" in _report(client, "live")
    client.post("/auth/logout")

    # The public reads the published report without the files (and is told so)
    public = _report(client, "published")
    assert "survey.pdf" not in public and "Ada Editor" not in public
    assert "Evidence files are listed for the city, its verifiers and the coordinators." in public

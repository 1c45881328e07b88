"""A query reply can attach a file (issue 15): checked like an evidence upload, stored as
evidence of the queried value and linked to the reply, downloadable only by those who may see
the value; a hostile file is refused with a clear message and nothing is lost."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Evidence, QueryMessage, QueryStatus, Role, Status
from kpi_app.services import evidence, review_threads, workflow
from tests.factories import add_value, login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def world(app, tmp_path, make_city, make_user):
    app.config["KPI_UPLOAD_DIR"] = str(tmp_path / "uploads")
    city, other = make_city("alpha"), make_city("beta")
    editor = make_user(Role.CITY_EDITOR, city)
    other_editor = make_user(Role.CITY_EDITOR, other)
    verifier = make_user(Role.VERIFIER)
    outsider = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    assessment = workflow.open_assessment(city, 2024, coordinator)
    value = add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=editor)
    value.source, value.quality = "Survey", 2
    db.session.commit()
    workflow.assign_verifier(assessment, verifier, coordinator)
    workflow.transition(assessment, "submit", editor)
    workflow.transition(assessment, "start_review", verifier)
    query = review_threads.open_query(value, verifier, "Please attach the census table.")
    return {
        "editor": editor,
        "other_editor": other_editor,
        "verifier": verifier,
        "outsider": outsider,
        "assessment": assessment,
        "value": value,
        "query": query,
        "tmp": tmp_path,
    }


def _reply(client, query, body, name=None, data=None):
    fields = {f"q{query.id}-body": body, "next": "city"}
    if name is not None:
        fields[f"q{query.id}-file"] = (io.BytesIO(data or b""), name, "application/octet-stream")
    return client.post(
        f"/verification/queries/{query.id}/reply", data=fields, content_type="multipart/form-data"
    )


def test_city_answers_with_the_census_table_during_review(client, world):
    query, value = world["query"], world["value"]
    login(client, world["editor"].email)
    page = client.get(f"/verification/assessments/{world['assessment'].id}/queries")
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and f'name="q{query.id}-file"' in html

    response = _reply(client, query, "Here is table 4 of the census.", "census.pdf", PDF)
    assert response.status_code == 302
    item = db.session.scalars(select(Evidence)).one()
    message = db.session.scalars(
        select(QueryMessage).where(QueryMessage.query_id == query.id).order_by(QueryMessage.id)
    ).all()[-1]
    # Evidence of the value, linked to the reply, stored by its SHA-256
    assert (item.value_id, item.query_message_id, item.filename) == (
        value.id,
        message.id,
        "census.pdf",
    )
    assert item.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.read_bytes(item.sha256) == PDF
    assert [e.id for e in evidence.for_value(value)] == [item.id]
    db.session.refresh(query)
    assert query.status is QueryStatus.ANSWERED
    added = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence_added"))
    assert added.one().new["query_message_id"] == message.id
    reply_event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reply_query")
    ).one()
    assert reply_event.new["evidence_id"] == item.id
    # shown in the thread with its download link
    thread = client.get(f"/verification/assessments/{world['assessment'].id}/queries")
    assert f"/assessments/evidence/{item.id}/download" in thread.get_data(as_text=True)
    client.post("/auth/logout")

    # The verifier sees it on the value page and downloads it
    login(client, world["verifier"].email)
    page = client.get(f"/verification/values/{value.id}").get_data(as_text=True)
    assert "census.pdf" in page and f"/assessments/evidence/{item.id}/download" in page
    assert f'name="q{query.id}-file"' not in page  # verifiers do not attach files
    download = client.get(f"/assessments/evidence/{item.id}/download")
    assert download.status_code == 200 and download.data == PDF
    download.close()
    client.post("/auth/logout")

    # Nobody else may fetch it
    for outsider in (world["other_editor"], world["outsider"]):
        login(client, outsider.email)
        response = client.get(f"/assessments/evidence/{item.id}/download")
        assert response.status_code == 404
        response.close()
        client.post("/auth/logout")


def test_a_file_alone_is_a_reply(client, world):
    login(client, world["editor"].email)
    assert (
        _reply(client, world["query"], "", "table.csv", b"year;value\n2024;74\n").status_code == 302
    )
    message = db.session.scalars(select(QueryMessage).order_by(QueryMessage.id.desc())).first()
    assert message is not None and message.body == ""
    assert db.session.scalars(select(Evidence)).one().media_type == "text/csv"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("census.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "Web pages"),
        ("chart.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "SVG"),
        ("census.png", PDF, "rename it"),
        ("empty.pdf", b"", "The file is empty."),
    ],
)
def test_hostile_files_are_refused_and_the_reply_is_kept(client, world, name, data, message):
    query = world["query"]
    login(client, world["editor"].email)
    typed = "Table 4, see the attachment."
    response = _reply(client, query, typed, name, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="error-summary"' in html
    assert "Nothing was sent" in html
    assert typed in html  # the message as written, ready to send again
    assert db.session.scalars(select(Evidence)).first() is None
    assert len(db.session.get(type(query), query.id).messages) == 1  # no reply saved
    db.session.refresh(query)
    assert query.status is QueryStatus.OPEN


def test_a_file_over_the_limit_is_refused(app, client, world):
    app.config["KPI_EVIDENCE_MAX_BYTES"] = 1000
    login(client, world["editor"].email)
    response = _reply(client, world["query"], "Big scan", "big.pdf", PDF + b"0" * 1000)
    assert response.status_code == 400 and "larger than the limit" in response.get_data(
        as_text=True
    )
    assert db.session.scalars(select(Evidence)).first() is None


def test_a_storage_failure_loses_nothing(app, client, world, monkeypatch):
    def broken(data):
        raise OSError("disk full")

    monkeypatch.setattr(evidence, "store_bytes", broken)
    login(client, world["editor"].email)
    response = _reply(client, world["query"], "Here it is", "census.pdf", PDF)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "could not be stored" in html and "Here it is" in html
    assert db.session.scalars(select(Evidence)).first() is None
    assert db.session.scalar(select(db.func.count(QueryMessage.id))) == 1


def test_only_the_city_attaches_files(world):
    query = world["query"]
    with pytest.raises(workflow.WorkflowDenied):
        review_threads.reply(query, world["verifier"], "see this", ("x.pdf", PDF))
    assert db.session.scalars(select(Evidence)).first() is None


def test_a_large_file_passes_the_csrf_check_in_production_settings(app, client, world):
    """CSRFProtect reads the form before the view: the evidence limit (10 MB) must already
    apply then, not the 5 MB of other uploads."""
    query = world["query"]
    login(client, world["editor"].email)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/verification/assessments/{world['assessment'].id}/queries")
    token = re.search(r'name="[^"]*csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    assert token is not None
    six_mb = PDF + b"0" * (6 * 1024 * 1024)
    boundary = "kpi-reply-boundary"

    def part(name: str, value: bytes, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        return (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
        )

    body = (
        part("csrf_token", token.group(1).encode())
        + part(f"q{query.id}-body", b"The full scan.")
        + part("next", b"city")
        + part(f"q{query.id}-file", six_mb, "scan.pdf")
        + f"--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/verification/queries/{query.id}/reply",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Evidence)).one().size == len(six_mb)


def test_the_evidence_page_takes_a_large_file_with_csrf_on(app, client, world):
    """The same limit for the evidence page itself (it was refused with 413 before)."""
    world["assessment"].status = Status.RETURNED
    db.session.commit()
    login(client, world["editor"].email)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/assessments/values/{world['value'].id}/evidence")
    token = re.search(r'name="[^"]*csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    assert token is not None
    boundary = "kpi-evidence-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode()
        + token.group(1).encode()
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="scan.pdf"\r\n\r\n'.encode()
        + PDF
        + b"0" * (6 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/assessments/values/{world['value'].id}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Evidence)).one().filename == "scan.pdf"

"""Admin benchmarks page: import a set (validated, audited), compare two sets, choose a set
per assessment, see publications frozen under another version (issue 13 items 2 and 6)."""

from __future__ import annotations

import io
from pathlib import Path

from kpi_app.catalogue import load_benchmark_sets, load_catalogue
from kpi_app.extensions import db
from kpi_app.models import AuditEvent, BenchmarkSetRecord, Role
from tests.factories import add_values, login, publish

ROOT = Path(__file__).resolve().parents[2]
CODE = "EC: ICT: ICT: 1C"


def text(response):
    return response.get_data(as_text=True)


def set_csv(changes: dict[str, float]) -> bytes:
    frame = load_benchmark_sets(load_catalogue(ROOT / "indicators"))["indicative-2026"].to_frame()
    for code, target in changes.items():
        frame.loc[frame["code"] == code, "target"] = target
    return frame.to_csv(index=False).encode("utf-8")


def upload(client, content: bytes, name: str, **fields: str):
    data = {"imp-file": (io.BytesIO(content), name), "imp-submit": "Import"}
    data.update({f"imp-{key}": value for key, value in fields.items()})
    return client.post("/admin/benchmarks", data=data, content_type="multipart/form-data")


def test_coordinator_imports_compares_and_chooses_a_set(
    client, make_user, make_city, make_assessment
):
    login(client, make_user(Role.COORDINATOR).email)
    response = upload(
        client, set_csv({CODE: 50.0}), "official.csv", set_id="official-2027", version="1"
    )
    assert response.status_code == 302
    page = text(client.get("/admin/benchmarks"))
    assert "Imported official-2027 version 1." in page
    record = db.session.query(BenchmarkSetRecord).one()
    assert record.set_id == "official-2027"
    event = db.session.query(AuditEvent).filter_by(action="benchmark_set_import").one()
    assert event.actor_id is not None

    diff = text(
        client.get(
            "/admin/benchmarks",
            query_string={"old": "indicative-2026", "new": "official-2027", "submit": "Compare"},
        )
    )
    assert "1 targets changed, 0 items added, 0 items removed" in diff
    assert CODE in diff and "target changed" in diff

    assessment = make_assessment(make_city("fjordby"), 2024)
    response = client.post(
        "/admin/benchmarks",
        data={
            "choose-assessment": str(assessment.id),
            "choose-benchmark_set": "official-2027",
            "choose-submit": "Use this set",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert assessment.benchmark_set == "official-2027"
    assert db.session.query(AuditEvent).filter_by(action="benchmark_set_choose").count() == 1


def test_a_bad_file_is_refused_with_every_problem_listed(client, make_user):
    login(client, make_user(Role.COORDINATOR).email)
    bad = b"code,data_point,target,source\nEC: ICT: ICT: 1C,,ninety,Office\n"
    response = upload(client, bad, "bad.csv", set_id="bad", version="1")
    assert response.status_code == 400
    page = text(response)
    assert "The file was not imported" in page
    assert "must be a number, got &#39;ninety&#39;" in page
    assert "EC: ICT: ICT: 2C: target: no benchmark entry" in page
    assert db.session.query(BenchmarkSetRecord).count() == 0
    wrong = upload(client, b"x", "set.pdf", set_id="bad", version="1")
    assert wrong.status_code == 400
    assert "Use a .yaml, .csv or .xlsx file." in text(wrong)


def test_page_reports_publications_frozen_under_another_version(
    client, make_user, make_city, make_assessment
):
    login(client, make_user(Role.COORDINATOR).email)
    assert (
        upload(client, set_csv({CODE: 50.0}), "a.csv", set_id="alt", version="1").status_code == 302
    )
    assessment = make_assessment(make_city("fjordby"), 2024)
    assessment.benchmark_set = "alt"
    add_values(assessment)
    publish(assessment)
    assert "different version" not in text(client.get("/admin/benchmarks"))
    assert (
        upload(client, set_csv({CODE: 40.0}), "b.csv", set_id="alt", version="2").status_code == 302
    )
    page = text(client.get("/admin/benchmarks"))
    assert "1 published assessments use a different version of set alt (current: 2)." in page
    assert "<td>1 (immutable)</td>" in page  # version 1 is frozen in one publication


def test_others_cannot_import(client, make_user):
    login(client, make_user(Role.VERIFIER).email)
    assert upload(client, set_csv({}), "a.csv", set_id="x", version="1").status_code == 403

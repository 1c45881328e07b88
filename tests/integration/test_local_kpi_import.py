"""Importing local KPI values (CSV, xlsx, rows): validated by row and column, all or nothing,
unit checked, conflicts refused, audited, verification cleared, and exports that import back
unchanged (round trip), on every database backend."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, LocalKpiValue, Role, Status
from kpi_app.services import data_io, local_kpi_import, local_kpi_reports, local_kpis
from kpi_app.services.local_kpis import DefinitionInput, NotAllowed, ValueInput
from tests.factories import set_status

LANGS = ("en", "fr", "es", "ar", "zh", "ru")
WASTE = "LOCAL:kyebi:WASTE-1"
TREES = "LOCAL:kyebi:TREES"
TAPS = "LOCAL:kyebi:TAPS"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("kyebi", country="GH")
    other = make_city("other")
    assessment = make_assessment(city, year=2024)
    people = {
        "coordinator": make_user(Role.COORDINATOR),
        "editor": make_user(Role.CITY_EDITOR, city),
        "second_editor": make_user(Role.CITY_EDITOR, city),
        "other_editor": make_user(Role.CITY_EDITOR, other),
        "viewer": make_user(Role.VIEWER),
    }
    coordinator = people["coordinator"]
    kpis = {
        "waste": local_kpis.create_kpi(
            city,
            DefinitionInput(
                code="WASTE-1",
                name={"en": "Household waste recycled"},
                unit="%",
                value_type="percentage",
                numerator="Recycled (t)",
                denominator="Collected (t)",
                multiplier=100.0,
                benchmark_target=60.0,
                benchmark_source="City climate plan 2030",
            ),
            coordinator,
            LANGS,
        ),
        "trees": local_kpis.create_kpi(
            city,
            DefinitionInput(code="TREES", name={"en": "Street trees planted"}, unit="trees"),
            coordinator,
            LANGS,
        ),
        "taps": local_kpis.create_kpi(
            city,
            DefinitionInput(
                code="TAPS",
                name={"en": "Public water taps"},
                unit="taps",
                data_points=[
                    {"id": "urban", "label": {"en": "Urban"}, "target": 100.0},
                    {"id": "rural", "label": {"en": "Rural"}, "target": None},
                ],
                benchmark_target=50.0,
                benchmark_source="Water plan",
            ),
            coordinator,
            LANGS,
        ),
        "other": local_kpis.create_kpi(
            other, DefinitionInput(code="TREES", name={"en": "Trees"}), coordinator, LANGS
        ),
    }
    return city, assessment, people, kpis


def stored(assessment):
    db.session.expire_all()
    return {
        (row.kpi.full_code, row.data_point): row
        for row in db.session.scalars(
            db.select(LocalKpiValue).where(LocalKpiValue.assessment_id == assessment.id)
        )
    }


def errors(report):
    return [(p.row, p.column, str(p.message)) for p in report.errors]


def test_a_good_file_is_previewed_then_written_and_audited(world):
    _city, assessment, p, _kpis = world
    content = (
        "code;data_point;unit;value;numerator;denominator;source;quality;data_year\n"
        f"{WASTE};;percent;;330;1000;Waste department;2;2024\n"
        f"{TREES};;trees;1 200;;;Parks office;3 - Estimated;2023\n"
        f"{TAPS};urban;taps;80;;;Water utility;1;2024\n"
        f"{TAPS};rural;;Not Reported;;;;;\n"
    ).encode()
    upload = data_io.parse_upload("local.csv", content)
    preview = local_kpi_import.import_upload(assessment, upload, p["editor"], dry_run=True)
    assert preview.ok, errors(preview)
    assert not preview.written and stored(assessment) == {}
    shown = {(c.code, c.data_point): (c.old_value, c.new_value) for c in preview.changes}
    assert shown == {
        (WASTE, ""): ("—", "33"),
        (TREES, ""): ("—", "1200"),
        (TAPS, "urban"): ("—", "80"),
        (TAPS, "rural"): ("—", "not reported"),
    }
    assert [c.row for c in preview.changes] == [2, 3, 4, 5]

    report = local_kpi_import.import_upload(assessment, upload, p["editor"], dry_run=False)
    assert report.written and len(report.changes) == 4
    rows = stored(assessment)
    assert rows[(WASTE, "")].value == pytest.approx(33.0)
    assert rows[(WASTE, "")].numerator == 330.0 and rows[(WASTE, "")].quality == 2
    assert rows[(TREES, "")].value == 1200.0 and rows[(TREES, "")].quality == 3
    assert rows[(TAPS, "rural")].reported is False
    assert rows[(TAPS, "rural")].not_reported_reason
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity_type == "local_kpi_value")
    ).all()
    assert len(events) == 4
    assert {e.reason for e in events} == {"local.csv"}
    assert {e.actor_id for e in events} == {p["editor"].id}
    # The same file again changes nothing.
    again = local_kpi_import.import_upload(assessment, upload, p["editor"], dry_run=False)
    assert again.ok and not again.changes and again.unchanged == 4 and not again.written


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_saved(world):
    _city, assessment, p, _kpis = world
    rows = [
        {"code": TREES, "value": 12},  # good, but the file has errors: not saved
        {"code": "LOCAL:kyebi:NOPE", "value": 1},
        {"code": "LOCAL:other:TREES", "value": 5},
        {"code": "EC: ICT: ICT: 1C", "value": 50},
        {"code": WASTE, "unit": "tonnes", "value": 20},
        {"code": TAPS, "data_point": "suburban", "value": 3},
        {"code": TREES, "value": "lots"},
        {"code": WASTE, "value": 99, "numerator": 1, "denominator": 2},
        {"code": WASTE.lower().replace("local:", "LOCAL:"), "value": -5},
        {"code": TREES, "value": 13},
        {"code": TAPS, "data_point": "urban", "value": 3, "quality": 9},
        {"code": TAPS, "data_point": "rural", "value": 3, "data_year": 2031},
        {"value": 3},
    ]
    report = local_kpi_import.import_rows(
        assessment, rows, p["editor"], row_numbers=list(range(2, 2 + len(rows)))
    )
    assert not report.ok and not report.written
    found = {(row, column): message for row, column, message in errors(report)}
    assert "Unknown local KPI" in found[(3, "code")]
    assert "another city" in found[(4, "code")]
    assert "not a local KPI code" in found[(5, "code")]
    assert "Unit “tonnes” does not match" in found[(6, "unit")]
    assert "no data point “suburban”" in found[(7, "data_point")]
    assert (8, "value") in found
    assert "differs from numerator ÷ denominator" in found[(9, "value")]
    assert "cannot be negative" in found[(10, "value")]
    assert "Duplicate row" in found[(11, "code")]
    assert "quality" in found[(12, "value")]
    assert "data year" in found[(13, "value")]
    assert "code is missing" in found[(14, "code")]
    assert (2, "code") not in found and (2, "value") not in found
    assert stored(assessment) == {}


def test_an_unreadable_file_is_refused_with_a_message(world):
    with pytest.raises(data_io.UploadRejected, match="macros"):
        data_io.parse_upload("values.xlsm", b"PK\x03\x04rest")
    with pytest.raises(data_io.UploadRejected, match="code"):
        data_io.parse_upload("values.csv", b"kpi,value\nTREES,3\n")


def test_a_changed_value_loses_its_verification_decision(world):
    _city, assessment, p, kpis = world
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=kpis["trees"].id, value=10.0, source="Parks")], p["editor"]
    )
    row = stored(assessment)[(TREES, "")]
    row.verified, row.verification_code = True, "source_checked"
    db.session.commit()
    report = local_kpi_import.import_rows(
        assessment, [{"code": TREES, "value": 11, "source": "Parks"}], p["editor"]
    )
    assert report.written
    row = stored(assessment)[(TREES, "")]
    assert row.value == 11.0 and row.verified is None and row.verification_code is None
    event = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.entity_type == "local_kpi_value")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.action == "update" and event.old["verification"]["verified"] is True
    assert event.old["value"] == 10.0 and event.new["value"] == 11.0


def test_permissions_and_publication_freeze_the_values(world):
    _city, assessment, p, _kpis = world
    rows = [{"code": TREES, "value": 3}]
    for who in ("other_editor", "viewer", "coordinator"):
        with pytest.raises(NotAllowed):
            local_kpi_import.import_rows(assessment, rows, p[who])
    for status in (Status.SUBMITTED, Status.PUBLISHED):
        set_status(assessment, status)
        report = local_kpi_import.import_rows(assessment, rows, p["editor"])
        assert not report.ok and "locked" in errors(report)[0][2]
    assert stored(assessment) == {}


def test_a_value_saved_after_the_preview_refuses_the_whole_import(world):
    _city, assessment, p, kpis = world
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=kpis["trees"].id, value=10.0)], p["editor"]
    )
    rows = [{"code": TREES, "value": 20}, {"code": WASTE, "value": 40}]
    versions = local_kpi_import.value_versions(assessment)
    assert set(versions) == {data_io.version_key(TREES, "")}
    preview = local_kpi_import.import_rows(assessment, rows, p["editor"], dry_run=True)
    assert len(preview.changes) == 2
    # Someone else saves TREES meanwhile.
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=kpis["trees"].id, value=15.0)], p["second_editor"]
    )
    refused = local_kpi_import.import_rows(
        assessment, rows, p["editor"], expected_versions=versions
    )
    assert not refused.written and len(refused.conflicts) == 1
    conflict = refused.conflicts[0]
    assert (conflict.code, conflict.now_value, conflict.file_value) == (TREES, "15", "20")
    assert conflict.changed_by in (p["second_editor"].name, p["second_editor"].email)
    rows_now = stored(assessment)
    assert rows_now[(TREES, "")].value == 15.0 and (WASTE, "") not in rows_now
    # Confirmed again with the versions seen now, it is written.
    fresh = local_kpi_import.value_versions(assessment)
    done = local_kpi_import.import_rows(assessment, rows, p["editor"], expected_versions=fresh)
    assert done.written and stored(assessment)[(TREES, "")].value == 20.0


def _fill(assessment, p, kpis):
    local_kpis.save_values(
        assessment,
        [
            ValueInput(
                kpi_id=kpis["waste"].id,
                numerator=331.0,
                denominator=997.0,
                source="=cmd|' /C calc'!A0",  # formula-looking text survives the round trip
                source_url="https://example.org/waste",
                quality=2,
                data_year=2023,
                comment="Ratio of tonnes",
            ),
            ValueInput(kpi_id=kpis["trees"].id, value=0.1 + 0.2, source="Parks"),
            ValueInput(kpi_id=kpis["taps"].id, data_point="urban", value=80.0),
            ValueInput(
                kpi_id=kpis["taps"].id,
                data_point="rural",
                reported=False,
                not_reported_reason="No survey in 2024",
            ),
        ],
        p["editor"],
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_imports_back_unchanged(world, fmt):
    _city, assessment, p, kpis = world
    _fill(assessment, p, kpis)
    before = {key: local_kpis.stored_fields(row) for key, row in stored(assessment).items()}
    exported = local_kpi_reports.export(assessment, "live", fmt)
    upload = data_io.parse_upload(f"kyebi-2024-live-local-kpis.{fmt}", exported)
    report = local_kpi_import.import_upload(assessment, upload, p["editor"], dry_run=False)
    assert report.ok, errors(report)
    assert report.changes == [] and report.unchanged == 4 and not report.written
    after = {key: local_kpis.stored_fields(row) for key, row in stored(assessment).items()}
    assert after == before
    # Edited in the file, the same export changes exactly the edited value.
    if fmt == "csv":
        table = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
        for line in table:
            if line["code"] == TREES:
                line["value"] = "42"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
        edited = out.getvalue().encode("utf-8")
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(exported))
        sheet = workbook.active
        header = [cell.value for cell in sheet[1]]
        for line in sheet.iter_rows(min_row=2):
            if line[header.index("code")].value == TREES:
                line[header.index("value")].value = 42
        buffer = io.BytesIO()
        workbook.save(buffer)
        edited = buffer.getvalue()
    changed = local_kpi_import.import_upload(
        assessment, data_io.parse_upload(f"edited.{fmt}", edited), p["editor"], dry_run=False
    )
    assert changed.written and [(c.code, c.new_value) for c in changed.changes] == [(TREES, "42")]
    assert stored(assessment)[(WASTE, "")].source == "=cmd|' /C calc'!A0"


def _confirm_in_thread(app, assessment_id, user_id, value, versions, results, barrier):
    from kpi_app.models import Assessment, User

    with app.app_context():
        try:
            assessment = db.session.get(Assessment, assessment_id)
            actor = db.session.get(User, user_id)
            barrier.wait(timeout=10)
            results[user_id] = local_kpi_import.import_rows(
                assessment, [{"code": TREES, "value": value}], actor, expected_versions=versions
            )
        except Exception as error:  # reported to the test thread
            results[user_id] = error
        finally:
            db.session.remove()


def test_two_confirms_at_once_one_wins_the_other_is_a_conflict(app, backend, world):
    """PostgreSQL, real threads: the values are re-read locked, so the second confirm sees
    the first one's write and is refused (SQLite serialises writers anyway)."""
    import threading

    if backend != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks")
    _city, assessment, p, kpis = world
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=kpis["trees"].id, value=1.0)], p["editor"]
    )
    versions = local_kpi_import.value_versions(assessment)
    ids = (assessment.id, p["editor"].id, p["second_editor"].id)
    db.session.remove()  # the threads open their own sessions
    results: dict[int, object] = {}
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(
            target=_confirm_in_thread,
            args=(app, ids[0], user, value, versions, results, barrier),
        )
        for user, value in ((ids[1], 10.0), (ids[2], 20.0))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    reports = list(results.values())
    assert all(not isinstance(r, Exception) for r in reports), reports
    assert sorted(bool(r.written) for r in reports) == [False, True]
    loser = next(r for r in reports if not r.written)
    winner = next(r for r in reports if r.written)
    assert len(loser.conflicts) == 1
    assert stored(assessment)[(TREES, "")].value == float(winner.changes[0].new_value)


def test_the_json_export_imports_back_unchanged_too(world):
    _city, assessment, p, kpis = world
    _fill(assessment, p, kpis)
    exported = local_kpi_reports.export(assessment, "live", "json")
    upload = data_io.parse_upload("kyebi-2024-live-local-kpis.json", exported)
    report = local_kpi_import.import_upload(assessment, upload, p["editor"], dry_run=True)
    assert report.ok, errors(report)
    assert report.changes == [] and report.unchanged == 4

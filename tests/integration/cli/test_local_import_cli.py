"""`kpi-app export --local` and `kpi-app import --local`, run as the operator runs them: the
installed command in a subprocess on the test's database. The exported file imports back; an
edited file changes what it says, after a dry run that writes nothing; a U4SSC code in a local
file is refused with nothing written; the change is audited with no actor."""

from __future__ import annotations

import csv
import io

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, LocalKpiValue, Role
from kpi_app.services import local_kpis
from kpi_app.services.local_kpis import DefinitionInput, ValueInput
from tests.integration.cli.process import ok, run_kpi_app

LANGS = ("en", "fr", "es", "ar", "zh", "ru")
WASTE = "LOCAL:kyebi:WASTE-1"


def _stored_value(assessment_id: int) -> float | None:
    db.session.expire_all()
    row = db.session.scalar(
        db.select(LocalKpiValue).where(LocalKpiValue.assessment_id == assessment_id)
    )
    return None if row is None else row.value


def test_local_values_export_and_import_from_the_command_line(
    database_url, make_city, make_user, make_assessment, tmp_path
):
    city = make_city("kyebi", country="GH")
    assessment = make_assessment(city, year=2024)
    coordinator = make_user(Role.COORDINATOR)
    editor = make_user(Role.CITY_EDITOR, city)
    kpi = local_kpis.create_kpi(
        city,
        DefinitionInput(
            code="WASTE-1",
            name={"en": "Household waste recycled"},
            unit="%",
            value_type="percentage",
            benchmark_target=60.0,
            benchmark_source="City climate plan 2030",
        ),
        coordinator,
        LANGS,
    )
    local_kpis.save_values(
        assessment, [ValueInput(kpi_id=kpi.id, value=40.0, data_year=2024)], editor
    )
    db.session.commit()
    assessment_id = assessment.id

    exported = tmp_path / "local.csv"
    args = ("--city", "kyebi", "--year", "2024")
    ok(run_kpi_app(database_url, "export", *args, "--local", "--output", str(exported)))
    text = exported.read_text(encoding="utf-8-sig")
    assert WASTE in text and "EC: ICT" not in text

    same = run_kpi_app(database_url, "import", str(exported), *args, "--local")
    assert "changed 0" in ok(same)

    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["code"] == WASTE:
            row["value"] = "45"
    edited = tmp_path / "edited.csv"
    with edited.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    dry = ok(run_kpi_app(database_url, "import", str(edited), *args, "--local", "--dry-run"))
    assert f"{WASTE}: 40" in dry and "-> 45" in dry and "would change 1" in dry
    assert _stored_value(assessment_id) == 40.0
    done = ok(run_kpi_app(database_url, "import", str(edited), *args, "--local"))
    assert "changed 1" in done
    assert _stored_value(assessment_id) == 45.0
    event = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.entity_type == "local_kpi_value")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.actor_id is None and event.reason == "edited.csv"

    u4ssc = tmp_path / "u4ssc.csv"
    u4ssc.write_text("code,value\nEC: ICT: ICT: 1C,50\n", encoding="utf-8")
    refused = run_kpi_app(database_url, "import", str(u4ssc), *args, "--local")
    assert refused.returncode == 1
    assert "is not a local KPI code" in refused.stderr and "nothing was imported" in refused.stderr
    assert _stored_value(assessment_id) == 45.0

"""`kpi-app open-assessment`: script an onboarding from the command line (issue 14.15)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.integration.cli.process import ok, run_kpi_app

CSV = "code,value,source\nEC: ICT: ICT: 5C,42,registry\n"


def audit_rows(database_url: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT e.action, e.actor_id, e.new FROM audit_event e "
                        "WHERE e.entity_type = 'assessment' ORDER BY e.id"
                    )
                )
            )
    finally:
        engine.dispose()


def test_a_coordinator_scripts_an_onboarding(new_database, tmp_path):
    url = new_database("onboard")
    ok(run_kpi_app(url, "init-db"))
    ok(run_kpi_app(url, "create-city", "eastport", "--name", "Eastport", "--country", "NO"))
    values_file = tmp_path / "values.csv"
    values_file.write_text(CSV, encoding="utf-8")

    before = run_kpi_app(url, "import", str(values_file), "--city", "eastport", "--year", "2025")
    assert before.returncode == 1
    assert "run `kpi-app open-assessment eastport --year 2025`" in before.stderr

    opened = ok(run_kpi_app(url, "open-assessment", "eastport", "--year", "2025"))
    assert "Opened eastport 2025" in opened and "draft" in opened
    [(action, actor, new)] = audit_rows(url)
    assert action == "create" and actor is None
    assert "eastport" in str(new) and "2025" in str(new)

    imported = ok(
        run_kpi_app(url, "import", str(values_file), "--city", "eastport", "--year", "2025")
    )
    assert "changed 1" in imported

    again = run_kpi_app(url, "open-assessment", "eastport", "--year", "2025")
    assert again.returncode == 1 and "already has an assessment for 2025" in again.stderr
    assert len(audit_rows(url)) == 1  # a refusal writes nothing


def test_open_assessment_refuses_unknown_cities_years_and_people(new_database):
    url = new_database("refusals")
    ok(run_kpi_app(url, "init-db"))
    ok(run_kpi_app(url, "create-city", "eastport", "--name", "Eastport", "--country", "NO"))
    ok(run_kpi_app(url, "create-city", "westby", "--name", "Westby", "--country", "SE"))
    ok(
        run_kpi_app(
            url, "create-user", "ed@westby.example", "--role", "city_editor", "--city", "westby"
        )
    )
    ok(run_kpi_app(url, "create-user", "co@example.org", "--role", "coordinator"))

    unknown = run_kpi_app(url, "open-assessment", "atlantis", "--year", "2025")
    assert unknown.returncode == 1 and "no city with slug 'atlantis'" in unknown.stderr
    too_old = run_kpi_app(url, "open-assessment", "eastport", "--year", "1999")
    assert too_old.returncode == 1 and "between 2000" in too_old.stderr
    not_a_year = run_kpi_app(url, "open-assessment", "eastport", "--year", "next")
    assert not_a_year.returncode == 2 and "--year" in not_a_year.stderr
    nobody = run_kpi_app(url, "open-assessment", "eastport", "--year", "2025", "--by", "x@y.z")
    assert nobody.returncode == 1 and "no user" in nobody.stderr
    other_city = run_kpi_app(
        url, "open-assessment", "eastport", "--year", "2025", "--by", "ed@westby.example"
    )
    assert other_city.returncode == 1 and "may not open" in other_city.stderr
    for refused in (unknown, too_old, not_a_year, nobody, other_city):
        assert "Traceback" not in refused.stderr
    assert audit_rows(url) == []

    ok(run_kpi_app(url, "open-assessment", "eastport", "--year", "2025", "--by", "co@example.org"))
    [(_action, actor, _new)] = audit_rows(url)
    assert actor is not None  # the coordinator is recorded as the one who opened it

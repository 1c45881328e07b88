"""Issue 13 items 2 and 6: published scores are frozen; benchmark sets are a managed choice.

The commands run as their users run them: ``.venv/bin/kpi-app`` as a subprocess, with
DATABASE_URL and KPI_CATALOGUE_DIR in the environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kpi_app.catalogue import load_benchmark_sets, load_catalogue
from kpi_app.extensions import db
from kpi_app.models import AuditEvent, BenchmarkSetRecord, Snapshot
from kpi_app.services import frozen_inputs, score_inputs, snapshots
from tests.factories import add_values, publish

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
CODE = "EC: ICT: ICT: 1C"  # higher-better, indicative target 100

# A spread of values so that halving every target moves the overall score.
VALUES = [
    ("EC: ICT: ICT: 1C", "", 60.0, 1, True),
    ("EC: ICT: ICT: 2C", "", 20.0, 1, True),
    ("EN: EN: AQ: 1C", "pm25", 12.0, 1, True),
    ("EN: EN: AQ: 1C", "pm10", 30.0, 1, True),
]


def run(
    database_url: str, *args: str, catalogue: Path | None = None
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KPI_ENV": "development",
        "KPI_CATALOGUE_DIR": str(catalogue or ROOT / "indicators"),
    }
    return subprocess.run(
        [str(BIN / "kpi-app"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def undo_later_revisions(engine: Any, *, published_value: bool = True) -> None:
    """Remove what revisions from ``b5d1e7a3c962`` on added (``published_value.is_latest``
    and its index, ``snapshot.frozen_digest``), so that an upgrade test stamped at an
    older revision can run them again. ``published_value=False``: that table is gone."""
    statements = ["ALTER TABLE snapshot DROP COLUMN frozen_digest"]
    if published_value:
        statements += [
            "DROP INDEX ix_published_value_latest_code",
            "ALTER TABLE published_value DROP COLUMN is_latest",
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def overall(database_url: str, *extra: str, catalogue: Path | None = None) -> dict:
    done = run(
        database_url,
        "score",
        "--city",
        "fjordby",
        "--year",
        "2024",
        *extra,
        catalogue=catalogue,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def halved_copy(tmp_path: Path) -> Path:
    """A copy of indicators/ with every non-yes/no target halved."""
    copy = tmp_path / "indicators"
    shutil.copytree(ROOT / "indicators", copy)
    path = copy / "benchmarks" / "indicative-2026.yaml"

    def half(match: re.Match[str]) -> str:
        value = float(match.group(2))
        return match.group(0) if value in (0.0, 1.0) else f"{match.group(1)}{value / 2:g}"

    text = re.sub(r"^(\s*target:\s*)(-?[0-9.]+)\s*$", half, path.read_text(), flags=re.M)
    path.write_text(text)
    return copy


@pytest.fixture
def published(make_city, make_assessment):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, VALUES)
    return publish(assessment)


def full_set_csv(path: Path, changes: dict[str, float | None]) -> Path:
    """The indicative set as CSV, with some targets changed."""
    catalogue = load_catalogue(ROOT / "indicators")
    frame = load_benchmark_sets(catalogue)["indicative-2026"].to_frame()
    for code, target in changes.items():
        frame.loc[frame["code"] == code, "target"] = target
    frame.to_csv(path, index=False)
    return path


def test_editing_the_yaml_changes_no_published_figure(database_url, published, tmp_path):
    changed = halved_copy(tmp_path)
    before = overall(database_url, "--source", "published")
    after = overall(database_url, "--source", "published", catalogue=changed)
    live_after = overall(database_url, "--source", "live", catalogue=changed)
    assert before["published_result"] is True
    assert after["overall"]["score"] == before["overall"]["score"]
    # The edit is real: live scores (and a new publication) do see it.
    assert live_after["overall"]["score"] != before["overall"]["score"]
    item = next(i for i in after["items"] if i["code"] == CODE)
    assert item["target"] == 100.0  # the frozen target, not the halved 50


def test_snapshot_freezes_targets_items_and_method(published):
    snapshot = snapshots.latest(published.id)
    frozen = snapshot.content["frozen"]
    entry = next(e for e in frozen["benchmarks"]["entries"] if e["code"] == CODE)
    assert entry["target"] == 100.0 and entry["source"]
    assert frozen["benchmarks"]["id"] == "indicative-2026"
    assert frozen["benchmarks"]["version"] and frozen["benchmarks"]["fingerprint"]
    assert len(frozen["catalogue"]["items"]) == 112
    assert frozen["catalogue"]["version"] == published.catalogue_version
    assert frozen["method"]["name"] == "u4ssc"
    assert snapshot.content_hash == snapshots.content_hash(snapshot.content)


def test_check_catalogue_reports_publications_under_another_version(
    database_url, published, tmp_path
):
    same = run(database_url, "check-catalogue")
    assert same.returncode == 0, same.stderr
    assert "different version" not in same.stdout
    drifted = run(database_url, "check-catalogue", catalogue=halved_copy(tmp_path))
    assert drifted.returncode == 0, drifted.stderr
    assert "1 published assessment(s) use a different version of set indicative-2026" in (
        drifted.stdout
    )


def test_import_csv_then_score_a_publication_against_it_as_an_analysis(
    database_url, published, tmp_path
):
    csv_file = full_set_csv(tmp_path / "official.csv", {CODE: 50.0})
    done = run(
        database_url, "import-benchmarks", str(csv_file), "--id", "alt-2026", "--version", "1"
    )
    assert done.returncode == 0, done.stderr
    assert "Imported alt-2026 version 1" in done.stdout
    analysis = overall(database_url, "--source", "published", "--benchmark-set", "alt-2026")
    official = overall(database_url, "--source", "published")
    assert analysis["published_result"] is False
    assert "not the published result" in analysis["analysis"]
    assert analysis["benchmark_set"] == "alt-2026"
    item = next(i for i in analysis["items"] if i["code"] == CODE)
    assert item["target"] == 50.0 and item["band"] == 4  # 60 of 50
    assert next(i for i in official["items"] if i["code"] == CODE)["target"] == 100.0
    db.session.expire_all()
    record = db.session.query(BenchmarkSetRecord).one()
    assert (record.set_id, record.version) == ("alt-2026", "1")
    assert db.session.query(AuditEvent).filter_by(action="benchmark_set_import").count() == 1
    diff = run(database_url, "diff-benchmarks", "indicative-2026", "alt-2026")
    assert diff.returncode == 0, diff.stderr
    assert f"changed  {CODE}: 100 -> 50" in diff.stdout
    assert "1 changed, 0 added, 0 removed" in diff.stdout


def test_import_xlsx_with_a_set_sheet(database_url, app, tmp_path):
    from openpyxl import Workbook

    catalogue = load_catalogue(ROOT / "indicators")
    frame = load_benchmark_sets(catalogue)["indicative-2026"].to_frame()
    book = Workbook()
    sheet = book.active
    sheet.title = "benchmarks"
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if v != v else v for v in row])  # NaN -> empty cell
    meta = book.create_sheet("set")
    meta.append(["id", "official-2027"])
    meta.append(["version", "2027.1"])
    path = tmp_path / "official.xlsx"
    book.save(path)
    done = run(database_url, "import-benchmarks", str(path))
    assert done.returncode == 0, done.stderr
    assert "Imported official-2027 version 2027.1" in done.stdout


def test_import_rejects_a_target_without_source_and_missing_items(database_url, app, tmp_path):
    path = tmp_path / "partial.csv"
    path.write_text("code,data_point,target,source\nEC: ICT: ICT: 1C,,90,\n")
    done = run(database_url, "import-benchmarks", str(path), "--id", "x", "--version", "1")
    assert done.returncode == 1
    assert "source: required when a target is given" in done.stderr
    assert "EC: ICT: ICT: 2C: target: no benchmark entry" in done.stderr
    assert db.session.query(BenchmarkSetRecord).count() == 0
    no_id = run(database_url, "import-benchmarks", str(path))
    assert no_id.returncode == 1 and "--id and --version" in no_id.stderr
    built_in = full_set_csv(tmp_path / "same.csv", {})
    clash = run(
        database_url,
        "import-benchmarks",
        str(built_in),
        "--id",
        "indicative-2026",
        "--version",
        "9",
    )
    assert clash.returncode == 1 and "built-in set" in clash.stderr


def test_chosen_set_is_frozen_and_immutable_once_published(
    database_url, make_city, make_assessment, tmp_path
):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, VALUES)
    v1 = full_set_csv(tmp_path / "v1.csv", {CODE: 50.0})
    assert (
        run(database_url, "import-benchmarks", str(v1), "--id", "alt", "--version", "1").returncode
        == 0
    )
    chose = run(database_url, "set-benchmarks", "fjordby", "--year", "2024", "--set", "alt")
    assert chose.returncode == 0, chose.stderr
    assert "now uses benchmark set alt version 1" in chose.stdout
    db.session.expire_all()
    assert assessment.benchmark_set == "alt"
    publish(assessment)
    published = overall(database_url, "--source", "published")
    assert published["benchmark_set"] == "alt"
    assert next(i for i in published["items"] if i["code"] == CODE)["target"] == 50.0
    # Version 1 is used by a publication now: it cannot change, a new version can be added.
    v1b = full_set_csv(tmp_path / "v1b.csv", {CODE: 40.0})
    refused = run(database_url, "import-benchmarks", str(v1b), "--id", "alt", "--version", "1")
    assert refused.returncode == 1
    assert "used by 1 publication(s) and cannot change" in refused.stderr
    added = run(database_url, "import-benchmarks", str(v1b), "--id", "alt", "--version", "2")
    assert added.returncode == 0, added.stderr
    after = overall(database_url, "--source", "published")
    assert after["overall"] == published["overall"]  # the new version moves nothing published
    drift = run(database_url, "check-catalogue")
    assert "1 published assessment(s) use a different version of set alt (current: 2)" in (
        drift.stdout
    )
    # A published assessment's set cannot be switched under it.
    again = run(database_url, "set-benchmarks", "fjordby", "--year", "2024", "--set", "alt")
    assert again.returncode == 1 and "reopen it first" in again.stderr
    unknown = run(database_url, "set-benchmarks", "fjordby", "--year", "2024", "--set", "nope")
    assert unknown.returncode == 1 and "unknown benchmark set 'nope'" in unknown.stderr


def test_score_with_an_unknown_set_fails_clearly(database_url, published):
    done = run(
        database_url, "score", "--city", "fjordby", "--year", "2024", "--benchmark-set", "nope"
    )
    assert done.returncode == 1
    assert "unknown benchmark set 'nope'" in done.stderr


def test_freeze_snapshots_backfills_old_publications(database_url, published, tmp_path):
    snapshot = snapshots.latest(published.id)
    legacy = {key: value for key, value in snapshot.content.items() if key != "frozen"}
    snapshot.content = legacy
    snapshot.content_hash = snapshots.content_hash(legacy)
    db.session.commit()
    report = run(database_url, "check-catalogue")
    assert "1 published assessment(s) have no frozen targets" in report.stdout
    done = run(database_url, "freeze-snapshots")
    assert done.returncode == 0, done.stderr
    assert "Froze 1 snapshot(s)" in done.stdout
    db.session.expire_all()
    snapshot = db.session.get(Snapshot, snapshot.id)
    assert snapshot.content["frozen"]["backfilled_at"]
    assert snapshot.content_hash == snapshots.content_hash(snapshot.content)
    assert db.session.query(AuditEvent).filter_by(action="snapshot_backfill").count() == 1
    before = overall(database_url, "--source", "published")
    after = overall(database_url, "--source", "published", catalogue=halved_copy(tmp_path))
    assert after["overall"] == before["overall"]
    assert run(database_url, "freeze-snapshots").stdout.startswith("Froze 0")


def test_an_analysis_against_the_current_set_is_never_the_cached_published_score(
    app, published, tmp_path
):
    from kpi_app.services import scores

    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    frozen = scores.score_assessments([published], source="published")
    analysis = scores.score_assessments(
        [published], source="published", benchmark_set="indicative-2026"
    )
    target = {r.code: r.target for r in frozen.items.itertuples() if r.data_point == ""}
    again = {r.code: r.target for r in analysis.items.itertuples() if r.data_point == ""}
    assert target[CODE] == 100.0
    assert again[CODE] == 50.0


def test_sdg_progress_uses_the_targets_frozen_at_publication(
    app, make_city, make_assessment, tmp_path
):
    from kpi_app.services import reports, scores

    city = make_city("fjordby")
    for year, value in ((2022, 40.0), (2024, 60.0)):
        assessment = make_assessment(city, year)
        add_values(assessment, [(CODE, "", value, 1, True)])
        publish(assessment)

    def status() -> str:
        table = reports.sdg_view(None).table
        row = table[(table["code"] == CODE) & (table["city"] == "fjordby")]
        return str(row["status"].iloc[0])

    before = status()
    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    targets = scores.published_targets(scores.published_assessments(None))
    assert targets.loc[targets["code"] == CODE, "target"].tolist() == [100.0]
    assert status() == before
    # Read from the files (what main did), the halved target changes the class.
    published = scores.published_assessments(None)
    catalogue = load_catalogue(app.config["CATALOGUE_DIR"])
    from_files = reports.sdg._sdg_table(
        reports.sdg_links(catalogue),
        scores.values_frame(published, "published"),
        catalogue,
        "en",
        {"fjordby": "Fjordby"},
    )
    drifted = from_files[(from_files["code"] == CODE) & (from_files["city"] == "fjordby")]
    assert str(drifted["status"].iloc[0]) != before


def test_interop_exports_carry_the_frozen_targets(app, published, tmp_path):
    from kpi_app.services import interop

    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    observations = interop.published_observations(city="fjordby", code=CODE)
    assert [(o.target, o.direction) for o in observations] == [(100.0, "higher_better")]


def test_publications_frozen_differently_are_scored_together_each_with_its_own_targets(
    app, make_city, make_assessment, tmp_path
):
    from kpi_app.services import benchmark_sets, scores

    first = make_assessment(make_city("fjordby"), 2024)
    add_values(first, VALUES)
    publish(first)
    csv_file = full_set_csv(tmp_path / "alt.csv", {CODE: 50.0})
    benchmark_sets.import_file(csv_file.read_bytes(), "alt.csv", None, set_id="alt", version="1")
    second = make_assessment(make_city("havby"), 2024)
    add_values(second, VALUES)
    benchmark_sets.choose(second, "alt", None)
    publish(second)

    alone = {
        a.city.slug: scores.score_assessments([a], source="published") for a in (first, second)
    }
    together = scores.score_assessments([first, second], source="published")
    items = together.items
    target = items[(items["code"] == CODE)].set_index("city")["target"]
    assert target["fjordby"] == 100.0 and target["havby"] == 50.0
    overall = together.overall.set_index("city")["score"]
    for slug, result in alone.items():
        assert overall[slug] == result.overall["score"].iloc[0]
    assert overall["fjordby"] != overall["havby"]
    assert set(together.benchmark_set.split(", ")) == {"alt", "indicative-2026"}
    # A relative method over the two still runs, each city with its own frozen targets.
    relative = scores.score_assessments([first, second], source="published", method="minmax-arith")
    assert len(relative.overall) == 2


def test_a_publication_without_reported_values_scores_with_coverage_zero(
    app, make_city, make_assessment
):
    from kpi_app.services import scores

    empty = publish(make_assessment(make_city("fjordby"), 2024))
    result = scores.score_assessments([empty], source="published")
    assert result.overall["coverage"].iloc[0] == 0


def test_the_joined_frozen_catalogue_is_reused_but_never_across_sets(app, published, tmp_path):
    """Published scores join a frozen catalogue with its targets once per process
    (scores._JOINED); an analysis against a set with other targets, of the same id, gets
    its own join, and the frozen result stays the frozen one whatever ran before."""
    from kpi_app.services import scores

    def target_of(request: scores.ScoreRequest) -> float:
        result = scores.compute_scores(request.assessments, request.source, request.context)
        return next(r.target for r in result.items.itertuples() if r.code == CODE)

    def analysis() -> scores.ScoreRequest:
        return scores.score_request(
            [published], source="published", benchmark_set="indicative-2026"
        )

    frozen = scores.score_request([published], source="published")
    scores._JOINED.clear()
    assert target_of(frozen) == 100.0
    assert target_of(frozen) == 100.0
    assert len(scores._JOINED) == 1  # the second call reused the join
    original_dir = app.config.get("CATALOGUE_DIR")
    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))
    assert target_of(analysis()) == 50.0
    assert target_of(frozen) == 100.0
    app.config["CATALOGUE_DIR"] = original_dir or str(ROOT / "indicators")
    assert target_of(analysis()) == 100.0
    assert len(scores._JOINED) == 3


def test_a_snapshots_frozen_key_is_hashed_once_and_a_republication_gets_its_own(
    app, published, monkeypatch
):
    """The frozen-context key of a stored snapshot is remembered by its frozen digest
    (frozen_inputs.DIGEST_BLOCKS), or for a snapshot without one by its id and content hash
    (frozen_inputs.SNAPSHOT_KEYS): scoring it again hashes nothing; a republication under other
    targets is a new snapshot, hashed afresh and scored with its own targets."""
    from kpi_app.services import scores

    calls: list[int] = []
    real = frozen_inputs.frozen_key
    monkeypatch.setattr(frozen_inputs, "frozen_key", lambda block: calls.append(1) or real(block))
    frozen_inputs.SNAPSHOT_KEYS.clear()
    frozen_inputs.DIGEST_BLOCKS.clear()
    frozen_inputs.FROZEN_FRAMES.clear()

    def target() -> float:
        request = scores.score_request([published], source="published")
        result = scores.compute_scores(request.assessments, request.source, request.context)
        return next(r.target for r in result.items.itertuples() if r.code == CODE)

    assert target() == 100.0 and calls == [1]
    assert target() == 100.0 and calls == [1]  # remembered
    assert len(frozen_inputs.FROZEN_FRAMES) == 1
    first = snapshots.latest(published.id)
    frozen = first.content["frozen"]
    halved = [
        {**e, "target": e["target"] / 2} if e["code"] == CODE else e
        for e in frozen["benchmarks"]["entries"]
    ]
    republished = Snapshot(
        assessment_id=published.id,
        catalogue_version=first.catalogue_version,
        benchmark_set=first.benchmark_set,
        content={
            **first.content,
            "frozen": {**frozen, "benchmarks": {**frozen["benchmarks"], "entries": halved}},
        },
        content_hash="",
    )
    republished.content_hash = snapshots.content_hash(republished.content)
    republished.frozen_digest = score_inputs.scoring_digest(republished.content)
    db.session.add(republished)
    db.session.commit()
    assert target() == 50.0 and calls == [1, 1]
    assert target() == 50.0 and calls == [1, 1]
    assert len(frozen_inputs.FROZEN_FRAMES) == 2
    # Without a digest (published before the column) the content is read and its key
    # remembered by id and hash: hashed once, then not again.
    republished.frozen_digest = None
    db.session.commit()
    assert target() == 50.0 and calls == [1, 1, 1]
    assert target() == 50.0 and calls == [1, 1, 1]

"""Published scores (issue 20): a snapshot's group scores stored at publication.

Written in the publishing transaction by the default method on the frozen targets, equal
to what scoring the published assessment live gives (every level, every column), written
the same whether snapshots are scored one by one or in bulk, and backfilled by ``kpi-app
init-db`` and by restoring an older archive.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from kpi_app.extensions import db
from kpi_app.models import Assessment, PublishedScore, Snapshot
from kpi_app.scoring.result import LEVEL_ID_COLUMNS
from kpi_app.services import published_scores, scores, seeding, snapshots
from tests.factories import SAMPLE_VALUES, add_values, publish
from tests.integration.test_frozen_publications import ROOT, run, undo_later_revisions

COLUMNS = published_scores.SCORE_COLUMNS


def stored(snapshot_id: int) -> dict[tuple[str, str], tuple]:
    rows = db.session.scalars(
        select(PublishedScore).where(PublishedScore.snapshot_id == snapshot_id)
    )
    return {(r.level, r.group_id): tuple(getattr(r, c) for c in COLUMNS) for r in rows}


def plain(value):
    value = published_scores._plain(value)
    return value


def live(assessment: Assessment) -> dict[tuple[str, str], tuple]:
    result = scores.score_city_year(assessment.city.slug, assessment.year, source="published")
    found = {}
    for level, id_column in LEVEL_ID_COLUMNS.items():
        for record in getattr(result, level).to_dict("records"):
            group = "" if id_column is None else str(record[id_column])
            found[(level, group)] = tuple(plain(record[c]) for c in COLUMNS)
    return found


def same(a: tuple, b: tuple) -> bool:
    return all(
        (x is None and y is None) or x == y or (isinstance(x, float) and math.isclose(x, y))
        for x, y in zip(a, b, strict=True)
    )


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    published = list(
        db.session.scalars(select(Assessment).where(Assessment.published_at.is_not(None)))
    )
    assert len(published) >= 3
    return published


def test_stored_scores_equal_live_scoring_at_every_level(demo):
    for assessment in demo:
        snapshot = snapshots.latest(assessment.id)
        got, expected = stored(snapshot.id), live(assessment)
        assert set(got) == set(expected)
        levels = {level for level, _ in got}
        assert levels == set(LEVEL_ID_COLUMNS)
        for key, row in expected.items():
            assert same(got[key], row), (assessment.city.slug, key, got[key], row)
    # Exact, not only close: the overall score is the very float the engine gives.
    first = demo[0]
    overall = scores.score_city_year(first.city.slug, first.year, source="published").overall
    assert stored(snapshots.latest(first.id).id)[("overall", "")][0] == float(
        overall["score"].iloc[0]
    )


def test_bulk_rows_equal_the_rows_written_one_by_one(demo):
    pairs = [(snapshots.latest(a.id), a) for a in demo]
    bulk = published_scores.score_rows(pairs)
    one_by_one = [row for pair in pairs for row in published_scores.score_rows([pair])]
    key = lambda r: (r["snapshot_id"], r["level"], r["group_id"])  # noqa: E731
    assert sorted(bulk, key=key) == sorted(one_by_one, key=key)
    in_db = sum(len(stored(s.id)) for s, _ in pairs)
    assert len(bulk) == in_db


def test_a_republication_adds_its_own_rows_and_pages_read_the_latest(make_city, make_assessment):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, SAMPLE_VALUES)
    publish(assessment)
    first = snapshots.latest(assessment.id)
    before = published_scores.latest_overall([assessment.id])[assessment.id]
    value = next(v for v in assessment.values if v.code == "EC: ICT: ICT: 2C")
    value.computed_value = 0.0  # far below its target: a lower score
    db.session.commit()
    publish(assessment)
    second = snapshots.latest(assessment.id)
    assert second.id != first.id
    assert stored(first.id)[("overall", "")][0] == before[0]  # frozen: never updated
    after = published_scores.latest_overall([assessment.id])[assessment.id]
    assert after[0] == stored(second.id)[("overall", "")][0]
    assert after[0] < before[0]
    assert after == live(assessment)[("overall", "")][:2]


def this_revision_follows() -> str:
    path = next((ROOT / "migrations" / "versions").glob("*_a7c4e2b9d153_published_scores.py"))
    found = re.search(r"^down_revision = '(\w+)'", path.read_text(), re.M)
    assert found
    return found.group(1)


def test_init_db_backfills_snapshots_published_before_the_table(database_url, demo):
    expected = {a.id: stored(snapshots.latest(a.id).id) for a in demo}
    db.session.commit()
    PublishedScore.__table__.drop(db.engine)
    # ... and without what later revisions added (published_value.is_latest and its index,
    # snapshot.frozen_digest).
    undo_later_revisions(db.engine)
    stamped = run(database_url, "db", "stamp", this_revision_follows())
    assert stamped.returncode == 0, stamped.stderr
    done = run(database_url, "init-db")
    assert done.returncode == 0, done.stderr
    snapshot_count = db.session.scalar(select(func.count(Snapshot.id)))
    assert f"Published scores written for {snapshot_count} earlier snapshot(s)" in done.stdout
    db.session.expire_all()
    assert {a.id: stored(snapshots.latest(a.id).id) for a in demo} == expected
    again = run(database_url, "init-db")
    assert again.returncode == 0, again.stderr
    assert "Published scores written" not in again.stdout


def test_restoring_an_archive_from_before_the_table_writes_the_rows(demo, runner, tmp_path):
    import json
    import zipfile

    from kpi_app.models import Base

    expected = sorted(
        (r.snapshot_id, r.level, r.group_id, r.score, r.band)
        for r in db.session.scalars(select(PublishedScore))
    )
    archive, old = tmp_path / "backup.zip", tmp_path / "old.zip"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    member = "tables/published_score.jsonl"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(old, "w") as target:
        manifest = json.loads(source.read("manifest.json"))
        manifest["tables"].remove("published_score")
        del manifest["sha256"][member]
        manifest["row_counts"].pop("published_score", None)
        for name in source.namelist():
            if name not in ("manifest.json", member):
                target.writestr(name, source.read(name))
        target.writestr("manifest.json", json.dumps(manifest))
    db.session.remove()
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    result = runner.invoke(args=["restore", str(old)])
    assert result.exit_code == 0, result.output
    got = sorted(
        (r.snapshot_id, r.level, r.group_id, r.score, r.band)
        for r in db.session.scalars(select(PublishedScore))
    )
    assert got == expected


def test_a_frame_cell_is_stored_as_sql_stores_it():
    assert published_scores._plain(pd.NA) is None
    assert published_scores._plain(float("nan")) is None
    assert published_scores._plain(pd.array([2], dtype="Int8")[0]) == 2
    assert published_scores._plain("Good") == "Good"


def test_the_city_trend_from_stored_scores_equals_scoring_every_year(
    make_city, make_assessment, client
):
    from kpi_app.services.catalogue import current_catalogue
    from kpi_app.services.reports import city as city_report
    from kpi_app.services.reports.names import group_names

    city = make_city("fjordby")
    series = []
    for year, factor in ((2022, 0.5), (2023, 1.0), (2024, 1.5)):
        assessment = make_assessment(city, year=year)
        add_values(assessment, [(c, p, v * factor if v else v, q, ok)
                                for c, p, v, q, ok in SAMPLE_VALUES])  # fmt: skip
        series.append(publish(assessment))
    names = group_names(current_catalogue(), "en")
    live = city_report.trend_table(
        scores.score_assessments(series, source="published"), "fjordby", names
    )
    stored_trend = city_report.stored_trend_table([a.id for a in series], names)
    pd.testing.assert_frame_equal(stored_trend, live)
    assert stored_trend["year"].nunique() == 3
    plan = city_report.plan_profile("fjordby", 2023, None)
    assert plan.stored_trend == [a.id for a in series]
    assert [a.id for a in plan.scores.assessments] == [series[1].id]  # only the shown year
    shown = city_report.build_profile(plan)
    pd.testing.assert_frame_equal(shown.trend, live)
    # A chosen benchmark set is an analysis: every year is scored live against it.
    analysis = city_report.plan_profile(
        "fjordby", 2023, None, benchmark_set=series[0].benchmark_set
    )
    assert analysis.stored_trend == [] and len(analysis.scores.assessments) == 3
    assert client.get("/cities/fjordby/2023").status_code == 200

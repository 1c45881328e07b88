"""Published values in bulk (issue 20): one ``published_value`` row per value of a snapshot.

Written in the publishing transaction, frozen like the snapshot (an edit after publication
changes no row; a republication adds rows of its own), and backfilled by ``kpi-app
init-db`` (run as a subprocess) for snapshots published before the table existed.
"""

from __future__ import annotations

import hashlib
import math
import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from kpi_app.catalogue import load_benchmark_sets, load_catalogue
from kpi_app.extensions import db
from kpi_app.models import IndicatorValue, PublishedValue, Snapshot
from kpi_app.services import published_values, scores, snapshots
from tests.factories import SAMPLE_VALUES, add_values, publish
from tests.integration.test_frozen_publications import ROOT, halved_copy, run, undo_later_revisions


@pytest.fixture
def published(make_city, make_assessment):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, SAMPLE_VALUES)
    return publish(assessment)


def rows_of(snapshot_id: int) -> list[PublishedValue]:
    return list(
        db.session.scalars(
            select(PublishedValue)
            .where(PublishedValue.snapshot_id == snapshot_id)
            .order_by(PublishedValue.code, PublishedValue.data_point)
        )
    )


def test_publishing_writes_one_row_per_snapshot_value(published):
    snapshot = snapshots.latest(published.id)
    rows = rows_of(snapshot.id)
    records = snapshot.content["values"]
    assert len(rows) == len(records) == len(SAMPLE_VALUES)
    for row, record in zip(rows, records, strict=True):
        assert (row.code, row.data_point) == (record["code"], record["data_point"])
        assert row.value == record["value"]
        assert row.reported == record["reported"]
        assert row.verified == record["verified"]
        assert row.quality == record["quality"]
        assert (row.city_id, row.year, row.assessment_id) == (
            published.city_id,
            2024,
            published.id,
        )
    frozen = {
        (e["code"], e["data_point"]): e["target"]
        for e in snapshot.content["frozen"]["benchmarks"]["entries"]
    }
    assert all(row.target == frozen.get((row.code, row.data_point)) for row in rows)


def test_percent_and_band_are_the_published_scores(published):
    result = scores.score_city_year("fjordby", 2024, source="published")
    items = result.items
    for row in rows_of(snapshots.latest(published.id).id):
        found = items[(items["code"] == row.code) & (items["data_point"] == row.data_point)]
        assert len(found) == 1
        points = found["points"].iloc[0]
        assert row.points == (0 if pd.isna(points) else int(points))
        percent = found["percent_of_target"].iloc[0]
        if row.percent_of_target is None:
            assert percent is None or not math.isfinite(float(percent))
        else:
            assert row.percent_of_target == pytest.approx(float(percent))
    # The sample has scored and unscored items: the check above covers both kinds.
    assert {r.points > 0 for r in rows_of(snapshots.latest(published.id).id)} == {True, False}


def test_rows_are_frozen_and_a_republication_adds_its_own(published):
    first = snapshots.latest(published.id)
    value = db.session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.assessment_id == published.id, IndicatorValue.code == "EC: ICT: ICT: 1C"
        )
    )
    value.computed_value = 10.0
    db.session.commit()
    row = next(r for r in rows_of(first.id) if r.code == "EC: ICT: ICT: 1C")
    assert row.value == 95.5  # what was published, not the edit
    latest = db.session.execute(published_values.latest_rows(city="fjordby")).all()
    assert {r.PublishedValue.snapshot_id for r in latest} == {first.id}
    publish(published)
    second = snapshots.latest(published.id)
    assert second.id != first.id
    assert len(rows_of(first.id)) == len(rows_of(second.id))  # the old rows stay
    latest = db.session.execute(published_values.latest_rows(city="fjordby")).all()
    assert {r.PublishedValue.snapshot_id for r in latest} == {second.id}
    assert {r.PublishedValue.value for r in latest if r.PublishedValue.code == "EC: ICT: ICT: 1C"}
    assert next(
        r.PublishedValue.value for r in latest if r.PublishedValue.code == "EC: ICT: ICT: 1C"
    ) == pytest.approx(10.0)
    # Only the rows of the newest snapshot are marked as what is published now; writing
    # the superseded snapshot's rows again (freeze-snapshots) leaves them superseded.
    db.session.expire_all()
    assert {r.is_latest for r in rows_of(first.id)} == {False}
    assert {r.is_latest for r in rows_of(second.id)} == {True}
    published_values.rewrite(first, published)
    db.session.commit()
    db.session.expire_all()
    assert {r.is_latest for r in rows_of(first.id)} == {False}
    assert {r.is_latest for r in rows_of(second.id)} == {True}
    shown = [r.PublishedValue for r in latest]
    reported = [r for r in shown if r.reported and r.value is not None]
    assert published_values.values_frame()["value"].size == len(reported)


def previous_revision() -> str:
    """The revision this table's migration follows (read from it: merges re-chain it)."""
    path = next((ROOT / "migrations" / "versions").glob("*_f3a9c1d27e64_published_values.py"))
    found = re.search(r"^down_revision = '(\w+)'", path.read_text(), re.M)
    assert found
    return found.group(1)


def test_init_db_backfills_snapshots_published_before_the_table(database_url, published):
    snapshot_id = snapshots.latest(published.id).id
    expected = [(r.code, r.data_point, r.value, r.target, r.points) for r in rows_of(snapshot_id)]
    # The database as it was before this revision: no table, migrated up to the previous one.
    db.session.commit()
    from kpi_app.models import PublishedScore

    PublishedScore.__table__.drop(db.engine)  # the later table too: the upgrade creates it
    PublishedValue.__table__.drop(db.engine)
    undo_later_revisions(db.engine, published_value=False)
    stamped = run(database_url, "db", "stamp", previous_revision())
    assert stamped.returncode == 0, stamped.stderr
    done = run(database_url, "init-db")
    assert done.returncode == 0, done.stderr
    assert "Published values written for 1 earlier snapshot(s)" in done.stdout
    db.session.expire_all()
    got = [(r.code, r.data_point, r.value, r.target, r.points) for r in rows_of(snapshot_id)]
    assert got == expected
    again = run(database_url, "init-db")
    assert again.returncode == 0, again.stderr
    assert "Published values written" not in again.stdout
    assert db.session.scalar(select(func.count(PublishedValue.id))) == len(expected)


def test_freeze_snapshots_rewrites_the_rows_of_a_completed_snapshot(
    database_url, published, tmp_path
):
    """A snapshot from before freezing is completed with the set as installed: its rows
    take the frozen targets, and a later change of the files moves none of them."""
    snapshot = snapshots.latest(published.id)
    legacy = {key: value for key, value in snapshot.content.items() if key != "frozen"}
    snapshot.content = legacy
    snapshot.content_hash = snapshots.content_hash(legacy)
    db.session.commit()
    done = run(database_url, "freeze-snapshots", catalogue=halved_copy(tmp_path))
    assert done.returncode == 0, done.stderr
    db.session.expire_all()
    snapshot = db.session.get(Snapshot, snapshot.id)
    frozen = {
        (e["code"], e["data_point"]): e["target"]
        for e in snapshot.content["frozen"]["benchmarks"]["entries"]
    }
    rows = rows_of(snapshot.id)
    assert len(rows) == len(SAMPLE_VALUES)
    assert all(row.target == frozen.get((row.code, row.data_point)) for row in rows)
    # The halved set was installed when it was frozen: the rows carry its (halved) target.
    installed = load_benchmark_sets(load_catalogue(ROOT / "indicators"))["indicative-2026"]
    original = installed.target("EC: ICT: ICT: 2C", "")
    assert original not in (None, 0.0, 1.0)
    assert next(r.target for r in rows if r.code == "EC: ICT: ICT: 2C") == original / 2


def test_restoring_an_archive_from_before_the_table_writes_the_rows(app, runner, tmp_path):
    """An archive made before published_value existed has no such member: restore writes
    the rows from its snapshots, as init-db does for an upgraded database."""
    import json
    import zipfile

    from kpi_app.models import Base
    from kpi_app.services import seeding

    seeding.seed_demo()
    expected = sorted(
        (r.snapshot_id, r.code, r.data_point, r.value, r.target, r.points)
        for r in db.session.scalars(select(PublishedValue))
    )
    assert expected
    archive, old = tmp_path / "backup.zip", tmp_path / "old.zip"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(old, "w") as target:
        manifest = json.loads(source.read("manifest.json"))
        manifest["tables"].remove("published_value")
        del manifest["sha256"]["tables/published_value.jsonl"]
        manifest["row_counts"].pop("published_value", None)
        for name in source.namelist():
            if name not in ("manifest.json", "tables/published_value.jsonl"):
                target.writestr(name, source.read(name))
        target.writestr("manifest.json", json.dumps(manifest))
    db.session.remove()
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    result = runner.invoke(args=["restore", str(old)])
    assert result.exit_code == 0, result.output
    got = sorted(
        (r.snapshot_id, r.code, r.data_point, r.value, r.target, r.points)
        for r in db.session.scalars(select(PublishedValue))
    )
    assert got == expected


def test_upgrade_marks_the_rows_of_superseded_snapshots(database_url, published):
    """A database from before ``is_latest``: the upgrade (``kpi-app init-db``, run as a
    subprocess) marks only the rows of each assessment's newest snapshot as published."""
    first = snapshots.latest(published.id)
    publish(published)
    second = snapshots.latest(published.id)
    db.session.commit()
    undo_later_revisions(db.engine)
    stamped = run(database_url, "db", "stamp", "a7c3e9b1d245")
    assert stamped.returncode == 0, stamped.stderr
    done = run(database_url, "init-db")
    assert done.returncode == 0, done.stderr
    db.session.expire_all()
    assert {r.is_latest for r in rows_of(first.id)} == {False}
    assert {r.is_latest for r in rows_of(second.id)} == {True}
    assert len(rows_of(first.id)) == len(rows_of(second.id)) == len(SAMPLE_VALUES)


def test_restoring_an_archive_from_before_is_latest_marks_superseded_rows(
    app, runner, tmp_path, published
):
    """An archive made before ``is_latest`` has published-value rows without it: restore
    (``kpi-app restore``) marks only the rows of each assessment's newest snapshot."""
    import json
    import zipfile

    from kpi_app.models import Base

    first = snapshots.latest(published.id).id
    publish(published)  # a republication: the first snapshot's rows are superseded
    second = snapshots.latest(published.id).id
    archive, old = tmp_path / "backup.zip", tmp_path / "old.zip"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    member = "tables/published_value.jsonl"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(old, "w") as target:
        manifest = json.loads(source.read("manifest.json"))
        rows = [json.loads(line) for line in source.read(member).decode().splitlines() if line]
        assert {row.pop("is_latest") for row in rows} == {True, False}
        data = "\n".join(json.dumps(row) for row in rows).encode()
        manifest["sha256"][member] = hashlib.sha256(data).hexdigest()
        for name in source.namelist():
            if name not in ("manifest.json", member):
                target.writestr(name, source.read(name))
        target.writestr(member, data)
        target.writestr("manifest.json", json.dumps(manifest))
    db.session.remove()
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    result = runner.invoke(args=["restore", str(old)])
    assert result.exit_code == 0, result.output
    assert {r.is_latest for r in rows_of(first)} == {False}
    assert {r.is_latest for r in rows_of(second)} == {True}
    assert len(rows_of(second)) == len(SAMPLE_VALUES)

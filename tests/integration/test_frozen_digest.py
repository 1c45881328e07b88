"""Published scores without reading snapshots' content (issue 20).

``snapshot.frozen_digest`` names what a snapshot froze for scoring, so the published score
of an assessment reads the frozen context once per digest and the values from its
``published_value`` rows, not 71 KB of JSON per snapshot. It must give exactly what
reading the snapshots whole gives, be written at publication and by ``freeze-snapshots``,
be filled by ``kpi-app init-db`` for earlier snapshots, and never be trusted when it does
not match the content.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select, update

from kpi_app.extensions import db
from kpi_app.models import Assessment, Snapshot
from kpi_app.services import frozen_inputs, score_inputs, scores, seeding, snapshots
from kpi_app.services.frozen_inputs import stored_inputs
from kpi_app.services.scores import _compute_published
from tests.integration.test_frozen_publications import run

LEVELS = ("items", "categories", "sub_dimensions", "dimensions", "overall")


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    published = list(
        db.session.scalars(
            select(Assessment).where(Assessment.published_at.is_not(None)).order_by(Assessment.id)
        )
    )
    assert len(published) >= 3
    return published


def assert_same(got, expected):
    for level in LEVELS:
        pd.testing.assert_frame_equal(getattr(got, level), getattr(expected, level))
    assert (got.method, got.spec, got.catalogue_version, got.benchmark_set) == (
        expected.method, expected.spec, expected.catalogue_version, expected.benchmark_set
    )  # fmt: skip


def whole(assessments, context):
    """The published score read from the snapshots' content, as before the digest."""
    stored = scores.latest_snapshots([a.id for a in assessments])
    return _compute_published(assessments, context, snapshots=stored)


@pytest.mark.parametrize("method", ["u4ssc", "percentile-arith", "distance-geo"])
def test_the_digest_path_scores_exactly_as_reading_the_snapshots(demo, method):
    context = scores.score_request(demo, source="published", method=method).context
    assert stored_inputs(demo) is not None  # the digests are there: no content is read
    assert_same(_compute_published(demo, context), whole(demo, context))
    for assessment in demo:  # one at a time too (the city page)
        assert_same(_compute_published([assessment], context), whole([assessment], context))


def test_the_values_read_from_rows_equal_those_of_the_content(demo):
    latest = scores.latest_snapshots([a.id for a in demo])
    from_rows = score_inputs.stored_values({latest[a.id].id: a.city.slug for a in demo})
    from_content = score_inputs.snapshot_values(latest[a.id] for a in demo)
    pd.testing.assert_frame_equal(from_rows, from_content)
    assert len(from_rows) > 100


def test_publication_writes_the_digest_of_what_it_froze(demo):
    for assessment in demo:
        snapshot = snapshots.latest(assessment.id)
        assert snapshot.frozen_digest == score_inputs.scoring_digest(snapshot.content)
        assert len(snapshot.frozen_digest) == 64
    # The same frozen context, the same digest: the demo's cities share one.
    assert len({snapshots.latest(a.id).frozen_digest for a in demo}) == 1


def test_an_older_snapshot_without_a_digest_is_read_whole(demo, caplog):
    context = scores.score_request(demo, source="published").context
    expected = whole(demo, context)
    db.session.execute(
        update(Snapshot).where(Snapshot.id == snapshots.latest(demo[0].id).id)
        .values(frozen_digest=None)
    )  # fmt: skip
    assert stored_inputs(demo) is None
    assert_same(_compute_published(demo, context), expected)


def test_a_digest_that_does_not_match_the_content_is_not_trusted(demo, caplog):
    context = scores.score_request(demo, source="published").context
    expected = whole(demo, context)
    frozen_inputs.DIGEST_BLOCKS.clear()  # as a new process: the digest is looked up in the content
    forged = "0" * 64
    db.session.execute(update(Snapshot).values(frozen_digest=forged))
    assert stored_inputs(demo) is None
    assert "frozen digest does not match its content" in caplog.text
    assert_same(_compute_published(demo, context), expected)
    assert forged not in frozen_inputs.DIGEST_BLOCKS


def test_what_scoring_reads_decides_the_digest_not_the_rest_of_the_block():
    block = {
        "catalogue": {"version": "1", "items": [{"code": "A"}], "path": "x.yaml"},
        "benchmarks": {"id": "s", "version": "2", "entries": [{"code": "A", "target": 1}]},
        "method": {"name": "u4ssc"},
    }
    digest = score_inputs.scoring_digest({"frozen": block})
    later = {**block, "backfilled_at": "2026-12-04T00:00:00"}
    assert score_inputs.scoring_digest({"frozen": later}) == digest
    other = {
        **block,
        "benchmarks": {**block["benchmarks"], "entries": [{"code": "A", "target": 2}]},
    }
    assert score_inputs.scoring_digest({"frozen": other}) != digest
    renamed = {**block, "benchmarks": {**block["benchmarks"], "id": "t"}}
    assert score_inputs.scoring_digest({"frozen": renamed}) != digest
    assert score_inputs.scoring_digest({"values": []}) is None
    assert score_inputs.scoring_digest({"frozen": {"catalogue": {}}}) is None


def test_init_db_fills_the_digests_of_earlier_snapshots(database_url, demo):
    expected = {a.id: snapshots.latest(a.id).frozen_digest for a in demo}
    db.session.execute(update(Snapshot).values(frozen_digest=None))
    db.session.commit()
    stamped = run(database_url, "db", "stamp", "head")  # the test schema is made, not migrated
    assert stamped.returncode == 0, stamped.stderr
    done = run(database_url, "init-db")
    assert done.returncode == 0, done.stderr
    count = db.session.scalar(select(db.func.count(Snapshot.id)))
    assert f"Frozen digests written for {count} earlier snapshot(s)" in done.stdout
    db.session.expire_all()
    assert {a.id: snapshots.latest(a.id).frozen_digest for a in demo} == expected
    again = run(database_url, "init-db")
    assert again.returncode == 0, again.stderr
    assert "Frozen digests written" not in again.stdout

"""A coordinator who republishes sees what changes against the published snapshot first."""

from __future__ import annotations

from kpi_app.extensions import db
from kpi_app.models import Role, Snapshot, Status
from kpi_app.services import scores, snapshots
from tests.factories import add_values, login, publish
from tests.integration.test_frozen_publications import CODE, VALUES, halved_copy


def test_republishing_shows_changed_targets_before_confirming(
    app, client, make_city, make_assessment, make_user, tmp_path
):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, VALUES)
    publish(assessment)
    published = scores.score_assessments([assessment], source="published").overall
    login(client, make_user(Role.COORDINATOR).email)
    assessment.status = Status.VERIFIED  # reopened, re-verified
    db.session.commit()
    app.config["CATALOGUE_DIR"] = str(halved_copy(tmp_path))

    page = client.post(f"/verification/assessments/{assessment.id}/publish")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Publish fjordby 2024 again?" in body.replace("Fjordby", "fjordby")
    assert "target changed" in body and CODE in body
    assert "Publish with these changes" in body
    db.session.expire_all()
    assert assessment.status is Status.VERIFIED  # nothing published yet
    assert db.session.query(Snapshot).count() == 1
    unchanged = scores.score_assessments([assessment], source="published").overall
    assert unchanged["score"].tolist() == published["score"].tolist()

    done = client.post(f"/verification/assessments/{assessment.id}/publish", data={"confirm": "1"})
    assert done.status_code == 302
    db.session.expire_all()
    assert assessment.status is Status.PUBLISHED
    latest = snapshots.latest(assessment.id)
    entry = next(e for e in latest.content["frozen"]["benchmarks"]["entries"] if e["code"] == CODE)
    assert entry["target"] == 50.0


def test_a_republication_without_changes_needs_no_confirmation(
    client, make_city, make_assessment, make_user
):
    assessment = make_assessment(make_city("fjordby"), 2024)
    add_values(assessment, VALUES)
    publish(assessment)
    login(client, make_user(Role.COORDINATOR).email)
    assessment.status = Status.VERIFIED
    db.session.commit()
    done = client.post(f"/verification/assessments/{assessment.id}/publish")
    assert done.status_code == 302
    db.session.expire_all()
    assert assessment.status is Status.PUBLISHED
    assert db.session.query(Snapshot).count() == 2

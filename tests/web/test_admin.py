"""Administration: accounts (create, deactivate, reset, grant), cities, cycles, assignment."""

from __future__ import annotations

from kpi_app.extensions import db
from kpi_app.models import Assessment, AuditEvent, City, Role, Status, User
from kpi_app.services import permissions
from tests.factories import PASSWORD, login


def text(response):
    return response.get_data(as_text=True)


def test_admin_creates_a_member_state_viewer_with_grant_and_sees_password_once(
    app, client, make_user, make_city, make_assessment
):
    admin = make_user(Role.ADMIN)
    city = make_city("nordby", country="NO")
    draft = make_assessment(city)
    login(client, admin.email)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "ms@example.org",
            "name": "Member State",
            "role": "viewer",
            "city": "",
            "country": "no",
            "can_see_unpublished": "y",
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = text(response).split('id="generated-password">')[1].split("<")[0]
    viewer = db.session.scalar(db.select(User).where(User.email == "ms@example.org"))
    assert viewer.country_iso2 == "NO" and viewer.can_see_unpublished
    assert permissions.can_view_assessment(viewer, draft)
    assert shown not in viewer.password_hash  # stored hashed only

    other = app.test_client()
    assert "Welcome" in text(login(other, "ms@example.org", shown))
    assert shown not in text(client.get("/admin/users"))  # never shown again


def test_grant_is_refused_for_a_viewer_without_country(client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin.email)
    response = client.post(
        "/admin/users/new",
        data={"email": "v@example.org", "role": "viewer", "can_see_unpublished": "y"},
    )
    assert response.status_code == 400
    assert "Only a Member State viewer" in text(response)
    assert db.session.scalar(db.select(User).where(User.email == "v@example.org")) is None


def test_deactivate_never_deletes_and_ends_sessions(app, client, make_user):
    admin = make_user(Role.ADMIN)
    target = make_user(Role.VERIFIER)
    theirs = app.test_client()
    login(theirs, target.email)
    assert theirs.get("/verification/").status_code == 200
    login(client, admin.email)
    client.post(f"/admin/users/{target.id}/deactivate")
    db.session.refresh(target)
    assert target.active is False
    assert db.session.get(User, target.id) is not None
    assert theirs.get("/verification/").status_code == 302  # logged out
    assert "not correct" in text(login(app.test_client(), target.email))
    own = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "cannot deactivate your own account" in text(own)
    client.post(f"/admin/users/{target.id}/activate")
    db.session.refresh(target)
    assert target.active is True
    actions = {e.action for e in db.session.scalars(db.select(AuditEvent))}
    assert {"deactivate", "activate"} <= actions


def test_reset_password_shows_a_new_one_and_unlocks(app, client, make_user):
    admin = make_user(Role.ADMIN)
    target = make_user(Role.COORDINATOR)
    login(client, admin.email)
    response = client.post(f"/admin/users/{target.id}/reset-password")
    new = text(response).split('id="generated-password">')[1].split("<")[0]
    assert len(new) >= 10
    assert "not correct" in text(login(app.test_client(), target.email, PASSWORD))
    assert "Welcome" in text(login(app.test_client(), target.email, new))
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert event.entity_id == target.id and new not in str(event.new)


def test_coordinator_registers_city_opens_cycle_and_assigns_verifier(client, make_user):
    coordinator = make_user(Role.COORDINATOR)
    verifier = make_user(Role.VERIFIER, name="Vera")
    login(client, coordinator.email)
    bad = client.post("/admin/cities/new", data={"slug": "Bad Slug", "name": "X", "country": "NO"})
    assert bad.status_code == 400 and "Lower-case letters" in text(bad)
    too_many = {"slug": "eastport", "name": "Eastport", "country": "se", "population": "9" * 19}
    huge = client.post("/admin/cities/new", data=too_many)
    assert huge.status_code == 400 and "Population" in text(huge)
    client.post(
        "/admin/cities/new",
        data={"slug": "eastport", "name": "Eastport", "country": "se", "population": "50000"},
    )
    city = db.session.scalar(db.select(City).where(City.slug == "eastport"))
    assert city.country.iso2 == "SE"
    client.post("/admin/assessments/new", data={"city": "eastport", "year": "2025"})
    assessment = db.session.scalar(db.select(Assessment).where(Assessment.city_id == city.id))
    assert assessment.status is Status.DRAFT
    duplicate = client.post(
        "/admin/assessments/new", data={"city": "eastport", "year": "2025"}, follow_redirects=True
    )
    assert "already has an assessment" in text(duplicate)

    page = text(client.get(f"/admin/assessments/{assessment.id}/verifiers"))
    assert "Vera" in page
    client.post(f"/admin/assessments/{assessment.id}/verifiers", data={"verifier": verifier.id})
    db.session.refresh(assessment)
    assert assessment.verifiers == [verifier]
    client.post(f"/admin/assessments/{assessment.id}/verifiers/{verifier.id}/remove")
    db.session.refresh(assessment)
    assert assessment.verifiers == []


def test_coordinators_cannot_manage_accounts_and_others_cannot_enter(client, make_user):
    coordinator = make_user(Role.COORDINATOR)
    login(client, coordinator.email)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/benchmarks").status_code == 200
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@example.org"}).status_code == 403
    client.post("/auth/logout")
    login(client, make_user(Role.VERIFIER).email)
    assert client.get("/admin/").status_code == 403


def test_benchmark_page_lists_the_default_set(app, client, make_user):
    login(client, make_user(Role.ADMIN).email)
    page = text(client.get("/admin/benchmarks"))
    assert app.config["DEFAULT_BENCHMARK_SET"] in page

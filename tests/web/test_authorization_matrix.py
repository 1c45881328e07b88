"""Authorisation matrix: every route × every method × every role, allowed or denied.

The expectation table EXPECT is keyed by endpoint and must list every endpoint of
`app.url_map`: a new route that nobody classified makes `test_every_endpoint_is_classified`
fail. Expectations for endpoints owned by other areas (assessments, dashboards, scenarios,
tokens, API, auth, public, ops) were derived from reading their views and services; each
group says which check it relies on.

"Denied" means 401, 403, 404 or a redirect to the login page; "allowed" is anything else
below 500 (a 400 for an empty form still proves the permission check let the user through).
A 5xx fails the test whatever the role.

The world (built once, SQLite only, for speed) has two cities of Norway: alpha, whose 2024
assessment is RETURNED to the city with an open query (so the city may edit and answer,
and the verifier's steps are all reachable), and beta, whose 2023 assessment is published.
Each request runs against a fresh copy of the database file after any POST, so one role's
successful action never changes what the next role sees.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status, User
from kpi_app.models.sensors import SensorImport
from kpi_app.services import (
    api_tokens,
    cities,
    evidence,
    local_kpis,
    review_threads,
    scenarios,
    users,
    workflow,
)
from kpi_app.web.numbers import INT_MAX
from tests.conftest import PASSWORD, build_app, login
from tests.factories import add_value

pytestmark = pytest.mark.slow

ANON = "anonymous"
ADMIN = "admin"
COORD = "coordinator"
VER = "verifier_assigned"
VER_OTHER = "verifier_not_assigned"
EDITOR = "editor_of_city"
EDITOR_OTHER = "editor_of_other_city"
VIEWER = "viewer"
MS = "member_state_viewer"
MS_GRANTED = "member_state_viewer_granted"
ROLES = (ANON, ADMIN, COORD, VER, VER_OTHER, EDITOR, EDITOR_OTHER, VIEWER, MS, MS_GRANTED)

EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {ANON}
ADMINS = frozenset({ADMIN})
COORDINATION = frozenset({ADMIN, COORD})  # permissions.can_coordinate
VERIFIERS = frozenset({ADMIN, COORD, VER})  # permissions.can_verify on alpha 2024
SEE_UNPUBLISHED = frozenset({ADMIN, COORD, VER, EDITOR, MS_GRANTED})  # can_view_assessment
EDITORS = frozenset({ADMIN, EDITOR})  # can_edit_values on alpha 2024 (returned)

Expectation = frozenset[str] | dict[str, frozenset[str]]

EXPECT: dict[str, Expectation] = {
    # --- verification (this area) -------------------------------------------------------------
    "verification.inbox": LOGGED_IN,
    "verification.review": VERIFIERS,
    "verification.submit": EDITORS,
    "verification.start_review": VERIFIERS,
    "verification.return_to_city": VERIFIERS,
    "verification.verify": VERIFIERS,
    "verification.bulk_verify": VERIFIERS,
    "verification.value_decision": VERIFIERS,
    "verification.publish": COORDINATION,
    "verification.carry_over": COORDINATION,
    "verification.reopen": COORDINATION,
    "verification.city_queries": SEE_UNPUBLISHED,
    "verification.assessment_history": SEE_UNPUBLISHED,
    "verification.value": VERIFIERS,
    "verification.value_verification": VERIFIERS,
    "verification.value_reported": VERIFIERS,
    "verification.open_query": VERIFIERS,
    "verification.value_history": SEE_UNPUBLISHED,
    "verification.revert": EDITORS,
    "verification.reply": VERIFIERS | {EDITOR},  # the city answers while it has it back
    "verification.resolve": VERIFIERS,
    # --- administration (this area) -----------------------------------------------------------
    "admin.index": COORDINATION,
    "admin.benchmarks": COORDINATION,
    "admin.city_list": COORDINATION,
    "admin.city_new": COORDINATION,
    "admin.assessment_new": COORDINATION,
    "admin.verifiers": COORDINATION,
    "admin.verifier_remove": COORDINATION,
    "admin.due_dates_form": COORDINATION,  # due dates (issue 15): an empty form clears none
    "admin.users": ADMINS,
    "admin.user_new": ADMINS,
    "admin.user_activate": ADMINS,
    "admin.user_deactivate": ADMINS,
    "admin.user_grant": ADMINS,
    "admin.user_reset_password": ADMINS,
    "admin.user_reset_two_factor": ADMINS,
    # --- data entry (web/assessments): view = can_view_assessment, write = can_edit_values ----
    "assessments.index": LOGGED_IN,
    # values.may_open_assessment: coordinators, admins and editors of some city
    "assessments.open_year": frozenset({ADMIN, COORD, EDITOR, EDITOR_OTHER}),
    "assessments.show": SEE_UNPUBLISHED,
    "assessments.category": {"GET": SEE_UNPUBLISHED, "POST": EDITORS},
    "assessments.profile": {"GET": SEE_UNPUBLISHED, "POST": EDITORS},
    "assessments.export": SEE_UNPUBLISHED,
    "assessments.upload": EDITORS,
    "assessments.confirm_import": EDITORS,
    # evidence files (issue 15): can_view_assessment to read, can_edit_values to change
    "assessments.value_evidence": {"GET": SEE_UNPUBLISHED, "POST": EDITORS},
    "assessments.evidence_download": SEE_UNPUBLISHED,
    "assessments.remove_evidence": EDITORS,
    # --- scenarios (web/scenarios): scenarios.can_view / can_edit; the scenario is built on
    # alpha's live values by its editor, so viewing needs can_view_assessment ---------------
    "scenarios.index": LOGGED_IN,
    "scenarios.create": LOGGED_IN,  # an empty form fails validation (400) for every user
    "scenarios.compare": LOGGED_IN,
    "scenarios.correlations": LOGGED_IN,
    "scenarios.show": SEE_UNPUBLISHED,
    "scenarios.needle": SEE_UNPUBLISHED,
    "scenarios.projections": SEE_UNPUBLISHED,
    "scenarios.export_json": SEE_UNPUBLISHED,
    "scenarios.export_csv": SEE_UNPUBLISHED,
    "scenarios.preview": SEE_UNPUBLISHED,
    "scenarios.save_values": EDITORS,  # owner, admins and the city's editors
    "scenarios.add_rule": EDITORS,
    "scenarios.remove_adjustment": EDITORS,
    "scenarios.refresh": EDITORS,
    "scenarios.delete": EDITORS,
    "scenarios.sensor_upload": EDITORS,
    "scenarios.sensor_review": SEE_UNPUBLISHED,
    "scenarios.sensor_accept": EDITORS,
    # --- dashboards (reports.choose_source): published for all, live only when permitted.
    # alpha has nothing published, so its pages exist only for those who see it live --------
    "dashboards.cities": EVERYONE,
    "dashboards.compare": EVERYONE,
    # --- methods lab (services.lab): published assessments only, for everyone ---------
    "lab.index": EVERYONE,
    "lab.spec_download": EVERYONE,
    "lab.results_download": EVERYONE,
    "lab.results_workbook": EVERYONE,
    "lab.spec_upload": {"POST": EVERYONE},
    "lab.correlations": EVERYONE,
    "lab.correlations_download": EVERYONE,
    "dashboards.compare_download": EVERYONE,
    "dashboards.sdg": EVERYONE,
    "dashboards.sdg_download": EVERYONE,
    "dashboards.sdg_target": EVERYONE,
    "dashboards.country": EVERYONE,
    "dashboards.country_download": EVERYONE,
    "dashboards.city": SEE_UNPUBLISHED,
    "dashboards.explain": SEE_UNPUBLISHED,
    "dashboards.city_download": SEE_UNPUBLISHED,
    # VLR annex: reports.plan_profile's rule (alpha 2024 is unpublished, so only those who
    # may see the assessment get it).
    # Local KPIs: definitions by coordinators (the city's editors only when allowed: not
    # here), seen by the city's editors too; values like assessments.category; decisions
    # like verification.value_decision; exports like assessments.export.
    "local_kpis.definitions": frozenset({ADMIN, COORD, EDITOR}),
    "local_kpis.policy": COORDINATION,
    "local_kpis.new": COORDINATION,
    "local_kpis.edit": COORDINATION,
    "local_kpis.values": {"GET": SEE_UNPUBLISHED, "POST": EDITORS},
    "local_kpis.decide": VERIFIERS,
    "local_kpis.export_values": SEE_UNPUBLISHED,
    # the local values' import, like assessments.upload / confirm_import (can_edit_values)
    "local_kpis.upload": EDITORS,
    "local_kpis.confirm_import": EDITORS,
    "vlr.annex": SEE_UNPUBLISHED,
    "vlr.annex_csv_download": SEE_UNPUBLISHED,
    "vlr.annex_pdf_download": SEE_UNPUBLISHED,
    # --- personal API tokens (web/tokens): own tokens only; the token belongs to the editor ---
    "tokens.index": LOGGED_IN,
    "tokens.create": LOGGED_IN,
    "tokens.revoke": frozenset({EDITOR}),
    # --- API (/api/v1): reads are public and published-only (beta 2023); the write needs a
    # bearer token whose user passes can_edit_values on alpha 2024 --------------------------
    "api-docs.openapi_json": EVERYONE,
    "api_docs.docs": EVERYONE,
    "api_catalogue.indicators": EVERYONE,
    "api_catalogue.benchmark_sets": EVERYONE,
    "api_catalogue.benchmark_set": EVERYONE,
    "api_catalogue.methods": EVERYONE,
    "api_catalogue.sdg_links": EVERYONE,
    "api_exchange.datapackage": EVERYONE,
    "api_exchange.ngsi_context": EVERYONE,
    "api_exchange.ngsi_entities": EVERYONE,
    "api_exchange.sdmx": EVERYONE,
    "api_exchange.sdmx_structure": EVERYONE,
    "api_exchange.sdmx_local": EVERYONE,
    "api_exchange.sdmx_local_structure": EVERYONE,
    "api_results.cities": EVERYONE,
    "api_results.city": EVERYONE,
    "api_results.assessments": EVERYONE,
    "api_results.assessment": EVERYONE,
    "api_results.values": EVERYONE,
    "api_results.scores": EVERYONE,
    "api_lab.lab_results": EVERYONE,
    "api_submissions.submit": EDITORS,
    "api_submissions.submit_local": EDITORS,  # local values: same rule (can_edit_values)
    "api_ngsi_notify.notify": EDITORS,
    # --- auth, public pages, operations, static files ---------------------------------------
    "auth.login": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.account": LOGGED_IN,
    "auth.email_notifications": LOGGED_IN,
    # Password reset: the page asks for an address (same answer for every address); a
    # link with a bad token sends everybody back to that page.
    "auth.forgot_password": EVERYONE,
    "auth.reset_password": EVERYONE,
    # Notifications: each logged-in user sees and marks only their own.
    "notifications.index": LOGGED_IN,
    "notifications.mark_read": LOGGED_IN,
    "notifications.mark_all_read": LOGGED_IN,
    # The code step opens only after a correct password: without one pending it sends
    # everybody back to the login form.
    "auth.login_code": frozenset(),
    "auth.two_factor": LOGGED_IN,
    "auth.two_factor_codes": LOGGED_IN,
    "auth.two_factor_disable": LOGGED_IN,
    "public.home": EVERYONE,
    "public.catalogue": EVERYONE,
    "public.catalogue_indicator": EVERYONE,
    "public.catalogue_indicator_download": EVERYONE,
    "public.favicon": EVERYONE,
    "public.accessibility": EVERYONE,
    "ops.healthz": EVERYONE,
    "static": EVERYONE,
}

# Endpoints whose URL arguments differ from the defaults below (published city for the API).
PUBLISHED_ARGS = {"slug": "beta", "year": 2023}
ARG_OVERRIDES: dict[str, dict[str, Any]] = {
    "api_results.city": PUBLISHED_ARGS,
    "api_results.assessment": PUBLISHED_ARGS,
    "api_results.scores": PUBLISHED_ARGS,
    "api_exchange.datapackage": {"year": 2023},
    "api_submissions.submit": {"slug": "alpha", "year": 2024},
    "api_submissions.submit_local": {"slug": "alpha", "year": 2024},
    "api_ngsi_notify.notify": {"city": "alpha"},
    "assessments.category": {"slug": "ec-ict-ict"},
    "assessments.export": {"fmt": "csv"},
    "auth.reset_password": {"token": "not-a-valid-token"},
    "notifications.mark_read": {"notification_id": 999_999},  # nobody's: "not yours"
    "dashboards.city_download": {"name": "kpis", "fmt": "csv"},
    "dashboards.compare_download": {"name": "ranking", "fmt": "csv"},
    "dashboards.country_download": {"name": "cities", "fmt": "csv"},
    "dashboards.sdg_download": {"name": "sdg", "fmt": "csv"},
    "dashboards.sdg_target": {"ref": "11.6"},
    "public.catalogue_indicator_download": {"fmt": "csv"},
    "dashboards.explain": {"level": "dimension", "group_id": "EC"},
    "local_kpis.edit": {"code": "MATRIX"},
}
JSON_BODIES: dict[str, dict[str, Any]] = {
    "api_ngsi_notify.notify": {
        "id": "urn:ngsi-ld:Notification:matrix",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:matrix",
        "data": [
            {
                "id": "urn:ngsi-ld:AirQualityObserved:matrix",
                "type": "AirQualityObserved",
                "no2": {"value": 20, "observedAt": "2024-03-01T10:00:00Z"},
            }
        ],
    },
    "api_submissions.submit_local": {
        "dry_run": True,
        "values": [{"code": "LOCAL:alpha:MATRIX", "value": 5.0, "source": "matrix test"}],
    },
    "api_submissions.submit": {
        "dry_run": True,
        "values": [{"code": "EC: ICT: ICT: 1C", "value": 55.0, "source": "matrix test"}],
    },
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Defects this matrix found in code owned by other areas, reported to their owners. They are
# expected to fail (any role) until fixed; once fixed the test says to remove the entry.
# (The first run found "200% zoom" inside _() on the accessibility page, read as a %-format
# by Jinja's new-style gettext; it is fixed.)
KNOWN_DEFECTS: dict[str, str] = {}


@dataclass
class World:
    app: Flask
    database: Path
    template: Path
    args: dict[str, Any]
    cookies: dict[str, str]
    tokens: dict[str, str]


def _build(app: Flask) -> tuple[dict[str, Any], dict[str, User]]:
    coordinator_password = PASSWORD
    alpha = cities.create_city("alpha", "Alpha", "NO", population=120_000)
    cities.create_city("beta", "Beta", "NO", population=80_000)

    def user(role: Role, email: str, **kw: Any) -> User:
        account, _ = users.create_user(email, role, password=coordinator_password, **kw)
        return account

    people = {
        ADMIN: user(Role.ADMIN, "admin@example.org"),
        COORD: user(Role.COORDINATOR, "coordinator@example.org"),
        VER: user(Role.VERIFIER, "verifier@example.org"),
        VER_OTHER: user(Role.VERIFIER, "verifier2@example.org"),
        EDITOR: user(Role.CITY_EDITOR, "editor@example.org", city_slug="alpha"),
        EDITOR_OTHER: user(Role.CITY_EDITOR, "editor2@example.org", city_slug="beta"),
        VIEWER: user(Role.VIEWER, "viewer@example.org"),
        MS: user(Role.VIEWER, "ms@example.org", country_iso2="NO"),
        MS_GRANTED: user(Role.VIEWER, "ms2@example.org", country_iso2="NO"),
    }
    people[MS_GRANTED].can_see_unpublished = True
    db.session.commit()
    # A local KPI of alpha, for the definition's edit page (local_kpis area).
    local_kpis.create_kpi(
        alpha,
        local_kpis.DefinitionInput(code="MATRIX", name={"en": "Matrix local KPI"}),
        people[COORD],
        ("en",),
    )

    # beta 2023: published through the real workflow (a snapshot exists)
    beta = cities.get_city("beta")
    published = workflow.open_assessment(beta, 2023, people[COORD])
    add_value(published, "EC: ICT: ICT: 1C", 91.0, actor=people[EDITOR_OTHER])
    add_value(published, "EN: EN: AQ: 1C", 9.0, data_point="pm25")
    workflow.assign_verifier(published, people[VER_OTHER], people[COORD])
    for action, actor in (
        ("submit", EDITOR_OTHER),
        ("start_review", VER_OTHER),
        ("decide", VER_OTHER),
        ("verify", VER_OTHER),
        ("publish", COORD),
    ):
        if action == "decide":  # every reported value needs a decision before "verified"
            for row in published.values:
                workflow.set_value_verification(
                    row,
                    people[actor],
                    verified=True,
                    code="source_checked",
                    note=None,
                    expected_version=row.version,
                )
            continue
        workflow.transition(published, action, people[actor])

    # alpha 2024: submitted, queried and returned to the city
    assessment = workflow.open_assessment(alpha, 2024, people[COORD])
    value = add_value(assessment, "EC: ICT: ICT: 1C", 74.0, actor=people[EDITOR])
    add_value(assessment, "EC: ICT: ICT: 2C", 35.0, actor=people[EDITOR])
    workflow.assign_verifier(assessment, people[VER], people[COORD])
    workflow.transition(assessment, "submit", people[EDITOR])
    workflow.transition(assessment, "start_review", people[VER])
    query = review_threads.open_query(value, people[VER], "Which survey?")
    workflow.transition(assessment, "return", people[VER], reason="see the query")
    assert assessment.status is Status.RETURNED
    attachment = evidence.attach(value, people[EDITOR], "survey.pdf", b"%PDF-1.4\n%%EOF\n")

    scenario = scenarios.create_scenario(assessment, people[EDITOR], "Plan 2030")
    sensor_import = SensorImport(
        assessment_id=assessment.id,
        uploaded_by_id=people[EDITOR].id,
        filename="air.csv",
        file_sha256="0" * 64,
        file_format="csv",
        resolution="hourly",
        timezone="UTC",
        year=2024,
    )
    db.session.add(sensor_import)
    db.session.commit()
    creation = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.entity_type == "indicator_value", AuditEvent.entity_id == value.id)
        .order_by(AuditEvent.id)
    )
    editor_token = api_tokens.create_token(people[EDITOR], "matrix")
    args = {
        "assessment_id": assessment.id,
        "value_id": value.id,
        "evidence_id": attachment.id,
        "query_id": query.id,
        "event_id": creation.id,
        "user_id": people[VER].id,
        "scenario_id": scenario.id,
        "import_id": sensor_import.id,
        "token_id": editor_token.token.id,
        "slug": "alpha",
        "year": 2024,
        "iso2": "NO",
        "set_id": app.config["DEFAULT_BENCHMARK_SET"],
        "code": "EC: ICT: ICT: 1C",
        "filename": "css/app.css",
        "fmt": "csv",
        "name": "kpis",
    }
    return args, people


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("matrix")
    database = folder / "matrix.sqlite3"
    app = build_app(f"sqlite:///{database}")
    with app.app_context():
        db.create_all()
        args, people = _build(app)
        cookies, tokens = {}, {}
        for role, account in people.items():
            client = app.test_client()
            assert "Welcome" in login(client, account.email).get_data(as_text=True), role
            cookie = client.get_cookie("session")
            assert cookie is not None
            cookies[role] = cookie.value
            tokens[role] = api_tokens.create_token(account, "matrix-" + role).secret
        db.session.remove()
        db.engine.dispose()
        template = folder / "template.sqlite3"
        shutil.copyfile(database, template)
        try:
            yield World(app, database, template, args, cookies, tokens)
        finally:
            db.session.remove()
            db.engine.dispose()


def _restore(world: World) -> None:
    db.session.remove()
    db.engine.dispose()
    shutil.copyfile(world.template, world.database)


def _url(world: World, rule: Any) -> str:
    from flask import url_for

    values = {name: world.args[name] for name in rule.arguments if name in world.args}
    values.update(ARG_OVERRIDES.get(rule.endpoint, {}))
    missing = set(rule.arguments) - set(values)
    assert not missing, f"no test value for {missing} in {rule.rule}"
    with world.app.test_request_context():
        # Overrides that are not URL arguments go into the query string (?city= of notify).
        return url_for(rule.endpoint, **values)


def _client(world: World, role: str) -> FlaskClient:
    client = world.app.test_client()
    if role != ANON:
        client.set_cookie("session", world.cookies[role])
    return client


def is_denied(response: Any) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (301, 302, 303, 307, 308) and "/auth/login" in location


def _request(world: World, role: str, rule: Any, method: str) -> Any:
    client = _client(world, role)
    url = _url(world, rule)
    headers = {}
    if url.startswith("/api/") and role != ANON:
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    body = JSON_BODIES.get(rule.endpoint)
    if body is not None:
        return client.open(url, method=method, json=body, headers=headers)
    return client.open(url, method=method, data={}, headers=headers)


def _expected(endpoint: str, method: str) -> frozenset[str]:
    expectation = EXPECT[endpoint]
    if isinstance(expectation, dict):
        return expectation[method]
    return expectation


def _rules(app: Flask) -> list[Any]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))


def test_every_endpoint_is_classified(world: World) -> None:
    endpoints = {rule.endpoint for rule in _rules(world.app)}
    unlisted = sorted(endpoints - set(EXPECT))
    assert not unlisted, f"add these endpoints to EXPECT: {unlisted}"
    stale = sorted(set(EXPECT) - endpoints)
    assert not stale, f"EXPECT lists endpoints that no longer exist: {stale}"
    for endpoint, expectation in EXPECT.items():
        if isinstance(expectation, dict):
            rules = [r for r in _rules(world.app) if r.endpoint == endpoint]
            methods = {m for r in rules for m in r.methods if m in METHODS}
            assert methods <= set(expectation), f"{endpoint}: no expectation for {methods}"


def test_authorization_matrix(world: World) -> None:
    wrong: list[str] = []
    defects: set[str] = set()
    checked = 0
    with world.app.app_context():
        for rule in _rules(world.app):
            for method in sorted(m for m in rule.methods if m in METHODS):
                allowed = _expected(rule.endpoint, method)
                for role in ROLES:
                    checked += 1
                    try:
                        response = _request(world, role, rule, method)
                    except Exception as error:  # TESTING propagates a view's exception
                        db.session.rollback()
                        if KNOWN_DEFECTS.get(rule.endpoint, "\0") in str(error):
                            defects.add(rule.endpoint)
                        else:
                            wrong.append(f"{method} {rule.rule} as {role}: {error!r}"[:300])
                        continue
                    finally:
                        if method != "GET":
                            _restore(world)
                    response.close()
                    status = response.status_code
                    if status >= 500:
                        wrong.append(f"{method} {rule.rule} as {role}: server error {status}")
                        continue
                    denied = is_denied(response)
                    if denied == (role in allowed):
                        verdict = "denied" if denied else "allowed"
                        wrong.append(f"{method} {rule.rule} as {role}: {verdict} ({status})")
    assert not wrong, "\n".join(wrong)
    fixed = set(KNOWN_DEFECTS) - defects
    assert not fixed, f"fixed now, remove from KNOWN_DEFECTS: {sorted(fixed)}"
    assert checked > 10 * len(EXPECT)  # every role on every endpoint, not a vacuous pass


HUGE = 2**63  # beyond SQLite's INTEGER and PostgreSQL's BIGINT
NUMBER_ARGS = ("page", "page_size", "year", "heatmap_page", "ids", "offset", "limit", "count")


def _server_error(world: World, role: str, url: str) -> str | None:
    client = _client(world, role)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role != ANON else {}
    try:
        response = client.get(url, headers=headers)
    except Exception as error:  # TESTING propagates a view's exception
        db.session.rollback()
        return f"GET {url} as {role}: {error!r}"[:300]
    response.close()
    return f"GET {url} as {role}: {response.status_code}" if response.status_code >= 500 else None


def _huge_number_addresses(world: World, rule: Any) -> list[str]:
    """The rule's address with each numeric query argument, then each int path argument,
    set to HUGE (one at a time: a valid page_size must not hide a page that overflows)."""
    from flask import url_for
    from werkzeug.routing import IntegerConverter

    base = _url(world, rule)
    join = "&" if "?" in base else "?"
    # A PDF reads no numeric query argument and costs a second to draw: its path only.
    queries = () if rule.rule.endswith(".pdf") else NUMBER_ARGS
    addresses = [f"{base}{join}{name}={HUGE}" for name in queries]
    values = {name: world.args[name] for name in rule.arguments if name in world.args}
    values.update(ARG_OVERRIDES.get(rule.endpoint, {}))
    marker = INT_MAX - 1  # the largest id the converter builds, replaced by HUGE below
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            with world.app.test_request_context():
                address = url_for(rule.endpoint, **{**values, name: marker})
            addresses.append(address.replace(str(marker), str(HUGE)))
    return addresses


def test_numbers_beyond_the_database_range_are_not_server_errors(world: World) -> None:
    """Every GET route with a number beyond what the database stores, in the path or the
    query: a 404, a 400 or the argument ignored, never a 500 from the database driver."""
    wrong: list[str] = []
    checked = 0
    with world.app.app_context():
        for rule in _rules(world.app):
            if "GET" not in rule.methods:
                continue
            for address in _huge_number_addresses(world, rule):
                for role in (ANON, ADMIN):
                    checked += 1
                    problem = _server_error(world, role, address)
                    if problem:
                        wrong.append(problem)
    assert not wrong, "\n".join(wrong)
    assert checked > 16 * 100  # every GET route, not a vacuous pass

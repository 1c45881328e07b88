"""schemathesis against the app's own OpenAPI document, with every check schemathesis has.

Runs in-process on the WSGI app (no server), a bounded number of generated requests per
operation, with published and draft data in the database so lists are not all empty.
"All checks" includes `positive_data_acceptance`: a request the schema calls valid must not
be refused, so the parameter and body schemas have to say what validation enforces (KPI
code pattern, years, slugs). (schemathesis' pytest plugin does not run under pytest 9 yet,
so hypothesis drives each operation's strategy directly.)
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kpi_app.catalogue import normalise_code
from kpi_app.web.api.schemas import KPI_CODE_PATTERN
from tests.api.conftest import World, bearer

EXAMPLES_PER_OPERATION = 15
STATUSES: dict[str, set[int]] = {}
WRITE = "POST /api/v1/cities/{slug}/assessments/{year}/values"
LOCAL_WRITE = "POST /api/v1/cities/{slug}/assessments/{year}/local-values"
SCORES = "GET /api/v1/cities/{slug}/assessments/{year}/scores"
NOTIFY = "POST /api/v1/ngsi-ld/notify"


def positive_data_acceptance_of_the_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' positive_data_acceptance, with two documented exceptions.

    A schema-valid submission can still break the catalogue's rules for its values (a code
    with the right shape that no KPI has, a share above 100 %): no JSON Schema can state them,
    and the write endpoint answers them 422 with a per-row `problems` list. Likewise the
    scores endpoint's `peers` must name published assessments of that year and goes with a
    relative method only (OpenAPI 3.0 cannot tie one parameter to another's value), and its
    `benchmark_set` must name a set that exists (sets are imported at run time, so no enum in
    the schema can list them); their descriptions say those answer 422. Those count as
    accepted shapes; any other 422 (the request validation itself) still fails the check.
    A broker notification's entities are open NGSI-LD objects: the per-entity rules (a known
    type, pollutant readings with number, unit and time) answer 422 with `entities` reasons.
    """
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422:
            details = (response.json().get("error") or {}).get("details") or {}
            if case.operation.label in (WRITE, LOCAL_WRITE) and details.get("problems"):
                return None
            if case.operation.label == NOTIFY and "entities" in details:
                return None
            if case.operation.label == SCORES and set(details.get("query") or {}) in (
                {"peers"},
                {"benchmark_set"},
            ):
                return None
        raise


checks.load_all_checks()
ALL_CHECKS = [
    positive_data_acceptance_of_the_shape if check is positive_data_acceptance else check
    for check in checks.CHECKS.get_all()
]
assert positive_data_acceptance_of_the_shape in ALL_CHECKS


#: Path parameters naming data that exists, so detail endpoints answer 200 (not only 404).
#: The draft's own editor writes to the draft, so the write endpoint gets past 404 too.
EXISTING = {
    "slug": "fjordby",
    "year": 2024,
    "set_id": "indicative-2026",
}
LAB = "GET /api/v1/lab"
VALID_SUBMISSION = {"values": [{"code": "EC: ICT: ICT: 1C", "value": 55.5}], "dry_run": True}
VALID_SUBMISSIONS = {
    WRITE: VALID_SUBMISSION,
    LOCAL_WRITE: {"values": [{"code": "LOCAL:secretville:TREES", "value": 40}], "dry_run": True},
}
VALID_NOTIFICATION = {
    "id": "urn:ngsi-ld:Notification:contract",
    "type": "Notification",
    "subscriptionId": "urn:ngsi-ld:Subscription:contract",
    "data": [
        {
            "id": "urn:ngsi-ld:AirQualityObserved:contract",
            "type": "AirQualityObserved",
            "no2": {"value": 20, "unitCode": "GQ", "observedAt": "2024-03-01T10:00:00Z"},
        }
    ],
}


def _strategies(operation: schemathesis.APIOperation) -> list[Any]:
    """Generated requests, and for operations with path parameters, the same on real data."""
    strategies = [operation.as_strategy()]
    if operation.label == NOTIFY:  # the draft's editor notifies readings of the draft's year
        pinned_query = {"city": "secretville", "timezone": "UTC"}
        strategies.append(
            operation.as_strategy(
                query=pinned_query, body=VALID_NOTIFICATION, media_type="application/json"
            )
        )
    names = {p.name for p in operation.path_parameters}
    if names:
        pinned = {name: EXISTING[name] for name in names}
        if operation.label in VALID_SUBMISSIONS:
            pinned["slug"] = "secretville"
            strategies = [
                operation.as_strategy(path_parameters=pinned),
                operation.as_strategy(
                    path_parameters=pinned, body=VALID_SUBMISSIONS[operation.label]
                ),
            ]
        else:
            strategies.append(operation.as_strategy(path_parameters=pinned))
    if operation.label == LAB:  # the methods lab on a year that has published assessments
        strategies.append(operation.as_strategy(query={"year": EXISTING["year"], "draws": 5}))
    return strategies


def _exercise(operation: schemathesis.APIOperation, headers: dict[str, str]) -> list[str]:
    failures: list[str] = []
    for strategy in _strategies(operation):
        failures += _run(operation, strategy, headers)
    return failures


def _run(operation: schemathesis.APIOperation, strategy: Any, headers: dict[str, str]) -> list[str]:
    failures: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        try:
            response = case.call_and_validate(checks=ALL_CHECKS, headers=headers)
            STATUSES.setdefault(operation.label, set()).add(response.status_code)
        except (Exception, BaseExceptionGroup) as error:  # collect: name every failing operation
            failures.append(
                f"{operation.label} path={case.path_parameters} query={case.query} "
                f"body={case.body!r:.300}: {str(error)[:400]}"
            )
            raise

    with contextlib.suppress(Exception, BaseExceptionGroup):
        check()  # a failure is recorded in `failures`
    return failures


def test_api_matches_its_openapi_document(app: Flask, world: World) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    headers = bearer(world.token(world.draft_editor))
    STATUSES.clear()
    failures = [f for operation in operations for f in _exercise(operation, headers)]
    assert failures == [], "\n\n".join(failures)
    # Every operation was reached with data that exists, not only refused or not found.
    for operation in operations:
        assert STATUSES[operation.label] & {200, 201}, (operation.label, STATUSES[operation.label])


def test_stateful_phase_follows_the_documented_links(app: Flask, world: World) -> None:
    """The stateful phase: list → detail along the OpenAPI links, every check on each step.

    Derandomized, yet the path the state machine takes still depends on the process it runs
    in (after some other test files, 40 examples never reached a city's detail): 100
    examples reach every link in each order the suite runs its files in."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    base = schema.as_state_machine()
    steps: list[str] = []

    class Machine(base):  # type: ignore[misc,valid-type]
        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            steps.append(f"{case.operation.label} {response.status_code}")
            case.validate_response(response, checks=ALL_CHECKS)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=100,
            stateful_step_count=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    followed = {step for step in steps if step.endswith(" 200")}
    assert "GET /api/v1/cities/{slug} 200" in followed, steps
    assert followed & {
        "GET /api/v1/benchmark-sets/{set_id} 200",
        "GET /api/v1/cities/{slug}/assessments/{year} 200",
        "GET /api/v1/cities/{slug}/assessments/{year}/scores 200",
    }, steps


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.from_regex(KPI_CODE_PATTERN, fullmatch=True) | st.text(max_size=20))
def test_the_documented_code_pattern_is_what_the_catalogue_accepts(text: str) -> None:
    """Every string the OpenAPI pattern admits is a KPI code, and (for these) vice versa."""
    documented = re.fullmatch(KPI_CODE_PATTERN.strip("^$"), text) is not None
    try:
        normalise_code(text)
        accepted = True
    except ValueError:
        accepted = False
    if documented:
        assert accepted, text
    elif accepted:
        # Beyond the pattern, only other whitespace (tabs, newlines) and letters whose upper
        # case is ASCII ("ß" → "SS") are forgiven: the pattern documents the plain spellings.
        assert re.sub(r"\s", "", text) != text or not text.isascii(), text

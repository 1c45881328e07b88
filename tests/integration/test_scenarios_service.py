"""services.scenarios: baseline copies, permissions by source, rules, exports, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, IndicatorValue, Role, Scenario, Status
from kpi_app.services import scenarios, snapshots

PM25 = ("EN: EN: AQ: 1C", "pm25")
LOSS = ("EC: I: WS: 3C", "")
NET = ("EC: ICT: ICT: 1C", "")


def put_values(assessment: Any, values: dict[tuple[str, str], float]) -> None:
    for (code, point), value in values.items():
        db.session.add(
            IndicatorValue(
                assessment_id=assessment.id,
                code=code,
                data_point=point,
                computed_value=value,
                reported=True,
            )
        )
    db.session.commit()


@pytest.fixture(autouse=True)
def request_context(app: Any) -> Any:
    """Messages are translated, which needs a request (for its language)."""
    with app.test_request_context():
        yield


@pytest.fixture
def setup(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("harbourtown")
    other = make_city("inlandville")
    assessment = make_assessment(city, 2024)
    put_values(assessment, {PM25: 20.0, LOSS: 30.0, NET: 50.0})
    return {
        "city": city,
        "assessment": assessment,
        "editor": make_user(Role.CITY_EDITOR, city),
        "colleague": make_user(Role.CITY_EDITOR, city),
        "stranger": make_user(Role.CITY_EDITOR, other),
        "viewer": make_user(Role.VIEWER),
        "admin": make_user(Role.ADMIN),
    }


def test_scenario_copies_live_baseline_and_never_touches_values(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "Clean air")
    assert scenarios.source_of(scenario) == "live"
    problems = scenarios.set_values(scenario, setup["editor"], {PM25: 5.0, LOSS: 10.0})
    assert problems == []
    evaluation = scenarios.evaluate(scenario)
    items = evaluation.items.set_index(["code", "data_point"])
    assert items.loc[PM25, "baseline_value"] == 20.0
    assert items.loc[PM25, "scenario_value"] == 5.0
    # PM2.5 target 5: 25 % of target (1 point) → 100 % (4 points).
    assert (items.loc[PM25, "baseline_points"], items.loc[PM25, "scenario_points"]) == (1, 4)
    env = evaluation.levels["dimensions"].set_index("id").loc["EN"]
    assert env["scenario_score"] > env["baseline_score"] and env["change"] == "up"
    stored = {
        (v.code, v.data_point): v.value for v in db.session.scalars(db.select(IndicatorValue)).all()
    }
    assert stored[PM25] == 20.0 and stored[LOSS] == 30.0
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.entity_type == "scenario"))
    assert [e.action for e in events] == ["create", "update"]


def test_saving_an_unchanged_form_writes_no_audit_event(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "S")
    scenarios.set_values(scenario, setup["editor"], {PM25: 5.0}, 2030)
    scenarios.set_values(scenario, setup["editor"], {PM25: 5.0}, 2030)
    events = db.session.scalars(
        db.select(AuditEvent).where(
            AuditEvent.action == "update", AuditEvent.entity_type == "scenario"
        )
    ).all()
    assert len(events) == 1


def test_blank_or_baseline_value_removes_a_change(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "S")
    scenarios.set_values(scenario, setup["editor"], {PM25: 5.0})
    scenarios.set_values(scenario, setup["editor"], {PM25: 20.0})
    assert scenarios.definition_of(scenario).adjustments == ()


def test_invalid_values_are_refused_and_nothing_stored(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "S")
    catalogue = scenarios.current_catalogue()
    boolean = next(item for item in catalogue.items() if item.is_boolean)
    problems = scenarios.set_values(scenario, setup["editor"], {boolean.key: 0.5, PM25: 3.0})
    assert problems and "yes/no" in problems[0]
    assert scenarios.definition_of(scenario).adjustments == ()


def test_rules_and_horizon(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "Halve losses")
    assert (
        scenarios.add_rule(
            scenario,
            setup["editor"],
            {"kind": "scale_by", "code": LOSS[0], "data_point": "", "amount": 0.5, "by_year": 2028},
        )
        == []
    )
    evaluation = scenarios.evaluate(scenario)
    assert evaluation.items.set_index(["code", "data_point"]).loc[LOSS, "scenario_value"] == 15.0
    bad = scenarios.add_rule(
        scenario, setup["editor"], {"kind": "growth", "code": NET[0], "amount": -2}
    )
    assert bad and "above -100 %" in bad[0]
    trajectory = scenarios.trajectory(scenario)
    assert sorted(trajectory["year"].unique()) == list(range(2024, 2031))


def test_permissions_follow_the_assessment(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "S")
    assert scenarios.can_edit(setup["colleague"], scenario)  # an editor of the same city
    assert scenarios.can_edit(setup["admin"], scenario)
    assert not scenarios.can_view(setup["stranger"], scenario)
    assert not scenarios.can_view(setup["viewer"], scenario)  # live data, not published
    assert not scenarios.can_view(None, scenario)
    assert scenario not in scenarios.visible_scenarios(setup["stranger"])
    with pytest.raises(scenarios.ScenarioAccessError):
        scenarios.create_scenario(setup["assessment"], setup["viewer"], "peek")


def test_published_baseline_for_outsiders_holds_only_published_values(
    setup: dict[str, Any],
) -> None:
    assessment = setup["assessment"]
    assessment.status = Status.PUBLISHED
    snapshots.freeze(assessment, setup["admin"])
    db.session.commit()
    # After publication the city changes a value (reopened): outsiders must not see it.
    value = db.session.scalar(db.select(IndicatorValue).where(IndicatorValue.code == PM25[0]))
    value.computed_value = 99.0
    db.session.commit()
    scenario = scenarios.create_scenario(assessment, setup["viewer"], "Outside view")
    assert scenarios.source_of(scenario) == "published"
    baseline = scenarios.evaluate(scenario).items.set_index(["code", "data_point"])
    assert baseline.loc[PM25, "baseline_value"] == 20.0
    assert scenarios.can_view(setup["stranger"], scenario)  # published: anyone signed in
    assert not scenarios.can_edit(setup["stranger"], scenario)


def test_exports(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "Export me")
    scenarios.set_values(scenario, setup["editor"], {PM25: 5.0})
    evaluation = scenarios.evaluate(scenario)
    data = scenarios.export_json(evaluation)
    json.dumps(data)  # JSON-ready, no NaN objects
    assert data["scenario"]["name"] == "Export me"
    assert data["definition"]["changes"] == [{"code": PM25[0], "data_point": "pm25", "value": 5.0}]
    pm = next(i for i in data["items"] if (i["code"], i["data_point"]) == PM25)
    assert (pm["baseline_value"], pm["scenario_value"], pm["adjustment"]) == (20.0, 5.0, "set to 5")
    text = scenarios.export_csv(evaluation)
    header, *rows = text.splitlines()
    assert header.split(",")[:2] == ["code", "data_point"]
    assert any(r.startswith("EN: EN: AQ: 1C,pm25,") and ",5.0," in r for r in rows)


def test_delete_is_audited(setup: dict[str, Any]) -> None:
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "Gone")
    scenario_id = scenario.id
    scenarios.delete_scenario(scenario, setup["editor"])
    assert db.session.get(Scenario, scenario_id) is None
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "delete")).one()
    assert event.entity_type == "scenario" and event.old["name"] == "Gone"


def test_projections_and_correlations_read_only_what_the_user_may(
    setup: dict[str, Any], make_assessment: Callable[..., Any]
) -> None:
    city = setup["city"]
    for year, (pm, loss) in {2021: (26.0, 36.0), 2022: (24.0, 34.0), 2023: (22.0, 32.0)}.items():
        put_values(make_assessment(city, year), {PM25: pm, LOSS: loss})
    scenario = scenarios.create_scenario(setup["assessment"], setup["editor"], "Trends")
    table = scenarios.projections(setup["editor"], scenario).set_index(
        ["code", "data_point", "method"]
    )
    # PM2.5 falls 2 a year, 20 in 2024 → 8 in 2030 (linear, exact line).
    assert table.loc[(*PM25, "linear"), "projected"] == pytest.approx(8.0)
    assert table.loc[(*PM25, "linear"), "n_points"] == 4
    correlations = scenarios.correlations(setup["editor"])
    pair = correlations.loc[correlations["item_a"].str.contains("AQ|WS")]
    assert (pair["n"] <= 4).all() and not pair["shown"].any()  # n < 8: withheld
    assert scenarios.correlations(setup["stranger"]).empty

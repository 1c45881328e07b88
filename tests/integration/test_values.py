"""services.values and services.city_facts: computing, validating, saving, auditing, progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kpi_app.catalogue import Catalogue
from kpi_app.extensions import db
from kpi_app.models import AuditEvent, IndicatorValue, Role, Status
from kpi_app.services import city_facts, values
from kpi_app.services.values import Entry, ValueInput

SHARE = "EC: ICT: ICT: 1C"  # households with Internet access, % = num / den × 100
RATE = "EC: ICT: ICT: 3C"  # per 100,000 inhabitants, denominator = city population
DIRECT = "EC: ICT: ICT: 5C"  # a count entered directly
YES_NO = "SC: SH: SA: 3A"


@pytest.fixture
def setting(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("bergvik")
    editor = make_user(Role.CITY_EDITOR, city=city)
    assessment = make_assessment(city, 2024)
    return {"city": city, "editor": editor, "assessment": assessment}


def record(assessment: Any, code: str, point: str = "") -> IndicatorValue:
    return values.records_by_key(assessment)[(code, point)]


def events(action: str | None = None) -> list[AuditEvent]:
    query = db.select(AuditEvent).where(AuditEvent.entity_type == "indicator_value")
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_value_is_computed_with_the_catalogue_multiplier(setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    result = values.save_entries(
        a, [Entry(ValueInput(SHARE, numerator=30, denominator=120), 0)], setting["editor"]
    )
    assert result.saved == [(SHARE, "")]
    stored = record(a, SHARE)
    assert stored.computed_value == pytest.approx(25.0)
    assert stored.value == pytest.approx(25.0)
    assert stored.unit == "Percentage"
    assert stored.updated_by_id == setting["editor"].id


def test_direct_value_and_override(setting: dict[str, Any], catalogue: Catalogue) -> None:
    a, editor = setting["assessment"], setting["editor"]
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=42))], editor)
    assert record(a, DIRECT).computed_value == 42
    indicator, item = catalogue.indicator(SHARE), catalogue.item(SHARE)
    override = ValueInput(SHARE, numerator=30, denominator=120, value=27)
    problems = values.check_entry(indicator, item, override, 2024)
    assert [p.field for p in problems] == ["override_reason"]
    values.save_entries(
        a,
        [
            Entry(
                ValueInput(
                    SHARE,
                    numerator=30,
                    denominator=120,
                    value=27,
                    override_reason="survey rounding",
                )
            )
        ],
        editor,
    )
    stored = record(a, SHARE)
    assert (stored.computed_value, stored.override_value, stored.value) == (25.0, 27.0, 27.0)
    # Typing the computed value again is not an override.
    same = values.canonical(
        indicator, item, ValueInput(SHARE, numerator=30, denominator=120, value=25)
    )
    assert same.value is None


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (ValueInput(SHARE, numerator=130, denominator=120), "numerator"),
        (ValueInput(SHARE, numerator=-1, denominator=120), "numerator"),
        (ValueInput(SHARE, numerator=1, denominator=0), "denominator"),
        (ValueInput(SHARE, numerator=1), "denominator"),
        (ValueInput(DIRECT, value=-5), "value"),
        (ValueInput(YES_NO, value=0.5), "value"),
        (ValueInput(SHARE, reported=False), "not_reported_reason"),
        (ValueInput(DIRECT, value=3, data_year=1800), "data_year"),
        (ValueInput(DIRECT, value=3, quality=9), "quality"),
        (ValueInput(DIRECT, value=3, source_url="javascript:alert(1)"), "source_url"),
    ],
)
def test_errors_name_the_field(
    setting: dict[str, Any], catalogue: Catalogue, entry: ValueInput, field: str
) -> None:
    indicator, item = catalogue.indicator(entry.code), catalogue.item(entry.code)
    problems = values.check_entry(indicator, item, entry, 2024)
    assert field in [p.field for p in problems if p.is_error]


def test_out_of_range_is_a_warning_that_a_comment_settles(catalogue: Catalogue) -> None:
    indicator, item = catalogue.indicator(RATE), catalogue.item(RATE)
    entry = ValueInput(RATE, numerator=9_000_000, denominator=1000)
    problems = values.check_entry(indicator, item, entry, 2024)
    assert [(p.field, p.severity) for p in problems] == [("value", "warning")]
    assert values.blocking(problems, entry)
    commented = ValueInput(RATE, numerator=9_000_000, denominator=1000, comment="tourists")
    assert values.blocking(problems, commented) == []


def test_every_change_is_audited_with_old_and_new(setting: dict[str, Any]) -> None:
    a, editor = setting["assessment"], setting["editor"]
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=1), 0)], editor)
    version = record(a, DIRECT).version
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=2), version)], editor)
    create, update = events()
    assert create.action == "create" and create.old is None and create.new["computed_value"] == 1
    assert (
        update.action == "update"
        and update.old["computed_value"] == 1
        and update.new["computed_value"] == 2
    )
    assert update.actor_id == editor.id and update.assessment_id == a.id


def test_unchanged_entries_write_nothing(setting: dict[str, Any]) -> None:
    a, editor = setting["assessment"], setting["editor"]
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=1, source=" registry "))], editor)
    result = values.save_entries(
        a, [Entry(ValueInput(DIRECT, value=1, source="registry")), Entry(ValueInput(SHARE))], editor
    )
    assert result.saved == [] and result.unchanged == 2
    assert len(events()) == 1


def test_a_stale_form_gets_a_conflict_with_both_values(
    setting: dict[str, Any], make_user: Callable[..., Any]
) -> None:
    a, editor = setting["assessment"], setting["editor"]
    colleague = make_user(Role.CITY_EDITOR, city=setting["city"], name="Kari")
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=1), 0)], editor)
    opened = record(a, DIRECT).version
    shown = ValueInput(DIRECT, value=1).digest()
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=2), opened, shown)], colleague)
    result = values.save_entries(
        a,
        [
            Entry(ValueInput(DIRECT, value=3), opened, shown),
            Entry(ValueInput(SHARE, numerator=1, denominator=2), 0),
        ],
        editor,
    )
    assert result.saved == [(SHARE, "")]  # the rest of the category is saved
    (conflict,) = result.conflicts
    assert (
        conflict.mine.value == 3 and conflict.theirs.value == 2 and conflict.their_author == "Kari"
    )
    assert record(a, DIRECT).computed_value == 2
    (lost,) = events("save_conflict")
    assert lost.new["value"] == 3 and lost.old["value"] == 2 and lost.actor_id == editor.id


def test_an_untouched_item_in_a_stale_form_is_no_conflict(setting: dict[str, Any]) -> None:
    a, editor = setting["assessment"], setting["editor"]
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=1), 0)], editor)
    opened = record(a, DIRECT).version
    shown = ValueInput(DIRECT, value=1).digest()
    values.save_entries(a, [Entry(ValueInput(DIRECT, value=2), opened, shown)], editor)
    result = values.save_entries(a, [Entry(ValueInput(DIRECT, value=1), opened, shown)], editor)
    assert result.conflicts == [] and record(a, DIRECT).computed_value == 2


def test_locked_assessments_refuse_writes(setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    a.status = Status.SUBMITTED
    db.session.commit()
    with pytest.raises(values.ValuesError):
        values.save_entries(a, [Entry(ValueInput(DIRECT, value=1))], setting["editor"])


def test_not_reported_keeps_the_reason_and_no_value(setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    values.save_entries(
        a, [Entry(ValueInput(SHARE, numerator=1, denominator=2))], setting["editor"]
    )
    values.save_entries(
        a,
        [
            Entry(
                ValueInput(
                    SHARE,
                    numerator=1,
                    denominator=2,
                    reported=False,
                    not_reported_reason="no survey",
                )
            )
        ],
        setting["editor"],
    )
    stored = record(a, SHARE)
    assert (
        stored.reported is False
        and stored.value is None
        and stored.not_reported_reason == "no survey"
    )
    assert events()[-1].old["numerator"] == 1  # the audit trail keeps what was there


def test_completeness_counts_core_and_advanced(
    setting: dict[str, Any], catalogue: Catalogue
) -> None:
    a = setting["assessment"]
    before = values.assessment_progress(a)
    assert before.overall.total == len(catalogue.items()) and before.overall.reported == 0
    values.save_entries(
        a,
        [Entry(ValueInput(SHARE, numerator=1, denominator=2)), Entry(ValueInput(YES_NO, value=1))],
        setting["editor"],
    )
    after = values.assessment_progress(a)
    assert after.overall.reported == 2
    assert (after.overall.core_reported, after.overall.advanced_reported) == (1, 1)
    ict = after.for_category(catalogue.indicator(SHARE).category)
    assert ict.reported == 1 and ict.core_reported == 1


def test_open_assessment_checks_year_and_duplicates(setting: dict[str, Any]) -> None:
    city, editor = setting["city"], setting["editor"]
    opened = values.open_assessment(city, 2025, editor)
    assert opened.status is Status.DRAFT
    with pytest.raises(values.ValuesError):
        values.open_assessment(city, 2025, editor)
    with pytest.raises(values.ValuesError):
        values.open_assessment(city, 1999, editor)


def test_only_own_city_editors_or_coordinators_open_years(
    setting: dict[str, Any], make_city: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    other = make_city("elsewhere")
    assert values.may_open_assessment(setting["editor"], setting["city"])
    assert not values.may_open_assessment(setting["editor"], other)
    assert values.may_open_assessment(make_user(Role.COORDINATOR), other)
    assert not values.may_open_assessment(make_user(Role.VERIFIER), other)


def test_city_profile_feeds_and_follows_denominators(
    setting: dict[str, Any], catalogue: Catalogue
) -> None:
    a, editor = setting["assessment"], setting["editor"]
    assert city_facts.shared_fact(catalogue.indicator(RATE)) == "population"
    assert city_facts.shared_fact(catalogue.indicator(SHARE)) == "households"
    city_facts.save_facts(a, city_facts.FactsInput(population=200_000, households=80_000), editor)
    state = values.category_state(a, catalogue.category(catalogue.indicator(RATE).category))
    rate_state = next(s for s in state.items if s.item.code == RATE)
    assert rate_state.fact_value == 200_000 and rate_state.uses_fact
    values.save_entries(
        a, [Entry(ValueInput(RATE, numerator=150_000, denominator=200_000))], editor
    )
    result = city_facts.save_facts(
        a, city_facts.FactsInput(population=250_000, households=80_000), editor
    )
    assert result.values_updated == 1
    stored = record(a, RATE)
    assert stored.denominator == 250_000 and stored.computed_value == pytest.approx(60_000)
    reasons = [e.reason for e in events()]
    assert any(r and "profile" in r for r in reasons)


def test_profile_checks(setting: dict[str, Any]) -> None:
    problems = city_facts.check_facts(city_facts.FactsInput(population=-1, gdp=5, currency="XYZ"))
    assert {p.field for p in problems if p.is_error} == {"population", "currency"}

"""Local KPIs: definitions (namespace, validation, policy, audit), values, verification,
freezing at publication, and U4SSC scores untouched by them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, LocalKpiSnapshot, Role, Snapshot, Status
from kpi_app.services import local_kpi_reports, local_kpis, scores, workflow
from kpi_app.services.local_kpis import DefinitionInput, LocalKpiError, NotAllowed, ValueInput
from kpi_app.services.workflow import Action
from tests.factories import add_value, decide_all

LANGS = ("en", "fr", "es", "ar", "zh", "ru")
KPI = "EC: ICT: ICT: 1C"


def waste(**changes):
    data = DefinitionInput(
        code="WASTE-1",
        name={"en": "Household waste recycled", "fr": "Déchets ménagers recyclés"},
        definition={"en": "Share of household waste sent to recycling."},
        unit="%",
        value_type="percentage",
        direction="higher_better",
        numerator="Household waste recycled (t)",
        denominator="Household waste collected (t)",
        multiplier=100.0,
        sdg_refs=["11.6", "12.5.1"],
        benchmark_target=60.0,
        benchmark_source="City climate plan 2030",
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("kyebi", country="GH")
    assessment = make_assessment(city, year=2024)
    people = {
        "coordinator": make_user(Role.COORDINATOR),
        "editor": make_user(Role.CITY_EDITOR, city),
        "other_editor": make_user(Role.CITY_EDITOR, make_city("other")),
        "verifier": make_user(Role.VERIFIER),
    }
    workflow.assign_verifier(assessment, people["verifier"], people["coordinator"])
    add_value(assessment, KPI, 80.0, actor=people["editor"])
    return city, assessment, people


def test_codes_live_in_a_local_namespace_and_are_validated(world):
    city, _assessment, p = world
    kpi = local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    assert kpi.full_code == "LOCAL:kyebi:WASTE-1"
    assert local_kpis.is_local_code(kpi.full_code) and not local_kpis.is_local_code(KPI)
    with pytest.raises(LocalKpiError) as duplicate:
        local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    assert "already has a local KPI" in str(duplicate.value)
    # A U4SSC-looking code, a bad SDG ref, a benchmark without source, a missing English name:
    with pytest.raises(LocalKpiError) as invalid:
        local_kpis.create_kpi(
            city,
            waste(
                code="EC: ICT: ICT: 1C",
                sdg_refs=["18.1", "11.6"],
                benchmark_source="",
                name={"fr": "Seulement en français"},
            ),
            p["coordinator"],
            LANGS,
        )
    problems = " | ".join(invalid.value.problems)
    assert "Code:" in problems
    assert "“18.1” is not an SDG target" in problems
    assert "needs its source" in problems
    assert "name in English" in problems
    assert len(local_kpis.city_kpis(city)) == 1


def test_editors_define_only_when_the_coordinator_allows_it(world):
    city, _assessment, p = world
    with pytest.raises(NotAllowed):
        local_kpis.create_kpi(city, waste(), p["editor"], LANGS)
    with pytest.raises(NotAllowed):
        local_kpis.set_policy(city, True, p["editor"])
    local_kpis.set_policy(city, True, p["coordinator"])
    kpi = local_kpis.create_kpi(city, waste(), p["editor"], LANGS)
    with pytest.raises(NotAllowed):
        local_kpis.update_kpi(kpi, waste(unit="t"), p["other_editor"], LANGS)
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "set_local_kpi_policy")
    ).all()
    assert [e.new for e in events] == [{"editors_may_define": True}]


def test_edits_are_audited_and_counted_in_revisions(world):
    city, _assessment, p = world
    kpi = local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    assert local_kpis.update_kpi(kpi, waste(benchmark_target=65.0), p["coordinator"], LANGS)
    assert not local_kpis.update_kpi(kpi, waste(benchmark_target=65.0), p["coordinator"], LANGS)
    assert kpi.revision == 2
    update = db.session.scalar(
        db.select(AuditEvent).where(
            AuditEvent.entity_type == "local_kpi", AuditEvent.action == "update"
        )
    )
    assert update.old == {"benchmark_target": 60.0, "revision": 1}
    assert update.new == {"benchmark_target": 65.0, "revision": 2}


def entry(kpi, **fields):
    fields.setdefault("source", "City waste department")
    fields.setdefault("quality", 2)
    fields.setdefault("data_year", 2024)
    return ValueInput(kpi_id=kpi.id, **fields)


def test_values_verified_frozen_and_scored_apart(world):
    city, assessment, p = world
    kpi = local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    trees = local_kpis.create_kpi(
        city,
        waste(
            code="TREES",
            name={"en": "Street trees planted"},
            unit="trees",
            value_type="count",
            numerator=None,
            denominator=None,
            multiplier=None,
            sdg_refs=["15.2"],
            benchmark_target=None,
            benchmark_source=None,
        ),
        p["coordinator"],
        LANGS,
    )
    # 330 t of 1000 t recycled = 33 %: of a 60 % target that is 55 %, band 2.
    local_kpis.save_values(
        assessment,
        [entry(kpi, numerator=330.0, denominator=1000.0), entry(trees, value=1200.0)],
        p["editor"],
    )
    block = local_kpi_reports.local_block(assessment, "live", "en")
    rows = block.items.set_index("code")
    assert rows.loc["LOCAL:kyebi:WASTE-1", "value"] == pytest.approx(33.0)
    assert rows.loc["LOCAL:kyebi:WASTE-1", "percent_of_target"] == 55.0
    assert rows.loc["LOCAL:kyebi:WASTE-1", "band"] == 2
    # No benchmark: reported, not scored.
    assert rows.loc["LOCAL:kyebi:TREES", "band"] == 0
    assert block.scores.scored_items == 1 and block.scores.total_items == 2
    assert block.scores.score == 50.0  # 2 points of 4

    with pytest.raises(NotAllowed):
        local_kpis.save_values(assessment, [entry(kpi, value=1.0)], p["other_editor"])

    workflow.transition(assessment, Action.SUBMIT, p["editor"])
    workflow.transition(assessment, Action.START_REVIEW, p["verifier"])
    row = local_kpis.values_of(assessment)[(kpi.id, "")]
    with pytest.raises(LocalKpiError):
        local_kpis.decide(row, True, "implausible", None, p["verifier"])  # reason misfits
    with pytest.raises(NotAllowed):
        local_kpis.decide(row, True, "recalculated", None, p["editor"])
    local_kpis.decide(row, True, "recalculated", None, p["verifier"])
    assert row.verified is True
    decide_all(assessment)
    # Marking verified needs a decision on every reported local value too (trees: none yet).
    with pytest.raises(workflow.DecisionsMissing, match="1 reported local KPI values"):
        workflow.transition(assessment, Action.VERIFY, p["verifier"])
    trees_row = local_kpis.values_of(assessment)[(trees.id, "")]
    local_kpis.decide(trees_row, False, "implausible", "Counted twice?", p["verifier"])
    workflow.transition(assessment, Action.VERIFY, p["verifier"])
    workflow.transition(assessment, Action.PUBLISH, p["coordinator"])

    frozen = db.session.scalar(db.select(LocalKpiSnapshot))
    snapshot = db.session.scalar(db.select(Snapshot))
    assert frozen.snapshot_id == snapshot.id
    assert "LOCAL:" not in json.dumps(snapshot.content)  # the U4SSC content is untouched
    assert {k["full_code"] for k in frozen.content["kpis"]} == {
        "LOCAL:kyebi:WASTE-1",
        "LOCAL:kyebi:TREES",
    }

    # The definition changes after publication: the published block keeps the old one.
    local_kpis.update_kpi(kpi, waste(benchmark_target=33.0), p["coordinator"], LANGS)
    published = local_kpi_reports.local_block(assessment, "published", "en").items.set_index("code")
    live = local_kpi_reports.local_block(assessment, "live", "en").items.set_index("code")
    assert published.loc["LOCAL:kyebi:WASTE-1", "target"] == 60.0
    assert published.loc["LOCAL:kyebi:WASTE-1", "band"] == 2
    assert live.loc["LOCAL:kyebi:WASTE-1", "target"] == 33.0
    assert live.loc["LOCAL:kyebi:WASTE-1", "band"] == 4

    exported = json.loads(local_kpi_reports.export(assessment, "published", "json"))
    assert exported["values"][0]["code"] == "LOCAL:kyebi:WASTE-1"
    assert exported["values"][0]["verified"] is True
    assert exported["kpis"][0]["benchmark_target"] == 60.0 or (
        exported["kpis"][1]["benchmark_target"] == 60.0
    )


def test_a_changed_value_loses_its_verification(world):
    city, assessment, p = world
    kpi = local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    local_kpis.save_values(assessment, [entry(kpi, value=40.0)], p["editor"])
    row = local_kpis.values_of(assessment)[(kpi.id, "")]
    row.verified, row.verification_code = True, "source_checked"
    db.session.commit()
    local_kpis.save_values(assessment, [entry(kpi, value=41.0)], p["editor"])
    assert row.verified is None and row.verification_code is None
    event = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.entity_type == "local_kpi_value")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.old["verification"]["verified"] is True


def test_u4ssc_scores_are_identical_before_and_after_adding_local_kpis(world, make_assessment):
    city, assessment, p = world
    assessment.status = Status.PUBLISHED
    db.session.commit()
    from kpi_app.services import snapshots

    snapshots.freeze(assessment, None)
    db.session.commit()

    def u4ssc_scores():
        frames = {}
        for source in ("live", "published"):
            # Computed afresh, not read from the score cache (whose key ignores local data).
            request = scores.score_request([assessment], source=source)
            result = scores.compute_scores([assessment], source, request.context)
            frames[source] = {
                level: getattr(result, level).copy()
                for level in ("items", "categories", "sub_dimensions", "dimensions", "overall")
            }
        return frames

    before = u4ssc_scores()
    kpi = local_kpis.create_kpi(city, waste(), p["coordinator"], LANGS)
    assessment.status = Status.DRAFT
    db.session.commit()
    local_kpis.save_values(assessment, [entry(kpi, value=90.0)], p["editor"])
    assessment.status = Status.PUBLISHED
    snapshots.freeze(assessment, None)
    db.session.commit()
    assert local_kpi_reports.local_block(assessment, "published", "en") is not None
    after = u4ssc_scores()
    for source, levels in before.items():
        for level, frame in levels.items():
            pd.testing.assert_frame_equal(after[source][level], frame, obj=f"{source} {level}")
    codes = set(after["live"]["items"]["code"].astype(str))
    assert not any(code.startswith("LOCAL:") for code in codes)

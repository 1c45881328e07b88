"""Scenarios: what-if copies of an assessment, scored side by side with their baseline.

A scenario stores, in ``Scenario.definition``, a frozen copy of the baseline values it started
from and the user's adjustments (see :mod:`kpi_app.twin.adjust`). It never writes to the
assessment's values. The baseline copy records its *source*:

* ``live``: the current values, when the creator may see them (editors of the city,
  verifiers, coordinators); viewing the scenario then needs ``can_view_assessment``;
* ``published``: the latest published snapshot, for everyone else; viewing needs only
  ``can_view_published``.

So a scenario never shows more of an assessment than its reader may see. Editing is for the
owner, the city's editors and admins, as long as they may still view it. Every create,
change and delete is audited (entity type ``scenario``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kpi_app.catalogue import BenchmarkSet, Catalogue
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, Role, Scenario, User
from kpi_app.models.base import utcnow
from kpi_app.scoring.result import ScoreResult
from kpi_app.services import audit, permissions, scores
from kpi_app.services.catalogue import benchmark_set, current_catalogue
from kpi_app.services.errors import PermissionDenied
from kpi_app.twin import (
    BASELINE,
    SCENARIO,
    Adjustment,
    PairTemplate,
    Plan,
    ScenarioDefinition,
    ScenarioError,
    apply_definition,
    cheapest_path,
    compare_items,
    compare_level,
    entity_items,
    kpi_correlations,
    needle_table,
    projection_table,
)

LIVE: Final[str] = "live"
PUBLISHED: Final[str] = "published"
MAX_NAME: Final[int] = 160
EXPORT_COLUMNS: Final[list[str]] = [
    "code",
    "data_point",
    "name",
    "unit",
    "baseline_value",
    "scenario_value",
    "adjustment",
    "baseline_points",
    "scenario_points",
]

__all__ = ["ScenarioAccessError", "ScenarioError"]


class ScenarioAccessError(PermissionDenied):
    """The user may not do this with this scenario or assessment."""


# --- permissions ----------------------------------------------------------------------------


def _account(user: Any) -> User | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user if isinstance(user, User) else user._get_current_object()


def baseline_source(user: Any, assessment: Assessment) -> str | None:
    """Which values this user may start a scenario from: live, published, or none."""
    if _account(user) is None:
        return None  # scenarios are a workspace for signed-in users
    if permissions.can_view_assessment(user, assessment):
        return LIVE
    if assessment.published_at is not None:
        return PUBLISHED
    return None


def source_of(scenario: Scenario) -> str:
    return str((scenario.definition or {}).get("baseline", {}).get("source", LIVE))


def can_view(user: Any, scenario: Scenario) -> bool:
    if _account(user) is None:
        return False
    if source_of(scenario) == PUBLISHED:
        return permissions.can_view_published(user, scenario.assessment)
    return permissions.can_view_assessment(user, scenario.assessment)


def can_edit(user: Any, scenario: Scenario) -> bool:
    account = _account(user)
    if account is None or not can_view(user, scenario):
        return False
    if account.id == scenario.owner_id or account.role is Role.ADMIN:
        return True
    return account.role is Role.CITY_EDITOR and account.city_id == scenario.assessment.city_id


def startable_assessments(user: Any) -> list[Assessment]:
    """Assessments the user may base a scenario on (published, or visible to them)."""
    if _account(user) is None:
        return []
    query = permissions.published_or_visible(user).options(selectinload(Assessment.city))
    return sorted(_assessments(query), key=lambda a: (a.city.name, -a.year))


def _assessments(query: Any) -> list[Assessment]:
    return list(db.session.scalars(query).unique())


def visible_scenarios(user: Any) -> list[Scenario]:
    if _account(user) is None:
        return []
    assessment_ids = permissions.published_or_visible(user).with_only_columns(Assessment.id)
    query = (
        select(Scenario)
        .where(Scenario.assessment_id.in_(assessment_ids))
        .options(selectinload(Scenario.assessment).selectinload(Assessment.city))
        .order_by(Scenario.updated_at.desc(), Scenario.id.desc())
    )
    return [s for s in db.session.scalars(query) if can_view(user, s)]


def get_scenario(scenario_id: int) -> Scenario | None:
    return db.session.get(Scenario, scenario_id)


def get_assessment(assessment_id: int) -> Assessment | None:
    return db.session.get(Assessment, assessment_id)


# --- writing --------------------------------------------------------------------------------


def _captured_baseline(assessment: Assessment, source: str) -> dict[str, Any]:
    values = scores.values_frame([assessment], "live" if source == LIVE else "published")
    return {
        "source": source,
        "captured_at": utcnow().isoformat(),
        "values": [
            {"code": str(code), "data_point": str(point), "value": float(value)}
            for code, point, value in zip(
                values["code"], values["data_point"], values["value"], strict=True
            )
        ],
    }


def create_scenario(
    assessment: Assessment, owner: User, name: str, description: str | None = None
) -> Scenario:
    """Start a scenario from the values ``owner`` may see; audited and committed."""
    source = baseline_source(owner, assessment)
    if source is None:
        raise ScenarioAccessError(_("You may not build a scenario on this assessment."))
    clean_name = name.strip()[:MAX_NAME]
    if not clean_name:
        raise ScenarioError([_("Give the scenario a name.")])
    definition = ScenarioDefinition().to_dict()
    definition["baseline"] = _captured_baseline(assessment, source)
    scenario = Scenario(
        assessment_id=assessment.id,
        owner_id=owner.id,
        name=clean_name,
        description=(description or "").strip() or None,
        definition=definition,
    )
    db.session.add(scenario)
    db.session.flush()
    audit.record(
        "create",
        "scenario",
        scenario.id,
        actor=owner,
        new={"name": clean_name, "baseline_source": source},
        assessment_id=assessment.id,
    )
    db.session.commit()
    return scenario


def definition_of(scenario: Scenario) -> ScenarioDefinition:
    return ScenarioDefinition.from_dict(scenario.definition or {})


def _store(scenario: Scenario, definition: ScenarioDefinition, actor: User, action: str) -> None:
    old = definition_of(scenario).to_dict()
    stored = dict(definition.to_dict())
    stored["baseline"] = (scenario.definition or {}).get("baseline", {})
    scenario.definition = stored  # a new dict, so SQLAlchemy sees the JSON change
    new = definition.to_dict()
    audit.record(
        action,
        "scenario",
        scenario.id,
        actor=actor,
        old=old,
        new=new,
        assessment_id=scenario.assessment_id,
    )
    db.session.commit()


def _check_value(catalogue: Catalogue, code: str, data_point: str, value: float) -> str | None:
    item = catalogue.item(code, data_point)
    if value < 0 or not math.isfinite(value):
        return str(_("%(item)s: a KPI value cannot be negative.", item=item.label()))
    if item.is_boolean and value not in (0.0, 1.0):
        return str(_("%(item)s: a yes/no KPI takes 1 (yes) or 0 (no).", item=item.label()))
    return None


def set_values(
    scenario: Scenario,
    actor: User,
    values: Mapping[tuple[str, str], float | None],
    horizon_year: int | None = None,
) -> list[str]:
    """Set scenario values item by item; a blank or baseline-equal value removes the change.

    Returns problems (nothing is stored when there are any).
    """
    catalogue = current_catalogue()
    definition = definition_of(scenario)
    baseline = _baseline_map(scenario)
    problems: list[str] = []
    for key, value in values.items():
        current = definition.adjustment_for(key)
        if value is None or _same(value, baseline.get(key)):
            if current is not None and current.kind == "set":
                definition = definition.without(key)
            continue
        problem = _check_value(catalogue, key[0], key[1], value)
        if problem:
            problems.append(problem)
            continue
        if current is None or current.kind == "set" or not _same(value, current.amount):
            definition = definition.with_adjustment(Adjustment(key[0], key[1], "set", value))
    if horizon_year is not None:
        definition = _with_horizon(definition, horizon_year, problems)
    if problems:
        return problems
    if definition != definition_of(scenario):  # an unchanged form writes no audit event
        _store(scenario, definition, actor, "update")
    return []


def _with_horizon(
    definition: ScenarioDefinition, horizon_year: int, problems: list[str]
) -> ScenarioDefinition:
    try:
        return ScenarioDefinition.from_dict({**definition.to_dict(), "horizon_year": horizon_year})
    except ScenarioError as error:
        problems.extend(error.problems)
        return definition


def _same(a: float, b: float | None) -> bool:
    return b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def add_rule(scenario: Scenario, actor: User, rule: Mapping[str, Any]) -> list[str]:
    """Add (or replace) the rule for one item; returns problems, stores nothing if any."""
    catalogue = current_catalogue()
    try:
        item = catalogue.item(str(rule.get("code", "")), str(rule.get("data_point") or ""))
    except KeyError:
        return [_("Choose a KPI from the list.")]
    if item.is_boolean:
        return [_("Yes/no KPIs change by setting their value, not by a rule.")]
    raw = {**definition_of(scenario).without(item.key).to_dict()}
    raw["rules"] = [*raw["rules"], {**rule, "code": item.code, "data_point": item.data_point}]
    try:
        definition = ScenarioDefinition.from_dict(raw)
    except ScenarioError as error:
        return list(error.problems)
    _store(scenario, definition, actor, "update")
    return []


def remove_adjustment(scenario: Scenario, actor: User, code: str, data_point: str) -> None:
    definition = definition_of(scenario)
    if definition.adjustment_for((code, data_point)) is not None:
        _store(scenario, definition.without((code, data_point)), actor, "update")


def rename(scenario: Scenario, actor: User, name: str, description: str | None) -> None:
    old = {"name": scenario.name, "description": scenario.description}
    scenario.name = name.strip()[:MAX_NAME] or scenario.name
    scenario.description = (description or "").strip() or None
    audit.record(
        "update",
        "scenario",
        scenario.id,
        actor=actor,
        old=old,
        new={"name": scenario.name, "description": scenario.description},
        assessment_id=scenario.assessment_id,
    )
    db.session.commit()


def refresh_baseline(scenario: Scenario, actor: User) -> None:
    """Re-copy the baseline from the assessment as the actor may now see it."""
    source = baseline_source(actor, scenario.assessment)
    if source is None:
        raise ScenarioAccessError(_("You may not read this assessment any more."))
    stored = dict(scenario.definition or {})
    old_baseline = stored.get("baseline", {})
    stored["baseline"] = _captured_baseline(scenario.assessment, source)
    scenario.definition = stored
    audit.record(
        "refresh_baseline",
        "scenario",
        scenario.id,
        actor=actor,
        old={"captured_at": old_baseline.get("captured_at")},
        new={"captured_at": stored["baseline"]["captured_at"], "source": source},
        assessment_id=scenario.assessment_id,
    )
    db.session.commit()


def delete_scenario(scenario: Scenario, actor: User) -> None:
    audit.record(
        "delete",
        "scenario",
        scenario.id,
        actor=actor,
        old={"name": scenario.name, "definition": definition_of(scenario).to_dict()},
        assessment_id=scenario.assessment_id,
    )
    db.session.delete(scenario)
    db.session.commit()


# --- evaluation -----------------------------------------------------------------------------


def _baseline_map(scenario: Scenario) -> dict[tuple[str, str], float]:
    stored = (scenario.definition or {}).get("baseline", {}).get("values", [])
    return {(v["code"], v.get("data_point") or ""): float(v["value"]) for v in stored}


def baseline_frame(scenario: Scenario, catalogue: Catalogue) -> pd.DataFrame:
    """Every catalogue item with its baseline value (NaN = not reported)."""
    known = _baseline_map(scenario)
    keys = [item.key for item in catalogue.items()]
    return pd.DataFrame(
        {
            "code": [k[0] for k in keys],
            "data_point": [k[1] for k in keys],
            "value": [known.get(k, np.nan) for k in keys],
        }
    )


_BOUNDS: dict[tuple[str, str], pd.DataFrame] = {}


def bounds_frame(catalogue: Catalogue) -> pd.DataFrame:
    """Plausible range per item (rules never push a value outside it)."""
    key = (str(catalogue.path), catalogue.version)
    if key not in _BOUNDS:
        frame = catalogue.to_frame()
        _BOUNDS[key] = frame[["code", "data_point", "plausible_min", "plausible_max"]].copy()
    return _BOUNDS[key]


_TEMPLATES: dict[tuple[Any, ...], PairTemplate] = {}
MAX_TEMPLATES: Final[int] = 16


def _template(catalogue: Catalogue, benchmarks: BenchmarkSet, year: int) -> PairTemplate:
    """One items-frame template per catalogue, benchmark content and year (see PairTemplate).

    Keyed by content fingerprints rather than objects, so an edited benchmark file gets a new
    template even when its version string stayed the same.
    """
    key = (
        str(catalogue.path),
        catalogue.version,
        benchmarks.id,
        scores.benchmark_fingerprint(benchmarks),
        year,
    )
    template = _TEMPLATES.get(key)
    if template is None:
        if len(_TEMPLATES) >= MAX_TEMPLATES:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        template = _TEMPLATES[key] = PairTemplate(catalogue.to_frame(), benchmarks.to_frame(), year)
    return template


def template_for(assessment: Assessment) -> PairTemplate:
    catalogue = current_catalogue()
    try:
        benchmarks = benchmark_set(assessment.benchmark_set)
    except KeyError:
        benchmarks = benchmark_set(None)
    return _template(catalogue, benchmarks, assessment.year)


@dataclass(frozen=True)
class Evaluation:
    """A scenario scored against its baseline, ready for pages and exports."""

    scenario: Scenario
    definition: ScenarioDefinition
    applied: pd.DataFrame
    result: ScoreResult
    levels: dict[str, pd.DataFrame]
    items: pd.DataFrame

    @property
    def year(self) -> int:
        return self.definition.horizon_year


def evaluate(
    scenario: Scenario, year: int | None = None, definition: ScenarioDefinition | None = None
) -> Evaluation:
    """Apply the scenario (at its horizon unless ``year`` is given) and score both sides.

    ``definition`` replaces the stored one (an unsaved preview); nothing is written.
    """
    catalogue = current_catalogue()
    definition = definition or definition_of(scenario)
    applied = apply_definition(
        baseline_frame(scenario, catalogue),
        definition,
        base_year=scenario.assessment.year,
        year=year,
        bounds=bounds_frame(catalogue),
    )
    result = template_for(scenario.assessment).score(applied)
    levels = {
        level: compare_level(result, level)
        for level in ("dimensions", "sub_dimensions", "categories", "overall")
    }
    items = compare_items(result).merge(
        applied[["code", "data_point", "adjusted", "clipped", "note"]],
        on=["code", "data_point"],
        how="left",
    )
    return Evaluation(scenario, definition, applied, result, levels, items)


def preview(scenario: Scenario, values: Mapping[tuple[str, str], float | None]) -> Evaluation:
    """Score unsaved values (the page's live preview); nothing is stored."""
    definition = definition_of(scenario)
    baseline = _baseline_map(scenario)
    for key, value in values.items():
        current = definition.adjustment_for(key)
        if value is None or _same(value, baseline.get(key)):
            if current is not None and current.kind == "set":
                definition = definition.without(key)
        elif value >= 0 and (current is None or current.kind == "set"):
            definition = definition.with_adjustment(Adjustment(key[0], key[1], "set", value))
    return evaluate(scenario, definition=definition)


def trajectory(scenario: Scenario) -> pd.DataFrame:
    """The scenario projected year by year to its horizon: dimension and overall scores."""
    definition = definition_of(scenario)
    start = scenario.assessment.year
    rows = []
    for year in range(start, max(start, definition.horizon_year) + 1):
        evaluation = evaluate(scenario, year, definition)
        for level in ("dimensions", "overall"):
            for record in evaluation.levels[level].to_dict("records"):
                rows.append({"year": year, **record})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class NeedleAnalysis:
    """Moves ranked for one dimension of the scenario, and the fewest changes to a band."""

    moves: pd.DataFrame
    plan: Plan
    dimension_score: float


def needle_analysis(scenario: Scenario, dimension: str, band: int) -> NeedleAnalysis:
    """Rank the scenario's items of ``dimension`` and plan the fewest changes to ``band``."""
    evaluation = evaluate(scenario)
    items = entity_items(evaluation.result, SCENARIO)
    moves = needle_table(items, "dimension")
    moves = moves.loc[(moves["group"] == dimension).to_numpy()].reset_index(drop=True)
    plan = cheapest_path(items, dimension, band)
    return NeedleAnalysis(moves, plan, plan.score_before)


# --- time series, projections and correlations ----------------------------------------------


def _readable_values(user: Any, assessments: Sequence[Assessment]) -> pd.DataFrame:
    """Values of the assessments as this user may see them: live where allowed, else published."""
    live = [a for a in assessments if permissions.can_view_assessment(user, a)]
    published = [a for a in assessments if a not in live and a.published_at is not None]
    frames = [
        scores.values_frame(live, "live") if live else None,
        scores.values_frame(published, "published") if published else None,
    ]
    present = [f for f in frames if f is not None and not f.empty]
    if not present:
        return pd.DataFrame(columns=["city", "year", "code", "data_point", "value"])
    return pd.concat(present, ignore_index=True)


def city_series(user: Any, scenario: Scenario) -> pd.DataFrame:
    """The city's values over the years the user may read (the scenario's own year included)."""
    query = permissions.published_or_visible(user).where(
        Assessment.city_id == scenario.assessment.city_id
    )
    return _readable_values(user, _assessments(query))


def projections(user: Any, scenario: Scenario, target_year: int = 2030) -> pd.DataFrame:
    """Linear and compound trends to ``target_year`` for every item with a time series."""
    series = city_series(user, scenario)
    meta = _meta(scenario, current_catalogue())
    if series.empty:
        return projection_table(pd.DataFrame(columns=["code", "data_point", "year", "value"]), meta)
    return projection_table(
        series[["code", "data_point", "year", "value"]], meta, target_year=target_year
    )


@dataclass(frozen=True)
class Outlook:
    """Trend projections of the city's KPIs, and the scenario's own path to its horizon."""

    projections: pd.DataFrame
    trajectory: pd.DataFrame
    years: list[int]


def outlook(user: Any, scenario: Scenario) -> Outlook:
    table = projections(user, scenario)
    years = sorted(int(y) for y in city_series(user, scenario)["year"].unique())
    return Outlook(table, trajectory(scenario), years)


def _meta(scenario: Scenario, catalogue: Catalogue) -> pd.DataFrame:
    template = template_for(scenario.assessment)
    items = template.items
    first = items.loc[(items["city"].astype(str) == BASELINE).to_numpy()]
    meta = pd.DataFrame(
        {
            "code": first["code"].astype(str).to_numpy(),
            "data_point": first["data_point"].astype(str).to_numpy(),
            "target": first["target"].to_numpy(dtype=np.float64),
            "direction": first["direction"].astype(str).to_numpy(),
            "value_type": first["value_type"].astype(str).to_numpy(),
        }
    )
    return meta.merge(bounds_frame(catalogue), on=["code", "data_point"], how="left")


def correlations(user: Any, min_n: int = 8) -> pd.DataFrame:
    """Spearman correlations over every city-year the user may read."""
    values = _readable_values(user, _assessments(permissions.published_or_visible(user)))
    if values.empty:
        return pd.DataFrame(columns=["item_a", "item_b", "n", "rho", "shown", "strength", "sign"])
    return kpi_correlations(values, min_n=min_n)


# --- export and comparison ------------------------------------------------------------------


def export_rows(evaluation: Evaluation, lang: str = "en") -> list[dict[str, Any]]:
    catalogue = current_catalogue()
    described = {a.key: describe(a) for a in evaluation.definition.adjustments}
    rows = []
    for record in evaluation.items.to_dict("records"):
        key = (record["code"], record["data_point"])
        item = catalogue.item(*key)
        rows.append(
            {
                "code": key[0],
                "data_point": key[1],
                "name": item.label(lang),
                "unit": item.unit,
                "baseline_value": _json(record["baseline_value"]),
                "scenario_value": _json(record["scenario_value"]),
                "adjustment": described.get(key, ""),
                "baseline_points": int(record["baseline_points"]),
                "scenario_points": int(record["scenario_points"]),
            }
        )
    return rows


def _json(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def export_json(evaluation: Evaluation) -> dict[str, Any]:
    scenario = evaluation.scenario
    return {
        "scenario": {
            "id": scenario.id,
            "name": scenario.name,
            "description": scenario.description,
            "city": scenario.assessment.city.slug,
            "assessment_year": scenario.assessment.year,
            "baseline_source": source_of(scenario),
            "baseline_captured_at": (scenario.definition or {})
            .get("baseline", {})
            .get("captured_at"),
        },
        "definition": evaluation.definition.to_dict(),
        "levels": {
            level: [
                {k: _plain(v) for k, v in record.items()} for record in frame.to_dict("records")
            ]
            for level, frame in evaluation.levels.items()
        },
        "items": export_rows(evaluation),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(float(value)) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    return value


def export_csv(evaluation: Evaluation) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(evaluation))
    return buffer.getvalue()


def compare(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Dimension and overall scores of several scenarios (and each one's baseline), side by side."""
    rows = []
    for scenario in scenarios:
        evaluation = evaluate(scenario)
        for level in ("dimensions", "overall"):
            for record in evaluation.levels[level].to_dict("records"):
                rows.append({"scenario_id": scenario.id, "scenario": scenario.name, **record})
    return pd.DataFrame(rows)


def describe(adjustment: Adjustment) -> str:
    """A short human description of an adjustment, in the request's language."""
    amount = adjustment.amount
    texts = {
        "set": lambda: _("set to %(value)s", value=_number(amount)),
        "growth": lambda: _("%(rate)s %% per year", rate=_number(amount * 100, signed=True)),
        "change": lambda: _("%(amount)s per year", amount=_number(amount, signed=True)),
        "scale_by": lambda: _(
            "× %(factor)s by %(year)s", factor=_number(amount), year=adjustment.by_year
        ),
        "reach_by": lambda: _(
            "reach %(value)s by %(year)s", value=_number(amount), year=adjustment.by_year
        ),
    }
    return str(texts[adjustment.kind]())


def _number(value: float, *, signed: bool = False) -> str:
    text = f"{value:+.4g}" if signed else f"{value:.4g}"
    return text

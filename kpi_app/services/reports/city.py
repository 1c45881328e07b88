"""The city profile (page, downloads and PDFs) and the explanation of one of its scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from kpi_app import charts
from kpi_app.catalogue import Catalogue
from kpi_app.charts.rows import tuples
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, City, IndicatorValue, PublishedValue
from kpi_app.scoring.explain import Explanation, explain
from kpi_app.scoring.result import ScoreResult
from kpi_app.services import published_scores, published_values, scores
from kpi_app.services.catalogue import benchmark_sets, current_catalogue
from kpi_app.services.reports.access import (
    ReportNotFound,
    can_switch_to_live,
    choose_source,
    city_assessments,
    city_facts,
    find_city,
)
from kpi_app.services.reports.names import (
    as_int,
    as_number,
    confidence_label,
    group_names,
    locale,
    not_scored_label,
    translated_band_labels,
)

STRENGTHS_SHOWN = 8


# --- the city profile ------------------------------------------------------------------------


@dataclass
class CityProfile:
    """Everything the city page and the city PDFs show for one assessment."""

    city: City
    year: int
    years: list[int]
    source: scores.Source
    can_switch: bool
    overall: dict[str, Any]
    dimensions: pd.DataFrame
    sub_dimensions: pd.DataFrame
    kpis: pd.DataFrame
    strengths: pd.DataFrame
    weaknesses: pd.DataFrame
    not_reported: pd.DataFrame
    not_verified: pd.DataFrame
    next_steps: pd.DataFrame
    trend: pd.DataFrame
    wheel_nodes: pd.DataFrame
    figures: dict[str, str] = field(default_factory=dict)
    benchmark_set: str = ""
    method: str = "u4ssc"
    #: KPI code -> its catalogue page; filled by the web layer, which builds URLs.
    links: dict[str, str] = field(default_factory=dict)
    #: A set chosen on the page: the scores are then an analysis, not the published result.
    analysis_set: str = ""
    #: (id, label) of every benchmark set, for the page's analysis selector.
    benchmark_choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reported_count(self) -> int:
        return int(self.kpis["reported"].sum())

    @property
    def verified_count(self) -> int:
        """Reported values verified (a verified flag on a value not reported does not count)."""
        return int((self.kpis["reported"] & self.kpis["verified"]).sum())

    @property
    def kpi_segments(self) -> int:
        return int((self.wheel_nodes["level"] == "item").sum())

    def tables(self) -> dict[str, pd.DataFrame]:
        """The downloadable tables of this profile, by name."""
        return {
            "dimensions": self.dimensions,
            "sub-dimensions": self.sub_dimensions,
            "kpis": self.kpis,
            "not-reported": self.not_reported,
            "not-verified": self.not_verified,
            "next-steps": self.next_steps,
            "trend": self.trend,
            "wheel": self.wheel_nodes,
        }


@dataclass(frozen=True)
class ProfilePlan:
    """What a city profile will show, resolved without scoring: which data this user sees."""

    city: City
    assessment: Assessment
    visible: list[Assessment]
    source: scores.Source
    can_switch: bool
    scores: scores.ScoreRequest
    analysis_set: str = ""
    #: The published series whose trend is read from the scores stored at publication
    #: (the default path); empty: every year is scored with the shown one.
    stored_trend: list[int] = field(default_factory=list)
    trend_key: Any = None

    def key_parts(self) -> dict[str, Any]:
        return {
            "analysis_set": self.analysis_set,
            "scores": self.scores.key,
            "trend": self.trend_key,
            "assessment": self.assessment.id,
            "years": [a.year for a in self.visible],
            "source": self.source,
            "can_switch": self.can_switch,
            "city": city_facts(self.city),
        }


def plan_profile(
    slug: str,
    year: int | None,
    user: Any,
    requested_source: str | None = None,
    benchmark_set: str | None = None,
) -> ProfilePlan:
    """Resolve city, year, data source and score key of a profile (ReportNotFound if none).

    ``benchmark_set`` scores the profile against that set as an analysis (unknown: 404)."""
    if benchmark_set and benchmark_set not in benchmark_sets():
        raise ReportNotFound(benchmark_set)
    city = find_city(slug)
    visible = [a for a in city_assessments(city) if choose_source(user, a, None) is not None]
    if not visible:
        raise ReportNotFound(slug)
    assessment = _pick_year(visible, year)
    source = choose_source(user, assessment, requested_source)
    assert source is not None  # visible assessments always have a source
    series = [a for a in visible if choose_source(user, a, source) == source]
    stored: list[int] = []
    if source == "published" and not benchmark_set and len(series) > 1:
        # The default published result: only the shown year is scored; the other years'
        # trend is the scores stored at publication (when every year has them).
        ids = [a.id for a in series]
        if len(published_scores.latest_overall(ids)) == len(ids):
            stored, series = ids, [assessment]
    return ProfilePlan(
        city=city,
        assessment=assessment,
        visible=visible,
        source=source,
        can_switch=can_switch_to_live(user, [assessment]) and assessment.published_at is not None,
        scores=scores.score_request(series, source=source, benchmark_set=benchmark_set or None),
        analysis_set=benchmark_set or "",
        stored_trend=stored,
        trend_key=scores.data_fingerprint(stored, "published") if stored else None,
    )


def city_profile(
    slug: str, year: int | None, user: Any, requested_source: str | None = None
) -> CityProfile:
    """The profile of one city in one year (latest visible year by default)."""
    return build_profile(plan_profile(slug, year, user, requested_source))


def _pick_year(visible: list[Assessment], year: int | None) -> Assessment:
    if year is None:
        return visible[-1]
    for assessment in visible:
        if assessment.year == year:
            return assessment
    raise ReportNotFound(str(year))


def build_profile(plan: ProfilePlan) -> CityProfile:
    """Score the plan's assessments (cached) and build the profile it describes.

    ``links`` stays empty: URLs are the web layer's (``web/dashboards/pages.py`` fills them).
    """
    result = scores.scores_for(plan.scores)
    city, assessment, source = plan.city, plan.assessment, plan.source
    lang = locale()
    catalogue = current_catalogue()
    names = group_names(catalogue, lang)
    slug, year = city.slug, assessment.year
    items = result.entity_rows("items", slug, year)
    kpis = kpi_table(items, value_details(assessment, source), catalogue, lang)
    groups = {
        "dimension": result.entity_rows("dimensions", slug, year),
        "sub_dimension": result.entity_rows("sub_dimensions", slug, year),
        "category": result.entity_rows("categories", slug, year),
    }
    nodes = charts.wheel_nodes(items, groups, names)
    dimensions = group_table(groups["dimension"], "dimension", names)
    sub_dimensions = group_table(groups["sub_dimension"], "sub_dimension", names)
    trend = (
        stored_trend_table(plan.stored_trend, names)
        if plan.stored_trend
        else trend_table(result, slug, names)
    )
    overall = _overall(result, slug, year)
    profile = CityProfile(
        city=city,
        year=year,
        years=[a.year for a in plan.visible],
        source=source,
        can_switch=plan.can_switch,
        overall=overall,
        dimensions=dimensions,
        sub_dimensions=sub_dimensions,
        kpis=kpis,
        strengths=_strengths(kpis),
        weaknesses=_weaknesses(kpis),
        not_reported=kpis.loc[~kpis["reported"], ["code", "name", "dimension"]],
        not_verified=kpis.loc[kpis["reported"] & ~kpis["verified"], ["code", "name", "dimension"]],
        next_steps=kpis.loc[kpis["band"].isin([1, 2])].sort_values(["band", "percent_of_target"])[
            ["code", "name", "value", "unit", "target", "percent_of_target", "band", "band_label"]
        ],
        trend=trend,
        wheel_nodes=nodes,
        benchmark_set=result.benchmark_set or "",
        method=result.method,
        analysis_set=plan.analysis_set,
        benchmark_choices=[(k, f"{k} ({v.version})") for k, v in sorted(benchmark_sets().items())],
    )
    profile.figures = _profile_figures(profile)
    return profile


def _overall(result: ScoreResult, slug: str, year: int) -> dict[str, Any]:
    row = result.entity_rows("overall", slug, year).iloc[0]
    return {
        "score": as_number(row["score"]),
        "band": charts.palette.as_points(row["band"]),
        "coverage": as_number(row["coverage"]),
        "scored_items": int(row["scored_items"]),
        "total_items": int(row["total_items"]),
        "confidence": confidence_label(row.get("confidence")),
    }


def group_table(frame: pd.DataFrame, level: str, names: dict[str, str]) -> pd.DataFrame:
    """Group scores with names, band and coverage (as %), in catalogue order."""
    labels = translated_band_labels()
    bands = [charts.palette.as_points(b) for b in frame["band"]]
    return pd.DataFrame(
        {
            "id": frame[level].astype(str).to_numpy(),
            "name": [names.get(str(v), str(v)) for v in frame[level]],
            "score": frame["score"].astype(float).round(1).to_numpy(),
            "band": bands,
            "band_label": [labels[b - 1] if b else not_scored_label() for b in bands],
            "scored_items": frame["scored_items"].astype(int).to_numpy(),
            "total_items": frame["total_items"].astype(int).to_numpy(),
            "coverage": (frame["coverage"].astype(float) * 100).round(0).to_numpy(),
            "confidence": [
                confidence_label(g) for g in frame.get("confidence", [None] * len(frame))
            ],
        }
    )


def value_details(assessment: Assessment, source: scores.Source) -> pd.DataFrame:
    """Per item: unit, data year, source, quality level and verified flag."""
    columns = ["code", "data_point", "unit", "data_year", "source", "quality", "verified"]
    if source == "published":
        # The rows written from the latest snapshot's values (no second read of its JSON).
        found = db.session.execute(
            select(*(getattr(PublishedValue, c) for c in columns))
            .where(PublishedValue.assessment_id == assessment.id, published_values.LATEST)
            .order_by(PublishedValue.id)
        ).all()
        frame = pd.DataFrame([tuple(row) for row in found], columns=columns)
    else:
        rows = db.session.scalars(
            select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
        )
        frame = pd.DataFrame([{c: getattr(v, c) for c in columns} for v in rows])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["data_point"] = frame["data_point"].fillna("")
    return frame.reindex(columns=columns)


def kpi_table(
    items: pd.DataFrame, details: pd.DataFrame, catalogue: Catalogue, lang: str
) -> pd.DataFrame:
    """One row per KPI item: value, unit, target, % of target, band, quality, verified.

    Built column by column from lists (a city page's 112 rows; assigning a column of a
    frame at a time and a merge took 6 ms of the page). The details join as a left merge
    on (code, data point) would: a missing item gets NaN, a column with one promoted as
    merge promotes it (``take`` with fill).
    """
    labels = translated_band_labels()
    none_label = not_scored_label()
    codes = [str(c) for c in items["code"].tolist()]
    points = [str(d) for d in items["data_point"].tolist()]
    keys = list(zip(codes, points, strict=True))
    found = _details_by_item(details)
    indexer = np.array([found.get(key, -1) for key in keys], dtype=np.intp)

    def joined(column: str) -> Any:
        return pd.api.extensions.take(details[column].to_numpy(), indexer, allow_fill=True)

    catalogue_items = catalogue.items_by_key()
    bands = [charts.palette.as_points(p) for p in items["points"].tolist()]
    units = joined("unit")
    values = items["value"].to_numpy()
    return pd.DataFrame(
        {
            "code": codes,
            "data_point": points,
            "name": [
                catalogue_items[key].label(lang) if key in catalogue_items else key[0]
                for key in keys
            ],
            "dimension": [str(d) for d in items["dimension"].tolist()],
            "value": values,
            "unit": [
                catalogue_items[key].unit_for(u if isinstance(u, str) else None, lang)
                if key in catalogue_items
                else u
                for u, key in zip(units, keys, strict=True)
            ],
            "target": items["target"].to_numpy(),
            "percent_of_target": items["percent_of_target"].astype(float).round(1).to_numpy(),
            "band": bands,
            "band_label": [labels[b - 1] if b else none_label for b in bands],
            "quality": joined("quality"),
            "verified": pd.Series(joined("verified")).fillna(False).astype(bool).to_numpy(),
            "reported": pd.notna(values),
            "data_year": joined("data_year"),
            "source": joined("source"),
        }
    )


def _details_by_item(details: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Row position of each (code, data point) of the details (the first, were one twice)."""
    keys = zip(
        (str(c) for c in details["code"].tolist()),
        (str(d) for d in details["data_point"].tolist()),
        strict=True,
    )
    found: dict[tuple[str, str], int] = {}
    for position, key in enumerate(keys):
        found.setdefault(key, position)
    return found


def _strengths(kpis: pd.DataFrame) -> pd.DataFrame:
    best = kpis[kpis["band"] == 4].sort_values("percent_of_target", ascending=False)
    return best.head(STRENGTHS_SHOWN)[["code", "name", "percent_of_target", "band_label"]]


def _weaknesses(kpis: pd.DataFrame) -> pd.DataFrame:
    worst = kpis[kpis["band"].isin([1, 2])].sort_values("percent_of_target")
    return worst.head(STRENGTHS_SHOWN)[["code", "name", "percent_of_target", "band_label"]]


def trend_table(result: ScoreResult, slug: str, names: dict[str, str]) -> pd.DataFrame:
    """Overall and dimension scores of the city over its years (long format)."""
    dims = result.dimensions[result.dimensions["city"] == slug]
    overall = result.overall[result.overall["city"] == slug]
    rows = [
        {
            "year": as_int(r.year),
            "group": names.get(str(r.dimension), str(r.dimension)),
            "score": r.score,
        }
        for r in tuples(dims, index=False)
    ] + [
        {"year": as_int(r.year), "group": _("Overall"), "score": r.score}
        for r in tuples(overall, index=False)
    ]
    frame = pd.DataFrame(rows, columns=["year", "group", "score"])
    frame["score"] = frame["score"].astype(float).round(1)
    return frame.sort_values(["group", "year"]).reset_index(drop=True)


def stored_trend_table(assessment_ids: list[int], names: dict[str, str]) -> pd.DataFrame:
    """:func:`trend_table` from the scores stored at publication (one query)."""
    rows = [
        {
            "year": year,
            "group": _("Overall") if level == "overall" else names.get(group, group),
            "score": score,
        }
        for year, level, group, score in published_scores.latest_trend(assessment_ids)
    ]
    frame = pd.DataFrame(rows, columns=["year", "group", "score"])
    frame["score"] = frame["score"].astype(float).round(1)
    return frame.sort_values(["group", "year"]).reset_index(drop=True)


def _distinct_sub_dimensions(profile: CityProfile) -> pd.DataFrame:
    """Sub-dimensions named like a dimension (Environment) get a suffix: plotly draws bars
    with the same label on one row, on top of each other."""
    taken = set(profile.dimensions["name"])
    suffix = _("sub-dimension")
    return profile.sub_dimensions.assign(
        name=[f"{n} ({suffix})" if n in taken else n for n in profile.sub_dimensions["name"]]
    )


def _profile_figures(profile: CityProfile) -> dict[str, str]:
    """The city page's charts as inline SVG (no JavaScript needed to read them)."""
    labels = translated_band_labels()
    figures = {
        "wheel": wheel_svg(profile, legend=False),
        "dimensions": charts.score_bars_svg(
            pd.concat([profile.dimensions, _distinct_sub_dimensions(profile)]),
            label_column="name",
            chart_id="dimension-bars",
            title=_("Scores by dimension and sub-dimension"),
            axis_title=_("Score (%)"),
            band_labels=labels,
            none_label=not_scored_label(),
        ),
    }
    if profile.trend["year"].nunique() > 1:
        figures["trend"] = charts.trend_svg(
            profile.trend.dropna(subset=["score"]),
            label_column="group",
            chart_id="trend",
            title=_("Scores over the years"),
            axis_title=_("Score (%)"),
        )
    return figures


def wheel_svg(profile: CityProfile, *, legend: bool = True) -> str:
    """The profile's wheel as a static SVG (web page, downloads and PDFs)."""
    score = profile.overall["score"]
    return charts.wheel_svg(
        profile.wheel_nodes,
        title=_(
            "Benchmarking wheel of %(city)s, %(year)s", city=profile.city.name, year=profile.year
        ),
        band_labels=translated_band_labels(),
        none_label=not_scored_label(),
        centre_text="" if score is None else f"{score:.0f} %",
        legend=legend,
        confidence_labels={
            grade: _("Confidence: %(grade)s", grade=confidence_label(grade))
            for grade in ("high", "medium", "low")
        },
    )


# --- explanation ------------------------------------------------------------------------------


@dataclass
class ScoreExplanation:
    city: City
    year: int
    source: scores.Source
    tree: Explanation
    names: dict[str, str]


def score_explanation(
    slug: str, year: int, level: str, group_id: str, user: Any, requested_source: str | None
) -> ScoreExplanation:
    """The contribution tree of one score of a city profile, down to the raw values."""
    city = find_city(slug)
    assessment = next((a for a in city_assessments(city) if a.year == year), None)
    source = None if assessment is None else choose_source(user, assessment, requested_source)
    if assessment is None or source is None:
        raise ReportNotFound(slug)
    result = scores.score_assessments([assessment], source=source)
    try:
        tree = explain(result, slug, year, level, group_id)
    except KeyError as error:
        raise ReportNotFound(str(error)) from None
    return ScoreExplanation(city, year, source, tree, group_names(current_catalogue(), locale()))

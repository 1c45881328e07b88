"""What coordinators, Member States and the public look at: dashboard reports and their PDFs.

Each public function builds one report (a plain dataclass of tables, texts and figure JSON)
for one page or document, authorising through :mod:`kpi_app.services.permissions` and
reading scores from :mod:`kpi_app.services.scores` (cached). Views render a report; the PDF
functions render the same report into HTML and then PDF with WeasyPrint, charts included as
static SVG from the pure builder, in the language of the current request.

Pages (``*_page`` functions) are cached whole: the rendered main content of a page is stored
in :mod:`kpi_app.services.cache` under a key made of everything it shows — the score
fingerprint of the assessments on it (which changes with any edit or publication), what this
user may see of them (ids, data source, the live switch), the names and facts of the cities
shown, the request's language and script root, and a digest of the dashboard templates. A
repeated view then costs the few small queries that build the key; an edit, a publication, a
renamed city or a new permission asks for a different key, so a page is never stale.

Data source rule: anonymous users (and anyone without permission on an assessment) see the
latest *published* snapshot only. A user allowed to see an assessment's current values may ask
for ``source="live"``; a city editor whose draft is not yet published sees live data by default.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from flask import current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kpi_app import charts
from kpi_app.catalogue import Catalogue
from kpi_app.extensions import db
from kpi_app.models import Assessment, City, Country, IndicatorValue
from kpi_app.models.city import population_class
from kpi_app.scoring.explain import Explanation, explain
from kpi_app.scoring.progress import PROGRESS_CLASSES, progress_table
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.sensitivity import monte_carlo_ranks
from kpi_app.services import permissions, published_values, scores
from kpi_app.services.cache import files_digest, get_cache, page_key
from kpi_app.services.catalogue import benchmark_set, benchmark_sets, current_catalogue
from kpi_app.services.cities import country_name

MONTE_CARLO_DRAWS = 40  # vectorised draws: ~1 ms each for 3 cities; cached per fingerprint
STRENGTHS_SHOWN = 8
HEATMAP_PAGE_SIZE = 25  # cities per page of the compare heatmap (chart and table)
#: Scripts of the dashboards. Charts are inline SVG drawn here, so no page needs plotly.js;
#: charts.js only enhances forms (auto-submitting filters, the compare page's city search).
DASHBOARD_SCRIPTS: tuple[str, ...] = ("js/charts.js",)
#: Template folders whose content is part of every page key (a changed template re-renders).
PAGE_TEMPLATE_DIRS: tuple[str, ...] = ("dashboards", "_macros")


class ReportNotFound(LookupError):
    """Nothing this user may see under that address (the view answers 404)."""


def locale() -> str:
    return str(get_locale() or "en")


def translated_band_labels() -> list[str]:
    """The four U4SSC wheel labels in the user's language (the legend of every chart)."""
    return [
        _("Less than 33% of Target"),
        _("33-66% of Target"),
        _("66–95% of Target"),
        _("95%+ Target"),
    ]


def not_scored_label() -> str:
    return str(_("Not scored"))


def confidence_label(grade: Any) -> str | None:
    """The confidence grade of a score (docs/scoring.md, Confidence) in the reader's language."""
    if grade is None or pd.isna(grade):
        return None
    labels = {"high": _("high"), "medium": _("medium"), "low": _("low")}
    return str(labels[str(grade)])


# --- names ------------------------------------------------------------------------------------


def group_names(catalogue: Catalogue, lang: str) -> dict[str, str]:
    """Display name of every dimension, sub-dimension, category and item id."""
    names: dict[str, str] = {}
    for dimension in catalogue.dimensions:
        names[dimension.id] = dimension.label(lang)
        for sub in dimension.sub_dimensions:
            names[sub.id] = sub.label(lang)
            for category in sub.categories:
                names[category.id] = category.label(lang)
    for item in catalogue.items():
        names[charts.item_id(item.code, item.data_point)] = item.label(lang)
    return names


# --- choosing what the user may see -----------------------------------------------------------


def choose_source(user: Any, assessment: Assessment, requested: str | None) -> scores.Source | None:
    """Published unless live is asked for and allowed; live when only live is allowed."""
    live_ok = permissions.can_view_assessment(user, assessment)
    if requested == "live" and live_ok:
        return "live"
    if assessment.published_at is not None:
        return "published"
    return "live" if live_ok else None


def can_switch_to_live(user: Any, assessments: Iterable[Assessment]) -> bool:
    return any(permissions.can_view_assessment(user, a) for a in assessments)


def _city(slug: str) -> City:
    city = db.session.scalar(
        select(City).options(joinedload(City.country)).where(City.slug == slug)
    )
    if city is None:
        raise ReportNotFound(slug)
    return city


def _city_assessments(city: City) -> list[Assessment]:
    return list(
        db.session.scalars(
            select(Assessment).where(Assessment.city_id == city.id).order_by(Assessment.year)
        )
    )


# --- cached pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A dashboard page as cached: its title, rendered main content and the scripts it needs."""

    title: str
    body: str
    scripts: tuple[str, ...] = ()


def cached_page(kind: str, parts: Mapping[str, Any], render: Callable[[], Page]) -> Page:
    """The page of that kind for these key parts, rendered only when no cached copy exists.

    ``parts`` must name everything the page shows besides what :func:`rendering_context`
    adds (see the module docstring); ``render`` builds the page when the key is new.
    """
    key = page_key(kind, {**parts, "rendering": rendering_context()})
    return get_cache().get_or_compute(key, render)


def rendering_context() -> dict[str, Any]:
    """What a rendered body depends on beyond its data: language, URL root, templates."""
    templates = Path(current_app.root_path) / (current_app.template_folder or "templates")
    return {
        "locale": locale(),
        "root": request.script_root,
        "templates": files_digest([templates / folder for folder in PAGE_TEMPLATE_DIRS]),
    }


def render_body(template: str, **context: Any) -> str:
    """Render a page body template (no layout) with the translated band legend."""
    return render_template(template, band_labels=translated_band_labels(), **context)


def _row_city_facts(row: Any) -> list[Any]:
    """``city_facts`` of a ``scores.published_rows`` row (same fields, same order)."""
    return [
        row.city_id, row.slug, row.name, row.population, row.latitude, row.longitude,
        row.fictional, row.iso2, row.country_name, row.region,
    ]  # fmt: skip


def city_facts(city: City) -> list[Any]:
    """What a page shows of a city itself; part of page keys, so a renamed city re-renders."""
    country = city.country
    return [
        city.id, city.slug, city.name, city.population, city.latitude, city.longitude,
        city.fictional, country.iso2, country.name, country.region,
    ]  # fmt: skip


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
    links: dict[str, str] = field(default_factory=dict)  # KPI code -> its catalogue page
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

    def key_parts(self) -> dict[str, Any]:
        return {
            "analysis_set": self.analysis_set,
            "scores": self.scores.key,
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
    city = _city(slug)
    visible = [a for a in _city_assessments(city) if choose_source(user, a, None) is not None]
    if not visible:
        raise ReportNotFound(slug)
    assessment = _pick_year(visible, year)
    source = choose_source(user, assessment, requested_source)
    assert source is not None  # visible assessments always have a source
    series = [a for a in visible if choose_source(user, a, source) == source]
    return ProfilePlan(
        city=city,
        assessment=assessment,
        visible=visible,
        source=source,
        can_switch=can_switch_to_live(user, [assessment]) and assessment.published_at is not None,
        scores=scores.score_request(series, source=source, benchmark_set=benchmark_set or None),
        analysis_set=benchmark_set or "",
    )


def city_profile(
    slug: str, year: int | None, user: Any, requested_source: str | None = None
) -> CityProfile:
    """The profile of one city in one year (latest visible year by default)."""
    plan = plan_profile(slug, year, user, requested_source)
    return _build_profile(plan, scores.scores_for(plan.scores))


def city_page(
    slug: str,
    year: int | None,
    user: Any,
    requested_source: str | None = None,
    benchmark_set: str | None = None,
) -> Page:
    """The city page (cached; see the module docstring)."""
    plan = plan_profile(slug, year, user, requested_source, benchmark_set)

    def render() -> Page:
        profile = _build_profile(plan, scores.scores_for(plan.scores))
        body = render_body("dashboards/city.html", profile=profile)
        return Page(f"{profile.city.name} {profile.year}", body)

    return cached_page("city", plan.key_parts(), render)


def _pick_year(visible: list[Assessment], year: int | None) -> Assessment:
    if year is None:
        return visible[-1]
    for assessment in visible:
        if assessment.year == year:
            return assessment
    raise ReportNotFound(str(year))


def _build_profile(plan: ProfilePlan, result: ScoreResult) -> CityProfile:
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
    trend = trend_table(result, slug, names)
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
    profile.links = catalogue_links(catalogue)
    return profile


_catalogue_links: dict[tuple[str, str, str], dict[str, str]] = {}


def catalogue_links(catalogue: Catalogue) -> dict[str, str]:
    """URL of every KPI's catalogue page, built once per catalogue version and URL root."""
    key = (request.script_root, request.host, catalogue.version)
    links = _catalogue_links.get(key)
    if links is None:
        links = {
            kpi.code: url_for("public.catalogue_indicator", code=kpi.code)
            for kpi in catalogue.indicators
        }
        _catalogue_links.clear()  # one configuration per process; keep memory flat
        _catalogue_links[key] = links
    return links


def _overall(result: ScoreResult, slug: str, year: int) -> dict[str, Any]:
    row = result.entity_rows("overall", slug, year).iloc[0]
    return {
        "score": _number(row["score"]),
        "band": charts.palette.as_points(row["band"]),
        "coverage": _number(row["coverage"]),
        "scored_items": int(row["scored_items"]),
        "total_items": int(row["total_items"]),
        "confidence": confidence_label(row.get("confidence")),
    }


def as_int(value: Any) -> int:
    return int(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


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
        snapshot = scores.latest_snapshots([assessment.id]).get(assessment.id)
        records = [] if snapshot is None else snapshot.content.get("values", [])
        frame = pd.DataFrame(records)
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
    """One row per KPI item: value, unit, target, % of target, band, quality, verified."""
    labels = translated_band_labels()
    frame = items[
        ["code", "data_point", "dimension", "value", "target", "percent_of_target", "points"]
    ].copy()
    frame["code"] = frame["code"].astype(str)
    frame["data_point"] = frame["data_point"].astype(str)
    frame = frame.merge(details, on=["code", "data_point"], how="left", suffixes=("", "_d"))
    catalogue_items = {(i.code, i.data_point): i for i in catalogue.items()}
    frame["name"] = [
        catalogue_items[(c, d)].label(lang) if (c, d) in catalogue_items else c
        for c, d in zip(frame["code"], frame["data_point"], strict=True)
    ]
    frame["unit"] = [
        catalogue_items[(c, d)].unit_for(u if isinstance(u, str) else None, lang)
        if (c, d) in catalogue_items
        else u
        for u, c, d in zip(frame["unit"], frame["code"], frame["data_point"], strict=True)
    ]
    frame["band"] = [charts.palette.as_points(p) for p in frame["points"]]
    frame["band_label"] = [labels[b - 1] if b else not_scored_label() for b in frame["band"]]
    frame["reported"] = frame["value"].notna()
    frame["verified"] = frame["verified"].fillna(False).astype(bool)
    frame["dimension"] = frame["dimension"].astype(str)
    frame["percent_of_target"] = frame["percent_of_target"].astype(float).round(1)
    ordered = [
        "code",
        "data_point",
        "name",
        "dimension",
        "value",
        "unit",
        "target",
        "percent_of_target",
        "band",
        "band_label",
        "quality",
        "verified",
        "reported",
        "data_year",
        "source",
    ]
    return frame[ordered].reset_index(drop=True)


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
        for r in dims.itertuples(index=False)
    ] + [
        {"year": as_int(r.year), "group": _("Overall"), "score": r.score}
        for r in overall.itertuples(index=False)
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
    city = _city(slug)
    assessment = next((a for a in _city_assessments(city) if a.year == year), None)
    source = None if assessment is None else choose_source(user, assessment, requested_source)
    if assessment is None or source is None:
        raise ReportNotFound(slug)
    result = scores.score_assessments([assessment], source=source)
    try:
        tree = explain(result, slug, year, level, group_id)
    except KeyError as error:
        raise ReportNotFound(str(error)) from None
    return ScoreExplanation(city, year, source, tree, group_names(current_catalogue(), locale()))


# --- the cities map and list -----------------------------------------------------------------


@dataclass
class CityFilters:
    country: str = ""
    region: str = ""
    size: str = ""
    status: str = ""
    page: int = 1  # of the table (the map shows every city that matches)


@dataclass
class CityDirectory:
    rows: pd.DataFrame
    countries: list[tuple[str, str]]
    regions: list[str]
    sizes: list[str]
    statuses: list[str]
    filters: CityFilters
    figures: dict[str, str]
    page: int = 1
    pages: int = 1

    @property
    def page_rows(self) -> pd.DataFrame:
        """The table's rows on this page (CITY_PAGE_SIZE at most)."""
        start = (self.page - 1) * CITY_PAGE_SIZE
        return self.rows.iloc[start : start + CITY_PAGE_SIZE]

    @property
    def first_shown(self) -> int:
        return min(len(self.rows), (self.page - 1) * CITY_PAGE_SIZE + 1)

    @property
    def last_shown(self) -> int:
        return min(len(self.rows), self.page * CITY_PAGE_SIZE)


CITY_PAGE_SIZE = 50  # table rows per page of /cities: 1,000 cities made a 483 KB page
SIZES = ("small", "medium", "large", "metropolitan")


@dataclass(frozen=True)
class DirectoryPlan:
    """The cities, the latest assessment this user may see of each, and their score keys."""

    cities: list[City]
    latest: dict[int, tuple[Assessment, scores.Source]]
    requests: dict[scores.Source, scores.ScoreRequest]
    filters: CityFilters

    def key_parts(self) -> dict[str, Any]:
        return {
            "filters": asdict(self.filters),
            "cities": [city_facts(c) for c in self.cities],
            "latest": sorted((a.id, a.city_id, a.year, src) for a, src in self.latest.values()),
            "scores": {source: r.key for source, r in sorted(self.requests.items())},
        }


def plan_directory(user: Any, filters: CityFilters) -> DirectoryPlan:
    """Resolve what the city list shows this user (no scoring, one fingerprint per source).

    Scores are keyed on every visible city, not only the filtered ones, so all filters of
    the list share one cached score result.
    """
    cities = list(
        db.session.scalars(
            select(City).join(Country).options(joinedload(City.country)).order_by(City.name)
        )
    )
    latest = _latest_visible(user, cities)
    by_source: dict[scores.Source, list[Assessment]] = {"published": [], "live": []}
    for visible, visible_source in latest.values():
        by_source[visible_source].append(visible)
    requests = {
        source: scores.score_request(assessments, source=source)
        for source, assessments in by_source.items()
        if assessments
    }
    return DirectoryPlan(cities, latest, requests, filters)


def city_directory(user: Any, filters: CityFilters) -> CityDirectory:
    """Cities with their latest visible overall score, filtered, plus the map figure."""
    return _build_directory(plan_directory(user, filters))


def directory_page(user: Any, filters: CityFilters) -> Page:
    """The cities map and list (cached; see the module docstring)."""
    plan = plan_directory(user, filters)

    def render() -> Page:
        directory = _build_directory(plan)
        scripts = DASHBOARD_SCRIPTS  # the filters submit on change; the map is inline SVG
        return Page(str(_("Cities")), render_body("dashboards/cities.html", directory=directory),
                    scripts)  # fmt: skip

    return cached_page("cities", plan.key_parts(), render)


def _build_directory(plan: DirectoryPlan) -> CityDirectory:
    cities, latest, filters = plan.cities, plan.latest, plan.filters
    overall = _overall_scores(plan.requests)
    labels = translated_band_labels()
    rows = []
    for city in cities:
        found = latest.get(city.id)
        assessment = found[0] if found else None
        source = found[1] if found else None
        status = _status_of(assessment, source)
        if not _matches(city, status, filters):
            continue
        score_row = overall.get((city.slug, assessment.year)) if assessment else None
        band = charts.palette.as_points(score_row["band"]) if score_row is not None else 0
        score = _number(score_row["score"]) if score_row is not None else None
        rows.append(
            {
                "slug": city.slug,
                "name": city.name,
                "country": country_name(city.country.iso2, locale()) or city.country.name,
                "iso2": city.country.iso2,
                "region": city.country.region or "",
                "size": city.population_class,
                "population": city.population,
                "year": assessment.year if assessment else None,
                "status": status,
                "score": None if score is None else round(score, 1),
                "band": band,
                "band_label": labels[band - 1] if band else not_scored_label(),
                "latitude": city.latitude,
                "longitude": city.longitude,
                "fictional": city.fictional,
            }
        )
    frame = pd.DataFrame(rows, columns=[
        "slug", "name", "country", "iso2", "region", "size", "population", "year", "status",
        "score", "band", "band_label", "latitude", "longitude", "fictional",
    ])  # fmt: skip
    pages = max(1, -(-len(frame) // CITY_PAGE_SIZE))
    return CityDirectory(
        page=min(max(1, filters.page), pages),
        pages=pages,
        rows=frame,
        countries=sorted(
            {
                (c.country.iso2, country_name(c.country.iso2, locale()) or c.country.name)
                for c in cities
            },
            key=lambda x: x[1],
        ),
        regions=sorted({c.country.region for c in cities if c.country.region}),
        sizes=list(SIZES),
        statuses=["published", "in progress", "not started"],
        filters=filters,
        figures={"map": _map_svg(frame, labels)} if not frame.empty else {},
    )


def _latest_visible(
    user: Any, cities: Sequence[City]
) -> dict[int, tuple[Assessment, scores.Source]]:
    """Per city of ``cities``, its latest assessment the user may see and its data source.

    For anonymous visitors (the public pages' main audience) this is one query: the latest
    published year per city, in SQL. Signed-in users keep the per-assessment permission check
    (``choose_source``), so every role sees exactly what its rules allow.
    """
    ids = [city.id for city in cities]
    if user is None or not getattr(user, "is_authenticated", False):
        return _latest_published(ids)
    assessments = db.session.scalars(
        select(Assessment).where(Assessment.city_id.in_(ids)).order_by(Assessment.year)
    )
    latest: dict[int, tuple[Assessment, scores.Source]] = {}
    for assessment in assessments:
        source = choose_source(user, assessment, None)
        if source is not None:
            latest[assessment.city_id] = (assessment, source)
    return latest


def _latest_published(city_ids: Sequence[int]) -> dict[int, tuple[Assessment, scores.Source]]:
    """Per city, its latest published assessment: what ``choose_source`` gives an anonymous
    user (published at, whether or not it has a snapshot), as one query."""
    if not city_ids:
        return {}
    latest_year = (
        select(Assessment.city_id, func.max(Assessment.year).label("year"))
        .where(Assessment.published_at.is_not(None), Assessment.city_id.in_(city_ids))
        .group_by(Assessment.city_id)
        .subquery()
    )
    found = db.session.scalars(
        select(Assessment).join(
            latest_year,
            (Assessment.city_id == latest_year.c.city_id) & (Assessment.year == latest_year.c.year),
        )
    )
    return {a.city_id: (a, "published") for a in found}


def _overall_scores(
    requests: Mapping[scores.Source, scores.ScoreRequest],
) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for score_request in requests.values():
        overall = scores.scores_for(score_request).overall
        for row in overall[["city", "year", "score", "band"]].to_dict("records"):
            found[(str(row["city"]), int(row["year"]))] = {str(k): v for k, v in row.items()}
    return found


def _status_of(assessment: Assessment | None, source: str | None) -> str:
    if assessment is None:
        return "not started"
    return "published" if source == "published" else "in progress"


def _matches(city: City, status: str, filters: CityFilters) -> bool:
    return (
        (not filters.country or city.country.iso2 == filters.country.upper())
        and (not filters.region or city.country.region == filters.region)
        and (not filters.size or city.population_class == filters.size)
        and (not filters.status or status == filters.status)
    )


def _score_text(score: Any) -> str:
    number = _number(score)
    return "–" if number is None else f"{number:.1f} %"


_world_topology: dict[str, Any] = {}


def world_topology() -> dict[str, Any]:
    """The vendored Natural Earth 1:110m topology (read once per process)."""
    if not _world_topology:
        path = Path(current_app.root_path) / "static" / "vendor" / "topojson" / "world_110m.json"
        _world_topology.update(json.loads(path.read_text(encoding="utf-8")))
    return _world_topology


def _map_svg(frame: pd.DataFrame, labels: list[str]) -> str:
    """The city map as inline SVG (coastlines and band-coloured dots, no JavaScript)."""
    return charts.city_map_svg(
        frame.assign(score_text=[_score_text(s) for s in frame["score"]]),
        world_topology(),
        chart_id="city-map",
        title=_("Map of the cities"),
        band_labels=labels,
        none_label=not_scored_label(),
    )


# --- comparison -----------------------------------------------------------------------------


@dataclass
class Comparison:
    entities: pd.DataFrame  # slug, name, year, label
    dimensions: pd.DataFrame
    heatmap: pd.DataFrame  # every chosen city (downloads)
    ranking: pd.DataFrame
    peers: dict[str, list[tuple[str, str]]]
    available: list[tuple[str, str]]
    chosen: list[str]
    year: int | None
    figures: dict[str, str]
    draws: int = MONTE_CARLO_DRAWS
    heatmap_page: int = 1
    heatmap_pages: int = 1

    @property
    def heatmap_shown(self) -> pd.DataFrame:
        """The cities of the current heatmap page (chart and data table show these)."""
        return heatmap_slice(self.heatmap, self.heatmap_page)

    @property
    def heatmap_range(self) -> tuple[int, int, int]:
        """First and last city number shown on this heatmap page, and the number of cities."""
        first = (self.heatmap_page - 1) * HEATMAP_PAGE_SIZE + 1
        last = min(self.heatmap_page * HEATMAP_PAGE_SIZE, len(self.heatmap.columns))
        return first, last, len(self.heatmap.columns)

    @property
    def heatmap_rows(self) -> list[tuple[str, list[str]]]:
        """Rows of the shown heatmap page as (KPI item, cell texts): band number or "–"."""
        shown = self.heatmap_shown
        cells = [[str(v) if v else "–" for v in row] for row in shown.to_numpy().tolist()]
        return list(zip([str(label) for label in shown.index], cells, strict=True))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "dimensions": self.dimensions,
            "heatmap": self.heatmap.reset_index(),
            "ranking": self.ranking,
        }


def heatmap_slice(heatmap: pd.DataFrame, page: int) -> pd.DataFrame:
    """One page of the heatmap's city columns (1-based page number)."""
    start = (page - 1) * HEATMAP_PAGE_SIZE
    return heatmap.iloc[:, start : start + HEATMAP_PAGE_SIZE]


@dataclass(frozen=True)
class ComparisonPlan:
    """The published assessments this user may compare, the chosen ones and their score key.

    ``published`` holds plain rows (``scores.published_rows``), not ORM objects: the page
    lists every published city in its picker, but loads only the chosen assessments.
    """

    slugs: list[str]
    year: int | None
    published: list[Any]
    chosen: list[Assessment]
    scores: scores.ScoreRequest | None
    heatmap_page: int

    def key_parts(self) -> dict[str, Any]:
        return {
            "slugs": self.slugs,
            "year": self.year,
            "published": [[r.id, *_row_city_facts(r)] for r in self.published],
            "chosen": [a.id for a in self.chosen],
            "scores": None if self.scores is None else self.scores.key,
            "heatmap_page": self.heatmap_page,
            "draws": MONTE_CARLO_DRAWS,
        }


def plan_comparison(
    slugs: Sequence[str], year: int | None, user: Any, heatmap_page: int = 1
) -> ComparisonPlan:
    """Resolve the chosen assessments and their score key (no scoring)."""
    published = scores.published_rows()  # published results are public: same for every user
    chosen = scores.assessments_by_id(_chosen_ids(published, slugs, year))
    pages = max(1, math.ceil(len(chosen) / HEATMAP_PAGE_SIZE))
    return ComparisonPlan(
        slugs=list(slugs),
        year=year,
        published=published,
        chosen=chosen,
        scores=scores.score_request(chosen, source="published") if chosen else None,
        heatmap_page=min(max(1, heatmap_page), pages),
    )


def comparison(
    slugs: Sequence[str], year: int | None, user: Any, heatmap_page: int = 1
) -> Comparison:
    """Compare the chosen cities (their assessment of ``year``, else their latest published)."""
    return _build_comparison(plan_comparison(slugs, year, user, heatmap_page))


def compare_page(slugs: Sequence[str], year: int | None, user: Any, heatmap_page: int = 1) -> Page:
    """The comparison page (cached; see the module docstring)."""
    plan = plan_comparison(slugs, year, user, heatmap_page)

    def render() -> Page:
        view = _build_comparison(plan)
        body = render_body("dashboards/compare.html", view=view)
        return Page(str(_("Compare cities")), body, DASHBOARD_SCRIPTS)  # the city filter box

    return cached_page("compare", plan.key_parts(), render)


def _build_comparison(plan: ComparisonPlan) -> Comparison:
    published, chosen, year = plan.published, plan.chosen, plan.year
    available = sorted({(r.slug, r.name) for r in published}, key=lambda x: x[1])
    empty = pd.DataFrame()
    if plan.scores is None:
        return Comparison(empty, empty, empty, empty, {}, available, plan.slugs, year, {})
    result = scores.scores_for(plan.scores)
    names = group_names(current_catalogue(), locale())
    entities = pd.DataFrame(
        [
            {
                "slug": a.city.slug,
                "name": a.city.name,
                "year": a.year,
                "label": f"{a.city.name} ({a.year})",
            }
            for a in chosen
        ]
    )
    label_of = {(a.city.slug, a.year): f"{a.city.name} ({a.year})" for a in chosen}
    dimensions = _compare_dimensions(result, label_of, names)
    heatmap = _compare_heatmap(result, label_of, names)
    ranking = _ranking(result, label_of, entities)
    labels = translated_band_labels()
    shown = heatmap_slice(heatmap, plan.heatmap_page)
    figures = {
        "dimensions": charts.grouped_bars_svg(
            dimensions,
            group_column="dimension",
            series_column="city_name",
            chart_id="compare-bars",
            title=_("Dimension scores by city"),
            axis_title=_("Score (%)"),
        ),
        "heatmap": charts.band_grid_svg(
            shown,
            chart_id="heatmap",
            title=_("Heatmap of KPI bands by city"),
            band_labels=labels,
            none_label=not_scored_label(),
        ),
    }
    if not ranking.empty:
        figures["ranking"] = charts.rank_intervals_svg(
            ranking, chart_id="ranking", title=_("Rank intervals")
        )
    return Comparison(
        entities=entities,
        dimensions=dimensions,
        heatmap=heatmap,
        ranking=ranking,
        peers=_peer_groups(chosen[0], published),
        available=available,
        chosen=[a.city.slug for a in chosen],
        year=year,
        figures=figures,
        heatmap_page=plan.heatmap_page,
        heatmap_pages=max(1, math.ceil(len(heatmap.columns) / HEATMAP_PAGE_SIZE)),
    )


def _chosen_ids(published: Sequence[Any], slugs: Sequence[str], year: int | None) -> list[int]:
    """Per chosen slug: its assessment of ``year``, else its latest published (ids)."""
    by_slug: dict[str, list[Any]] = {}
    for row in published:
        by_slug.setdefault(row.slug, []).append(row)
    chosen: list[int] = []
    for slug in dict.fromkeys(slugs):
        own = sorted(by_slug.get(slug, []), key=lambda r: r.year)
        if year is not None:
            own = [r for r in own if r.year == year] or own
        if own:
            chosen.append(own[-1].id)
    return chosen


def _compare_dimensions(
    result: ScoreResult, label_of: dict[tuple[str, int], str], names: dict[str, str]
) -> pd.DataFrame:
    frame = result.dimensions
    return pd.DataFrame(
        {
            "city_name": [
                label_of[(str(c), int(y))]
                for c, y in zip(frame["city"], frame["year"], strict=True)
            ],
            "dimension": [names.get(str(d), str(d)) for d in frame["dimension"]],
            "score": frame["score"].astype(float).round(1).to_numpy(),
            "band": [charts.palette.as_points(b) for b in frame["band"]],
            "coverage": (frame["coverage"].astype(float) * 100).round(0).to_numpy(),
        }
    )


def _compare_heatmap(
    result: ScoreResult, label_of: dict[tuple[str, int], str], names: dict[str, str]
) -> pd.DataFrame:
    items = result.items
    frame = pd.DataFrame(
        {
            "item": [
                names.get(charts.item_id(str(c), str(d)), str(c))
                for c, d in zip(items["code"], items["data_point"], strict=True)
            ],
            "entity": [
                label_of[(str(c), int(y))]
                for c, y in zip(items["city"], items["year"], strict=True)
            ],
            "band": [charts.palette.as_points(p) for p in items["points"]],
        }
    )
    order = list(dict.fromkeys(frame["item"]))
    columns = list(dict.fromkeys(frame["entity"]))
    table = frame.pivot_table(
        index="item", columns="entity", values="band", aggfunc="first", sort=False
    )
    return table.reindex(index=order, columns=columns).fillna(0).astype(int)


def _ranking(
    result: ScoreResult, label_of: dict[tuple[str, int], str], entities: pd.DataFrame
) -> pd.DataFrame:
    """Monte Carlo median rank and 90 % interval (cached with the scores' fingerprint)."""
    if len(entities) < 2:
        return pd.DataFrame()
    items = result.items.drop(
        columns=["percent_of_target", "points", "band_label", "scored"], errors="ignore"
    )
    labels = [label_of[(str(c), int(y))] for c, y in zip(items["city"], items["year"], strict=True)]
    # Ranks are taken within a year; comparing chosen years side by side means one pool.
    pooled = items.assign(city=pd.Categorical(labels), year=0)
    key = (
        f"ranks:{MONTE_CARLO_DRAWS}:" + "|".join(sorted(set(labels))) + ":" + _result_digest(result)
    )
    ranks = get_cache().get_or_compute(
        key, lambda: monte_carlo_ranks(pooled, n=MONTE_CARLO_DRAWS, seed=0)
    )
    frame = ranks.rename(columns={"city": "city_name"})
    frame["city_name"] = frame["city_name"].astype(str)
    keep = ["city_name", "nominal_rank", "median_rank", "rank_p05", "rank_p95", "nominal_score"]
    return frame[keep].sort_values("median_rank").reset_index(drop=True)


def _result_digest(result: ScoreResult) -> str:
    values = pd.util.hash_pandas_object(
        result.items[["value", "target"]].astype(float), index=False
    )
    return f"{int(values.sum()) & 0xFFFFFFFFFFFF:x}"


def _peer_groups(focus: Assessment, published: list[Any]) -> dict[str, list[tuple[str, str]]]:
    """Peer groups of the focus city among the published cities (``published_rows``)."""
    others = {r.slug: r for r in published if r.city_id != focus.city_id}
    city = focus.city
    size = city.population_class
    return {
        _("Same country"): [
            (c.slug, c.name) for c in others.values() if c.iso2 == city.country.iso2
        ],
        _("Same region"): [
            (c.slug, c.name)
            for c in others.values()
            if city.country.region and c.region == city.country.region
        ],
        _("Same population class"): [
            (c.slug, c.name) for c in others.values() if population_class(c.population) == size
        ],
    }


# --- Member State view ------------------------------------------------------------------------


@dataclass
class CountryView:
    country: Country
    cities: pd.DataFrame
    summary: dict[str, Any]
    completeness: pd.DataFrame
    figures: dict[str, str]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"cities": self.cities, "completeness": self.completeness}


def _country(iso2: str) -> Country:
    country = db.session.scalar(select(Country).where(Country.iso2 == iso2.upper()))
    if country is None:
        raise ReportNotFound(iso2)
    return country


def country_view(iso2: str, user: Any) -> CountryView:
    """All cities of a country: latest published (or permitted live) scores and completeness."""
    country = _country(iso2)
    return _build_country(country, plan_directory(user, CityFilters(country=country.iso2)))


def country_page(iso2: str, user: Any) -> Page:
    """The Member State page (cached; see the module docstring).

    The directory plan's key covers the completeness table too: it is read from the same
    latest visible assessments, whose fingerprints change with any value or snapshot.
    """
    country = _country(iso2)
    plan = plan_directory(user, CityFilters(country=country.iso2))

    def render() -> Page:
        view = _build_country(country, plan)
        return Page(country.name, render_body("dashboards/country.html", view=view))

    parts = {"country": [country.iso2, country.name, country.region], **plan.key_parts()}
    return cached_page("country", parts, render)


def _build_country(country: Country, plan: DirectoryPlan) -> CountryView:
    cities = _build_directory(plan).rows
    own = {city.id for city in plan.cities if city.country_id == country.id}
    latest = {city_id: found for city_id, found in plan.latest.items() if city_id in own}
    completeness = _completeness(latest)
    scored = cities.dropna(subset=["score"])
    summary = {
        "cities": len(cities),
        "assessed": int(cities["year"].notna().sum()),
        "published": int((cities["status"] == "published").sum()),
        "mean_score": None if scored.empty else round(float(scored["score"].mean()), 1),
        "mean_reporting": None
        if completeness.empty
        else round(float(completeness["reported_share"].mean()), 0),
    }
    figures = {}
    if not scored.empty:
        bars = scored.assign(name=scored["name"])[["name", "score", "band"]]
        figures["cities"] = charts.score_bars_svg(
            bars,
            label_column="name",
            chart_id="country-bars",
            title=_("Overall score by city"),
            axis_title=_("Score (%)"),
            band_labels=translated_band_labels(),
            none_label=not_scored_label(),
        )
    return CountryView(country, cities, summary, completeness, figures)


def _completeness(latest: dict[int, tuple[Assessment, scores.Source]]) -> pd.DataFrame:
    """Reported, scored and verified shares of each city's latest visible assessment."""
    total = len(current_catalogue().items())
    counts = _reported_and_verified(latest)
    rows = []
    for assessment, _source in latest.values():
        reported, verified = counts.get(assessment.id, (0, 0))
        rows.append(
            {
                "city": assessment.city.name,
                "slug": assessment.city.slug,
                "year": assessment.year,
                "reported": reported,
                "items": total,
                "reported_share": round(100 * reported / total, 0),
                "verified": verified,
                "verified_share": round(100 * verified / total, 0),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "city",
            "slug",
            "year",
            "reported",
            "items",
            "reported_share",
            "verified",
            "verified_share",
        ],
    )


def _reported_and_verified(
    latest: dict[int, tuple[Assessment, scores.Source]],
) -> dict[int, tuple[int, int]]:
    """Per assessment id: its number of reported values and of verified items, read for all
    cities at once (one snapshot query for the published ones, two grouped queries for the
    live ones) instead of twice per city. Same counts as ``values_frame`` and
    ``value_details`` give one assessment at a time."""
    published = [a for a, source in latest.values() if source == "published"]
    live = [a for a, source in latest.values() if source == "live"]
    counts: dict[int, tuple[int, int]] = {}
    for assessment_id, snapshot in scores.latest_snapshots(a.id for a in published).items():
        entries = snapshot.content.get("values", [])
        reported = sum(1 for e in entries if e.get("reported") and e.get("value") is not None)
        counts[assessment_id] = (reported, sum(1 for e in entries if e.get("verified")))
    if live:
        frame = scores.values_frame(live, "live")
        per_city_year = frame.groupby(["city", "year"]).size().to_dict() if len(frame) else {}
        verified = dict(
            db.session.execute(
                select(IndicatorValue.assessment_id, func.count(IndicatorValue.id))
                .where(
                    IndicatorValue.assessment_id.in_([a.id for a in live]),
                    IndicatorValue.verified.is_(True),
                )
                .group_by(IndicatorValue.assessment_id)
            ).all()
        )
        for a in live:
            counts[a.id] = (
                int(per_city_year.get((a.city.slug, a.year), 0)),
                int(verified.get(a.id, 0)),
            )
    return counts


# --- SDG view ---------------------------------------------------------------------------------

#: SDG 11 targets in the project's own words (reference README for their scope).
SDG11_TARGETS: tuple[tuple[str, str], ...] = (
    ("11.1", "Adequate, safe and affordable housing and basic services for all"),
    ("11.2", "Safe, affordable and accessible transport for everyone"),
    ("11.3", "Inclusive urbanisation and participatory settlement planning"),
    ("11.4", "Protecting cultural and natural heritage"),
    ("11.5", "Fewer deaths, people affected and losses from disasters"),
    ("11.6", "Lower environmental impact of cities: air quality and waste"),
    ("11.7", "Safe, inclusive green and public spaces for all"),
    ("11.a", "Positive links between urban, peri-urban and rural areas"),
    ("11.b", "Integrated policies for inclusion, resilience and disaster risk reduction"),
    ("11.c", "Support for least developed countries in sustainable building"),
)

#: SDG links the catalogue does not carry in ``sdg_refs`` (the reference notes call them
#: plausible, or the KPI measures an SDG 11 indicator's subject directly). Documented here so
#: the SDG view is complete; move a link into the catalogue when its official page confirms it.
NOTE_SDG_LINKS: dict[str, tuple[str, ...]] = {
    "SC: SH: HO: 1C": ("11.1.1",),  # informal settlements — notes: 11.1.1 plausible
    "EC: I: T: 2A": ("11.2.1",),  # public transport convenience — notes: 11.2.1 plausible
    "EC: I: T: 1C": ("11.2",),  # public transport network length serves target 11.2
    "EC: I: WA: 1C": ("11.6.1",),  # solid waste collection is the subject of 11.6.1
    "EN: EN: WA: 1C": ("11.6.1",),  # solid waste treatment routes: controlled facilities
    "EN: EN: PSN: 1C": ("11.7.1",),  # green areas share of the city area
    "EN: EN: PSN: 2A": ("11.7.1",),  # access to green areas
    "SC: EH: C: 1C": ("11.4.1",),  # cultural expenditure: heritage spending per capita
    "SC: SH: SA: 1C": ("11.5.1",),  # disaster deaths
    "SC: SH: SA: 2C": ("11.5.2",),  # disaster economic losses
    "SC: SH: SA: 3A": ("11.b.2",),  # local resilience / disaster risk reduction plans
    "SC: SH: SA: 4A": ("11.5",),  # population living in disaster-prone areas
    "EC: ICT: ICT: 4C": ("9.c.1",),  # notes: 9.c.1 plausible
    "EC: P: EM: 1C": ("8.5.2",),  # notes: 8.5.2 plausible
    "EC: I: WS: 1C": ("6.1.1",),  # notes: 6.1.1 plausible
    "EN: E: E: 1C": ("7.2.1",),  # notes: 7.2.1 plausible
    "SC: EH: H: 2C": ("3.1.1",),  # notes: 3.1.1 plausible
    "SC: SH: SA: 9C": ("3.6.1",),  # notes: 3.6.1 plausible
}

_TARGET_OF_REF = re.compile(r"^(\d+)\.([0-9a-z]+)")


def sdg_links(catalogue: Catalogue) -> pd.DataFrame:
    """KPI ↔ SDG target links: code, goal, target, ref, origin ("catalogue" or "notes")."""
    rows = []
    for kpi in catalogue.indicators:
        for origin, refs in (
            ("catalogue", kpi.sdg_refs),
            ("notes", NOTE_SDG_LINKS.get(kpi.code, ())),
        ):
            for ref in refs:
                match = _TARGET_OF_REF.match(ref)
                if match:
                    rows.append(
                        {
                            "code": kpi.code,
                            "goal": int(match.group(1)),
                            "target": f"{match.group(1)}.{match.group(2)}",
                            "ref": ref,
                            "origin": origin,
                        }
                    )
    frame = pd.DataFrame(rows, columns=["code", "goal", "target", "ref", "origin"])
    return frame.drop_duplicates(["code", "target"])


@dataclass
class SdgView:
    targets: list[dict[str, Any]]
    other_goals: list[dict[str, Any]]
    progress_classes: tuple[str, ...]
    table: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sdg": self.table}

    def status_counts(self, rows: pd.DataFrame) -> list[int]:
        """How many (KPI item, city) series of ``rows`` fall in each progress class."""
        with_city = rows[rows["city"] != ""]
        counts = with_city["status"].value_counts()
        return [int(counts.get(str(_(c)), 0)) for c in self.progress_classes]

    def section(self, ref: str) -> dict[str, Any]:
        """One SDG 11 target ("11.2") or another goal ("17"); ReportNotFound otherwise."""
        for target in self.targets:
            if target["id"] == ref:
                return {**target, "kind": "target"}
        for goal in self.other_goals:
            if str(goal["goal"]) == ref:
                return {**goal, "kind": "goal", "id": ref}
        raise ReportNotFound(ref)


def sdg_view(user: Any) -> SdgView:
    """Per SDG target: linked KPIs, each city's latest published value and progress to 2030.

    Published results are public: the view is the same for every ``user``."""
    return _build_sdg()


def _sdg_parts() -> dict[str, Any]:
    """What the SDG pages show besides the rendering context, from aggregate queries only:
    the published data (latest snapshots, cities' last change), the catalogue and the
    default set (the targets a series without frozen ones is measured against)."""
    benchmarks = benchmark_set()
    return {
        "published": published_values.fingerprint(),
        "catalogue": current_catalogue().version,
        "benchmarks": [benchmarks.id, benchmarks.version, scores.benchmark_fingerprint(benchmarks)],
    }


def sdg_page(user: Any) -> Page:
    """The SDG 11 page (cached; see the module docstring).

    Its key: the published snapshots read (their ids), the cities named, the catalogue and
    the default benchmark set whose targets the progress classes are measured against.
    """
    parts = _sdg_parts()

    def render() -> Page:
        body = render_body("dashboards/sdg.html", view=_build_sdg())
        return Page(str(_("SDG 11")), body)

    return cached_page("sdg", parts, render)


def sdg_target_page(ref: str, user: Any) -> Page:
    """One SDG 11 target's page (or another goal's): its linked KPIs, each city's latest
    published value and progress class. Unknown targets raise ReportNotFound."""
    known = {target for target, _name in SDG11_TARGETS} | {
        str(goal) for goal in sdg_links(current_catalogue())["goal"] if goal != 11
    }
    if ref not in known:
        raise ReportNotFound(ref)
    parts = {"ref": ref, **_sdg_parts()}

    def render() -> Page:
        view = _build_sdg()
        section = view.section(ref)
        if section["kind"] == "target":
            title = str(_("Target %(id)s", id=ref))
        else:
            title = str(_("SDG %(n)d", n=int(ref)))
        body = render_body("dashboards/sdg_target.html", view=view, section=section)
        return Page(title, body)

    return cached_page("sdg-target", parts, render)


def _build_sdg() -> SdgView:
    """From the published-value rows of the linked KPIs only (issue 20): no snapshot is
    decoded; each series is measured against the target frozen with its latest row."""
    catalogue = current_catalogue()
    lang = locale()
    links = sdg_links(catalogue)
    codes = sorted(set(links["code"]))
    values = published_values.values_frame(codes)
    names = {slug: facts[0] for slug, facts in published_values.city_names(codes).items()}
    table = _sdg_table(
        links, values, catalogue, lang, names, published_values.series_targets(codes)
    )
    target_names = dict(SDG11_TARGETS)
    targets = [
        {
            "id": target,
            "name": _(target_names[target]),
            "rows": table[table["target"] == target],
        }
        for target, _name in SDG11_TARGETS
    ]
    others = [
        {"goal": goal, "rows": table[(table["goal"] == goal)]}
        for goal in sorted(set(table["goal"]) - {11})
    ]
    return SdgView(targets, others, PROGRESS_CLASSES, table)


def _sdg_table(
    links: pd.DataFrame,
    values: pd.DataFrame,
    catalogue: Catalogue,
    lang: str,
    city_names: dict[str, str],
    frozen_targets: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``frozen_targets`` (city, code, data_point, target, direction): each city's targets as
    frozen in its latest publication; without it, the default set's."""
    columns = [
        "goal", "target", "ref", "origin", "code", "data_point", "name", "city", "city_name",
        "latest_year", "latest_value", "unit", "status",
    ]  # fmt: skip
    if links.empty:
        return pd.DataFrame(columns=columns)
    benchmarks = benchmark_set().to_frame()[["code", "data_point", "target"]]
    items = catalogue.to_frame()[["code", "data_point", "direction", "unit"]]
    linked = values[values["code"].isin(links["code"])]
    progress = pd.DataFrame()
    if not linked.empty and frozen_targets is not None:
        series = linked.merge(items, on=["code", "data_point"]).merge(
            frozen_targets, on=["city", "code", "data_point"], how="left", suffixes=("", "_frozen")
        )
        known = series["direction_frozen"].notna()
        series["direction"] = series["direction"].where(~known, series["direction_frozen"])
    elif not linked.empty:
        series = linked.merge(items, on=["code", "data_point"]).merge(
            benchmarks, on=["code", "data_point"], how="left"
        )
    if not linked.empty:
        progress = progress_table(
            series[["city", "code", "data_point", "year", "value", "target", "direction"]]
        )
    rows = []
    by_code = {kpi.code: kpi for kpi in catalogue.indicators}
    for link in links.itertuples(index=False):
        kpi = by_code[str(link.code)]
        for item in kpi.items():
            found = (
                progress[
                    (progress["code"] == item.code) & (progress["data_point"] == item.data_point)
                ]
                if not progress.empty
                else progress
            )
            base = {
                "goal": link.goal, "target": link.target, "ref": link.ref, "origin": link.origin,
                "code": item.code, "data_point": item.data_point, "name": item.label(lang),
                "unit": item.unit_label(lang),
            }  # fmt: skip
            if found.empty:
                rows.append({**base, "city": "", "city_name": "", "latest_year": None,
                             "latest_value": None, "status": _("no published data")})  # fmt: skip
            for p in found.itertuples(index=False):
                rows.append(
                    {
                        **base,
                        "city": p.city,
                        "city_name": city_names.get(str(p.city), str(p.city)),
                        "latest_year": p.latest_year,
                        "latest_value": p.latest_value,
                        "status": _(str(p.status)),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


# --- downloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    filename: str
    mimetype: str
    data: bytes


MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
}


def table_download(tables: dict[str, pd.DataFrame], name: str, fmt: str, stem: str) -> Download:
    """One of a report's tables as CSV or Excel; ReportNotFound for unknown names/formats."""
    if name not in tables or fmt not in ("csv", "xlsx"):
        raise ReportNotFound(name)
    frame = tables[name]
    data = charts.to_csv_bytes(frame) if fmt == "csv" else charts.to_excel_bytes(frame, name)
    return Download(f"{stem}-{name}.{fmt}", MIMETYPES[fmt], data)


def city_download(
    slug: str, year: int, name: str, fmt: str, user: Any, requested_source: str | None
) -> Download:
    """A city profile table (CSV/Excel), its wheel (SVG) or one of its PDFs."""
    profile = city_profile(slug, year, user, requested_source)
    stem = f"{slug}-{year}-{profile.source}"
    if name == "wheel" and fmt == "svg":
        return Download(f"{stem}-wheel.svg", MIMETYPES["svg"], wheel_svg(profile).encode("utf-8"))
    if fmt == "pdf" and name in ("snapshot", "verification-report"):
        return Download(f"{stem}-{name}.pdf", MIMETYPES["pdf"], render_pdf(profile, name))
    return table_download(profile.tables(), name, fmt, stem)


def compare_download(
    slugs: Sequence[str], year: int | None, name: str, fmt: str, user: Any
) -> Download:
    view = comparison(slugs, year, user)
    return table_download(view.tables(), name, fmt, "comparison")


def country_download(iso2: str, name: str, fmt: str, user: Any) -> Download:
    view = country_view(iso2, user)
    return table_download(view.tables(), name, fmt, f"country-{iso2.lower()}")


def sdg_download(name: str, fmt: str, user: Any) -> Download:
    return table_download(sdg_view(user).tables(), name, fmt, "sdg")


# --- PDF ------------------------------------------------------------------------------------


def render_pdf(profile: CityProfile, kind: str) -> bytes:
    """The city snapshot (a few pages) or the longer verification report, as PDF bytes."""
    from weasyprint import HTML

    template = (
        "dashboards/pdf/snapshot.html" if kind == "snapshot" else "dashboards/pdf/verification.html"
    )
    html = render_template(
        template,
        profile=profile,
        wheel=wheel_svg(profile),
        band_labels=translated_band_labels(),
        lang=locale(),
    )
    # Only our own static files may be fetched while rendering: no network access.
    return bytes(
        HTML(
            string=html,
            base_url=url_for("static", filename="", _external=True),
            url_fetcher=_no_fetch,
        ).write_pdf()
    )


def _no_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    raise ValueError(f"PDF rendering fetches nothing from outside ({url})")


# --- indicator pages (published values of one KPI across cities and years) -----------------


@dataclass
class IndicatorValues:
    """Every published value of one KPI: the table, its band distribution and a chart."""

    table: pd.DataFrame  # city, city_name, year, data_point, item, value, unit, target, ...
    bands: pd.DataFrame  # band, label, items (each city's latest published year)
    chart: str  # inline SVG, "" when nothing is published
    benchmark_set: str

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"values": self.table}


INDICATOR_VALUE_COLUMNS = [
    "city", "city_name", "country", "year", "data_point", "item", "value", "unit", "target",
    "percent_of_target", "band", "band_label",
]  # fmt: skip


def indicator_values(code: str, user: Any) -> IndicatorValues:
    """The published values of KPI ``code`` in every city and year the user may see, scored
    against the default benchmark set (the same rule as the city pages)."""
    from kpi_app.scoring import score_u4ssc
    from kpi_app.scoring.frame import build_items

    catalogue = current_catalogue()
    lang = locale()
    kpi = catalogue.indicator(code)
    benchmarks = benchmark_set()
    labels = translated_band_labels()
    # Only this KPI's published rows (issue 20): no snapshot is decoded.
    values = published_values.values_frame([kpi.code])
    empty = pd.DataFrame(columns=INDICATOR_VALUE_COLUMNS)
    if values.empty:
        return IndicatorValues(empty, _band_counts(empty, labels), "", benchmarks.id)
    items_frame = catalogue.to_frame()
    items_frame = items_frame[items_frame["code"] == kpi.code]
    bench_frame = benchmarks.to_frame()
    bench_frame = bench_frame[bench_frame["code"] == kpi.code]
    scored = score_u4ssc(build_items(items_frame, bench_frame, values)).items
    scored = scored[scored["value"].notna()]
    city_of = published_values.city_names([kpi.code])
    item_names = {(i.code, i.data_point): i for i in kpi.items()}
    rows = []
    for row in scored.itertuples(index=False):
        item = item_names[(str(row.code), str(row.data_point))]
        city_name, _iso2, country_name = city_of[str(row.city)]
        band = charts.palette.as_points(row.points)
        rows.append(
            {
                "city": str(row.city),
                "city_name": city_name,
                "country": country_name,
                "year": as_int(row.year),
                "data_point": item.data_point,
                "item": item.label(lang),
                "value": _number(row.value),
                "unit": item.unit,
                "target": _number(row.target),
                "percent_of_target": _number(row.percent_of_target),
                "band": band,
                "band_label": labels[band - 1] if band else not_scored_label(),
            }
        )
    table = pd.DataFrame(rows, columns=INDICATOR_VALUE_COLUMNS).sort_values(
        ["data_point", "city_name", "year"]
    )
    return IndicatorValues(
        table.reset_index(drop=True),
        _band_counts(table, labels),
        _indicator_chart(table, kpi),
        benchmarks.id,
    )


def _band_counts(table: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Items per band in each city's latest published year (4 first, not scored last)."""
    latest = table.sort_values("year").drop_duplicates(["city", "data_point"], keep="last")
    counts = latest["band"].value_counts() if not latest.empty else pd.Series(dtype=int)
    return pd.DataFrame(
        [
            {
                "band": points,
                "label": labels[points - 1] if points else not_scored_label(),
                "items": int(counts.get(points, 0)),
            }
            for points in (4, 3, 2, 1, 0)
        ]
    )


def _indicator_chart(table: pd.DataFrame, kpi: Any) -> str:
    """Values over the years, one line per city (and data point), on an axis from 0."""
    series = table.assign(
        group=[
            f"{r.city_name!s} – {r.data_point!s}" if r.data_point else str(r.city_name)
            for r in table.itertuples(index=False)
        ],
        score=table["value"],
    )
    top = float(series["score"].max()) if not series.empty else 0.0
    percentage = kpi.value_type == "percentage"
    y_max = 100.0 if percentage and top <= 100 else _nice_ceiling(top)
    return charts.trend_svg(
        series[["year", "group", "score"]],
        label_column="group",
        chart_id="indicator-values",
        title=_("Published values of %(kpi)s", kpi=kpi.label(locale())),
        axis_title=kpi.unit,
        y_max=y_max,
        value_format="{:.4g}",
    )


def _nice_ceiling(value: float) -> float:
    """The next "round" number at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def indicator_download(code: str, fmt: str, user: Any) -> Download:
    values = indicator_values(code, user)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", code).strip("-").lower()
    return table_download(values.tables(), "values", fmt, stem)

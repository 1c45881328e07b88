"""The comparison of chosen cities: dimension bars, the KPI heatmap and rank intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from kpi_app import charts
from kpi_app.i18n import _
from kpi_app.models import Assessment
from kpi_app.models.city import population_class
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.sensitivity import monte_carlo_ranks
from kpi_app.services import scores
from kpi_app.services.cache import get_cache, page_key
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.reports import directory_sql
from kpi_app.services.reports.names import (
    group_names,
    locale,
    not_scored_label,
    translated_band_labels,
)

MONTE_CARLO_DRAWS = 40  # vectorised draws: ~1 ms each for 3 cities; cached per fingerprint


HEATMAP_PAGE_SIZE = 25  # cities per page of the compare heatmap (chart and table)


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
    #: Whether the Monte Carlo rank intervals were asked for (``?ranks=1``): they cost
    #: more than the rest of the page, so the page offers them behind a link.
    ranks: bool = False

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
    """The chosen assessments, their score key and what the rest of the page depends on.

    The page lists every published city in its picker and peer groups; the plan does not
    read them (``published`` is an aggregate fingerprint of the cities, countries,
    publications and snapshots, one statement), only the chosen cities' published rows.
    :func:`build_comparison` reads the picker's rows when the page is rendered.
    """

    slugs: list[str]
    year: int | None
    published: list[Any]
    chosen: list[Assessment]
    scores: scores.ScoreRequest | None
    heatmap_page: int
    ranks: bool = False

    def key_parts(self) -> dict[str, Any]:
        return {
            "slugs": self.slugs,
            "year": self.year,
            "published": self.published,
            "chosen": [a.id for a in self.chosen],
            "scores": None if self.scores is None else self.scores.key,
            "heatmap_page": self.heatmap_page,
            "draws": MONTE_CARLO_DRAWS,
            "ranks": self.ranks,
        }


def plan_comparison(
    slugs: Sequence[str],
    year: int | None,
    user: Any,
    heatmap_page: int = 1,
    ranks: bool = False,
) -> ComparisonPlan:
    """Resolve the chosen assessments and their score key (no scoring). ``ranks``: add
    the Monte Carlo rank intervals."""
    # Published results are public: the same for every user.
    own = scores.published_rows(slugs=list(dict.fromkeys(slugs)))
    chosen = scores.assessments_by_id(_chosen_ids(own, slugs, year))
    pages = max(1, math.ceil(len(chosen) / HEATMAP_PAGE_SIZE))
    return ComparisonPlan(
        slugs=list(slugs),
        year=year,
        published=directory_sql.fingerprint(),
        chosen=chosen,
        scores=scores.score_request(chosen, source="published") if chosen else None,
        heatmap_page=min(max(1, heatmap_page), pages),
        ranks=ranks,
    )


def comparison(
    slugs: Sequence[str],
    year: int | None,
    user: Any,
    heatmap_page: int = 1,
    ranks: bool = True,
) -> Comparison:
    """Compare the chosen cities (their assessment of ``year``, else their latest published),
    with the rank intervals unless ``ranks`` is false."""
    return build_comparison(plan_comparison(slugs, year, user, heatmap_page, ranks))


def build_comparison(plan: ComparisonPlan) -> Comparison:
    """The comparison a plan describes (scores and ranks read through the caches)."""
    chosen, year = plan.chosen, plan.year
    published = _published_cities(plan.published)  # the picker and the peer groups

    available = sorted(((r.slug, r.name) for r in published), key=lambda x: x[1])
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
    ranking = _ranking(result, label_of, entities) if plan.ranks else pd.DataFrame()
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
        ranks=plan.ranks,
    )


class PublishedCity(NamedTuple):
    """A row of :func:`kpi_app.services.scores.published_cities`, as the cache keeps it."""

    city_id: int
    slug: str
    name: str
    population: int | None
    latitude: float | None
    longitude: float | None
    fictional: bool
    iso2: str
    country_name: str
    region: str | None


def _published_cities(fingerprint: list[Any]) -> list[PublishedCity]:
    """Every published city, read once per published data (``fingerprint``: the plan's
    :func:`directory_sql.fingerprint`) for all compare pages: 1,000 rows at 1,000 cities."""
    key = page_key("published-cities", {"published": fingerprint})
    return get_cache().get_or_compute(
        key, lambda: [PublishedCity(*row) for row in scores.published_cities()]
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
    """Peer groups of the focus city among the published cities (``published_cities``)."""
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

"""Indicator pages: the published values of one KPI across cities and years.

The page shows one page of the values table (:data:`INDICATOR_PAGE_SIZE` rows), the band
distribution of every city's latest year and a chart of the median and quartiles of all
cities per year, each read in SQL from the ``published_value`` rows (issue 20): a fixed
number of statements and at most a page of rows, whatever the number of cities. Values are
shown with the target, % of target and band frozen when they were published (the rows
written at publication, the same as the city pages' published profiles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select

from kpi_app import charts
from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import City, Country, PublishedValue
from kpi_app.services import published_values
from kpi_app.services.cache import get_cache, page_key
from kpi_app.services.catalogue import benchmark_set, current_catalogue
from kpi_app.services.reports.names import (
    as_number,
    locale,
    not_scored_label,
    translated_band_labels,
)

#: Rows of the values table per page: 1,000 cities × 10 years made 10,000 rows (2.2 s).
INDICATOR_PAGE_SIZE = 50
#: The quantiles the chart draws per year (of all cities' published values).
QUARTILES: tuple[float, ...] = (0.25, 0.5, 0.75)


@dataclass
class IndicatorValues:
    """The published values of one KPI: a page of the table, the band distribution, a chart."""

    table: pd.DataFrame  # city, city_name, year, data_point, item, value, unit, target, ...
    bands: pd.DataFrame  # band, label, items (each city's latest published year)
    chart: str  # inline SVG, "" when nothing is published
    benchmark_set: str
    total: int = 0  # published values (every page)
    cities: int = 0
    first_year: int | None = None
    last_year: int | None = None
    page: int = 1
    pages: int = 1

    @property
    def first_shown(self) -> int:
        return min(self.total, (self.page - 1) * INDICATOR_PAGE_SIZE + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, (self.page - 1) * INDICATOR_PAGE_SIZE + len(self.table))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"values": self.table}


INDICATOR_VALUE_COLUMNS = [
    "city", "city_name", "country", "year", "data_point", "item", "value", "unit", "target",
    "percent_of_target", "band", "band_label",
]  # fmt: skip


def indicator_values_key(code: str) -> dict[str, Any]:
    """What :func:`indicator_values` shows depends on (one aggregate statement): the latest
    published snapshots and the cities' last change, the default set and the catalogue. The
    same for every user (published values only), so a rendering of it can be cached."""
    benchmarks = benchmark_set()
    return {
        "code": code,
        "published": published_values.fingerprint(),
        "benchmarks": [benchmarks.id, benchmarks.version],
        "catalogue": current_catalogue().version,
    }


def _published(code: str) -> tuple[Any, ...]:
    """The conditions of the reported published values of ``code`` (latest snapshots)."""
    return (
        PublishedValue.code == code,
        published_values.LATEST,
        PublishedValue.reported.is_(True),
        PublishedValue.value.is_not(None),
    )


def indicator_values(
    code: str, user: Any, page: int = 1, published: list[Any] | None = None
) -> IndicatorValues:
    """Page ``page`` of the published values of KPI ``code`` (clamped to the pages there
    are), the band counts and the quartile chart. The counts, bands and quartiles cover
    every city: they are computed once per published data (``published``, the
    :func:`published_values.fingerprint` the caller has, else read here) and kept in the
    app cache, so a further page costs one statement for its rows."""
    kpi = current_catalogue().indicator(code)
    labels = translated_band_labels()
    if published is None:
        published = published_values.fingerprint()
    key = page_key("indicator-summary", {"code": kpi.code, "published": published})
    summary = get_cache().get_or_compute(key, lambda: _summary(kpi.code))
    pages = max(1, -(-summary.total // INDICATOR_PAGE_SIZE))
    page = min(max(1, page), pages)
    benchmarks = benchmark_set()
    if not summary.total:
        empty = pd.DataFrame(columns=INDICATOR_VALUE_COLUMNS)
        return IndicatorValues(empty, _band_counts({}, labels), "", benchmarks.id)
    table = _table(kpi, labels, limit=INDICATOR_PAGE_SIZE, offset=(page - 1) * INDICATOR_PAGE_SIZE)
    return IndicatorValues(
        table,
        _band_counts(summary.bands, labels),
        _quartile_chart(summary.quartiles, kpi),
        benchmarks.id,
        total=summary.total,
        cities=summary.cities,
        first_year=summary.first_year,
        last_year=summary.last_year,
        page=page,
        pages=pages,
    )


@dataclass(frozen=True)
class _Summary:
    """What every page of one KPI's values shows about all of them (cached)."""

    total: int
    cities: int
    first_year: int | None
    last_year: int | None
    bands: dict[int, int]
    quartiles: pd.DataFrame


def _summary(code: str) -> _Summary:
    """Counts, years, band counts and quartiles of the published values of ``code``: three
    aggregate statements (each reads the KPI's values once in the database)."""
    where = _published(code)
    total, cities, first, last = db.session.execute(
        select(
            func.count(),  # count(*): the partial index covers the rest (index-only)
            func.count(func.distinct(PublishedValue.city_id)),
            func.min(PublishedValue.year),
            func.max(PublishedValue.year),
        ).where(*where)
    ).one()
    if not total:
        return _Summary(0, 0, None, None, {}, pd.DataFrame())
    return _Summary(
        int(total),
        int(cities or 0),
        int(first),
        int(last),
        _latest_points(where),
        _quartiles(where),
    )


def indicator_table(code: str) -> pd.DataFrame:
    """Every published value of KPI ``code`` (the downloads: every page of the table)."""
    kpi = current_catalogue().indicator(code)
    return _table(kpi, translated_band_labels())


def _table(
    kpi: Any, labels: list[str], *, limit: int | None = None, offset: int = 0
) -> pd.DataFrame:
    """Rows of the values table ordered by data point, city name and year (one query)."""
    lang = locale()
    order = (
        published_values.bytewise(PublishedValue.data_point),
        published_values.bytewise(City.name),
        PublishedValue.year,
        published_values.bytewise(City.slug),
    )
    query = (
        select(
            City.slug,
            City.name,
            Country.name,
            PublishedValue.year,
            PublishedValue.data_point,
            PublishedValue.value,
            PublishedValue.unit,
            PublishedValue.target,
            PublishedValue.percent_of_target,
            PublishedValue.points,
        )
        .join(City, PublishedValue.city_id == City.id)
        .join(Country, City.country_id == Country.id)
        .order_by(*order)
    )
    if limit is None:
        query = query.where(*_published(kpi.code))
    else:
        # The page's rows are chosen on what the partial index holds (index-only on
        # PostgreSQL), then only those rows are read.
        page = (
            select(PublishedValue.id)
            .join(City, PublishedValue.city_id == City.id)
            .where(*_published(kpi.code))
            .order_by(*order)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        query = query.join(page, PublishedValue.id == page.c.id)
    items = {i.data_point: i for i in kpi.items()}
    rows = []
    found = db.session.execute(query)
    for slug, name, country, year, point, value, unit, target, percent, points in found:
        item = items.get(point or "")
        band = charts.palette.as_points(points)
        rows.append(
            {
                "city": slug,
                "city_name": name,
                "country": country,
                "year": int(year),
                "data_point": point or "",
                "item": item.label(lang) if item is not None else point,
                "value": as_number(value),
                "unit": item.unit if item is not None else unit,
                "target": as_number(target),
                "percent_of_target": as_number(percent),
                "band": band,
                "band_label": labels[band - 1] if band else not_scored_label(),
            }
        )
    return pd.DataFrame(rows, columns=INDICATOR_VALUE_COLUMNS)


def _latest_points(where: tuple[Any, ...]) -> dict[int, int]:
    """Band points → items, in each city's latest published year of each data point."""
    latest = (
        select(
            PublishedValue.city_id,
            PublishedValue.data_point,
            func.max(PublishedValue.year).label("year"),
        )
        .where(*where)
        .group_by(PublishedValue.city_id, PublishedValue.data_point)
        .subquery()
    )
    query = (
        select(PublishedValue.points, func.count())
        .join(
            latest,
            and_(
                PublishedValue.city_id == latest.c.city_id,
                PublishedValue.data_point == latest.c.data_point,
                PublishedValue.year == latest.c.year,
            ),
        )
        .where(*where)
        .group_by(PublishedValue.points)
    )
    counts: dict[int, int] = {}
    for points, n in db.session.execute(query):
        band = charts.palette.as_points(points)
        counts[band] = counts.get(band, 0) + int(n)
    return counts


def _band_counts(counts: dict[int, int], labels: list[str]) -> pd.DataFrame:
    """Items per band in each city's latest published year (4 first, not scored last)."""
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


def _quartiles(where: tuple[Any, ...]) -> pd.DataFrame:
    """Per data point and year: the quartiles of every city's published value, as numpy's
    linear interpolation gives them. SQL ranks the values (a window) and returns only the
    two ranks around each quartile, so the rows read do not grow with the cities.
    Columns: data_point, year, quantile, value, cities."""
    partition = (PublishedValue.data_point, PublishedValue.year)
    ranked = (
        select(
            PublishedValue.data_point,
            PublishedValue.year,
            PublishedValue.value,
            (
                func.row_number().over(partition_by=partition, order_by=PublishedValue.value) - 1
            ).label("at"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where)
        .subquery()
    )
    # floor(q × (n − 1)) by integer division on both databases; the rank after it too.
    floors = [(ranked.c.n - 1) // 4, (ranked.c.n - 1) // 2, 3 * (ranked.c.n - 1) // 4]
    near = or_(*(ranked.c.at.between(low, low + 1) for low in floors))
    columns = (ranked.c.data_point, ranked.c.year, ranked.c.n, ranked.c.at, ranked.c.value)
    query = select(*columns).where(near)
    ranks: dict[tuple[str, int], tuple[int, dict[int, float]]] = {}
    for point, year, n, at, value in db.session.execute(query):
        ranks.setdefault((point or "", int(year)), (int(n), {}))[1][int(at)] = float(value)
    rows = []
    for (point, year), (n, values) in sorted(ranks.items()):
        for q in QUARTILES:
            h = q * (n - 1)
            low = math.floor(h)
            value = values[low] + (h - low) * (values.get(low + 1, values[low]) - values[low])
            rows.append({"data_point": point, "year": year, "quantile": q, "value": value,
                         "cities": n})  # fmt: skip
    return pd.DataFrame(rows, columns=["data_point", "year", "quantile", "value", "cities"])


def _quartile_chart(quartiles: pd.DataFrame, kpi: Any) -> str:
    """The median and quartiles of all cities' values per year (one line each, per data
    point), on an axis from 0: three lines at any number of cities."""
    names = {0.25: _("25th percentile"), 0.5: _("Median"), 0.75: _("75th percentile")}
    labels = [names[float(q)] for q in quartiles["quantile"]]
    series = quartiles.assign(
        group=[
            f"{label} – {point!s}" if point else label
            for label, point in zip(labels, quartiles["data_point"], strict=True)
        ],
        score=quartiles["value"],
    )
    top = float(series["score"].max()) if not series.empty else 0.0
    percentage = kpi.value_type == "percentage"
    y_max = 100.0 if percentage and top <= 100 else _nice_ceiling(top)
    return charts.trend_svg(
        series[["year", "group", "score"]],
        label_column="group",
        chart_id="indicator-values",
        title=_(
            "Published values of %(kpi)s: median and quartiles of the cities",
            kpi=kpi.label(locale()),
        ),
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

"""Indicator pages: the published values of one KPI across cities and years."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kpi_app import charts
from kpi_app.i18n import _
from kpi_app.services import published_values
from kpi_app.services.catalogue import benchmark_set, current_catalogue
from kpi_app.services.reports.names import (
    as_int,
    as_number,
    locale,
    not_scored_label,
    translated_band_labels,
)


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
                "value": as_number(row.value),
                "unit": item.unit,
                "target": as_number(row.target),
                "percent_of_target": as_number(row.percent_of_target),
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

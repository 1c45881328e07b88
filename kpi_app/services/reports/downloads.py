"""Downloads of the reports' tables (CSV, Excel) and of the city wheel (SVG)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kpi_app import charts
from kpi_app.services.reports.access import ReportNotFound
from kpi_app.services.reports.city import CityProfile, city_profile, wheel_svg
from kpi_app.services.reports.compare import comparison
from kpi_app.services.reports.country import country_view
from kpi_app.services.reports.indicators import indicator_table
from kpi_app.services.reports.sdg import sdg_view


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


def profile_stem(profile: CityProfile) -> str:
    """The start of every file name of a city profile's downloads: slug, year, data source."""
    return f"{profile.city.slug}-{profile.year}-{profile.source}"


def city_download(
    slug: str, year: int, name: str, fmt: str, user: Any, requested_source: str | None
) -> Download:
    """A city profile table (CSV/Excel) or its wheel (SVG).

    The PDFs are rendered by the web layer (``web/dashboards/pdf.py``)."""
    profile = city_profile(slug, year, user, requested_source)
    stem = profile_stem(profile)
    if name == "wheel" and fmt == "svg":
        return Download(f"{stem}-wheel.svg", MIMETYPES["svg"], wheel_svg(profile).encode("utf-8"))
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


def indicator_download(code: str, fmt: str, user: Any) -> Download:
    """Every published value of one KPI (every page of its table)."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", code).strip("-").lower()
    return table_download({"values": indicator_table(code)}, "values", fmt, stem)

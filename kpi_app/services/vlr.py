"""Voluntary Local Review (VLR) annex: one city's indicators organised by SDG goal and target.

Cities that report U4SSC KPIs also write Voluntary Local Reviews of the SDGs for the UN. The
annex lists, per SDG goal → target, every indicator of the city linked to that target with
its value, unit, data source, verification status, benchmark band and progress class, so the
review's statistical annex is a download instead of numbers copied by hand.

Where the numbers come from (nothing is computed twice):

* values, targets, % of target and bands: the city profile (:func:`reports.city_profile`),
  i.e. the scores of the U4SSC rule, from the published snapshot or live data by the same
  rule as the city page (public: published only; live for those who may see the assessment);
* the KPI → SDG target links: :func:`reports.sdg_links`, the catalogue's ``sdg_refs``
  (origin ``catalogue``) plus the documented project links of ``NOTE_SDG_LINKS`` (origin
  ``notes``); every row says which;
* progress class: the Open SDG progress measure (:mod:`kpi_app.scoring.progress`) over the
  city's years up to the annex year, against the year's target (as scored) and the item's
  catalogue direction;
* local KPIs (:mod:`kpi_app.services.local_kpi_reports`): their own SDG links and their own
  benchmark bands (:mod:`kpi_app.scoring.local`), in rows marked ``kind = local``; they never
  enter the U4SSC scores.

The service returns data only; the ``vlr`` blueprint renders the page and the PDF, and
:func:`pdf_from_html` turns the rendered HTML into PDF with WeasyPrint (nothing fetched).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kpi_app import charts
from kpi_app.catalogue import Catalogue, Item
from kpi_app.i18n import _
from kpi_app.models import City
from kpi_app.scoring.progress import NOT_ASSESSED, progress_table
from kpi_app.services import local_kpi_reports, scores
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.reports import (
    SDG11_TARGETS,
    CityProfile,
    city_profile,
    locale,
    not_scored_label,
    plan_profile,
    sdg_links,
    translated_band_labels,
)

#: Columns of the annex table (and of its CSV), in order. Stable English keys.
COLUMNS: tuple[str, ...] = (
    "goal",
    "goal_name",
    "target",
    "target_name",
    "sdg_ref",
    "link_source",
    "kind",
    "code",
    "data_point",
    "name",
    "value",
    "unit",
    "data_year",
    "source",
    "verification",
    "benchmark",
    "percent_of_target",
    "band",
    "band_label",
    "progress",
    "progress_label",
)

VERIFIED = "verified"
NOT_VERIFIED = "not verified"
NOT_REPORTED = "not reported"
NO_DATA = "insufficient data"


def goal_names() -> dict[int, str]:
    """The 17 SDG goals' short titles (UN wording) in the reader's language."""
    return {
        1: _("No poverty"),
        2: _("Zero hunger"),
        3: _("Good health and well-being"),
        4: _("Quality education"),
        5: _("Gender equality"),
        6: _("Clean water and sanitation"),
        7: _("Affordable and clean energy"),
        8: _("Decent work and economic growth"),
        9: _("Industry, innovation and infrastructure"),
        10: _("Reduced inequalities"),
        11: _("Sustainable cities and communities"),
        12: _("Responsible consumption and production"),
        13: _("Climate action"),
        14: _("Life below water"),
        15: _("Life on land"),
        16: _("Peace, justice and strong institutions"),
        17: _("Partnerships for the goals"),
    }


def link_source_labels() -> dict[str, str]:
    """Where a KPI → SDG link comes from, in the reader's language."""
    return {
        "catalogue": _("U4SSC catalogue (sdg_refs)"),
        "notes": _("Reference notes (project link)"),
        "local": _("Local KPI definition"),
    }


def verification_labels() -> dict[str, str]:
    return {
        VERIFIED: _("verified"),
        NOT_VERIFIED: _("not verified"),
        NOT_REPORTED: _("not reported"),
    }


@dataclass
class VlrAnnex:
    """The annex of one city and year: goals → targets → rows, and the flat table."""

    city: City
    year: int
    source: scores.Source
    can_switch: bool
    benchmark_set: str
    table: pd.DataFrame
    #: [{"goal", "name", "targets": [{"target", "name", "rows": DataFrame}]}], goal order.
    goals: list[dict[str, Any]] = field(default_factory=list)
    #: KPI item → catalogue item, for the templates' ``ct(item, "label")``.
    items: dict[tuple[str, str], Item] = field(default_factory=dict)
    reported_count: int = 0
    verified_count: int = 0
    linked_kpis: int = 0
    unlinked_kpis: int = 0

    @property
    def filename_stem(self) -> str:
        return f"{self.city.slug}-{self.year}-{self.source}-vlr-annex"


def vlr_annex(slug: str, year: int, user: Any, requested_source: str | None = None) -> VlrAnnex:
    """The VLR annex of a city and year (ReportNotFound when this user may see neither)."""
    plan = plan_profile(slug, year, user, requested_source)
    profile = city_profile(slug, year, user, requested_source)
    catalogue = current_catalogue()
    progress = _progress(plan.visible, profile, catalogue)
    table = _u4ssc_rows(profile, catalogue, progress)
    local = _local_rows(plan.visible, plan.assessment, profile)
    if not local.empty:
        table = pd.concat([table, local], ignore_index=True)
    table = _order(table)
    linked_codes = set(sdg_links(catalogue)["code"])
    annex = VlrAnnex(
        city=profile.city,
        year=profile.year,
        source=profile.source,
        can_switch=profile.can_switch,
        benchmark_set=profile.benchmark_set,
        table=table,
        items={item.key: item for item in catalogue.items()},
        reported_count=profile.reported_count,
        verified_count=profile.verified_count,
        linked_kpis=len(linked_codes),
        unlinked_kpis=len(catalogue.indicators) - len(linked_codes),
    )
    annex.goals = _grouped(table)
    return annex


def _progress(visible: list[Any], profile: CityProfile, catalogue: Catalogue) -> pd.DataFrame:
    """Progress class per item over the city's years up to the annex year (Open SDG)."""
    series = [
        a
        for a in visible
        if a.year <= profile.year and (profile.source == "live" or a.published_at is not None)
    ]
    values = scores.values_frame(series, profile.source)
    values = values[values["year"] <= profile.year]
    if values.empty:
        return pd.DataFrame(columns=["code", "data_point", "status"])
    directions = catalogue.to_frame()[["code", "data_point", "direction"]]
    targets = profile.kpis[["code", "data_point", "target"]].merge(
        directions, on=["code", "data_point"], how="left"
    )
    targets["target"] = pd.to_numeric(targets["target"], errors="coerce")
    frame = values[["code", "data_point", "year", "value"]].merge(
        targets, on=["code", "data_point"], how="inner"
    )
    if frame.empty:
        return pd.DataFrame(columns=["code", "data_point", "status"])
    return progress_table(frame)[["code", "data_point", "status"]]


def _u4ssc_rows(profile: CityProfile, catalogue: Catalogue, progress: pd.DataFrame) -> pd.DataFrame:
    lang = locale()
    goals = goal_names()
    target_names = {t: str(_(name)) for t, name in SDG11_TARGETS}
    sources = link_source_labels()
    verification = verification_labels()
    status_of = {
        (str(r.code), str(r.data_point)): str(r.status) for r in progress.itertuples(index=False)
    }
    kpis = {(str(r.code), str(r.data_point)): r for r in profile.kpis.itertuples(index=False)}
    rows: list[dict[str, Any]] = []
    for link in sdg_links(catalogue).itertuples(index=False):
        kpi = catalogue.indicator(str(link.code))
        for item in kpi.items():
            found = kpis.get(item.key)
            if found is None:
                continue
            reported = bool(found.reported)
            state = (VERIFIED if found.verified else NOT_VERIFIED) if reported else NOT_REPORTED
            band = int(str(found.band)) if found.band else 0
            status = status_of.get(item.key, NO_DATA if _has_number(found.target) else NOT_ASSESSED)
            goal = int(str(link.goal))
            rows.append(
                {
                    "goal": goal,
                    "goal_name": goals.get(goal, ""),
                    "target": str(link.target),
                    "target_name": target_names.get(str(link.target), ""),
                    "sdg_ref": str(link.ref),
                    "link_source": sources[str(link.origin)],
                    "kind": "U4SSC",
                    "code": item.code,
                    "data_point": item.data_point,
                    "name": item.label(lang),
                    "value": found.value if reported else None,
                    "unit": found.unit or "",
                    "data_year": _int_or_none(found.data_year),
                    "source": found.source if isinstance(found.source, str) else "",
                    "verification": verification[state],
                    "benchmark": found.target if _has_number(found.target) else None,
                    "percent_of_target": found.percent_of_target
                    if _has_number(found.percent_of_target)
                    else None,
                    "band": band,
                    "band_label": str(found.band_label),
                    "progress": status,
                    "progress_label": str(_(status)),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


_REF = re.compile(r"^(\d+)\.([0-9a-z]+)")


def _local_rows(visible: list[Any], assessment: Any, profile: CityProfile) -> pd.DataFrame:
    """The city's local KPIs under the SDG targets of their own definitions (kind "local").

    Values, benchmark and band come from the local block (scored apart, by each item's own
    benchmark); progress from the same Open SDG measure over the city's years.
    """
    lang = locale()
    block = local_kpi_reports.local_block(assessment, profile.source, lang)
    if block is None or block.items.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    progress = _local_progress(visible, block, profile)
    goals = goal_names()
    target_names = {t: str(_(name)) for t, name in SDG11_TARGETS}
    labels = translated_band_labels()
    verification = verification_labels()
    source_label = link_source_labels()["local"]
    rows: list[dict[str, Any]] = []
    for item in block.items.itertuples(index=False):
        for ref in filter(None, str(item.sdg_refs).split(";")):
            match = _REF.match(ref)
            if match is None:
                continue
            goal, target = int(match.group(1)), f"{match.group(1)}.{match.group(2)}"
            reported = bool(item.reported)
            state = (VERIFIED if item.verified else NOT_VERIFIED) if reported else NOT_REPORTED
            band = int(str(item.band))
            has_target = _has_number(item.target)
            status = progress.get(
                (str(item.code), str(item.data_point)), NO_DATA if has_target else NOT_ASSESSED
            )
            rows.append(
                {
                    "goal": goal,
                    "goal_name": goals.get(goal, ""),
                    "target": target,
                    "target_name": target_names.get(target, ""),
                    "sdg_ref": ref,
                    "link_source": source_label,
                    "kind": "local",
                    "code": item.code,
                    "data_point": item.data_point,
                    "name": item.name,
                    "value": item.value if reported else None,
                    "unit": item.unit,
                    "data_year": _int_or_none(item.data_year),
                    "source": item.source,
                    "verification": verification[state],
                    "benchmark": item.target if has_target else None,
                    "percent_of_target": item.percent_of_target
                    if _has_number(item.percent_of_target)
                    else None,
                    "band": band,
                    "band_label": labels[band - 1] if band else not_scored_label(),
                    "progress": status,
                    "progress_label": str(_(status)),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _local_progress(
    visible: list[Any], block: local_kpi_reports.LocalBlock, profile: CityProfile
) -> dict[tuple[str, str], str]:
    """Progress class of each local item over the city's years up to the annex year."""
    records: list[dict[str, Any]] = []
    for a in visible:
        if a.year > profile.year or (profile.source == "published" and a.published_at is None):
            continue
        content = local_kpi_reports.content_for(a, profile.source)
        for value in (content or {}).get("values", []):
            if value.get("reported") and value.get("value") is not None:
                records.append(
                    {
                        "code": str(value["code"]),
                        "data_point": str(value.get("data_point") or ""),
                        "year": int(a.year),
                        "value": float(value["value"]),
                    }
                )
    if not records:
        return {}
    targets = block.items[["code", "data_point", "target", "direction"]].copy()
    targets["target"] = pd.to_numeric(targets["target"], errors="coerce")
    frame = pd.DataFrame(records).merge(targets, on=["code", "data_point"], how="inner")
    if frame.empty:
        return {}
    table = progress_table(frame)
    return {(str(r.code), str(r.data_point)): str(r.status) for r in table.itertuples(index=False)}


def _has_number(value: Any) -> bool:
    try:
        return not pd.isna(float(value))
    except (TypeError, ValueError):
        return False


def _int_or_none(value: Any) -> int | None:
    return int(value) if _has_number(value) else None


def _target_sort_key(target: str) -> tuple[int, int, str]:
    """11.2 < 11.10 < 11.a: numbered targets first in number order, then lettered ones."""
    goal, _sep, rest = target.partition(".")
    number = int(rest) if rest.isdigit() else 10_000
    return (int(goal), number, rest)


def _order(table: pd.DataFrame) -> pd.DataFrame:
    """Goal, then target (numbered, then lettered), U4SSC rows before local ones, then code."""
    if table.empty:
        return table.reset_index(drop=True)
    order = sorted(
        range(len(table)),
        key=lambda i: (
            _target_sort_key(str(table["target"].iat[i])),
            table["kind"].iat[i] != "U4SSC",
            str(table["code"].iat[i]),
            str(table["data_point"].iat[i]),
            str(table["sdg_ref"].iat[i]),
        ),
    )
    return table.iloc[order].reset_index(drop=True)


def _grouped(table: pd.DataFrame) -> list[dict[str, Any]]:
    goals: list[dict[str, Any]] = []
    for goal, by_goal in table.groupby("goal", sort=False):
        targets = [
            {"target": target, "name": rows["target_name"].iloc[0], "rows": rows}
            for target, rows in by_goal.groupby("target", sort=False)
        ]
        goals.append(
            {"goal": int(str(goal)), "name": by_goal["goal_name"].iloc[0], "targets": targets}
        )
    return goals


def annex_csv(annex: VlrAnnex) -> bytes:
    """The annex table as UTF-8 CSV (BOM, formulas defused: the other downloads' writer)."""
    return charts.to_csv_bytes(annex.table.reindex(columns=list(COLUMNS)))


def band_labels() -> list[str]:
    return translated_band_labels()


def no_band_label() -> str:
    return not_scored_label()


def pdf_from_html(html: str, base_url: str) -> bytes:
    """Render the annex's HTML to PDF; only the app's own static files may be fetched."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=base_url, url_fetcher=_no_fetch).write_pdf())


def _no_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    raise ValueError(f"PDF rendering fetches nothing from outside ({url})")

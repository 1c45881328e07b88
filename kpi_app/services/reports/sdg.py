"""The SDG view: KPI links to SDG targets, each city's latest published value and progress."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kpi_app.catalogue import Catalogue
from kpi_app.i18n import _
from kpi_app.scoring.progress import PROGRESS_CLASSES, progress_table
from kpi_app.services import published_values, scores
from kpi_app.services.catalogue import benchmark_set, current_catalogue
from kpi_app.services.reports.access import ReportNotFound
from kpi_app.services.reports.names import locale

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
    """Per SDG target: linked KPIs, each city's latest published value and progress to 2030."""
    return build_sdg(plan_sdg(user))


@dataclass(frozen=True)
class SdgPlan:
    """The target or goal an SDG page shows (if one). Published results are public: the
    pages are the same for every user."""

    ref: str | None = None

    def key_parts(self) -> dict[str, Any]:
        """What the SDG pages show, from aggregate queries only (issue 20): the published
        data (latest snapshots, the cities' last change), the catalogue and the default
        benchmark set (the targets a series without frozen ones is measured against)."""
        benchmarks = benchmark_set()
        parts: dict[str, Any] = {} if self.ref is None else {"ref": self.ref}
        parts |= {
            "published": published_values.fingerprint(),
            "catalogue": current_catalogue().version,
            "benchmarks": [
                benchmarks.id,
                benchmarks.version,
                scores.benchmark_fingerprint(benchmarks),
            ],
        }
        return parts


def plan_sdg(user: Any, ref: str | None = None) -> SdgPlan:
    """What the SDG 11 page (or one target's or goal's page, ``ref``) shows this user.

    An unknown ``ref`` raises ReportNotFound."""
    if ref is not None:
        known = {target for target, _name in SDG11_TARGETS} | {
            str(goal) for goal in sdg_links(current_catalogue())["goal"] if goal != 11
        }
        if ref not in known:
            raise ReportNotFound(ref)
    return SdgPlan(ref)


def build_sdg(plan: SdgPlan) -> SdgView:
    """The SDG view a plan describes."""
    return _build_sdg()


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

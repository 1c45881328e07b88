"""The SDG view: KPI links to SDG targets, each city's latest published value and progress."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kpi_app.catalogue import Catalogue
from kpi_app.charts.rows import tuples
from kpi_app.i18n import _
from kpi_app.scoring.progress import OPEN_SDG_BASE_YEAR, PROGRESS_CLASSES, progress_table
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

#: Rows of a target's table per page: target 11.6 listed 12,000 series at 1,000 cities (3.6 MB).
SDG_PAGE_SIZE = 50

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

    def page_of(self, rows: pd.DataFrame, page: int) -> dict[str, Any]:
        """Page ``page`` (clamped) of a section's rows: :data:`SDG_PAGE_SIZE` at most, with
        the page number, the number of pages and the positions of the first and last row."""
        pages = max(1, -(-len(rows) // SDG_PAGE_SIZE))
        page = min(max(1, page), pages)
        start = (page - 1) * SDG_PAGE_SIZE
        shown = rows.iloc[start : start + SDG_PAGE_SIZE]
        return {"rows": shown, "page": page, "pages": pages, "total": len(rows),
                "first": min(len(rows), start + 1), "last": start + len(shown)}  # fmt: skip

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
    """The SDG view a plan describes: every link for the summary, only the links of the
    target (or goal) for its page, so that a target's page reads its own KPIs only."""
    links = sdg_links(current_catalogue())
    if plan.ref is not None:
        of_ref = links["target"] == plan.ref
        if plan.ref.isdigit():
            of_ref = (links["goal"] == int(plan.ref)) & (links["goal"] != 11)
        links = links[of_ref]
    return _build_sdg(links)


def _build_sdg(links: pd.DataFrame | None = None) -> SdgView:
    """From the published-value rows of the linked KPIs, grouped in SQL to one row per
    (city, KPI item) series (issue 20): no snapshot is decoded, no value is read one by
    one; each series is measured against the target frozen with its latest row."""
    catalogue = current_catalogue()
    if links is None:
        links = sdg_links(catalogue)
    codes = sorted(set(links["code"]))
    ends = published_values.series_ends(codes, OPEN_SDG_BASE_YEAR) if codes else None
    table = _sdg_table_from_ends(links, ends, catalogue, locale())
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


SDG_COLUMNS = [
    "goal", "target", "ref", "origin", "code", "data_point", "name", "city", "city_name",
    "latest_year", "latest_value", "unit", "status",
]  # fmt: skip


def _sdg_table_from_ends(
    links: pd.DataFrame, ends: pd.DataFrame | None, catalogue: Catalogue, lang: str
) -> pd.DataFrame:
    """The rows :func:`_sdg_table` gives, from :func:`published_values.series_ends`
    (one row per series) and without a loop over cities: the progress of every series in
    one ``progress_table`` call on its base and latest observations, joined to the links."""
    if links.empty:
        return pd.DataFrame(columns=SDG_COLUMNS)
    by_code = {kpi.code: kpi for kpi in catalogue.indicators}
    base_rows = [
        {
            "goal": link.goal,
            "target": link.target,
            "ref": link.ref,
            "origin": link.origin,
            "code": item.code,
            "data_point": item.data_point,
            "name": item.label(lang),
            "unit": item.unit_label(lang),
        }
        for link in tuples(links, index=False)
        for item in by_code[str(link.code)].items()
    ]
    base = pd.DataFrame(base_rows).assign(order=range(len(base_rows)))
    progress = _progress_of_ends(ends, catalogue)
    table = base.merge(progress, on=["code", "data_point"], how="left")
    table = table.sort_values(["order", "city"], kind="stable", na_position="first")
    found = table["city"].notna()
    statuses = {status: _(str(status)) for status in table.loc[found, "status"].unique()}
    table = table.assign(
        city=table["city"].where(found, ""),
        city_name=table["city_name"].where(found, ""),
        latest_year=table["latest_year"].astype("float64").where(found),
        latest_value=table["latest_value"].astype("float64").where(found),
        status=table["status"].map(statuses).where(found, _("no published data")),
    )
    return table[SDG_COLUMNS].reset_index(drop=True)


def _progress_of_ends(ends: pd.DataFrame | None, catalogue: Catalogue) -> pd.DataFrame:
    """Progress class of every series in ``ends`` (city, city_name, code, data_point,
    latest_year, latest_value, status): items of the catalogue only, the direction frozen
    with the series' latest row, else the catalogue's."""
    columns = ["city", "city_name", "code", "data_point", "latest_year", "latest_value", "status"]
    if ends is None or ends.empty:
        return pd.DataFrame(columns=columns)
    items = catalogue.to_frame()[["code", "data_point", "direction"]]
    series = ends.rename(columns={"direction": "direction_frozen"}).merge(
        items, on=["code", "data_point"]
    )
    known = series["direction_frozen"].notna()
    series["direction"] = series["direction"].where(~known, series["direction_frozen"])
    keys = ["city", "code", "data_point", "target", "direction"]
    observations = pd.concat(
        [
            series.loc[series["base_year"].notna(), [*keys, "base_year", "base_value"]].rename(
                columns={"base_year": "year", "base_value": "value"}
            ),
            series[[*keys, "latest_year", "latest_value"]].rename(
                columns={"latest_year": "year", "latest_value": "value"}
            ),
        ],
        ignore_index=True,
    ).astype({"year": "int64"})
    progress = progress_table(
        observations[["city", "code", "data_point", "year", "value", "target", "direction"]]
    )
    names = dict(zip(series["city"], series["city_name"], strict=False))
    return progress.assign(city_name=progress["city"].map(names))[columns]


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
    for link in tuples(links, index=False):
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
            for p in tuples(found, index=False):
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

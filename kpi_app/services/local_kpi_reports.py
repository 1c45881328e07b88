"""Local KPIs, the read side: frozen copies at publication, the scored block, exports.

The write path (definitions, values, decisions) is :mod:`kpi_app.services.local_kpis`; this
module reads what it stored, live or as frozen with a publication, and scores it apart from
the U4SSC set with :mod:`kpi_app.scoring.local` (docs/local-kpis.md):

* :func:`freeze` (in :mod:`kpi_app.services.local_kpi_snapshots`, re-exported): copies the
  definitions in use and the values into a ``local_kpi_snapshot`` beside the U4SSC snapshot
  (whose content is untouched);
* :func:`content_for`: live content, or the frozen content of the latest publication, so
  published views keep the definitions as published;
* :func:`local_block` / :func:`city_block`: the "Local KPIs" block (bands, block score);
* :func:`wheel_svg`: the block's own wheel (``charts.local_wheel_svg``), never a ring of
  the U4SSC wheel; :func:`fingerprint`: what the block shows, for the PDFs' file names;
* :func:`export`: CSV, xlsx or JSON with the local codes ``LOCAL:<city>:<CODE>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, LocalKpi, LocalKpiSnapshot, Snapshot
from kpi_app.scoring.bands import band_label
from kpi_app.scoring.local import LocalScores, score_local
from kpi_app.services.local_kpi_snapshots import content_hash, live_content
from kpi_app.services.local_kpis import (
    LocalKpiError,
    _,
    items_of,
    text_in,
)

# --- records: live or as published ------------------------------------------------------


def published_content(assessment: Assessment) -> dict[str, Any] | None:
    """The local KPIs as frozen with the assessment's latest publication (None: none)."""
    latest = db.session.scalar(
        select(Snapshot.id)
        .where(Snapshot.assessment_id == assessment.id)
        .order_by(Snapshot.id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    frozen = db.session.scalar(
        select(LocalKpiSnapshot).where(LocalKpiSnapshot.snapshot_id == latest)
    )
    return None if frozen is None else frozen.content


def content_for(assessment: Assessment, source: str) -> dict[str, Any] | None:
    """Live content, or the frozen content of the latest publication."""
    if source == "published":
        return published_content(assessment)
    content = live_content(assessment)
    return content if content["kpis"] else None


# --- the local block: scored apart ------------------------------------------------------


@dataclass
class LocalBlock:
    """The "Local KPIs" block of a city and year: items banded by their own benchmark."""

    items: pd.DataFrame
    scores: LocalScores
    source: str
    #: The city's name and the year (set by :func:`local_block`; the wheel's title).
    city_name: str = ""
    year: int = 0

    @property
    def reported_count(self) -> int:
        return int(self.items["reported"].sum()) if not self.items.empty else 0

    @property
    def verified_count(self) -> int:
        if self.items.empty:
            return 0
        return int((self.items["reported"] & self.items["verified"]).sum())


ITEM_COLUMNS = (
    "code",
    "data_point",
    "name",
    "definition",
    "value",
    "unit",
    "target",
    "benchmark_source",
    "direction",
    "value_type",
    "percent_of_target",
    "band",
    "band_label",
    "reported",
    "verified",
    "data_year",
    "source",
    "quality",
    "sdg_refs",
)


def block_from_content(content: Mapping[str, Any], lang: str, source: str) -> LocalBlock:
    """Score a content record (live or frozen) apart from the U4SSC set."""
    values = {(str(v["code"]), str(v.get("data_point") or "")): v for v in content["values"]}
    rows: list[dict[str, Any]] = []
    for record in content["kpis"]:
        for item in items_of(record):
            value = values.get((str(record["full_code"]), item["data_point"]), {})
            reported = bool(value.get("reported")) and value.get("value") is not None
            name = text_in(record.get("name") or {}, lang)
            if item["data_point"]:
                name = f"{name}: {text_in(item['label'], lang)}"
            rows.append(
                {
                    "code": record["full_code"],
                    "data_point": item["data_point"],
                    "name": name,
                    "definition": text_in(record.get("definition") or {}, lang),
                    "value": value.get("value") if reported else None,
                    "unit": record.get("unit") or "",
                    "target": item["target"],
                    "benchmark_source": record.get("benchmark_source") or "",
                    "direction": record.get("direction") or "higher_better",
                    "value_type": record.get("value_type") or "count",
                    "reported": reported,
                    "verified": bool(value.get("verified")),
                    "data_year": value.get("data_year"),
                    "source": value.get("source") or "",
                    "quality": value.get("quality"),
                    "sdg_refs": ";".join(record.get("sdg_refs") or []),
                }
            )
    frame = pd.DataFrame(rows, columns=[c for c in ITEM_COLUMNS if c not in _SCORED])
    scored = score_local(frame)
    items = scored.items
    items["band_label"] = [band_label(int(b)) or "" for b in items["band"]]
    items["percent_of_target"] = items["percent_of_target"].astype(float).round(1)
    return LocalBlock(items.reindex(columns=list(ITEM_COLUMNS)), scored, source)


_SCORED = ("percent_of_target", "band", "band_label")


def local_block(assessment: Assessment, source: str, lang: str) -> LocalBlock | None:
    """The local block of an assessment (None when the city reports no local KPI there)."""
    content = content_for(assessment, source)
    if content is None:
        return None
    block = block_from_content(content, lang, source)
    block.city_name, block.year = assessment.city.name, assessment.year
    return block


def assessment_of(city: City, year: int) -> Assessment | None:
    """The city's assessment of that year (a profile names its city and year)."""
    return db.session.scalar(
        select(Assessment).where(Assessment.city_id == city.id, Assessment.year == year)
    )


def profile_block(city: City, year: int, source: str, lang: str) -> LocalBlock | None:
    """The local block beside a city profile already resolved (its PDFs): the same
    assessment and data source as the profile, so a published PDF shows the frozen copy."""
    assessment = assessment_of(city, year)
    return None if assessment is None else local_block(assessment, source, lang)


def city_block(
    slug: str, year: int | None, user: Any, requested_source: str | None, lang: str
) -> LocalBlock | None:
    """The local block of the city page: same assessment and data source as the page."""
    from kpi_app.services import reports

    if not _city_has_local_kpis(slug):
        return None  # most cities: one small query, no second resolution of the page's plan
    try:
        plan = reports.plan_profile(slug, year, user, requested_source)
    except reports.ReportNotFound:
        return None
    return local_block(plan.assessment, plan.source, lang)


def fingerprint(assessment: Assessment, source: str) -> str:
    """A digest of the local KPIs a page or PDF of this assessment shows ("" when none):
    the frozen copy of the latest publication, or the live definitions and values."""
    content = content_for(assessment, source)
    return "" if content is None else content_hash(content)


# --- the local wheel: a chart of its own ------------------------------------------------


def wheel_items(block: LocalBlock) -> pd.DataFrame:
    """The block's items as the local wheel reads them (``charts.local_wheel.COLUMNS``).

    An item has a segment when it has a benchmark and a direction that scores; the others
    (no benchmark, direction "none") are listed under the wheel, not scored."""
    items = block.items
    targets = pd.to_numeric(items["target"], errors="coerce")
    codes = [
        str(code).rsplit(":", 1)[-1] + (f" {point}" if point else "")
        for code, point in zip(items["code"], items["data_point"], strict=True)
    ]
    return pd.DataFrame(
        {
            "code": codes,
            "name": items["name"].astype(str).to_numpy(),
            "band": items["band"].astype(int).to_numpy(),
            "percent_of_target": items["percent_of_target"].astype(float).to_numpy(),
            "benchmarked": (targets.notna() & (items["direction"] != "other")).to_numpy(),
        }
    )


def wheel_svg(block: LocalBlock, *, id_prefix: str = "local-wheel") -> str:
    """The local KPIs' own wheel as a static SVG ("" when the block has no item), in the
    reader's language: page, PDFs. Labelled as not part of the U4SSC score."""
    from flask_babel import format_decimal

    from kpi_app import charts
    from kpi_app.services import reports

    scores = block.scores
    # As the block's text writes it (one decimal, the reader's number format).
    score = "–" if scores.score is None else f"{format_decimal(round(scores.score, 1))} %"
    if scores.band:
        score += f" · {scores.band}"
    return charts.local_wheel_svg(
        wheel_items(block),
        title=_(
            "Local KPIs of %(city)s, %(year)s: not part of the U4SSC score",
            city=block.city_name,
            year=block.year,
        ),
        heading=_("Local KPIs — not part of the U4SSC score"),
        centre_lines=[
            _("Local KPIs"),
            score,
            _(
                "%(scored)d of %(total)d scored",
                scored=scores.scored_items,
                total=scores.total_items,
            ),
        ],
        band_labels=reports.translated_band_labels(),
        none_label=reports.not_scored_label(),
        unscored_heading=_("Listed, not scored (no benchmark):"),
        id_prefix=id_prefix,
    )


# --- exports ----------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx", "json")
#: Stored fields written after the block's columns, so that a CSV or xlsx export holds every
#: field a value has and imports back unchanged (services.local_kpi_import).
EXTRA_EXPORT_COLUMNS = (
    "verification_code",
    "verification_note",
    "comment",
    "not_reported_reason",
    "numerator",
    "denominator",
    "source_url",
)


def export(assessment: Assessment, source: str, fmt: str, lang: str = "en") -> bytes:
    """The assessment's local KPIs (definitions as used, values, bands) as CSV, xlsx or JSON.

    Codes are the local namespace's (``LOCAL:<city>:<CODE>``), never U4SSC codes.
    """
    from kpi_app import charts

    if fmt not in EXPORT_FORMATS:
        raise LocalKpiError(_("Choose CSV, Excel or JSON."))
    content = content_for(assessment, source) or {
        "city": assessment.city.slug,
        "year": assessment.year,
        "kpis": [],
        "values": [],
    }
    block = block_from_content(content, lang, source)
    if fmt == "json":
        document = {
            "city": content["city"],
            "year": content["year"],
            "source": source,
            "kpis": content["kpis"],
            "values": content["values"],
            "scores": {
                "score": block.scores.score,
                "band": block.scores.band,
                "scored_items": block.scores.scored_items,
                "total_items": block.scores.total_items,
            },
        }
        return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
    values = {(str(v["code"]), str(v.get("data_point") or "")): v for v in content["values"]}
    frame = block.items.copy()
    for name in EXTRA_EXPORT_COLUMNS:
        frame[name] = [
            (values.get((str(c), str(d))) or {}).get(name)
            for c, d in zip(frame["code"], frame["data_point"], strict=True)
        ]
    if fmt == "xlsx":
        return charts.to_excel_bytes(frame, "local-kpis")
    return charts.to_csv_bytes(frame)


def _city_has_local_kpis(slug: str) -> bool:
    """Has this city ever defined a local KPI? (published copies need a definition first)"""
    found = db.session.scalar(
        select(LocalKpi.id)
        .join(City, LocalKpi.city_id == City.id)
        .where(City.slug == slug)
        .limit(1)
    )
    return found is not None

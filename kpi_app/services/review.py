"""The verifier's review table: every value of an assessment on one page, filterable.

Each row carries what a verifier needs to judge a value without opening another page:
value, unit, target, % of target and band (U4SSC rule on the live values), data quality,
source, screening flags, open queries and the current decision. Filters narrow the rows
(category, flagged or not, without a decision, with open queries); the values shown that
the screening did not flag and that still wait for a decision are the candidates for the
bulk verification (`workflow.bulk_verify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kpi_app import charts
from kpi_app.models import Assessment, IndicatorValue
from kpi_app.services import scores, screening
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow import (
    VerifiedShare,
    effective_reported,
    open_query_counts,
    verified_share,
)

FLAGGED_CHOICES = ("", "yes", "no")


@dataclass(frozen=True)
class ReviewFilters:
    """What the verifier narrowed the table to (all empty: every value)."""

    category: str = ""
    flagged: str = ""  # "" any, "yes" only flagged, "no" only unflagged
    undecided: bool = False
    open_queries: bool = False
    changed: bool = False  # changed by the city after an earlier decision

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ReviewFilters:
        """Read the filters from a query string or a form (unknown values are ignored)."""
        category = str(args.get("category") or "").strip()
        known = {c.id for c in current_catalogue().categories}
        flagged = str(args.get("flagged") or "")
        return cls(
            category=category if category in known else "",
            flagged=flagged if flagged in FLAGGED_CHOICES else "",
            undecided=str(args.get("undecided") or "") in ("1", "on", "yes"),
            open_queries=str(args.get("queries") or "") in ("1", "on", "yes"),
            changed=str(args.get("changed") or "") in ("1", "on", "yes"),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (only those set)."""
        args = {"category": self.category, "flagged": self.flagged}
        args["undecided"] = "1" if self.undecided else ""
        args["queries"] = "1" if self.open_queries else ""
        args["changed"] = "1" if self.changed else ""
        return {name: value for name, value in args.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.query_args())

    def matches(self, row: TableRow) -> bool:
        if self.category and row.category_id != self.category:
            return False
        if self.flagged == "yes" and not row.flags:
            return False
        if self.flagged == "no" and row.flags:
            return False
        if self.undecided and not row.undecided:
            return False
        if self.changed and not row.changed:
            return False
        return not (self.open_queries and not row.open_queries)


@dataclass(frozen=True)
class TableRow:
    value: IndicatorValue
    label: str
    category_id: str
    reported: bool
    flags: list[screening.Flag] = field(default_factory=list)
    open_queries: int = 0
    target: float | None = None
    percent_of_target: float | None = None
    band: int = 0
    changed: bool = False  # its earlier decision was cleared by a change of the city

    @property
    def undecided(self) -> bool:
        return self.reported and self.value.verified is None

    @property
    def bulk_candidate(self) -> bool:
        """Waiting for a decision and not flagged by the screening."""
        return self.undecided and not self.flags


@dataclass(frozen=True)
class ReviewTable:
    rows: list[TableRow]
    shown: list[TableRow]
    filters: ReviewFilters
    categories: list[tuple[str, str]]
    share: VerifiedShare

    @property
    def bulk_candidates(self) -> list[TableRow]:
        return [row for row in self.shown if row.bulk_candidate]

    @property
    def flagged_undecided(self) -> list[TableRow]:
        return [row for row in self.rows if row.undecided and row.flags]

    def next_flagged(self, after: int | None = None) -> TableRow | None:
        """The first flagged value without a decision (after the row of value `after`)."""
        pending = self.flagged_undecided
        if after is not None:
            ids = [row.value.id for row in self.rows]
            position = ids.index(after) if after in ids else -1
            later = [row for row in pending if ids.index(row.value.id) > position]
            pending = later or pending
        return pending[0] if pending else None


def review_table(
    assessment: Assessment,
    actor: Any,
    filters: ReviewFilters | None = None,
    report: screening.ScreeningReport | None = None,
) -> ReviewTable:
    """Every value of the assessment in catalogue order, with the filters applied."""
    from flask_babel import get_locale

    filters = filters or ReviewFilters()
    lang = str(get_locale() or "en")
    catalogue = current_catalogue()
    report = report or screening.screen_assessment(assessment, actor)
    order = {item.key: n for n, item in enumerate(catalogue.items())}
    counts = open_query_counts(assessment)
    targets = _targets(assessment)
    changed = _changed_since_decision(assessment)
    rows = []
    for value in sorted(
        assessment.values, key=lambda v: order.get((v.code, v.data_point), len(order))
    ):
        key = (value.code, value.data_point)
        try:
            label = catalogue.item(*key).label(lang)
            category_id = catalogue.indicator(value.code).category
        except KeyError:
            label, category_id = value.code, ""
        target, percent, band = targets.get(key, (None, None, 0))
        rows.append(
            TableRow(
                value=value,
                label=label,
                category_id=category_id,
                reported=effective_reported(value),
                flags=report.for_item(*key),
                open_queries=int(counts.get(value.id, 0)),
                target=target,
                percent_of_target=percent,
                band=band,
                changed=value.id in changed and value.verified is None,
            )
        )
    return ReviewTable(
        rows=rows,
        shown=[row for row in rows if filters.matches(row)],
        filters=filters,
        categories=[(c.id, c.label(lang)) for c in catalogue.categories],
        share=verified_share(assessment),
    )


TargetInfo = tuple[float | None, float | None, int]


def _targets(assessment: Assessment) -> dict[tuple[str, str], TargetInfo]:
    """(target, % of target, band) per item, scored by the U4SSC rule on the live values."""
    if not assessment.values:
        return {}
    result = scores.score_assessments([assessment], source="live")
    items = result.entity_rows("items", assessment.city.slug, assessment.year)
    found = {}
    for code, point, target, percent, points in zip(
        items["code"].astype(str),
        items["data_point"].astype(str),
        items["target"],
        items["percent_of_target"],
        items["points"],
        strict=True,
    ):
        found[(code, point)] = (_number(target), _number(percent), charts.palette.as_points(points))
    return found


def _changed_since_decision(assessment: Assessment) -> set[int]:
    """Values whose verification decision a later data change cleared (see values.py)."""
    from kpi_app.extensions import db
    from kpi_app.models import AuditEvent

    events = db.session.execute(
        db.select(AuditEvent.entity_id, AuditEvent.old).where(
            AuditEvent.assessment_id == assessment.id,
            AuditEvent.entity_type == "indicator_value",
            AuditEvent.action == "update",
        )
    )
    return {
        int(entity_id)
        for entity_id, old in events
        if entity_id is not None and (old or {}).get("verified") is not None
    }


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def parse_selection(tokens: list[str]) -> dict[int, int]:
    """Form tokens "value_id:version" → {value_id: version}; malformed tokens are dropped."""
    selection: dict[int, int] = {}
    for token in tokens:
        for part in token.split(","):
            value_id, _, version = part.strip().partition(":")
            if value_id.isdigit() and version.isdigit():
                selection[int(value_id)] = int(version)
    return selection

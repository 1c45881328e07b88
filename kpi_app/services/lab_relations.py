"""Synergies and trade-offs among the KPIs of a methods-lab peer group (``/lab/correlations``):
the pure :func:`~kpi_app.twin.correlations.relation_rows` over the group's published values."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from kpi_app.i18n import _
from kpi_app.services import scores
from kpi_app.services.lab import LabError, LabNotFound, LabQuery, candidates, kpi_names, where
from kpi_app.twin.correlations import RelationRow, relation_rows


@dataclass(frozen=True)
class Relations:
    """Synergies and trade-offs among the KPIs of a lab query's peer group."""

    query: LabQuery
    cities: tuple[str, ...]
    rows: tuple[RelationRow, ...]
    fdr: float

    def labelled(self) -> list[RelationRow]:
        return [r for r in self.rows if r.relation in ("synergy", "trade-off")]


def run_relations(query: LabQuery, user: Any = None, lang: str = "en") -> Relations:
    """Direction-adjusted correlations of the peer group's reported values (one year, so one
    observation per city), Benjamini–Hochberg at q ≤ 0.05; LabError."""
    available = candidates(query, user)
    by_slug = {a.city.slug: a for a in available}
    chosen = [by_slug[s] for s in query.cities if s in by_slug] if query.cities else available
    if not chosen:
        raise LabNotFound(
            _(
                "no published assessments for %(year)d%(where)s",
                year=query.year,
                where=where(query),
            )
        )
    try:
        result = scores.score_assessments(
            chosen, source="published", method="u4ssc", benchmark_set=query.benchmark_set
        )
    except scores.ScoresError as error:
        raise LabError(str(error)) from None
    rows, fdr = relation_rows(result.items, kpi_names(lang))
    return Relations(
        query=query, cities=tuple(a.city.slug for a in chosen), rows=tuple(rows), fdr=fdr
    )


def relations_csv(relations: Relations) -> str:
    buffer = io.StringIO()
    fields = ["item_a", "name_a", "item_b", "name_b", "n", "rho", "rho_adjusted", "p_value"]
    fields += ["q_value", "relation"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for row in relations.rows:
        writer.writerow({k: "" if v is None else v for k, v in row.as_dict().items()})
    return buffer.getvalue()

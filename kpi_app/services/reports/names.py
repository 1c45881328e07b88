"""Shared names of the reports: band labels, group names, number helpers (reader's language)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from flask_babel import get_locale

from kpi_app import charts
from kpi_app.catalogue import Catalogue
from kpi_app.i18n import _


def locale() -> str:
    return str(get_locale() or "en")


def translated_band_labels() -> list[str]:
    """The four U4SSC wheel labels in the user's language (the legend of every chart)."""
    return [
        _("Less than 33% of Target"),
        _("33-66% of Target"),
        _("66–95% of Target"),
        _("95%+ Target"),
    ]


def not_scored_label() -> str:
    return str(_("Not scored"))


def confidence_label(grade: Any) -> str | None:
    """The confidence grade of a score (docs/scoring.md, Confidence) in the reader's language."""
    if grade is None or pd.isna(grade):
        return None
    labels = {"high": _("high"), "medium": _("medium"), "low": _("low")}
    return str(labels[str(grade)])


def group_names(catalogue: Catalogue, lang: str) -> dict[str, str]:
    """Display name of every dimension, sub-dimension, category and item id."""
    names: dict[str, str] = {}
    for dimension in catalogue.dimensions:
        names[dimension.id] = dimension.label(lang)
        for sub in dimension.sub_dimensions:
            names[sub.id] = sub.label(lang)
            for category in sub.categories:
                names[category.id] = category.label(lang)
    for item in catalogue.items():
        names[charts.item_id(item.code, item.data_point)] = item.label(lang)
    return names


def as_int(value: Any) -> int:
    return int(value)


def as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number

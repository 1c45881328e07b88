"""The value returned by the scoring engine: item and group frames plus the method's provenance.

A :class:`ScoreResult` is immutable and self-describing: it carries the method name, the spec
used (JSON-ready) and the catalogue / benchmark-set versions, so that a stored result can be
recomputed and two results can be compared. ``to_dict`` gives the JSON shape used verbatim by
``kpi-app score --format json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

#: Group levels from the finest to the coarsest, with the column naming the group.
LEVEL_ID_COLUMNS: Final[Mapping[str, str | None]] = {
    "categories": "category",
    "sub_dimensions": "sub_dimension",
    "dimensions": "dimension",
    "overall": None,
}

#: Accepted spellings of a level, singular or plural, to the frame name in ``ScoreResult``.
LEVEL_ALIASES: Final[Mapping[str, str]] = {
    "item": "items",
    "items": "items",
    "category": "categories",
    "categories": "categories",
    "sub_dimension": "sub_dimensions",
    "sub_dimensions": "sub_dimensions",
    "dimension": "dimensions",
    "dimensions": "dimensions",
    "overall": "overall",
}

#: Columns every group frame carries after its key columns, in this order.
GROUP_MEASURE_COLUMNS: Final[tuple[str, ...]] = (
    "score",
    "band",
    "band_label",
    "points",
    "max_points",
    "scored_items",
    "total_items",
    "coverage",
    "coverage_core",
    "coverage_advanced",
)

#: Item fields exported to JSON, in this order.
ITEM_JSON_FIELDS: Final[tuple[str, ...]] = (
    "code",
    "data_point",
    "value",
    "target",
    "percent_of_target",
    "points",
    "band",
    "band_label",
)

LevelName = Literal["items", "categories", "sub_dimensions", "dimensions", "overall"]


def resolve_level(name: str) -> LevelName:
    """Map a level spelling ("dimension", "dimensions", ...) to its frame name."""
    try:
        return LEVEL_ALIASES[name]  # type: ignore[return-value]
    except KeyError:
        known = ", ".join(sorted(LEVEL_ALIASES))
        raise KeyError(f"unknown level {name!r}; expected one of: {known}") from None


def json_number(value: Any, ndigits: int | None = None) -> float | int | None:
    """Turn a numpy/pandas scalar into a JSON-safe number; NaN, NA and inf become None.

    ``+inf`` arises for a lower-is-better value of 0 (meets any target); JSON has no infinity,
    so it is exported as null and the band (4) tells the story.
    """
    if value is None or value is pd.NA:
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return round(number, ndigits) if ndigits is not None else number


def _json_band(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _json_label(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one method for every (city, year) in the input, at every level.

    ``items`` is the input frame plus ``percent_of_target``, ``points`` (Int8, NA when not
    scored), ``band_label`` and ``scored``. Each group frame (``categories``,
    ``sub_dimensions``, ``dimensions``, ``overall``) has ``city``, ``year``, its id column
    (none for ``overall``) and :data:`GROUP_MEASURE_COLUMNS`.
    """

    items: pd.DataFrame
    categories: pd.DataFrame
    sub_dimensions: pd.DataFrame
    dimensions: pd.DataFrame
    overall: pd.DataFrame
    method: str
    spec: dict[str, Any] = field(default_factory=dict)
    catalogue_version: str | None = None
    benchmark_set: str | None = None
    #: The peer group of a relative method (every (city, year) normalised together), None
    #: for absolute methods, whose scores do not depend on other cities.
    peers: tuple[tuple[str, int], ...] | None = None

    def level(self, name: str) -> pd.DataFrame:
        """Return the frame of a level by name ("dimension" or "dimensions", "overall", ...)."""
        frame: pd.DataFrame = getattr(self, resolve_level(name))
        return frame

    def entity_rows(self, name: str, city: str, year: int) -> pd.DataFrame:
        """Rows of one level for one (city, year), in the frame's order."""
        frame = self.level(name)
        # ``==`` against a scalar works on str and categorical columns alike (a category
        # comparison is a cheap code lookup, so no string conversion of millions of rows).
        mask = (frame["city"] == city) & (frame["year"] == int(year))
        return frame.loc[mask.to_numpy()]

    def to_dict(self, city: str, year: int) -> dict[str, Any]:
        """The JSON-ready result for one (city, year); NaN and NA become None.

        Relative methods add ``peers``: the (city, year) pairs normalised together, the city
        itself included. Raises KeyError when the (city, year) was not scored.
        """
        overall_rows = self.entity_rows("overall", city, year)
        if overall_rows.empty:
            raise KeyError(f"no scores for city {city!r} in {year}")
        peers = {} if self.peers is None else {
            "peers": [{"city": peer, "year": peer_year} for peer, peer_year in self.peers]
        }  # fmt: skip
        return {
            "city": str(city),
            "year": int(year),
            "method": self.method,
            "catalogue_version": self.catalogue_version,
            "benchmark_set": self.benchmark_set,
            "items": self._items_json(city, year),
            "categories": self._groups_json("categories", city, year),
            "sub_dimensions": self._groups_json("sub_dimensions", city, year),
            "dimensions": self._groups_json("dimensions", city, year),
            "overall": _group_entry(_records(overall_rows.iloc[:1])[0], "overall"),
        } | peers

    def _items_json(self, city: str, year: int) -> list[dict[str, Any]]:
        rows = _records(self.entity_rows("items", city, year))
        # U4SSC: the band is the points; composite results carry a display band.
        band = "band" if "band" in self.items.columns else "points"
        return [
            {
                "code": str(row["code"]),
                "data_point": str(row["data_point"]),
                "value": json_number(row["value"]),
                "target": json_number(row["target"]),
                "percent_of_target": json_number(row["percent_of_target"], 2),
                "points": _json_band(row["points"]),
                "band": _json_band(row[band]),
                "band_label": _json_label(row["band_label"]),
            }
            for row in rows
        ]

    def _groups_json(self, level: LevelName, city: str, year: int) -> list[dict[str, Any]]:
        id_column = LEVEL_ID_COLUMNS[level]
        assert id_column is not None, "overall has no id column and is exported on its own"
        rows = _records(self.entity_rows(level, city, year))
        return [_group_entry(row, str(row[id_column])) for row in rows]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a small frame as dicts of Python scalars (``tolist`` once per column;
    ``iterrows`` built a Series per row and was most of a scores API call)."""
    names = [str(column) for column in frame.columns]
    columns = [column.tolist() for _name, column in frame.items()]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _group_entry(row: Mapping[str, Any], group_id: str) -> dict[str, Any]:
    return {
        "id": group_id,
        "score": json_number(row["score"], 2),
        "band": _json_band(row["band"]),
        "band_label": _json_label(row["band_label"]),
        "points": json_number(row["points"]),
        "max_points": json_number(row["max_points"]),
        "scored_items": int(row["scored_items"]),
        "total_items": int(row["total_items"]),
        "coverage": json_number(row["coverage"], 4),
        "coverage_core": json_number(row["coverage_core"], 4),
        "coverage_advanced": json_number(row["coverage_advanced"], 4),
        "confidence": _json_label(row["confidence"]) if "confidence" in row else None,
    }

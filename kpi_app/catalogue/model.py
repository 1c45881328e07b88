"""The indicator catalogue as immutable Python objects.

Dimension → sub-dimension → category → indicator (KPI) → optional data points, exactly as
nested in ``indicators/*.yaml``. An :class:`Item` is the unit that gets a value and a
score: one per data point of a multi-point KPI, or the KPI itself when it has a single
value. Objects are frozen; their translation dicts are plain ``dict[str, str]`` that
callers must treat as read-only.

Yes/no KPIs and data points (``value_type == "boolean"``) store yes as 1.0 and no as 0.0.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from kpi_app.catalogue.codes import normalise_code, normalise_id

TIERS = ("core", "advanced")
KINDS = ("smart", "sustainable", "structural")
VALUE_TYPES = ("percentage", "rate", "ratio", "count", "amount", "index", "boolean")
BOOLEAN = "boolean"
_Node = TypeVar("_Node", "Dimension", "SubDimension", "Category")
YES, NO = 1.0, 0.0
#: Plain-text KPI fields that have translations in ``Indicator.texts``.
TRANSLATED_FIELDS = ("unit", "numerator", "denominator")


class Direction(StrEnum):
    """Which way a value should move; ``OTHER`` items are shown but not scored."""

    HIGHER_BETTER = "higher_better"
    LOWER_BETTER = "lower_better"
    TARGET_VALUE = "target_value"  # two-sided: the closer to the target, the better
    OTHER = "other"


def text(translations: Mapping[str, str], lang: str = "en", fallback: bool = True) -> str:
    """The text for ``lang``, falling back to its base language, then English.

    ``text(name, "fr_CA")`` tries ``fr_CA``, then ``fr``, then ``en``; an empty string is
    returned only when the mapping has no usable text at all. With ``fallback=False`` only
    ``lang`` and its base language are tried ("" when untranslated).
    """
    base = lang.replace("-", "_").split("_")[0]
    candidates = (lang, base, "en") if fallback else (lang, base)
    for candidate in candidates:
        value = translations.get(candidate)
        if value:
            return value
    if not fallback:
        return ""
    return next((value for value in translations.values() if value), "")


def _group_text(name: Mapping[str, str], field_name: str, lang: str, fallback: bool) -> str:
    if field_name not in ("name", "label"):
        raise KeyError(f"a dimension, sub-dimension or category has no field {field_name!r}")
    return text(name, lang, fallback)


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One separately reported and scored value of a multi-point KPI (e.g. PM2.5)."""

    id: str
    label: dict[str, str]
    unit: str
    value_type: str
    direction: Direction
    plausible_min: float | None = None
    plausible_max: float | None = None
    units: dict[str, str] = field(default_factory=dict)  # the unit per language

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """``label`` or ``unit`` in ``lang`` (English fallback unless ``fallback=False``)."""
        if field_name == "label":
            return text(self.label, lang, fallback)
        if field_name == "unit":
            return text(self.units, lang, fallback) or (self.unit if fallback else "")
        raise KeyError(f"a data point has no translatable field {field_name!r}")


@dataclass(frozen=True, slots=True)
class Item:
    """A value slot that can be reported and scored: a data point or a single-value KPI."""

    code: str
    data_point: str  # "" for the KPI itself
    kpi_name: dict[str, str]
    point_label: dict[str, str]  # empty for the KPI itself
    unit: str
    value_type: str
    direction: Direction
    plausible_min: float | None = None
    plausible_max: float | None = None
    units: dict[str, str] = field(default_factory=dict)  # the unit per language

    @property
    def key(self) -> tuple[str, str]:
        """``(code, data_point)``, unique across the catalogue."""
        return (self.code, self.data_point)

    @property
    def is_boolean(self) -> bool:
        """True for yes/no items (yes = 1.0, no = 0.0)."""
        return self.value_type == BOOLEAN

    def label(self, lang: str = "en") -> str:
        """KPI name, followed by the data point label for multi-point KPIs."""
        name = text(self.kpi_name, lang)
        return f"{name}: {text(self.point_label, lang)}" if self.data_point else name

    def short_label(self, lang: str = "en") -> str:
        """Only the data point label (or the KPI name for single-value KPIs)."""
        return text(self.point_label, lang) if self.data_point else text(self.kpi_name, lang)

    def unit_label(self, lang: str = "en") -> str:
        """The unit in ``lang`` (English fallback)."""
        return text(self.units, lang) or self.unit

    def unit_for(self, stored: str | None, lang: str = "en") -> str:
        """A value's stored unit for display: the translated unit when it is the catalogue's
        own (values store the English unit), otherwise the stored text as entered."""
        if not stored or stored == self.unit:
            return self.unit_label(lang)
        return stored

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """``label``, ``short_label``, ``name`` (the KPI's) or ``unit`` in ``lang``."""
        if not fallback:
            parts = {
                "label": (self.kpi_name, self.point_label) if self.data_point else (self.kpi_name,),
                "short_label": (self.point_label if self.data_point else self.kpi_name,),
                "name": (self.kpi_name,),
                "unit": (self.units,),
            }.get(field_name)
            if parts is None:
                raise KeyError(f"an item has no translatable field {field_name!r}")
            if not all(text(part, lang, fallback=False) for part in parts):
                return ""
        if field_name == "label":
            return self.label(lang)
        if field_name == "short_label":
            return self.short_label(lang)
        if field_name == "name":
            return text(self.kpi_name, lang)
        if field_name == "unit":
            return self.unit_label(lang)
        raise KeyError(f"an item has no translatable field {field_name!r}")

    def is_plausible(self, value: float) -> bool:
        """False when ``value`` lies outside the plausibility range (a warning, not an error)."""
        too_low = self.plausible_min is not None and value < self.plausible_min
        too_high = self.plausible_max is not None and value > self.plausible_max
        return not (too_low or too_high)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One U4SSC KPI with its method, scoring direction and help text."""

    code: str
    name: dict[str, str]
    dimension: str  # "EC"
    sub_dimension: str  # "EC: ICT"
    category: str  # id of the category it is nested in, e.g. "EC: ICT: WS"
    tier: str
    kind: str | None
    unit: str
    value_type: str
    numerator: str | None
    denominator: str | None
    multiplier: float | None  # value = numerator / denominator * multiplier; None = direct entry
    direction: Direction
    sdg_refs: tuple[str, ...]
    y4903_ref: str
    help: dict[str, str]
    plausible_min: float | None = None
    plausible_max: float | None = None
    notes: str | None = None
    source: str | None = None
    data_points: tuple[DataPoint, ...] = ()
    #: ``unit``, ``numerator`` and ``denominator`` per language: ``{"unit": {"en": .., "fr": ..}}``
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def label(self, lang: str = "en") -> str:
        """The KPI name in ``lang`` (English fallback)."""
        return text(self.name, lang)

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """A translatable field in ``lang``, falling back to English ("" when absent, or when
        untranslated and ``fallback=False``).

        Fields: ``name``, ``help`` (the definition), ``unit``, ``numerator``, ``denominator``.
        """
        if field_name == "name":
            return text(self.name, lang, fallback)
        if field_name == "help":
            return text(self.help, lang, fallback)
        if field_name in TRANSLATED_FIELDS:
            english = getattr(self, field_name) if fallback else ""
            return text(self.texts.get(field_name, {}), lang, fallback) or (english or "")
        raise KeyError(f"a KPI has no translatable field {field_name!r}")

    @property
    def is_boolean(self) -> bool:
        """True for yes/no KPIs (yes = 1.0, no = 0.0)."""
        return self.value_type == BOOLEAN

    def data_point(self, point_id: str) -> DataPoint:
        """The data point with ``point_id``; KeyError names the valid ids."""
        for point in self.data_points:
            if point.id == point_id:
                return point
        valid = ", ".join(point.id for point in self.data_points) or "none"
        raise KeyError(f"{self.code} has no data point {point_id!r} (data points: {valid})")

    def items(self) -> tuple[Item, ...]:
        """One Item per data point, or a single Item (``data_point == ""``) for the KPI."""
        if not self.data_points:
            return (
                Item(
                    code=self.code,
                    data_point="",
                    kpi_name=self.name,
                    point_label={},
                    unit=self.unit,
                    value_type=self.value_type,
                    direction=self.direction,
                    plausible_min=self.plausible_min,
                    plausible_max=self.plausible_max,
                    units=self.texts.get("unit", {}),
                ),
            )
        return tuple(
            Item(
                code=self.code,
                data_point=point.id,
                kpi_name=self.name,
                point_label=point.label,
                unit=point.unit,
                value_type=point.value_type,
                direction=point.direction,
                plausible_min=point.plausible_min,
                plausible_max=point.plausible_max,
                units=point.units,
            )
            for point in self.data_points
        )


@dataclass(frozen=True, slots=True)
class Category:
    """A group of KPIs inside a sub-dimension, e.g. ``EC: ICT: WS`` Water and Sanitation."""

    id: str
    code: str
    name: dict[str, str]
    sub_dimension: str
    indicators: tuple[Indicator, ...]

    def label(self, lang: str = "en") -> str:
        """The category name in ``lang`` (English fallback)."""
        return text(self.name, lang)

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """``name`` in ``lang`` (English fallback unless ``fallback=False``)."""
        return _group_text(self.name, field_name, lang, fallback)


@dataclass(frozen=True, slots=True)
class SubDimension:
    """A sub-dimension, e.g. ``EC: ICT``."""

    id: str
    code: str
    name: dict[str, str]
    dimension: str
    categories: tuple[Category, ...]

    def label(self, lang: str = "en") -> str:
        """The sub-dimension name in ``lang`` (English fallback)."""
        return text(self.name, lang)

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """``name`` in ``lang`` (English fallback unless ``fallback=False``)."""
        return _group_text(self.name, field_name, lang, fallback)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """All KPIs of the sub-dimension in catalogue order."""
        return tuple(kpi for category in self.categories for kpi in category.indicators)


@dataclass(frozen=True, slots=True)
class Dimension:
    """One of the three dimensions: Economy (EC), Environment (EN), Society and Culture (SC)."""

    code: str
    name: dict[str, str]
    sub_dimensions: tuple[SubDimension, ...]

    @property
    def id(self) -> str:
        """Same as ``code``: a dimension's id has a single part."""
        return self.code

    def label(self, lang: str = "en") -> str:
        """The dimension name in ``lang`` (English fallback)."""
        return text(self.name, lang)

    def tr(self, field_name: str, lang: str = "en", fallback: bool = True) -> str:
        """``name`` in ``lang`` (English fallback unless ``fallback=False``)."""
        return _group_text(self.name, field_name, lang, fallback)

    @property
    def categories(self) -> tuple[Category, ...]:
        """All categories of the dimension in catalogue order."""
        return tuple(category for sub in self.sub_dimensions for category in sub.categories)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """All KPIs of the dimension in catalogue order."""
        return tuple(kpi for sub in self.sub_dimensions for kpi in sub.indicators)


FRAME_COLUMNS = [
    "code",
    "data_point",
    "name",
    "label",
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "kind",
    "unit",
    "value_type",
    "direction",
    "multiplier",
    "plausible_min",
    "plausible_max",
    "sdg_refs",
    "order",
]


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The whole U4SSC catalogue, with lookups by code and id.

    Lookups accept unnormalised spellings (``"sc:eh:ed:1c"``) and raise KeyError with a
    message that says what was looked for.
    """

    version: str
    framework: str
    languages: tuple[str, ...]
    path: Path
    dimensions: tuple[Dimension, ...]
    #: ``{lang: {english: translation}}`` from the PO files, for texts kept outside the
    #: catalogue objects (benchmark sources and rationales); see :meth:`translate`.
    texts: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _by_code: dict[str, Indicator] = field(init=False, repr=False)
    _by_id: dict[str, Dimension | SubDimension | Category] = field(init=False, repr=False)
    _by_item: dict[tuple[str, str], Item] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The catalogue is immutable, so the lookup tables are built once here.
        by_code = {kpi.code: kpi for dim in self.dimensions for kpi in dim.indicators}
        by_id: dict[str, Dimension | SubDimension | Category] = {}
        for dim in self.dimensions:
            by_id[dim.id] = dim
            for sub in dim.sub_dimensions:
                by_id[sub.id] = sub
                for category in sub.categories:
                    by_id[category.id] = category
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_id", by_id)
        by_item = {item.key: item for kpi in by_code.values() for item in kpi.items()}
        object.__setattr__(self, "_by_item", by_item)

    def translate(self, english: str, lang: str = "en", fallback: bool = True) -> str:
        """``english`` in ``lang`` from the catalogue's PO files (English, or "" without
        ``fallback``, when untranslated)."""
        base = lang.replace("-", "_").split("_")[0]
        if base == "en":
            return english
        found = self.texts.get(lang, {}).get(english) or self.texts.get(base, {}).get(english)
        return found or (english if fallback else "")

    # ----- collections in catalogue order -----------------------------------------------

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """All KPIs in catalogue order (file order, then nesting order)."""
        return tuple(self._by_code.values())

    @property
    def sub_dimensions(self) -> tuple[SubDimension, ...]:
        """All sub-dimensions in catalogue order."""
        return tuple(sub for dim in self.dimensions for sub in dim.sub_dimensions)

    @property
    def categories(self) -> tuple[Category, ...]:
        """All categories in catalogue order (27: category codes repeat across sub-dimensions)."""
        return tuple(category for dim in self.dimensions for category in dim.categories)

    def items(self) -> tuple[Item, ...]:
        """Every scorable value slot: data points of multi-point KPIs, other KPIs as a whole."""
        return tuple(item for kpi in self.indicators for item in kpi.items())

    # ----- lookups ------------------------------------------------------------------------

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        try:
            return normalise_code(code) in self._by_code
        except ValueError:
            return False

    def indicator(self, code: str) -> Indicator:
        """The KPI with ``code`` in any accepted spelling; KeyError if there is none."""
        try:
            normalised = normalise_code(code)
        except ValueError as exc:
            raise KeyError(f"{exc}") from None
        found = self._by_code.get(normalised)
        if found is None:
            close = difflib.get_close_matches(normalised, self._by_code, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no KPI with code {normalised!r} in the catalogue{hint}")
        return found

    def items_by_key(self) -> Mapping[tuple[str, str], Item]:
        """Every item by its (code, data point) key, exactly as stored (no normalising):
        a page looking up ~100 items reads this table instead of :meth:`item`."""
        return self._by_item

    def item(self, code: str, data_point: str = "") -> Item:
        """The Item for a KPI code and data point id ("" for single-value KPIs)."""
        kpi = self.indicator(code)
        items = {item.data_point: item for item in kpi.items()}
        if data_point in items:
            return items[data_point]
        if not data_point:
            raise KeyError(f"{kpi.code} is reported as data points ({', '.join(items)}); name one")
        valid = ", ".join(items) if kpi.data_points else "none, it is a single-value KPI"
        raise KeyError(f"{kpi.code} has no data point {data_point!r} (data points: {valid})")

    def dimension(self, dimension_id: str) -> Dimension:
        """The dimension with id ``"EC"``, ``"EN"`` or ``"SC"`` (any case)."""
        return self._lookup(dimension_id, 1, Dimension, "dimension")

    def sub_dimension(self, sub_dimension_id: str) -> SubDimension:
        """The sub-dimension with id like ``"EC: ICT"`` (any case or spacing)."""
        return self._lookup(sub_dimension_id, 2, SubDimension, "sub-dimension")

    def category(self, category_id: str) -> Category:
        """The category with id like ``"EC: ICT: WS"`` (any case or spacing)."""
        return self._lookup(category_id, 3, Category, "category")

    def _lookup(self, raw: str, parts: int, kind: type[_Node], noun: str) -> _Node:
        try:
            found = self._by_id.get(normalise_id(raw, parts))
        except ValueError:
            found = None
        if not isinstance(found, kind):
            known = ", ".join(key for key, value in self._by_id.items() if isinstance(value, kind))
            raise KeyError(f"no {noun} {raw!r} in the catalogue (known: {known})")
        return found

    # ----- tabular and JSON views -----------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per item, in catalogue order.

        ``dimension``, ``sub_dimension`` and ``category`` hold ids (``"EC"``,
        ``"EC: ICT"``, ``"EC: ICT: WS"``); ``name`` is the KPI name and ``label`` the item
        label (KPI name plus data point), both in English; ``sdg_refs`` is ``;``-joined.
        """
        rows: list[dict[str, Any]] = []
        for kpi in self.indicators:
            for item in kpi.items():
                rows.append(
                    {
                        "code": kpi.code,
                        "data_point": item.data_point,
                        "name": kpi.label("en"),
                        "label": item.label("en"),
                        "dimension": kpi.dimension,
                        "sub_dimension": kpi.sub_dimension,
                        "category": kpi.category,
                        "tier": kpi.tier,
                        "kind": kpi.kind,
                        "unit": item.unit,
                        "value_type": item.value_type,
                        "direction": str(item.direction),
                        "multiplier": kpi.multiplier,
                        "plausible_min": item.plausible_min,
                        "plausible_max": item.plausible_max,
                        "sdg_refs": ";".join(kpi.sdg_refs),
                        "order": len(rows),
                    }
                )
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)

    def records(self, lang: str = "en") -> list[dict[str, Any]]:
        """One JSON-ready dict per KPI; texts in ``lang`` (default English, as in the reference
        CSV), English where a translation is missing. Codes and numbers never change."""
        return [self._record(kpi, lang) for kpi in self.indicators]

    def _record(self, kpi: Indicator, lang: str = "en") -> dict[str, Any]:
        return {
            "code": kpi.code,
            "name": kpi.label(lang),
            "name_fr": kpi.name.get("fr"),
            "dimension": self.dimension(kpi.dimension).label(lang),
            "sub_dimension": self.sub_dimension(kpi.sub_dimension).label(lang),
            "category": self.category(kpi.category).label(lang),
            "dimension_code": kpi.dimension,
            "sub_dimension_id": kpi.sub_dimension,
            "category_id": kpi.category,
            "tier": kpi.tier,
            "kind": kpi.kind,
            "unit": kpi.tr("unit", lang),
            "value_type": kpi.value_type,
            "numerator": kpi.tr("numerator", lang) or None,
            "denominator": kpi.tr("denominator", lang) or None,
            "multiplier": kpi.multiplier,
            "direction": str(kpi.direction),
            "sdg_refs": list(kpi.sdg_refs),
            "y4903_ref": kpi.y4903_ref,
            "data_points": [
                {
                    "id": point.id,
                    "label": point.tr("label", lang),
                    "unit": point.tr("unit", lang),
                    "direction": str(point.direction),
                    "value_type": point.value_type,
                }
                for point in kpi.data_points
            ],
        }

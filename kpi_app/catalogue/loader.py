"""Loading and validating the indicator catalogue from ``indicators/*.yaml``.

``catalogue.yaml`` names the metadata and the dimension files; each dimension file nests
sub-dimensions, categories, KPIs and data points (format: ``indicators/README.md``). The
loader checks every file completely, collects all problems and raises them together as
one :class:`CatalogueError`; only a catalogue without problems is ever returned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kpi_app.catalogue.codes import join_id, parse_code
from kpi_app.catalogue.errors import CatalogueError, ProblemLog
from kpi_app.catalogue.model import (
    KINDS,
    TIERS,
    TRANSLATED_FIELDS,
    VALUE_TYPES,
    Catalogue,
    Category,
    DataPoint,
    Dimension,
    Direction,
    Indicator,
    SubDimension,
)
from kpi_app.catalogue.translations import apply_translations, load_po
from kpi_app.catalogue.yaml_source import Fields, display_name, line_of, read_yaml

DEFAULT_CATALOGUE_DIR: Path = Path(__file__).resolve().parents[2] / "indicators"
MANIFEST = "catalogue.yaml"

DIRECTIONS = tuple(direction.value for direction in Direction)
_GROUP_CODE = re.compile(r"[A-Z]{1,6}")
_POINT_ID = re.compile(r"[a-z0-9][a-z0-9_]*")

MANIFEST_FIELDS = ("version", "framework", "languages", "files")
DIMENSION_FIELDS = ("code", "name", "sub_dimensions")
SUB_DIMENSION_FIELDS = ("code", "name", "categories")
CATEGORY_FIELDS = ("code", "name", "indicators")
INDICATOR_FIELDS = (
    "code", "name", "tier", "kind", "unit", "value_type", "numerator", "denominator",
    "multiplier", "direction", "sdg_refs", "y4903_ref", "plausible", "help", "notes",
    "source", "data_points",
)  # fmt: skip
DATA_POINT_FIELDS = ("id", "label", "unit", "value_type", "direction", "plausible")


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate the catalogue in ``path`` (a directory or its ``catalogue.yaml``).

    Defaults to :data:`DEFAULT_CATALOGUE_DIR`. Texts of the other catalogue languages come
    from ``translations/<lang>/LC_MESSAGES/catalogue.po`` (see
    :mod:`kpi_app.catalogue.translations`). Results are cached until one of the directory's
    YAML or PO files changes, so calling this per request is cheap. Raises CatalogueError
    listing every problem found.
    """
    manifest = _manifest_path(path)
    return _load_cached(manifest, _stamp(manifest.parent))


def _manifest_path(path: Path | str | None) -> Path:
    location = Path(path) if path is not None else DEFAULT_CATALOGUE_DIR
    location = location.expanduser().resolve()
    if location.is_dir():
        location = location / MANIFEST
    if not location.is_file():
        raise CatalogueError([f"{display_name(location)}: catalogue file not found"])
    return location


STAMPED_SUFFIXES = (".yaml", ".yml", ".po")


def _stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, modification times and sizes of the YAML and PO files: the cache key.

    Sub-folders are included because the manifest may list files there and translations
    live in ``translations/<lang>/LC_MESSAGES/``. One directory walk (this runs on every
    ``load_catalogue`` call, i.e. several times per request).
    """
    found: list[tuple[str, int, int]] = []
    pending = [str(directory)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.endswith(STAMPED_SUFFIXES):
                    info = entry.stat()
                    found.append((entry.path, info.st_mtime_ns, info.st_size))
    return tuple(sorted(found))


@lru_cache(maxsize=16)
def _load_cached(manifest: Path, _stamp: tuple[tuple[str, int, int], ...]) -> Catalogue:
    return _load(manifest)


@dataclass
class _Seen:
    """Codes already defined, with where, for duplicate checks within and across files."""

    dimensions: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Context:
    """Where the parser is: the file, its message name and the catalogue languages."""

    log: ProblemLog
    file: str
    languages: tuple[str, ...]
    seen: _Seen

    def fields(
        self, raw: object, subject: str, allowed: Collection[str], prefix: str = ""
    ) -> Fields:
        return Fields(
            raw, log=self.log, file=self.file, subject=subject, allowed=allowed, prefix=prefix
        )


def _load(manifest: Path) -> Catalogue:
    log = ProblemLog()
    raw = read_yaml(manifest, log)
    log.raise_if_any()
    head = Fields(raw, log=log, file=display_name(manifest), subject="", allowed=MANIFEST_FIELDS)
    version = head.text("version")
    framework = head.text("framework")
    languages = _languages(head)
    files = _file_names(head)
    seen = _Seen()
    dimensions: list[Dimension] = []
    for name in files:
        path = manifest.parent / name
        if not path.is_file():
            head.problem("files", f"{name}: file not found next to {manifest.name}")
            continue
        context = _Context(log, display_name(path), languages, seen)
        dimension = _parse_dimension_file(read_yaml(path, log), context)
        if dimension is not None:
            dimensions.append(dimension)
    log.raise_if_any()
    assert version is not None and framework is not None  # a missing one was logged above
    tables = {lang: load_po(manifest.parent, lang) for lang in languages if lang != "en"}
    catalogue = Catalogue(
        version=version,
        framework=framework,
        languages=languages,
        path=manifest.parent,
        dimensions=tuple(dimensions),
        texts=tables,
    )
    apply_translations(catalogue, {lang: table for lang, table in tables.items() if table})
    return catalogue


def _languages(head: Fields) -> tuple[str, ...]:
    languages = head.text_list("languages")
    if "en" not in languages:
        head.problem("languages", "must include en (English is the fallback language)")
    return languages or ("en",)


def _file_names(head: Fields) -> list[str]:
    names = head.text_list("files")
    if not names and head.ok:
        head.problem("files", "must list at least one dimension file")
    for name in names:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            head.problem("files", f"{name}: must be a file name inside the catalogue folder")
    return [name for name in names if not Path(name).is_absolute() and ".." not in Path(name).parts]


def _parse_dimension_file(raw: object, ctx: _Context) -> Dimension | None:
    if raw is None:
        return None  # unreadable file, already reported
    top = ctx.fields(raw, "", ("dimension",))
    if not top.has("dimension"):
        top.problem("dimension", "missing required field")
        return None
    return _parse_dimension(top.raw["dimension"], ctx)


def _group_code(fields: Fields) -> str | None:
    code = fields.text("code")
    if code is not None and not _GROUP_CODE.fullmatch(code):
        fields.problem("code", f"must be 1-6 capital letters, got {code!r}")
        return None
    return code


def _parse_dimension(raw: object, ctx: _Context) -> Dimension | None:
    probe = raw.get("code") if isinstance(raw, dict) else None
    fields = ctx.fields(raw, f"dimension {probe or '?'}", DIMENSION_FIELDS)
    code = _group_code(fields)
    name = fields.translations("name", ctx.languages)
    if code is not None:
        first = ctx.seen.dimensions.setdefault(code, ctx.file)
        if first != ctx.file:
            fields.problem("code", f"duplicate dimension code (also in {first})")
    subs: list[SubDimension] = []
    sub_codes: set[str] = set()
    for raw_sub in fields.mapping_list("sub_dimensions"):
        sub = _parse_sub_dimension(raw_sub, code or "?", ctx)
        if sub is not None and sub.code in sub_codes:
            ctx.log.add(ctx.file, sub.id, "code", "duplicate sub-dimension code", line_of(raw_sub))
        elif sub is not None:
            sub_codes.add(sub.code)
            subs.append(sub)
    if not fields.ok or code is None:
        return None
    return Dimension(code=code, name=name, sub_dimensions=tuple(subs))


def _parse_sub_dimension(raw: object, dimension: str, ctx: _Context) -> SubDimension | None:
    probe = raw.get("code") if isinstance(raw, dict) else None
    fields = ctx.fields(raw, join_id(dimension, str(probe or "?")), SUB_DIMENSION_FIELDS)
    code = _group_code(fields)
    name = fields.translations("name", ctx.languages)
    sub_id = join_id(dimension, code or "?")
    categories: list[Category] = []
    category_codes: set[str] = set()
    for raw_category in fields.mapping_list("categories"):
        category = _parse_category(raw_category, sub_id, ctx)
        if category is not None and category.code in category_codes:
            ctx.log.add(
                ctx.file, category.id, "code", "duplicate category code", line_of(raw_category)
            )
        elif category is not None:
            category_codes.add(category.code)
            categories.append(category)
    if not fields.ok or code is None:
        return None
    return SubDimension(
        id=sub_id, code=code, name=name, dimension=dimension, categories=tuple(categories)
    )


def _parse_category(raw: object, sub_id: str, ctx: _Context) -> Category | None:
    probe = raw.get("code") if isinstance(raw, dict) else None
    fields = ctx.fields(raw, join_id(sub_id, str(probe or "?")), CATEGORY_FIELDS)
    code = _group_code(fields)
    name = fields.translations("name", ctx.languages)
    category_id = join_id(sub_id, code or "?")
    indicators: list[Indicator] = []
    for position, raw_kpi in enumerate(fields.mapping_list("indicators"), start=1):
        kpi = _parse_indicator(raw_kpi, category_id, position, ctx)
        if kpi is not None:
            indicators.append(kpi)
    if not fields.ok or code is None:
        return None
    return Category(
        id=category_id, code=code, name=name, sub_dimension=sub_id, indicators=tuple(indicators)
    )


def _kpi_subject(raw: object, category_id: str, position: int) -> str:
    """The KPI's code for messages, or its position when the code is unusable."""
    code = raw.get("code") if isinstance(raw, dict) else None
    if not isinstance(code, str) or not code.strip():
        return f"{category_id} KPI #{position}"
    try:
        return str(parse_code(code))
    except ValueError:
        return code.strip()


def _parse_indicator(
    raw: object, category_id: str, position: int, ctx: _Context
) -> Indicator | None:
    subject = _kpi_subject(raw, category_id, position)
    fields = ctx.fields(raw, subject, INDICATOR_FIELDS)
    code = _checked_code(fields, category_id, ctx)
    tier = _checked_tier(fields, code)
    kind = fields.choice("kind", KINDS, required=False)
    unit = fields.text("unit")
    value_type = fields.choice("value_type", VALUE_TYPES)
    direction = fields.choice("direction", DIRECTIONS)
    numerator = fields.text("numerator", required=False)
    denominator = fields.text("denominator", required=False)
    multiplier = _checked_multiplier(fields, denominator)
    low, high = fields.plausible_range()
    name = fields.translations("name", ctx.languages)
    help_text = fields.translations("help", ctx.languages)
    sdg_refs = fields.text_list("sdg_refs")
    y4903_ref = fields.text("y4903_ref", required=False)
    notes = fields.text("notes", required=False)
    source = fields.text("source", required=False)
    points = _parse_data_points(fields, subject, unit, value_type, (low, high), ctx)
    if not fields.ok or None in (code, tier, unit, value_type, direction):
        return None
    assert code is not None and tier is not None and unit is not None  # narrowed above
    assert value_type is not None and direction is not None
    return Indicator(
        code=code,
        name=name,
        dimension=code.split(": ")[0],
        sub_dimension=join_id(*code.split(": ")[:2]),
        category=category_id,
        tier=tier,
        kind=kind,
        unit=unit,
        value_type=value_type,
        numerator=numerator,
        denominator=denominator,
        multiplier=multiplier,
        direction=Direction(direction),
        sdg_refs=sdg_refs,
        y4903_ref=y4903_ref or f"ITU-T Y.4903 (U4SSC KPI {code})",
        help=help_text,
        plausible_min=low,
        plausible_max=high,
        notes=notes,
        source=source,
        data_points=points,
        texts={
            name: {"en": value}
            for name, value in zip(TRANSLATED_FIELDS, (unit, numerator, denominator), strict=True)
            if value
        },
    )


def _checked_code(fields: Fields, category_id: str, ctx: _Context) -> str | None:
    """The normalised KPI code, checked against its place and against other files."""
    raw = fields.text("code")
    if raw is None:
        return None
    try:
        parts = parse_code(raw)
    except ValueError as exc:
        fields.problem("code", str(exc))
        return None
    code = str(parts)
    # The category part of a code may differ from the category the KPI is filed under
    # (SC: EH: ED: 5A sits in Health), so only dimension and sub-dimension must agree.
    expected = join_id(*category_id.split(": ")[:2])
    if parts.sub_dimension_id != expected:
        fields.problem(
            "code", f"prefix {parts.sub_dimension_id} does not match sub-dimension {expected}"
        )
    first = ctx.seen.indicators.get(code)
    if first is not None:
        fields.problem("code", f"duplicate code (also defined in {first})")
    else:
        line = f" line {fields.line}" if fields.line else ""
        ctx.seen.indicators[code] = f"{ctx.file}{line}"
    return code


def _checked_tier(fields: Fields, code: str | None) -> str | None:
    tier = fields.choice("tier", TIERS)
    if tier is not None and code is not None:
        implied = parse_code(code).tier
        if tier != implied:
            fields.problem("tier", f"is {tier!r} but the code ends in {code[-1]!r} ({implied})")
    return tier


def _checked_multiplier(fields: Fields, denominator: str | None) -> float | None:
    multiplier = fields.number("multiplier")
    if multiplier is not None and multiplier <= 0:
        fields.problem("multiplier", f"must be positive, got {multiplier:g}")
    if denominator is not None and multiplier is None and fields.raw.get("multiplier") is None:
        fields.problem("multiplier", "required when a denominator is given (e.g. 100 for %)")
    return multiplier


def _parse_data_points(
    fields: Fields,
    subject: str,
    unit: str | None,
    value_type: str | None,
    plausible: tuple[float | None, float | None],
    ctx: _Context,
) -> tuple[DataPoint, ...]:
    if not fields.has("data_points"):
        return ()
    raw_points = fields.mapping_list("data_points")
    points: list[DataPoint] = []
    seen_ids: set[str] = set()
    for position, raw in enumerate(raw_points, start=1):
        # Duplicates are checked on the raw id so they are reported even when the data
        # point has other problems too.
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str) and raw_id in seen_ids:
            fields.problem(f"data_points[{raw_id}].id", "duplicate data point id")
        elif isinstance(raw_id, str):
            seen_ids.add(raw_id)
        point = _parse_data_point(raw, position, subject, unit, value_type, plausible, ctx)
        if point is None:
            fields.ok = False
        else:
            points.append(point)
    return tuple(points)


def _parse_data_point(
    raw: object,
    position: int,
    subject: str,
    unit: str | None,
    value_type: str | None,
    plausible: tuple[float | None, float | None],
    ctx: _Context,
) -> DataPoint | None:
    probe: Any = raw.get("id") if isinstance(raw, dict) else None
    label = str(probe) if isinstance(probe, str) and probe else f"#{position}"
    fields = ctx.fields(raw, subject, DATA_POINT_FIELDS, prefix=f"data_points[{label}].")
    point_id = fields.text("id")
    if point_id is not None and not _POINT_ID.fullmatch(point_id):
        fields.problem("id", f"must be a lower-case slug like 'pm25', got {point_id!r}")
    names = fields.translations("label", ctx.languages)
    # Unit, value type and plausibility default to the KPI's own, which keeps files short.
    point_unit = fields.text("unit", required=False) or unit
    point_type = fields.choice("value_type", VALUE_TYPES, required=False) or value_type
    direction = fields.choice("direction", DIRECTIONS)
    low, high = fields.plausible_range() if fields.has("plausible") else plausible
    if not fields.ok or None in (point_id, point_unit, point_type, direction):
        return None
    assert point_id is not None and point_unit is not None  # narrowed above
    assert point_type is not None and direction is not None
    return DataPoint(
        id=point_id,
        label=names,
        unit=point_unit,
        value_type=point_type,
        direction=Direction(direction),
        plausible_min=low,
        plausible_max=high,
        units={"en": point_unit},
    )

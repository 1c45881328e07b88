"""The dense (item × city-year) layout of an items frame, which every scoring method sums on.

Keys are turned into small integer codes once; each input row gets the cell of a dense
matrix whose rows are the items, sorted by (dimension, sub-dimension, category, core first),
and whose columns are the (city, year) pairs, ordered by city code then year. Every group at
every level is then a contiguous run of matrix rows.

Speed notes, measured on 11 M rows (``bench/score_bench.py``):

* fancy indexing with ``intp`` (int64) indices costs a third to a half of the same with int32
  ones, which numpy converts on every call; cells are therefore int64, and every key that
  indexes a table is made int64 once;
* every fresh array of millions of rows costs the kernel fresh pages, so keys are computed in
  place and the row cells are written over the item keys they are looked up from;
* one scatter into the dense matrix (:func:`occupied_cells`) finds duplicate keys, marks the
  occupied cells, carries each row's band points and, for a panel dense enough, tells which
  (city, year) pairs are present at all, so entity ids need no presence pass of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.percent import ScoringInputError

TIERS: Final[tuple[str, ...]] = ("core", "advanced")
KEY_COLUMNS: Final[tuple[str, ...]] = ("city", "year", "code", "data_point")
#: The item key's parts: code and data point, then the group path the item must have one of.
ITEM_PARTS: Final[tuple[str, ...]] = (
    "code",
    "data_point",
    "category",
    "sub_dimension",
    "dimension",
    "tier",
)
#: Largest (code, data point, path) key space checked with a presence table; beyond it (keys
#: with very many distinct labels) each item's path is checked on a per-item table instead.
KEY_TABLE_MAX: Final[int] = 2**24

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Encoded:
    """A key column as integer codes per row plus the label of each code."""

    codes: npt.NDArray[np.integer[Any]]
    labels: pd.Index
    categorical: bool

    def take(self, codes: npt.NDArray[np.integer[Any]]) -> pd.Categorical[Any] | pd.Index:
        """Labels for the given codes, as a Categorical when the input column was one."""
        if self.categorical:
            categorical: pd.Categorical[Any] = pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(self.labels)
            )
            return categorical
        return self.labels.take(codes)


def encode_column(items: pd.DataFrame, name: str) -> Encoded:
    """The column's integer codes (free for a categorical) and labels; no missing values."""
    column = items[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Categorical keys (what build_items produces) are already integer-coded: free.
        categorical = column.array
        assert isinstance(categorical, pd.Categorical)
        codes = np.asarray(categorical.codes)
        if codes.size and codes.min() < 0:
            raise ScoringInputError(f"column {name!r} has missing values")
        return Encoded(codes, categorical.categories, categorical=True)
    if column.isna().any():
        raise ScoringInputError(f"column {name!r} has missing values")
    codes, labels = pd.factorize(column, sort=True)
    return Encoded(codes, pd.Index(labels), categorical=False)


@dataclass(frozen=True)
class Level:
    """One group level: the label code of each group and where its children start.

    ``starts`` indexes the rows of the level below (segments for categories, categories for
    sub-dimensions, ...), which are contiguous because items are sorted hierarchically.
    """

    name: str
    id_name: str | None
    id_column: Encoded | None
    group_codes: IntArray
    starts: IntArray


@dataclass(frozen=True)
class Layout:
    """Which (item, entity) cell of the dense matrix each input row fills, and the hierarchy."""

    #: Cell of each row: item × ``n_entities`` + entity (int64: see the module notes).
    row_cell: IntArray
    n_items: int
    entity_city: IntArray
    entity_year: IntArray
    segment_starts: IntArray
    segment_core: BoolArray
    levels: tuple[Level, ...]
    #: (code, data point) of each item, in the layout's item order.
    item_keys: tuple[tuple[str, str], ...]
    #: The entity ids assume every (city, year) pair of the span is present, which
    #: :func:`occupied_cells` confirms or corrects (dropping the absent pairs).
    provisional: bool = False

    @property
    def n_entities(self) -> int:
        return int(self.entity_city.size)


@dataclass(frozen=True)
class _Items:
    """The items found in the frame, in layout order, and how to look a row's item up."""

    #: Per row, the key that ``table_index`` entries refer to (int64, rewritten into cells).
    row_key: IntArray
    #: Position in the lookup table of each item's key (layout order) and the table's size.
    table_index: IntArray
    table_size: int
    n_items: int
    segment_starts: IntArray
    segment_core: BoolArray
    levels: tuple[Level, ...]
    keys: tuple[tuple[str, str], ...]


def build_layout(items: pd.DataFrame, city: Encoded) -> Layout:
    """The dense cell of every row (see :class:`Layout`) and the hierarchy as runs."""
    found = _encode_items(items)
    entities = _Entities.of(items, city, found.n_items)
    # Item-major cells: each item is one contiguous row of the dense matrix, so group sums
    # are sums of whole rows (vectorised over all entities at once). The row keys become
    # cells in place: each key's item × n_entities (less the years' offset, where the year
    # is added below as it is), then plus the row's entity.
    table = np.empty(found.table_size, dtype=np.int64)
    table[found.table_index] = np.arange(found.n_items, dtype=np.int64) * entities.count
    table[found.table_index] -= entities.offset
    # mode="clip" (every key is in the table) writes straight into ``out``; "raise" would
    # buffer the whole result first.
    row_cell = table.take(found.row_key, mode="clip", out=found.row_key)
    entities.add_to(row_cell)
    return Layout(
        row_cell=row_cell,
        n_items=found.n_items,
        entity_city=entities.city,
        entity_year=entities.year,
        segment_starts=found.segment_starts,
        segment_core=found.segment_core,
        levels=found.levels,
        item_keys=found.keys,
        provisional=entities.provisional,
    )


@dataclass(frozen=True)
class _Entities:
    """The (city, year) ids: each id's city code and year, and how a row's id is found.

    Ids are ordered by city code then year. When the panel is dense enough, an id is taken
    to be ``city × span + year − first year`` for every pair of the span (``provisional``:
    :func:`occupied_cells` then drops the pairs no row has), so no pass is spent finding
    which pairs occur. Otherwise the present pairs are found first and numbered densely.
    """

    city: IntArray
    year: IntArray
    provisional: bool
    #: Dense id per row (None when provisional: the id is computed from city and year).
    of_row: IntArray | None
    city_codes: npt.NDArray[np.integer[Any]]
    years: npt.NDArray[np.integer[Any]]
    span: int
    #: What the row's raw year must be reduced by (the first year, when provisional).
    offset: int

    @property
    def count(self) -> int:
        return int(self.city.size)

    @classmethod
    def of(cls, items: pd.DataFrame, city: Encoded, n_items: int) -> _Entities:
        years = items["year"].to_numpy()
        n_rows = years.size
        first_year = int(years.min()) if n_rows else 0
        span = int(years.max()) - first_year + 1 if n_rows else 1
        n_city = len(city.labels)
        n_pairs = n_city * span
        if n_rows and n_items * n_pairs <= 2 * n_rows + 1_000_000:
            # The dense matrix over every pair is at most about twice the input: lay it out
            # over all pairs and let the one scatter into it say which pairs occur.
            ids = np.arange(n_pairs, dtype=np.int64)
            return cls(
                ids // span,
                ids % span + first_year,
                True,
                None,
                city.codes,
                years,
                span,
                first_year,
            )
        raw = city.codes.astype(np.int64) * span + (years - first_year)
        if n_pairs <= 4 * n_rows + 1_000_000:
            # A presence table over all (city, year) pairs costs one cheap pass.
            seen = np.zeros(n_pairs, dtype=np.bool_)
            seen[raw] = True
            present = np.flatnonzero(seen)
            dense = np.cumsum(seen, dtype=np.int64) - 1
            of_row = dense.take(raw, mode="clip", out=raw)
        else:
            # Years far apart: a hash factorisation of the combined key instead.
            codes, uniques = pd.factorize(raw, sort=True)
            of_row, present = codes.astype(np.int64, copy=False), np.asarray(uniques)
        return cls(
            present // span, present % span + first_year, False, of_row, city.codes, years, span, 0
        )

    def add_to(self, cells: IntArray) -> None:
        """Add each row's entity id to ``cells`` in place."""
        if self.of_row is not None:
            cells += self.of_row
            return
        cells += np.multiply(self.city_codes, self.span, dtype=np.int64)
        np.add(cells, self.years, out=cells, casting="unsafe")


def occupied_cells(
    items: pd.DataFrame, layout: Layout, marks: npt.NDArray[np.int8]
) -> tuple[Layout, npt.NDArray[np.int8]]:
    """Each row's ``marks`` (never 0) scattered into the dense (item × entity) matrix.

    Cells no row fills hold 0. Raises :class:`ScoringInputError` when two rows claim the same
    cell (duplicate keys). A provisional layout comes back final: the entities no row has are
    dropped from both the layout and the matrix.
    """
    dense = np.zeros(layout.n_items * layout.n_entities, dtype=np.int8)
    dense[layout.row_cell] = marks
    # Duplicated keys land on the same cell: fewer occupied cells than rows means duplicates.
    if int(np.count_nonzero(dense)) != layout.row_cell.size:
        duplicated = pd.Series(layout.row_cell).duplicated(keep=False).to_numpy()
        example = items.loc[duplicated, list(KEY_COLUMNS)].head(6).to_string()
        raise ScoringInputError(f"duplicate (city, year, code, data_point) rows, e.g.:\n{example}")
    matrix = dense.reshape(layout.n_items, layout.n_entities)
    if not layout.provisional:
        return layout, matrix
    present = matrix.any(axis=0)
    if present.all():
        return replace(layout, provisional=False), matrix
    keep = np.flatnonzero(present)
    renumber = np.cumsum(present, dtype=np.int64) - 1
    item, entity = np.divmod(layout.row_cell, layout.n_entities)
    item *= keep.size
    item += renumber.take(entity, mode="clip", out=entity)
    compact = replace(
        layout,
        row_cell=item,
        entity_city=layout.entity_city[keep],
        entity_year=layout.entity_year[keep],
        provisional=False,
    )
    return compact, np.ascontiguousarray(matrix[:, keep])


def counts_by_tier(
    layout: Layout, scored: npt.NDArray[Any], total: npt.NDArray[Any]
) -> dict[str, npt.NDArray[Any]]:
    """Per (category, entity): the scored and total counts of core and of advanced items,
    from the same counts per (tier segment, entity).

    A category has at most one core and one advanced segment (items are sorted core first),
    so each category row is a copy of its segment's row (or zeros): no products, no sums.
    """
    categories = layout.levels[0].starts
    sizes = np.diff(categories, append=layout.segment_starts.size)
    category_of_segment = np.repeat(np.arange(categories.size), sizes)
    split = {}
    for name, counts in (("scored", scored), ("total", total)):
        for tier, segments in (("core", layout.segment_core), ("advanced", ~layout.segment_core)):
            rows = np.zeros((categories.size, counts.shape[1]), dtype=counts.dtype)
            rows[category_of_segment[segments]] = counts[segments]
            split[f"{name}_{tier}"] = rows
    return split


def _encode_items(items: pd.DataFrame) -> _Items:
    """Dense item ids sorted hierarchically, and each row's key to look its item up by.

    Each row's (code, data point) and group path (category, sub-dimension, dimension, tier)
    are packed into one integer. An item whose rows disagree on the path (a code filed under
    two categories, say) would make the roll-up ambiguous and is rejected; everything else
    is checked on the small table of distinct items rather than on millions of rows.
    """
    columns = [encode_column(items, name) for name in ITEM_PARTS]
    code, data_point, parts = columns[0], columns[1], columns[2:]
    radix = [len(part.labels) for part in parts]
    n_paths = int(np.prod(radix, dtype=np.int64))
    n_points = len(data_point.labels)
    n_raw = len(code.labels) * n_points
    if n_raw * n_paths <= KEY_TABLE_MAX:
        # One key per (item, path): a presence table over all keys finds every item and
        # its path in one scatter; an item present under two paths is the error.
        row_key = _packed(columns, np.int32).astype(np.int64)
        seen = np.zeros(n_raw * n_paths, dtype=np.bool_)
        seen[row_key] = True
        table_index = np.flatnonzero(seen)
        raw_items, paths = np.divmod(table_index, n_paths)
        table_size = seen.size
        ambiguous = bool((raw_items[1:] == raw_items[:-1]).any())
    else:
        row_key = _packed(columns[:2], np.int64)
        path = _packed(parts, np.int64)
        raw_path = np.full(n_raw, -1, dtype=np.int64)
        raw_path[row_key] = path
        ambiguous = not np.array_equal(raw_path[row_key], path)
        table_index = np.flatnonzero(raw_path >= 0)
        raw_items, paths = table_index, raw_path[table_index]
        table_size = n_raw
    if ambiguous:
        raise ScoringInputError(
            "each (code, data_point) must have one category, sub_dimension, dimension and tier"
        )
    category, sub_dimension, dimension, tier = _unpack(paths, radix)
    core = _core_of_tier(parts[3], tier)
    _check_single_parent(category, sub_dimension, "category", "sub_dimension")
    _check_single_parent(sub_dimension, dimension, "sub_dimension", "dimension")
    order = np.lexsort((~core, category, sub_dimension, dimension))
    raw_keys = raw_items[order]
    keys = tuple(
        zip(
            map(str, code.labels[raw_keys // n_points]),
            map(str, data_point.labels[raw_keys % n_points]),
            strict=True,
        )
    )
    hierarchy = _hierarchy(
        category[order], sub_dimension[order], dimension[order], core[order], parts[:3]
    )
    return _Items(row_key, table_index[order], table_size, int(order.size), *hierarchy, keys)


def _packed(columns: list[Encoded], dtype: type[np.signedinteger[Any]]) -> IntArray:
    """Mixed-radix packing of the columns' codes, first column most significant, in place."""
    packed: IntArray = columns[0].codes.astype(dtype)
    for column in columns[1:]:
        np.multiply(packed, len(column.labels), out=packed)
        np.add(packed, column.codes, out=packed, casting="unsafe")
    return packed


def _unpack(packed: IntArray, radix: list[int]) -> list[IntArray]:
    """Inverse of :func:`_packed` for the given radix."""
    digits = []
    for size in reversed(radix[1:]):
        packed, digit = np.divmod(packed, size)
        digits.append(digit)
    digits.append(packed)
    return digits[::-1]


def _core_of_tier(tier: Encoded, tier_codes: IntArray) -> BoolArray:
    labels = tier.labels[tier_codes]
    unknown = sorted({str(label) for label in labels if label not in TIERS})
    if unknown:
        raise ScoringInputError(f"unknown tier(s) {unknown}; expected one of {list(TIERS)}")
    return np.asarray(labels == "core", dtype=np.bool_)


def _check_single_parent(
    child: IntArray, parent: IntArray, child_name: str, parent_name: str
) -> None:
    parents = np.full(int(child.max(initial=-1)) + 1, -1, dtype=np.int64)
    parents[child] = parent
    if not np.array_equal(parents[child], parent):
        raise ScoringInputError(f"each {child_name} must belong to exactly one {parent_name}")


def _run_starts(*keys: IntArray) -> IntArray:
    """Start index of each run of equal consecutive key tuples."""
    changed = np.zeros(keys[0].size, dtype=np.bool_)
    if keys[0].size:
        changed[0] = True
    for key in keys:
        changed[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(changed)


def _hierarchy(
    category: IntArray,
    sub_dimension: IntArray,
    dimension: IntArray,
    core: BoolArray,
    encoded: list[Encoded],
) -> tuple[IntArray, BoolArray, tuple[Level, ...]]:
    """Runs of the hierarchically sorted items: segments, then each level over the one below."""
    segment_starts = _run_starts(category, core.astype(np.int64))
    segments = (category[segment_starts], sub_dimension[segment_starts], dimension[segment_starts])
    category_starts = _run_starts(segments[0])
    categories = (
        segments[0][category_starts],
        segments[1][category_starts],
        segments[2][category_starts],
    )
    sub_starts = _run_starts(categories[1])
    dimension_of_sub = categories[2][sub_starts]
    dimension_starts = _run_starts(dimension_of_sub)
    levels = (
        Level("categories", "category", encoded[0], categories[0], category_starts),
        Level("sub_dimensions", "sub_dimension", encoded[1], categories[1][sub_starts], sub_starts),
        Level(
            "dimensions",
            "dimension",
            encoded[2],
            dimension_of_sub[dimension_starts],
            dimension_starts,
        ),
        Level("overall", None, None, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)),
    )
    return segment_starts, core[segment_starts], levels

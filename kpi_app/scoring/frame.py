"""Build the tidy items frame that the scoring engine reads, from catalogue, benchmarks and values.

``build_items`` lays out every catalogue item for every (city, year) that has values, joins
the benchmark set (whose ``direction``, when given, overrides the catalogue's) and places each
reported value in its cell; an item without a value row is "not reported" (NaN). Keys come out
as categoricals: one small integer per row, which is also what the engine's fast path reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.percent import BOOLEAN_VALUE_TYPE, ScoringInputError

ITEM_KEY: Final[tuple[str, str]] = ("code", "data_point")
CATALOGUE_COLUMNS: Final[tuple[str, ...]] = (
    *ITEM_KEY,
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "direction",
)
BENCHMARK_COLUMNS: Final[tuple[str, ...]] = (*ITEM_KEY, "target")
VALUE_COLUMNS: Final[tuple[str, ...]] = ("city", "year", *ITEM_KEY, "value")

#: Item-level text columns copied to every (city, year), as categoricals.
ITEM_TEXT_COLUMNS: Final[tuple[str, ...]] = (
    *ITEM_KEY,
    "dimension",
    "sub_dimension",
    "category",
    "tier",
    "direction",
    "value_type",
)

#: Spellings of a yes/no value type seen in U4SSC material, all read as the engine's "boolean".
BOOLEAN_ALIASES: Final[frozenset[str]] = frozenset(
    {"boolean", "boolean/yes-no", "yes/no", "yes-no", "yes_no", "bool"}
)


def build_items(
    catalogue_frame: pd.DataFrame, benchmark_frame: pd.DataFrame, values: pd.DataFrame
) -> pd.DataFrame:
    """Items frame: one row per (city, year) in ``values`` × catalogue item.

    Rows are ordered by city (alphabetically, or in category order for a categorical city
    column), year, then catalogue order (the ``order`` column when present).
    Raises :class:`~kpi_app.scoring.u4ssc.ScoringInputError` for missing columns, values or
    benchmarks of items not in the catalogue, or two values for the same key.
    """
    return items_for(catalogue_items(catalogue_frame, benchmark_frame), values)


def items_for(catalogue: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """:func:`build_items` from the :func:`catalogue_items` frame of the catalogue and set
    (a caller scoring many requests against one frozen catalogue joins it once). The
    ``catalogue`` frame is only read."""
    _require(values, VALUE_COLUMNS, "values")
    item_of_row = _item_positions(values, catalogue)
    entity_of_row, cities, years = _entities(values)
    n_items, n_entities = len(catalogue), len(years)
    cell = entity_of_row * n_items + item_of_row
    value_grid = np.full(n_entities * n_items, np.nan)
    value_grid[cell] = values["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    _reject_duplicate_cells(values, cell, n_entities * n_items)
    item_index = np.tile(np.arange(n_items), n_entities)
    entity_index = np.repeat(np.arange(n_entities), n_items)
    columns: dict[str, Any] = {
        "city": pd.Categorical.from_codes(cities.codes[entity_index], cities.categories),
        "year": years[entity_index],
    }
    for name in ITEM_TEXT_COLUMNS:
        codes, labels = pd.factorize(catalogue[name], sort=True)
        columns[name] = pd.Categorical.from_codes(codes[item_index], labels)
    columns["value"] = value_grid
    columns["target"] = catalogue["target"].to_numpy(dtype=np.float64)[item_index]
    if "quality" in values.columns:
        # Optional data-quality level (1-6) of each value; NaN = unknown or not reported.
        quality_grid = np.full(n_entities * n_items, np.nan)
        quality_grid[cell] = pd.to_numeric(values["quality"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        columns["quality"] = quality_grid
    return pd.DataFrame(columns, copy=False)


def catalogue_items(catalogue_frame: pd.DataFrame, benchmark_frame: pd.DataFrame) -> pd.DataFrame:
    """The catalogue's items joined with a benchmark set: target and effective direction.

    One row per item in catalogue order. A benchmark row's non-empty ``direction`` replaces
    the catalogue's (a benchmark set may, say, make a KPI two-sided); items without a
    benchmark get a NaN target and are therefore not scored.
    """
    _require(catalogue_frame, CATALOGUE_COLUMNS, "catalogue frame")
    _require(benchmark_frame, BENCHMARK_COLUMNS, "benchmark frame")
    catalogue = catalogue_frame.copy()
    if "order" in catalogue.columns:
        catalogue = catalogue.sort_values("order", kind="stable")
    catalogue["data_point"] = _data_point_labels(catalogue["data_point"])
    catalogue["value_type"] = _value_types(catalogue)
    benchmark = _benchmark_rows(benchmark_frame)
    _reject_unknown_keys(benchmark, catalogue, "benchmark set")
    merged = catalogue.merge(benchmark, on=list(ITEM_KEY), how="left", validate="one_to_one")
    override = merged["direction_override"].notna()
    merged["direction"] = merged["direction"].where(~override, merged["direction_override"])
    return merged.drop(columns="direction_override").reset_index(drop=True)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ScoringInputError(f"{what} lacks required column(s): {missing}")


def _data_point_labels(column: pd.Series) -> pd.Series:
    """Data point ids as strings, "" for a single-value KPI (None/NaN in some sources)."""
    return column.astype(object).where(column.notna(), "").astype(str)


def _value_types(catalogue: pd.DataFrame) -> pd.Series:
    if "value_type" not in catalogue.columns:
        return pd.Series("", index=catalogue.index, dtype=str)
    types = catalogue["value_type"].astype(object).where(catalogue["value_type"].notna(), "")
    types = types.astype(str)
    return types.where(~types.str.lower().isin(BOOLEAN_ALIASES), BOOLEAN_VALUE_TYPE)


def _benchmark_rows(benchmark_frame: pd.DataFrame) -> pd.DataFrame:
    benchmark = pd.DataFrame(
        {
            "code": benchmark_frame["code"].astype(str),
            "data_point": _data_point_labels(benchmark_frame["data_point"]),
            "target": pd.to_numeric(benchmark_frame["target"], errors="raise").astype(float),
        }
    )
    if "direction" in benchmark_frame.columns:
        direction = benchmark_frame["direction"].astype(object)
        benchmark["direction_override"] = direction.where(direction.notna() & (direction != ""))
    else:
        benchmark["direction_override"] = None
    if benchmark.duplicated(list(ITEM_KEY)).any():
        raise ScoringInputError("benchmark set has two targets for the same (code, data_point)")
    return benchmark


def _reject_unknown_keys(frame: pd.DataFrame, catalogue: pd.DataFrame, what: str) -> None:
    known = pd.MultiIndex.from_frame(catalogue[list(ITEM_KEY)].astype(str))
    keys = pd.MultiIndex.from_frame(frame[list(ITEM_KEY)].astype(str))
    unknown = keys[~keys.isin(known)]
    if len(unknown):
        raise ScoringInputError(f"{what} names items not in the catalogue: {list(unknown[:5])}")


def _item_positions(values: pd.DataFrame, catalogue: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Catalogue position of each value row's (code, data_point); raises on unknown items."""
    code_labels = pd.Index(pd.unique(catalogue["code"].astype(str)))
    point_labels = pd.Index(pd.unique(catalogue["data_point"]))
    lookup = np.full((len(code_labels), len(point_labels)), -1, dtype=np.int64)
    lookup[
        code_labels.get_indexer(pd.Index(catalogue["code"].astype(str))),
        point_labels.get_indexer(pd.Index(catalogue["data_point"])),
    ] = np.arange(len(catalogue))
    code_of_row = _label_positions(values["code"], code_labels)
    point_of_row = _label_positions(_fill_data_point(values["data_point"]), point_labels)
    known = (code_of_row >= 0) & (point_of_row >= 0)
    position = np.full(len(values), -1, dtype=np.int64)
    position[known] = lookup[code_of_row[known], point_of_row[known]]
    if (position < 0).any():
        bad = values.loc[position < 0, list(ITEM_KEY)].drop_duplicates().head(5)
        raise ScoringInputError(f"values for items not in the catalogue:\n{bad.to_string()}")
    return position


def _fill_data_point(column: pd.Series) -> pd.Series:
    """Data point ids of the values; a complete categorical is kept as is (no string pass)."""
    if isinstance(column.dtype, pd.CategoricalDtype) and not column.isna().any():
        return column
    return _data_point_labels(column)


def _label_positions(column: pd.Series, labels: pd.Index) -> npt.NDArray[np.int64]:
    """Position of each row's label in ``labels`` (-1 if absent), hashing distinct labels once."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categorical = column.array
        assert isinstance(categorical, pd.Categorical)
        per_category = labels.get_indexer(categorical.categories.astype(str))
        positions: npt.NDArray[np.int64] = per_category[np.asarray(categorical.codes)]
        return positions
    codes, uniques = pd.factorize(column.astype(str))
    result: npt.NDArray[np.int64] = labels.get_indexer(pd.Index(uniques))[codes]
    return result


def _entities(
    values: pd.DataFrame,
) -> tuple[npt.NDArray[np.int64], pd.Categorical, npt.NDArray[np.int64]]:
    """Dense (city, year) id of each value row, ordered by city (category order) then year."""
    if values["city"].isna().any() or values["year"].isna().any():
        raise ScoringInputError("values have rows without city or year")
    city = values["city"]
    if isinstance(city.dtype, pd.CategoricalDtype):
        cities = city.array
        assert isinstance(cities, pd.Categorical)
    else:
        cities = pd.Categorical(city.astype(str))
    years = values["year"].to_numpy(dtype=np.int64)
    city_codes = np.asarray(cities.codes, dtype=np.int64)
    first_year = int(years.min()) if len(years) else 0
    span = int(years.max()) - first_year + 1 if len(years) else 1
    entity_key = city_codes * span + (years - first_year)
    entity_of_row, unique_keys = pd.factorize(entity_key, sort=True)
    unique_keys = np.asarray(unique_keys, dtype=np.int64)
    entity_cities = pd.Categorical.from_codes(unique_keys // span, cities.categories)
    return np.asarray(entity_of_row, dtype=np.int64), entity_cities, unique_keys % span + first_year


def _reject_duplicate_cells(
    values: pd.DataFrame, cell: npt.NDArray[np.int64], n_cells: int
) -> None:
    counts = np.bincount(cell, minlength=n_cells)
    if counts.size and counts.max() > 1:
        repeated = values.loc[counts[cell] > 1, list(VALUE_COLUMNS[:4])].head(6)
        raise ScoringInputError(
            f"values has several rows for the same key, e.g.:\n{repeated.to_string()}"
        )


def uncopied_columns(index: pd.Index, **columns: Any) -> dict[str, pd.Series]:
    """New columns for ``DataFrame.assign`` as Series sharing the given (fresh) arrays.

    pandas copies a bare numpy or extension array that a frame is given (0.1 s for four
    columns of 11 M rows); a Series made with ``copy=False`` is taken as it is. Only for
    arrays nobody else holds.
    """
    return {name: pd.Series(array, index=index, copy=False) for name, array in columns.items()}


def fresh_floats(cells: npt.NDArray[Any], source: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """``cells`` (taken from ``source``) as float64 memory of its own: copied only when it
    is not float64 yet or still shares memory with ``source``."""
    if cells.dtype != np.float64 or np.may_share_memory(cells, source):
        return cells.astype(np.float64)
    return cells


def code_dtype(n_labels: int) -> np.dtype[Any]:
    """The integer width pandas keeps categorical codes in (so from_codes copies nothing)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_labels < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)

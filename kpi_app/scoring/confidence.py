"""Confidence grades of group scores: how much a score can be trusted (the project's own rule).

A group score (category, sub-dimension, dimension, overall) rests on the items scored inside
it. Its **confidence** grade, ``high``, ``medium`` or ``low`` (``None`` when there is no
score), is read from three shares of the group's items, all counted exactly in integers:

* ``core share``: scored core items ÷ core items (not applied when the group has no core item);
* ``item share``: scored items ÷ all items (core and advanced, the ``coverage`` column);
* ``reliable share``: scored items whose data-quality level is 1–3 (accurate measurement,
  calculated from reliable data, reliably estimated) ÷ scored items. Levels 4–6 (estimated
  with assumptions, rough estimate, unknown) and a value without a level count as not
  reliable: an unknown quality is not a good one.

| grade | core share | item share | reliable share |
|---|---|---|---|
| high | ≥ 9/10 | ≥ 3/4 | ≥ 4/5 |
| medium | ≥ 3/5 | ≥ 1/2 | ≥ 1/2 |
| low | any other scored group | | |

Every bound is inclusive and compared as an integer cross-product (``a·d ≥ c·b`` for
``a/b ≥ c/d``), so a group exactly on a bound gets the better grade. Everything is
vectorised over all groups of all levels. The U4SSC engine takes the five counts from its own
segment sums (:func:`grade_codes` on them, no second pass over the items); the composite
methods count them here with :func:`level_confidence` (one ``bincount`` per count, BLAS
roll-ups). A test checks that both give the same grades.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.aggregate import sorted_codes

#: Grades from the worst to the best.
CONFIDENCE_GRADES: Final[tuple[str, ...]] = ("low", "medium", "high")
#: dtype of the ``confidence`` column: ordered, so ``low < medium < high`` compares.
GRADE_DTYPE: Final = pd.CategoricalDtype(list(CONFIDENCE_GRADES), ordered=True)
#: The highest data-quality level that counts as reliable (1 = accurate measurement … 6 = unknown).
RELIABLE_QUALITY_MAX: Final = 3
#: grade → (minimum core share, minimum item share, minimum reliable share), best grade first.
THRESHOLDS: Final[dict[str, tuple[Fraction, Fraction, Fraction]]] = {
    "high": (Fraction(9, 10), Fraction(3, 4), Fraction(4, 5)),
    "medium": (Fraction(3, 5), Fraction(1, 2), Fraction(1, 2)),
}

IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]


def _at_least(
    numerator: npt.NDArray[np.signedinteger[Any]],
    denominator: npt.NDArray[np.signedinteger[Any]],
    bound: Fraction,
) -> npt.NDArray[np.bool_]:
    """``numerator / denominator ≥ bound`` exactly, for non-negative integers (0/0 is False)."""
    return (numerator * bound.denominator >= bound.numerator * denominator) & (denominator > 0)


def _integers(counts: npt.ArrayLike) -> npt.NDArray[np.signedinteger[Any]]:
    array = np.asarray(counts)
    if array.dtype.kind == "i":
        return array
    return np.asarray(array, dtype=np.int64)


def grade_codes(
    scored_core: npt.ArrayLike,
    total_core: npt.ArrayLike,
    scored: npt.ArrayLike,
    total: npt.ArrayLike,
    reliable: npt.ArrayLike,
) -> npt.NDArray[np.int8]:
    """Grade per group as an index into :data:`CONFIDENCE_GRADES`; -1 where nothing is scored.

    The counts are a group's (0 ≤ scored core ≤ core, 0 ≤ reliable ≤ scored ≤ total). Each
    share's level is the number of its two bounds it meets (0, 1 or 2: a high bound is never
    met without the medium one) and the grade is the lowest of the three levels. No test
    needs its denominator checked: a group without core items meets both core bounds
    (0 ≥ 0), and a group with nothing scored (the only one whose item or reliable share has
    a zero denominator) is -1 whatever the tests say.

    Integer counts keep their dtype (the U4SSC engine's are int32, which halves the memory
    traffic on millions of groups; a count times a bound's denominator, at most 10, stays far
    below 2**31); other numbers are read as int64. Every comparison writes into scratch
    arrays allocated once (millions of groups: fresh temporaries per test cost more in page
    faults than the arithmetic).
    """
    s_core, t_core, s_all, t_all, good = (
        _integers(x) for x in (scored_core, total_core, scored, total, reliable)
    )
    shape = np.broadcast_shapes(s_core.shape, t_core.shape, s_all.shape, t_all.shape, good.shape)
    work = np.result_type(s_core, t_core, s_all, t_all, good)
    left, right = np.empty(shape, dtype=work), np.empty(shape, dtype=work)
    met = np.empty(shape, dtype=np.bool_)
    level = np.empty(shape, dtype=np.int8)
    out = np.full(shape, len(CONFIDENCE_GRADES) - 1, dtype=np.int8)
    for share, (numerator, denominator) in enumerate(
        ((s_core, t_core), (s_all, t_all), (good, s_all))
    ):
        level.fill(0)
        for name in ("medium", "high"):
            bound = THRESHOLDS[name][share]
            np.multiply(numerator, bound.denominator, out=left)
            np.multiply(denominator, bound.numerator, out=right)
            np.greater_equal(left, right, out=met)
            level += met.view(np.int8)
        np.minimum(out, level, out=out)
    # Nothing scored: -1, as out − (out + 1) there (no masked assignment).
    np.equal(s_all, 0, out=met)
    np.add(out, 1, out=level)
    level *= met.view(np.int8)
    out -= level
    return out


def grade(
    scored_core: npt.ArrayLike,
    total_core: npt.ArrayLike,
    scored: npt.ArrayLike,
    total: npt.ArrayLike,
    reliable: npt.ArrayLike,
) -> ObjectArray:
    """Confidence grade per group from integer counts; ``None`` where nothing is scored."""
    codes = grade_codes(scored_core, total_core, scored, total, reliable)
    names = np.array([*CONFIDENCE_GRADES, None], dtype=object)
    return np.asarray(names[codes], dtype=object)  # -1 picks the trailing None


def reliable_rows(items: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows whose data-quality level is known and 1–3 (no ``quality`` column: none)."""
    if "quality" not in items.columns:
        return np.zeros(len(items), dtype=np.bool_)
    quality = pd.to_numeric(items["quality"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return np.asarray((quality >= 1) & (quality <= RELIABLE_QUALITY_MAX), dtype=np.bool_)


#: Weight factor of an item by its data-quality level when a spec asks to down-weight
#: low-quality items (``ScoringSpec.down_weight_low_quality``): reliable levels 1–3 keep their
#: weight, 4 (estimated with assumptions) counts half, 5 (rough estimate) a quarter. Level 6
#: (unknown) and a value without a level count as a rough estimate, as the confidence rule
#: treats an unknown quality as not reliable.
QUALITY_WEIGHT_FACTORS: Final[dict[int, float]] = {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.5, 5: 0.25, 6: 0.25}
UNKNOWN_QUALITY_FACTOR: Final = 0.25


def quality_factors(items: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Per row: the weight factor of its data-quality level (:data:`QUALITY_WEIGHT_FACTORS`).

    No ``quality`` column: every row is of unknown quality.
    """
    if "quality" not in items.columns:
        return np.full(len(items), UNKNOWN_QUALITY_FACTOR)
    quality = pd.to_numeric(items["quality"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    table = np.full(8, UNKNOWN_QUALITY_FACTOR)
    for level, factor in QUALITY_WEIGHT_FACTORS.items():
        table[level] = factor
    known = np.isfinite(quality) & (quality >= 1) & (quality <= 6) & (quality == np.round(quality))
    index = np.where(known, np.nan_to_num(quality), 7).astype(np.intp)
    return np.asarray(table[index], dtype=np.float64)


def core_rows(tier: pd.Series) -> npt.NDArray[np.bool_]:
    """Rows of core items; compares the few categories, not every row's string."""
    if isinstance(tier.dtype, pd.CategoricalDtype):
        codes = np.asarray(tier.cat.codes)
        is_core = np.asarray(tier.cat.categories.astype(str) == "core", dtype=np.bool_)
        return np.asarray(is_core[codes] & (codes >= 0), dtype=np.bool_)
    return np.asarray(tier.astype(str) == "core", dtype=np.bool_)


def _codes(column: pd.Series) -> tuple[IntArray, pd.Index]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes, dtype=np.int64), pd.Index(column.cat.categories)
    codes, uniques = pd.factorize(column, sort=False)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _lookup(uniques: pd.Index, column: pd.Series) -> IntArray:
    """Position of each value of ``column`` among ``uniques`` (-1 when absent).

    A categorical column is looked up through its few categories, then spread by its codes.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        per_category = uniques.get_indexer(column.cat.categories)
        codes = np.asarray(column.cat.codes, dtype=np.int64)
        return np.where(codes >= 0, per_category[np.maximum(codes, 0)], -1).astype(np.int64)
    return np.asarray(uniques.get_indexer(pd.Index(np.asarray(column))), dtype=np.int64)


#: Level frame name → id column (none for overall), finest first.
LEVEL_IDS: Final[dict[str, str | None]] = {
    "categories": "category",
    "sub_dimensions": "sub_dimension",
    "dimensions": "dimension",
    "overall": None,
}


def level_confidence(
    items: pd.DataFrame, scored: npt.ArrayLike, frames: dict[str, pd.DataFrame]
) -> dict[str, npt.NDArray[np.int8]]:
    """The grade code of each row of each level frame (same order as the frame).

    ``items`` carries ``city``, ``year``, ``tier``, ``category``, ``sub_dimension``,
    ``dimension`` and optionally ``quality``; ``scored`` marks the items that entered the
    score. Counts are taken once per (city, year, category) with ``bincount`` and rolled up
    the hierarchy with small matrix products.
    """
    city, cities = _codes(items["city"])
    year_codes, year_labels = sorted_codes(items["year"])
    year, years = year_codes, pd.Index(year_labels)
    category, categories = _codes(items["category"])
    n_entities = len(cities) * len(years)
    entity = city * len(years) + year
    # Category-major cells: each category's counts are one contiguous run of entities, so
    # a roll-up adds whole runs.
    cell = category * n_entities + entity
    first_row = np.full(len(categories), -1, dtype=np.int64)
    first_row[category[::-1]] = np.arange(len(category) - 1, -1, -1)
    used = first_row >= 0
    scored_rows = np.asarray(scored, dtype=np.bool_)
    core = core_rows(items["tier"])
    reliable = reliable_rows(items) & scored_rows
    names = ["scored_core", "total_core", "scored", "total", "reliable"]
    size = n_entities * len(categories)
    # One unweighted bincount of (cell, flags) instead of one weighted bincount per count:
    # each row falls in one of 8 flag combinations (scored, core, reliable), and every count
    # is a sum of some combinations' tallies (integers, exact).
    flags = scored_rows.view(np.uint8) | (core.view(np.uint8) << 1) | (reliable.view(np.uint8) << 2)
    tally = np.bincount(cell * 8 + flags, minlength=size * 8).reshape(size, 8)
    # Column k of ``c`` counts the rows with flags k (1 scored, 2 core, 4 reliable); a
    # reliable row is scored, so flags 4 and 6 never occur. Whole-array adds, no small-axis
    # reductions (which numpy runs slowly).
    c = np.ascontiguousarray(tally.T)
    scored_core = c[3] + c[7]
    reliable_count = c[5] + c[7]
    scored_count = c[1] + scored_core + reliable_count - c[7]
    core_count = c[2] + scored_core + c[6]
    counts = {
        "scored_core": scored_core,
        "total_core": core_count,
        "scored": scored_count,
        "total": c[0] + c[4] + scored_count + c[2] + c[6],
        "reliable": reliable_count,
    }
    # (count, category, entity) matrix of exact integer counts; roll-ups add whole category
    # runs (no BLAS product: on a busy machine its threads cost more than the sums).
    stacked = np.stack([counts[key] for key in names]).reshape(
        len(names), len(categories), n_entities
    )
    out: dict[str, npt.NDArray[np.int8]] = {}
    for name, id_column in LEVEL_IDS.items():
        frame = frames[name]
        if id_column is None:
            groups, parent = pd.Index(["overall"]), np.zeros(len(categories), dtype=np.int64)
        else:
            parent_codes, groups = _codes(items[id_column])
            parent = np.zeros(len(categories), dtype=np.int64)
            # One parent per category (checked on input): read at each category's first row.
            parent[used] = parent_codes[first_row[used]]
        level = stacked if id_column == "category" else _roll_up(stacked, parent, used, len(groups))
        level = level.reshape(len(names), len(groups) * n_entities)
        f_entity = _lookup(cities, frame["city"]) * len(years) + _lookup(years, frame["year"])
        f_group = (
            np.zeros(len(frame), dtype=np.int64)
            if id_column is None
            else _lookup(groups, frame[id_column])
        )
        found = (f_entity >= 0) & (f_group >= 0)
        flat = np.where(found, f_group * n_entities + f_entity, 0)
        values = np.where(found, level[:, flat], 0).astype(np.int64)
        picked = dict(zip(names, values, strict=True))
        grades = grade_codes(
            picked["scored_core"],
            picked["total_core"],
            picked["scored"],
            picked["total"],
            picked["reliable"],
        )
        # A withheld composite group has no score, hence no confidence either.
        grades[frame["score"].isna().to_numpy()] = -1
        out[name] = grades
    return out


def _roll_up(
    stacked: npt.NDArray[np.int64],
    parent: npt.NDArray[np.int64],
    used: npt.NDArray[np.bool_],
    n_groups: int,
) -> npt.NDArray[np.int64]:
    """Add the category runs (axis 1) of ``stacked`` into their parent groups' runs."""
    out = np.zeros((stacked.shape[0], n_groups, stacked.shape[2]), dtype=np.int64)
    for category in np.flatnonzero(used):
        out[:, parent[category]] += stacked[:, category]
    return out


def add_confidence(
    items: pd.DataFrame, scored: npt.ArrayLike, frames: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Each level frame with a ``confidence`` column (right after ``coverage_advanced``).

    The column is an ordered categorical (low < medium < high), NaN where there is no score.
    """
    grades = level_confidence(items, scored, frames)
    out = {}
    for name, frame in frames.items():
        position = list(frame.columns).index("coverage_advanced") + 1
        with_grade = frame.copy(deep=False)
        with_grade.insert(
            position,
            "confidence",
            pd.Series(
                pd.Categorical.from_codes(grades[name].astype(np.int64), dtype=GRADE_DTYPE),
                index=frame.index,
            ),
        )
        out[name] = with_grade
    return out

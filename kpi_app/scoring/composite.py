"""Composite-indicator scoring: normalise each item, then aggregate level by level with weights.

This is the COINr pipeline written as named pandas stages::

    items.pipe(normalise_items, spec)          # item score 0..100 per (city, year, item)
         .pipe(aggregate_levels, spec)         # category → sub-dimension → dimension → overall

and :func:`score_composite` wraps both into a :class:`~kpi_app.scoring.result.ScoreResult` with
the same level frames as the U4SSC rule, so dashboards and exports treat both alike. The
dispatcher :func:`score` sends the ``u4ssc`` method to :func:`~kpi_app.scoring.u4ssc.score_u4ssc`
and every other spec here.

Decisions (also in ``docs/scoring_methods.md``):

* **What is scored.** An item is *assessable* when its direction is not "other" and it has a
  benchmark, for every method. Peer-group methods could score items without a benchmark, but
  keeping one set of assessable items lets methods be compared on the same evidence.
* **Peer group.** Peer-group normalisers see every row of an item passed in: all cities and
  all years together (COINr's global normalisation).
* **Yes/no items** are always scored on the absolute scale (answer equal to the target = 100,
  otherwise 0): a relative method would turn a unanimous "yes" into a middling 50.
* **Hierarchy.** Unlike the U4SSC rule, which pools item points over the whole group, each
  level averages its children: items → category → sub-dimension → dimension → overall, each
  with its own weights (spec weights, default 1; item weights fall back to the ``weight``
  column).
* **Withholding.** At every level a group whose reported children carry less than
  ``spec.min_coverage`` of its assessable weight gets no score, with the reason in
  ``withheld_reason``; a withheld child then counts as not reported one level up.
* **Display.** Bands use the U4SSC thresholds (33, 66, 95) on the 0..100 score, labelled as
  score bands ("Score 66–95 of 100", :data:`~kpi_app.scoring.bands.SCORE_BAND_LABELS`): a
  min-max, z-score or percentile score is no percentage of the target, so the U4SSC labels
  ("66–95% of Target") would be untrue. ``points`` and ``max_points`` are NaN because points
  have no meaning outside the U4SSC rule. Coverage columns count items exactly as the U4SSC
  rule does.
* **Aggregation per level.** ``spec.aggregation_for(level)`` picks each level's mean
  (category, sub-dimension, dimension, overall).
* **Low-quality items.** With ``spec.down_weight_low_quality`` each item's weight is
  multiplied by the factor of its data-quality level
  (:data:`~kpi_app.scoring.confidence.QUALITY_WEIGHT_FACTORS`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi_app.scoring.aggregate import REASON_NO_ASSESSABLE, aggregate_groups, group_codes
from kpi_app.scoring.bands import NO_BAND, band_of, score_band_labels
from kpi_app.scoring.confidence import (
    GRADE_DTYPE,
    core_rows,
    grade_codes,
    quality_factors,
    reliable_rows,
)
from kpi_app.scoring.normalise import (
    HIGHER_BETTER,
    LOWER_BETTER,
    OTHER,
    PEER_GROUP_NORMALISERS,
    capped_share,
    distance_to_target,
    normaliser,
    points_score,
)
from kpi_app.scoring.result import ScoreResult
from kpi_app.scoring.spec import (
    Normalisation,
    ScoringSpec,
    ScoringSpecError,
    item_key,
    resolve_spec,
)
from kpi_app.scoring.u4ssc import ValidatedItems, score_u4ssc, validated_inputs

FloatArray = npt.NDArray[np.float64]

METHOD_NAME: Final = "composite"
BOOLEAN_VALUE_TYPE: Final = "boolean"

#: Levels in aggregation order: (frame name, id column, weight level in the spec).
GROUP_LEVELS: Final[tuple[tuple[str, str, str], ...]] = (
    ("categories", "category", "category"),
    ("sub_dimensions", "sub_dimension", "sub_dimension"),
    ("dimensions", "dimension", "dimension"),
)
ENTITY_KEYS: Final[tuple[str, str]] = ("city", "year")
#: Text keys grouped on at every level; encoding them once as categoricals makes each
#: group-by an integer operation (about ten times faster than hashing strings each time).
GROUP_KEY_COLUMNS: Final[tuple[str, ...]] = ("city", "category", "sub_dimension", "dimension")


# --- stage 1: normalise ------------------------------------------------------------------


def normalise_items(
    items: pd.DataFrame, spec: ScoringSpec, *, percent: FloatArray | None = None
) -> pd.DataFrame:
    """Add ``score`` (0..100, NaN = not scored), ``assessable`` and ``item_weight`` to items.

    Each item (KPI or data point) is normalised on its own, with the method the spec assigns
    to it and all its rows as the peer group. The group key columns come back as categoricals.
    ``percent`` is the % of target of every row when the caller has it (the absolute
    methods then read it instead of computing it again, item by item).
    """
    items = _encode_group_keys(items)
    assessable = _assessable(items)
    scores = np.full(len(items), np.nan)
    boolean = _boolean_rows(items)
    values = items["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    targets = items["target"].to_numpy(dtype=np.float64, na_value=np.nan)
    direction_codes, direction_names = _key_codes(items["direction"])
    for code, data_point, positions in _item_positions(items):
        rows = positions[assessable[positions]]
        if rows.size == 0:
            continue
        method = spec.normalisation_for(code, data_point)
        direction = str(direction_names[direction_codes[rows[0]]])
        if percent is not None and _reads_percent(method, boolean, direction_codes, rows):
            scores[rows] = _from_percent(
                method, percent[rows], values[rows], targets[rows], direction
            )
            continue
        scores[rows] = _normalise_item(
            method,
            values[rows],
            targets[rows],
            str(direction_names[direction_codes[rows[0]]]),
            boolean[rows],
            items,
            rows,
        )
    return items.assign(score=scores, assessable=assessable, item_weight=_item_weights(items, spec))


#: Absolute methods computed from the shared % of target (no parameters, see _reads_percent).
_PERCENT_METHODS: Final = frozenset({"distance_to_target", "u4ssc_points"})


def _reads_percent(
    method: Normalisation,
    boolean: npt.NDArray[np.bool_],
    direction_codes: npt.NDArray[np.int64],
    rows: npt.NDArray[np.intp],
) -> bool:
    """Whether an item's scores can come from the rows' own % of target.

    That is what :func:`_normalise_item` computes for a parameter-free absolute method on an
    item without yes/no rows (those are scored on the answer) whose rows share one direction.
    """
    return (
        method.name in _PERCENT_METHODS
        and not method.params
        and not boolean[rows].any()
        and bool((direction_codes[rows] == direction_codes[rows[0]]).all())
    )


def _from_percent(
    method: Normalisation,
    percent: FloatArray,
    values: FloatArray,
    targets: FloatArray,
    direction: str,
) -> FloatArray:
    share = capped_share(percent, values, targets, direction)
    return points_score(share) if method.name == "u4ssc_points" else share


def _encode_group_keys(items: pd.DataFrame) -> pd.DataFrame:
    text_keys = {
        column: "category"
        for column in GROUP_KEY_COLUMNS
        if not isinstance(items[column].dtype, pd.CategoricalDtype)
    }
    return items.astype(text_keys) if text_keys else items


def _key_codes(column: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Integer codes and labels of a key column (categorical codes are used as they are)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes, dtype=np.int64), pd.Index(column.cat.categories)
    codes, uniques = pd.factorize(column.astype(str))
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _item_positions(items: pd.DataFrame) -> list[tuple[str, str, npt.NDArray[np.intp]]]:
    """Row positions of each item (KPI or data point), found in one factorising pass.

    Works on the integer codes of ``code`` and ``data_point`` (never on the strings of every
    row): a stable argsort of the combined code groups the rows of each item.
    """
    code, code_labels = _key_codes(items["code"])
    point, point_labels = _key_codes(items["data_point"])
    combined = code * max(len(point_labels), 1) + point
    if combined.size and int(combined.min()) >= 0 and int(combined.max()) < 2**15:
        # numpy sorts 16-bit integers stably by radix sort, in linear time.
        combined = combined.astype(np.int16)
    order = np.argsort(combined, kind="stable")
    ordered = combined[order]
    starts: list[int] = (
        np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]).tolist() if ordered.size else []
    )
    bounds = [*starts, int(ordered.size)]
    return [
        (
            str(code_labels[ordered[start] // max(len(point_labels), 1)]),
            str(point_labels[ordered[start] % max(len(point_labels), 1)]),
            order[start:end].astype(np.intp),
        )
        for start, end in itertools.pairwise(bounds)
    ]


def _normalise_item(
    method: Normalisation,
    values: FloatArray,
    targets: FloatArray,
    direction: str,
    boolean: npt.NDArray[np.bool_],
    items: pd.DataFrame,
    rows: npt.NDArray[np.intp],
) -> FloatArray:
    if boolean.all():
        return _score_yes_no(method, values, targets)
    params: dict[str, Any] = dict(method.params)
    if method.name == "goalposts" and "worst" not in params:
        params["worst"] = _plausible_worst(items, rows, direction)
    return np.asarray(
        normaliser(method.name)(values, direction=direction, target=targets, **params),
        dtype=np.float64,
    )


def _score_yes_no(method: Normalisation, values: FloatArray, targets: FloatArray) -> FloatArray:
    """The answer is worth 100 when it equals the target (normally "yes") and 0 otherwise."""
    answers = np.where(values == targets, 100.0, 0.0)
    answers[np.isnan(values)] = np.nan
    # Absolute methods map the 0/100 answer on their own scale (u4ssc_points: 25/100);
    # relative methods are replaced by the absolute scale, see the module docstring.
    name = "distance_to_target" if method.name in PEER_GROUP_NORMALISERS else method.name
    params = {} if name == "distance_to_target" else dict(method.params)
    if name == "goalposts":
        params["worst"] = 0.0
    scorer = distance_to_target if name == "distance_to_target" else normaliser(name)
    return np.asarray(
        scorer(answers, direction=HIGHER_BETTER, target=np.full(answers.size, 100.0), **params),
        dtype=np.float64,
    )


def _plausible_worst(
    items: pd.DataFrame, rows: npt.NDArray[np.intp], direction: str
) -> FloatArray | None:
    """Goalposts from the catalogue's plausible range, when the frame carries it."""
    column = "plausible_max" if direction == LOWER_BETTER else "plausible_min"
    if column not in items.columns:
        return None
    return items[column].to_numpy(dtype=np.float64, na_value=np.nan)[rows]


def _assessable(items: pd.DataFrame) -> npt.NDArray[np.bool_]:
    codes, names = _key_codes(items["direction"])
    other = np.asarray(names.astype(str) == OTHER, dtype=np.bool_)[codes]
    has_target = items["target"].notna().to_numpy()
    return np.asarray(~other & has_target, dtype=np.bool_)


def _boolean_rows(items: pd.DataFrame) -> npt.NDArray[np.bool_]:
    if "value_type" not in items.columns:
        return np.zeros(len(items), dtype=np.bool_)
    return np.asarray(items["value_type"] == BOOLEAN_VALUE_TYPE, dtype=np.bool_)


def _item_weights(items: pd.DataFrame, spec: ScoringSpec) -> FloatArray:
    """Spec item weight (by ``code|data_point``, then by code), else the frame's, else 1;
    times the data-quality factor when the spec down-weights low-quality items."""
    weights = _spec_item_weights(items, spec)
    if spec.down_weight_low_quality:
        return weights * quality_factors(items)
    return weights


def _spec_item_weights(items: pd.DataFrame, spec: ScoringSpec) -> FloatArray:
    base = (
        items["weight"].to_numpy(dtype=np.float64, na_value=1.0)
        if "weight" in items.columns
        else np.ones(len(items))
    )
    by_id = spec.weights.get("item", {})
    if not by_id:
        return base
    keys = pd.Series(
        [item_key(str(c), str(d)) for c, d in zip(items["code"], items["data_point"], strict=True)]
    )
    codes = items["code"].astype(str).reset_index(drop=True)
    from_spec = keys.map(by_id).fillna(codes.map(by_id)).to_numpy(dtype=np.float64)
    return np.where(np.isnan(from_spec), base, from_spec)


# --- stage 2: aggregate ------------------------------------------------------------------


def aggregate_levels(
    scored_items: pd.DataFrame,
    spec: ScoringSpec,
    *,
    category_groups: tuple[npt.NDArray[np.int64], pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Aggregate normalised items up the hierarchy; one frame per level plus ``overall``.

    Each frame has the entity keys, its id column (none for ``overall``), ``score``,
    ``weight_share`` and ``withheld_reason``. ``category_groups`` is
    ``group_codes(scored_items, ["city", "year", "category"])`` when the caller has it.
    """
    parents = _parent_ids(scored_items)
    children = scored_items.rename(columns={"item_weight": "weight"})
    frames: dict[str, pd.DataFrame] = {}
    for frame_name, id_column, _ in GROUP_LEVELS:
        groups = aggregate_groups(
            children,
            [*ENTITY_KEYS, id_column],
            method=spec.aggregation_for(id_column),
            min_coverage=spec.min_coverage,
            groups=category_groups if id_column == "category" else None,
        )
        frames[frame_name] = groups
        children = _as_children(groups, id_column, spec, parents)
    frames["overall"] = aggregate_groups(
        children,
        list(ENTITY_KEYS),
        method=spec.aggregation_for("overall"),
        min_coverage=spec.min_coverage,
    )
    return frames


def _parent_ids(items: pd.DataFrame) -> dict[str, Mapping[str, str]]:
    """Map each category to its sub-dimension and each sub-dimension to its dimension.

    Reads one row per category (its first), found from the integer codes: the input is
    validated to give every category a single parent.
    """
    codes, labels = _key_codes(items["category"])
    first = np.full(len(labels), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    rows = items.iloc[first[first >= 0]]
    pairs = rows[["category", "sub_dimension", "dimension"]].astype(str)
    return {
        "category": dict(zip(pairs["category"], pairs["sub_dimension"], strict=True)),
        "sub_dimension": dict(zip(pairs["sub_dimension"], pairs["dimension"], strict=True)),
    }


def _as_children(
    groups: pd.DataFrame, id_column: str, spec: ScoringSpec, parents: dict[str, Mapping[str, str]]
) -> pd.DataFrame:
    """Prepare one level's groups as the children of the next level up."""
    codes, labels = _key_codes(groups[id_column])
    names = [str(label) for label in labels]
    weight_of_id = np.array([spec.weight(id_column, name) for name in names], dtype=np.float64)
    children = pd.DataFrame(
        {
            "city": groups["city"],
            "year": groups["year"],
            "score": groups["score"],
            # Looked up once per distinct id, then spread by integer code.
            "weight": weight_of_id[codes] if len(codes) else np.zeros(0),
            # A group with nothing assessable inside is not a missing answer one level up.
            "assessable": groups["withheld_reason"] != REASON_NO_ASSESSABLE,
        }
    )
    if id_column in parents:
        parent_column = "sub_dimension" if id_column == "category" else "dimension"
        # A categorical id column may keep labels no row uses (rows filtered out, e.g. by
        # leave-one-KPI-out): they have no parent and no group, so any placeholder does.
        parent_names = [parents[id_column].get(name, "") for name in names]
        parent_codes, parent_labels = pd.factorize(np.asarray(parent_names, dtype=object))
        children[parent_column] = pd.Categorical.from_codes(
            parent_codes[codes], pd.Index(parent_labels)
        )
    return children


# --- stage 3: assemble the result --------------------------------------------------------


COUNT_COLUMNS: Final = ("scored_core", "total_core", "scored_advanced", "total_advanced")
#: The counts added up the hierarchy: the coverage counts plus the scored items of a reliable
#: data-quality level, which the confidence grade needs (docs/scoring.md §3.5).
ROLLED_COLUMNS: Final = (*COUNT_COLUMNS, "scored_reliable")


def _category_counts(
    scored_items: pd.DataFrame,
    category_groups: tuple[npt.NDArray[np.int64], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Scored and total items per (city, year, category), core and advanced apart.

    The only count over every item row; the levels above add these up (see
    :func:`_coverage_counts`), with their parent ids attached as categoricals.
    """
    core = core_rows(scored_items["tier"])
    scored = scored_items["score"].notna().to_numpy()
    reliable = reliable_rows(scored_items) & scored
    group, keys = (
        group_codes(scored_items, [*ENTITY_KEYS, "category"])
        if category_groups is None
        else category_groups
    )
    # One unweighted bincount of (group, flags): flag 1 = scored, 2 = core, 4 = reliable
    # (a reliable row is scored, so flags 4 and 6 never occur).
    flags = scored.view(np.uint8) | (core.view(np.uint8) << 1) | (reliable.view(np.uint8) << 2)
    tally = np.bincount(group * 8 + flags, minlength=8 * len(keys)).reshape(len(keys), 8)
    tally = tally.astype(np.int64, copy=False)
    scored_core = tally[:, 3] + tally[:, 7]
    scored_advanced = tally[:, 1] + tally[:, 5]
    totals = keys.assign(
        scored_core=scored_core,
        total_core=scored_core + tally[:, 2] + tally[:, 6],
        scored_advanced=scored_advanced,
        total_advanced=scored_advanced + tally[:, 0] + tally[:, 4],
        scored_reliable=tally[:, 5] + tally[:, 7],
    )
    parents = _parent_ids(scored_items)
    sub = _parent_column(totals["category"], parents["category"])
    return totals.assign(
        sub_dimension=sub,
        dimension=_parent_column(sub, parents["sub_dimension"]),
    )


def _parent_column(ids: pd.Series, parent_of: Mapping[str, str]) -> pd.Series:
    """Each id's parent as a categorical of the observed parents in sorted order.

    The same as ``ids.astype(str).map(parent_of).astype("category")``, looked up once per
    distinct id and spread by the integer codes.
    """
    codes, labels = _key_codes(ids)
    observed = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(labels)))
    per_label = np.asarray([parent_of.get(str(label)) for label in labels], dtype=object)
    present = [parent for parent in per_label[observed] if parent is not None]
    categories = pd.Index(sorted(set(present)))
    per_label_code = np.full(len(labels) + 1, -1, dtype=np.int64)
    for position in observed:
        parent = per_label[position]
        if parent is not None:
            per_label_code[position] = categories.get_loc(parent)
    spread = per_label_code[np.where(codes >= 0, codes, len(labels))]
    return pd.Series(pd.Categorical.from_codes(spread, categories), index=ids.index)


def _coverage_counts(category_counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Scored and total items per group of one level, as the U4SSC rule counts them."""
    if keys == [*ENTITY_KEYS, "category"]:
        totals = category_counts[[*keys, *ROLLED_COLUMNS]]
    else:
        # Equal to a sorted, observed group-by sum: integer codes and one bincount per count.
        group, group_keys = group_codes(category_counts, keys)
        totals = group_keys.assign(
            **{
                name: np.bincount(
                    group, weights=category_counts[name].to_numpy(), minlength=len(group_keys)
                )
                .round()
                .astype(np.int64)
                for name in ROLLED_COLUMNS
            }
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        scored_items_count = totals["scored_core"] + totals["scored_advanced"]
        total_items = totals["total_core"] + totals["total_advanced"]
        return totals[keys].assign(
            scored_items=scored_items_count,
            total_items=total_items,
            coverage=scored_items_count / total_items,
            coverage_core=totals["scored_core"] / totals["total_core"].replace(0, np.nan),
            coverage_advanced=totals["scored_advanced"]
            / totals["total_advanced"].replace(0, np.nan),
            scored_core=totals["scored_core"],
            total_core=totals["total_core"],
            scored_reliable=totals["scored_reliable"],
        )


def _group_frame(
    groups: pd.DataFrame, counts: pd.DataFrame, keys: list[str], items: pd.DataFrame
) -> pd.DataFrame:
    """Lay a level out with the same columns, in the same order, as the U4SSC frames.

    Key columns get back the dtype they had in the caller's items frame.
    """
    merged = _join_counts(groups, counts, keys)
    merged = merged.astype({key: items[key].dtype for key in keys})
    band = band_of(merged["score"])
    frame = merged[keys].assign(
        score=merged["score"],
        band=pd.arrays.IntegerArray(band, band == NO_BAND),
        band_label=score_band_labels(band),
        points=np.nan,
        max_points=np.nan,
        scored_items=merged["scored_items"],
        total_items=merged["total_items"],
        coverage=merged["coverage"],
        coverage_core=merged["coverage_core"],
        coverage_advanced=merged["coverage_advanced"],
        confidence=_confidence(merged),
        weight_share=merged["weight_share"],
        withheld_reason=merged["withheld_reason"],
    )
    return frame.reset_index(drop=True)


def _join_counts(groups: pd.DataFrame, counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``groups.merge(counts, on=keys, how="left", validate="one_to_one")`` on integer codes.

    Both sides' keys are turned into one integer per row in a shared code space (categorical
    codes translated through the few categories, integer keys offset); every group's row of
    counts is then found by binary search. Anything the fast path does not cover (other key
    dtypes, a group without counts, repeated count keys) goes through the pandas merge.
    """
    left = np.zeros(len(groups), dtype=np.int64)
    right = np.zeros(len(counts), dtype=np.int64)
    for key in keys:
        codes = _shared_codes(groups[key], counts[key])
        if codes is None:
            return groups.merge(counts, on=keys, how="left", validate="one_to_one")
        left_codes, right_codes, radix = codes
        left = left * radix + left_codes
        right = right * radix + right_codes
    order = np.argsort(right, kind="stable")
    ordered = right[order]
    found = np.searchsorted(ordered, left)
    if (
        found.size
        and (int(found.max()) >= ordered.size or not np.array_equal(ordered[found], left))
    ) or (ordered.size > 1 and not bool(np.all(ordered[1:] != ordered[:-1]))):
        return groups.merge(counts, on=keys, how="left", validate="one_to_one")
    taken = counts.drop(columns=keys).iloc[order[found]].reset_index(drop=True)
    return pd.concat([groups.reset_index(drop=True), taken], axis=1)


def _shared_codes(
    left: pd.Series, right: pd.Series
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int] | None:
    """Codes of two key columns in one space (categoricals or integers), or None."""
    if isinstance(left.dtype, pd.CategoricalDtype) and isinstance(right.dtype, pd.CategoricalDtype):
        right_codes = np.asarray(right.cat.codes, dtype=np.int64)
        translate = pd.Index(right.cat.categories).get_indexer(left.cat.categories)
        raw = np.asarray(left.cat.codes, dtype=np.int64)
        if (raw < 0).any() or (right_codes < 0).any():
            return None
        left_codes = translate[raw].astype(np.int64)
        if (left_codes < 0).any():
            return None
        return left_codes, right_codes, max(len(right.cat.categories), 1)
    if left.dtype.kind in "iu" and right.dtype.kind in "iu":
        a = left.to_numpy(dtype=np.int64)
        b = right.to_numpy(dtype=np.int64)
        if not (a.size and b.size):
            return None
        low = min(int(a.min()), int(b.min()))
        high = max(int(a.max()), int(b.max()))
        if high - low > 2**20:
            return None
        return a - low, b - low, high - low + 1
    return None


def _confidence(merged: pd.DataFrame) -> pd.Categorical:
    """Confidence grade of each group from its own counts (docs/scoring.md §3.5).

    The counts are the coverage counts (scored = has a score, as
    :func:`~kpi_app.scoring.confidence.level_confidence` counts them); a withheld group has
    no score, hence no confidence either.
    """
    grades = grade_codes(
        merged["scored_core"].to_numpy(dtype=np.int64),
        merged["total_core"].to_numpy(dtype=np.int64),
        merged["scored_items"].to_numpy(dtype=np.int64),
        merged["total_items"].to_numpy(dtype=np.int64),
        merged["scored_reliable"].to_numpy(dtype=np.int64),
    )
    grades[merged["score"].isna().to_numpy()] = -1
    return pd.Categorical.from_codes(grades.astype(np.int64), dtype=GRADE_DTYPE)


def _result_items(
    items: pd.DataFrame, scored_items: pd.DataFrame, percent: FloatArray
) -> pd.DataFrame:
    """The caller's items (dtypes untouched) plus the item score and display columns.

    ``percent`` is the items' % of target (:func:`percent_of_target` of the frame).
    """
    scores = scored_items["score"].to_numpy()
    band = band_of(scores)
    n_rows = len(band)
    # Fresh arrays wrapped in Series without a copy (pandas copies a bare array it is given).
    return items.assign(
        **_uncopied(
            items.index,
            score=scores.copy(),
            item_weight=scored_items["item_weight"].to_numpy(copy=True),
            percent_of_target=percent,
            # Points belong to the U4SSC rule only; the item's display band comes from its score.
            points=pd.arrays.IntegerArray(np.zeros(n_rows, dtype=np.int8), np.ones(n_rows, bool)),
            band=pd.arrays.IntegerArray(band, band == NO_BAND),
            band_label=score_band_labels(band),
            scored=~np.isnan(scores),
        )
    )


def _uncopied(index: pd.Index, **columns: Any) -> dict[str, pd.Series]:
    """New columns for ``DataFrame.assign`` as Series sharing the given (fresh) arrays."""
    return {name: pd.Series(array, index=index, copy=False) for name, array in columns.items()}


def score_composite(
    items: pd.DataFrame,
    spec: ScoringSpec | str,
    *,
    catalogue_version: str | None = None,
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score every (city, year) with a composite spec, at item and all group levels.

    The input frame is validated as for the U4SSC rule (``ScoringInputError`` on a broken
    contract); ``spec`` may be a :class:`ScoringSpec` or a preset name.
    """
    resolved = resolve_spec(spec)
    if resolved.method != METHOD_NAME:
        raise ScoringSpecError(f"score_composite needs a composite spec, got {resolved.method!r}")
    checked = validated_inputs(items)
    scored_items = normalise_items(items, resolved, percent=checked.percent)
    category_groups = group_codes(scored_items, [*ENTITY_KEYS, "category"])
    levels = aggregate_levels(scored_items, resolved, category_groups=category_groups)
    category_counts = _category_counts(scored_items, category_groups)
    frames = {
        name: _group_frame(levels[name], _coverage_counts(category_counts, keys), keys, items)
        for name, keys in _level_keys().items()
    }
    return ScoreResult(
        items=_result_items(items, scored_items, checked.percent),
        categories=frames["categories"],
        sub_dimensions=frames["sub_dimensions"],
        dimensions=frames["dimensions"],
        overall=frames["overall"],
        method=METHOD_NAME,
        spec=resolved.to_dict(),
        catalogue_version=catalogue_version,
        benchmark_set=benchmark_set,
        peers=_peer_group(checked) if uses_peer_group(resolved) else None,
    )


def uses_peer_group(spec: ScoringSpec) -> bool:
    """Whether any item of the spec is normalised against its peers (min-max, z, percentile)."""
    methods = [spec.normalisation, *spec.overrides.values()]
    return any(method.name in PEER_GROUP_NORMALISERS for method in methods)


def _peer_group(checked: ValidatedItems) -> tuple[tuple[str, int], ...]:
    """Every (city, year) of the frame: the peer group of a relative method."""
    # The distinct pairs were found while validating (no pass over the rows here).
    cities = [str(city) for city in checked.entity_cities]
    years = checked.entity_years.tolist()
    return tuple(sorted(zip(cities, years, strict=True)))


def _level_keys() -> dict[str, list[str]]:
    keys = {name: [*ENTITY_KEYS, id_column] for name, id_column, _ in GROUP_LEVELS}
    return keys | {"overall": list(ENTITY_KEYS)}


# --- dispatcher --------------------------------------------------------------------------


def score(
    items: pd.DataFrame,
    spec: ScoringSpec | str = "u4ssc",
    *,
    catalogue_version: str | None = None,
    benchmark_set: str | None = None,
) -> ScoreResult:
    """Score with any spec or preset name: the U4SSC rule or a composite method.

    For the U4SSC method the spec's item weights (if any) replace the ``weight`` column and the
    stored spec is the ``ScoringSpec`` dict with the engine's own rule description under
    ``"rule"``; group-level weights are refused because the rule pools item points.
    """
    resolved = resolve_spec(spec)
    if resolved.method == METHOD_NAME:
        return score_composite(
            items, resolved, catalogue_version=catalogue_version, benchmark_set=benchmark_set
        )
    group_weights = set(resolved.weights) - {"item"}
    if group_weights:
        raise ScoringSpecError(
            f"the U4SSC rule pools item points; weights at {sorted(group_weights)} "
            "apply to composite methods only"
        )
    if resolved.level_aggregation or resolved.down_weight_low_quality:
        raise ScoringSpecError(
            "the U4SSC rule pools item points; aggregation per level and down-weighting "
            "low-quality items apply to composite methods only"
        )
    if resolved.weights.get("item"):
        items = items.assign(weight=_item_weights(items, resolved))
    result = score_u4ssc(items, catalogue_version=catalogue_version, benchmark_set=benchmark_set)
    return replace(result, spec={**resolved.to_dict(), "rule": result.spec})

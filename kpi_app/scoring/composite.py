"""Composite-indicator scoring: normalise each item, then aggregate level by level with weights.

This is the COINr pipeline written as named pandas stages::

    items.pipe(normalise_items, spec)          # item score 0..100 per (city, year, item)
         .pipe(aggregate_levels, spec)         # category → sub-dimension → dimension → overall

and :func:`score_composite` gives a :class:`~kpi_app.scoring.result.ScoreResult` with the same
level frames as the U4SSC rule, so dashboards and exports treat both alike; it computes the
second stage on the U4SSC engine's dense layout (:mod:`~kpi_app.scoring.composite_dense`, the
same means, tested equal). The
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

from kpi_app.scoring.aggregate import aggregate_groups, group_codes
from kpi_app.scoring.bands import NO_BAND, band_of, score_band_labels
from kpi_app.scoring.composite_dense import ASSESSABLE, ItemCells, dense_cells, level_frames
from kpi_app.scoring.confidence import quality_factors
from kpi_app.scoring.frame import uncopied_columns
from kpi_app.scoring.layout import Layout
from kpi_app.scoring.normalise import (
    HIGHER_BETTER,
    LOWER_BETTER,
    OTHER,
    PEER_GROUP_NORMALISERS,
    TARGET_VALUE,
    capped_share_by_mask,
    distance_to_target,
    normaliser,
    points_score,
)
from kpi_app.scoring.percent import DIRECTIONS
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
#: The coverage counts of every level frame (core and advanced apart).
COUNT_COLUMNS: Final = ("scored_core", "total_core", "scored_advanced", "total_advanced")

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
    items: pd.DataFrame,
    spec: ScoringSpec,
    *,
    percent: FloatArray | None = None,
    checked: ValidatedItems | None = None,
) -> pd.DataFrame:
    """Add ``score`` (0..100, NaN = not scored), ``assessable`` and ``item_weight`` to items.

    Each item (KPI or data point) is normalised on its own, with the method the spec assigns
    to it and all its rows as the peer group. The group key columns come back as categoricals.
    ``percent`` is the % of target of every row and ``checked`` the frame's validation
    (:func:`~kpi_app.scoring.u4ssc.validated_inputs`) when the caller has them; without
    ``checked`` the frame is validated here (``ScoringInputError`` on a broken contract).
    """
    return _normalise(items, spec, percent, checked)[0]


def _normalise(
    items: pd.DataFrame,
    spec: ScoringSpec,
    percent: FloatArray | None,
    checked: ValidatedItems | None,
) -> tuple[pd.DataFrame, ItemCells]:
    """:func:`normalise_items`, and what it laid out in the dense matrix on the way."""
    items = _encode_group_keys(items)
    if checked is None:
        checked = validated_inputs(items)
    if percent is None:
        percent = checked.percent
    layout = checked.layout
    assessable = ~np.isnan(checked.targets)
    assessable &= checked.directions != DIRECTION_CODES[OTHER]
    cell_flags = dense_cells(layout, _row_flags(checked, assessable), np.uint8(0))
    simple = _simple_items(cell_flags)
    from_percent: dict[str, list[int]] = {}
    one_by_one: list[tuple[Normalisation, int]] = []
    for item, (code, data_point) in enumerate(layout.item_keys):
        method = spec.normalisation_for(code, data_point)
        if simple[item] and _reads_percent(method):
            # Scored below for all such items at once, row by row (no per-item gathers).
            from_percent.setdefault(method.name, []).append(item)
        else:
            one_by_one.append((method, item))
    scores = np.full(len(items), np.nan)
    if from_percent:
        # First: the items scored one by one then overwrite every row of their own.
        _scores_from_percent(scores, from_percent, layout, assessable, percent, checked)
    cell_scores = (
        _scores_one_by_one(scores, one_by_one, layout, cell_flags, checked, items)
        if one_by_one
        else None
    )
    scored = items.assign(
        **uncopied_columns(
            items.index,
            score=scores,
            assessable=assessable,
            item_weight=_item_weights(items, spec),  # a fresh array, never the caller's column
        )
    )
    return scored, ItemCells(flags=cell_flags, scores=cell_scores)


#: Integer code of each direction name (as :func:`~kpi_app.scoring.percent.encode_directions`).
DIRECTION_CODES: Final = {name: code for code, name in enumerate(DIRECTIONS)}
#: Absolute methods computed from the shared % of target (no parameters, see _reads_percent).
_PERCENT_METHODS: Final = frozenset({"distance_to_target", "u4ssc_points"})
#: Bits of a row's flag byte (:func:`_row_flags`); the direction code fills the bits above.
_YES_NO: Final = np.uint8(2)
_DIRECTION_SHIFT: Final = np.uint8(2)


def _reads_percent(method: Normalisation) -> bool:
    """Whether a method's item scores can come from the rows' own % of target.

    That is what :func:`_normalise_item` computes for a parameter-free absolute method on an
    item without yes/no rows (those are scored on the answer) whose assessable rows share one
    direction (see :func:`_simple_items`).
    """
    return method.name in _PERCENT_METHODS and not method.params


def _row_flags(checked: ValidatedItems, assessable: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """One byte per row: assessable (:data:`ASSESSABLE`), yes/no (:data:`_YES_NO`) and the
    direction code above them; scattered once into the matrix, read by every later step."""
    flags = checked.directions.astype(np.uint8) << _DIRECTION_SHIFT
    flags |= checked.boolean.view(np.uint8) << np.uint8(1)
    flags |= assessable.view(np.uint8)
    return flags


def _simple_items(cell_flags: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Per item (layout order): no yes/no row and one direction among its assessable rows.

    An item is simple when all its assessable cells hold the same flag byte and that byte
    has no yes/no bit: its largest byte equals its smallest nonzero one.
    """
    tag = np.where(cell_flags & ASSESSABLE, cell_flags, np.uint8(0))
    largest = tag.max(axis=1, initial=0)
    tag -= np.uint8(1)  # empty and unassessable cells wrap round to 255, above every byte
    smallest_less_one = tag.min(axis=1, initial=255)
    one_flag = (largest == 0) | (smallest_less_one == largest - np.uint8(1))
    return np.asarray(one_flag & ((largest & _YES_NO) == 0), dtype=np.bool_)


def _scores_from_percent(
    scores: FloatArray,
    methods: dict[str, list[int]],
    layout: Layout,
    assessable: npt.NDArray[np.bool_],
    percent: FloatArray,
    checked: ValidatedItems,
) -> None:
    """Score the assessable rows of the given items (per method) from their % of target, in
    place; with one method, every assessable row (the other items' rows are written later).

    Row by row, what :func:`~kpi_app.scoring.normalise.distance_to_target` (and
    ``u4ssc_points``) computes item by item: every step is elementwise.
    """
    directions = checked.directions
    share = capped_share_by_mask(
        percent.copy(),
        checked.values,
        checked.targets,
        directions == DIRECTION_CODES[HIGHER_BETTER],
        directions == DIRECTION_CODES[LOWER_BETTER],
        directions == DIRECTION_CODES[TARGET_VALUE],
    )
    if len(methods) == 1:  # the usual case: no per-row item lookup
        (name,) = methods
        result = points_score(share) if name == "u4ssc_points" else share
        np.copyto(scores, result, where=assessable)
        return
    item_of_row = layout.row_cell // layout.n_entities
    for name, chosen_items in methods.items():
        chosen = np.zeros(layout.n_items, dtype=np.bool_)
        chosen[chosen_items] = True
        rows = chosen[item_of_row] & assessable
        result = points_score(share) if name == "u4ssc_points" else share
        np.copyto(scores, result, where=rows)


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


def _scores_one_by_one(
    scores: FloatArray,
    chosen: list[tuple[Normalisation, int]],
    layout: Layout,
    cell_flags: npt.NDArray[np.uint8],
    checked: ValidatedItems,
    items: pd.DataFrame,
) -> FloatArray | None:
    """Write every row of the chosen items: its item's method on the item's assessable rows
    (in city-year order), NaN on its other rows. Returns the (item × city-year) score matrix
    when every item was chosen, else None.

    The chosen items' values and targets are first scattered into (item × city-year)
    matrices, so that an item's rows are one contiguous matrix row: gathering ten thousand
    rows scattered through the frame for every item costs more than the scatters. When only
    some items are chosen (the yes/no items of an absolute method), only their rows are.
    """
    n_entities = layout.n_entities
    every = len(chosen) == layout.n_items  # then chosen holds every item, in layout order
    rows: npt.NDArray[np.intp] | None = None
    cells = layout.row_cell
    if not every:
        position = np.full(layout.n_items, -1, dtype=np.int64)
        position[[item for _, item in chosen]] = np.arange(len(chosen))
        item_of_row = layout.row_cell // n_entities
        slot = position[item_of_row]
        rows = np.flatnonzero(slot >= 0)
        # The row's cell in the matrix of the chosen items only.
        cells = layout.row_cell[rows] + (slot[rows] - item_of_row[rows]) * n_entities
    shape = (len(chosen), n_entities)

    def chosen_cells(column: FloatArray) -> FloatArray:
        matrix = np.full(shape[0] * shape[1], np.nan)
        matrix[cells] = column if rows is None else column[rows]
        return matrix.reshape(shape)

    cell_values, cell_targets = chosen_cells(checked.values), chosen_cells(checked.targets)
    cell_scores = np.full(shape, np.nan)
    slots: npt.NDArray[np.intp] | None = None
    for place, (method, item) in enumerate(chosen):
        row_flags = cell_flags[item]
        counted = (row_flags & ASSESSABLE).astype(np.bool_)
        if not counted.any():
            continue
        row_flags = row_flags[counted]
        item_rows: npt.NDArray[np.intp] | None = None
        if method.name == "goalposts" and "worst" not in method.params:
            slots = _slot_matrix(shape, cells, rows) if slots is None else slots
            item_rows = slots[place][counted]
        cell_scores[place][counted] = _normalise_by_direction(
            method,
            cell_values[place][counted],
            cell_targets[place][counted],
            row_flags >> _DIRECTION_SHIFT,
            (row_flags & _YES_NO).astype(np.bool_),
            items,
            item_rows,
        )
    if rows is None:
        np.take(cell_scores.ravel(), cells, out=scores)
        return cell_scores
    scores[rows] = cell_scores.ravel()[cells]
    return None


def _slot_matrix(
    shape: tuple[int, int], cells: npt.NDArray[np.int64], rows: npt.NDArray[np.intp] | None
) -> npt.NDArray[np.intp]:
    """The row number of each cell of the chosen items' matrix, -1 where no row fills it."""
    slot = np.full(shape[0] * shape[1], -1, dtype=np.intp)
    slot[cells] = np.arange(cells.size, dtype=np.intp) if rows is None else rows
    return slot.reshape(shape)


def _normalise_by_direction(
    method: Normalisation,
    values: FloatArray,
    targets: FloatArray,
    directions: npt.NDArray[np.uint8],
    boolean: npt.NDArray[np.bool_],
    items: pd.DataFrame,
    rows: npt.NDArray[np.intp] | None,
) -> FloatArray:
    """One item's scores, its rows of each direction (a code per row) scored on their own.

    The rows of an item disagree on the direction when cities published under benchmark
    sets that orient it differently are scored together: an absolute method then scores
    each row in its own direction, as the U4SSC rule does, and a peer-group method ranks
    the rows of one direction among themselves (docs/scoring.md).
    """
    first = directions[0]
    if (directions == first).all():  # the usual case: the catalogue's one direction
        return _normalise_item(
            method, values, targets, DIRECTIONS[int(first)], boolean, items, rows
        )
    scores = np.full(values.size, np.nan)
    for code in np.unique(directions):
        part = directions == code
        scores[part] = _normalise_item(
            method,
            values[part],
            targets[part],
            DIRECTIONS[int(code)],
            boolean[part],
            items,
            None if rows is None else rows[part],
        )
    return scores


def _normalise_item(
    method: Normalisation,
    values: FloatArray,
    targets: FloatArray,
    direction: str,
    boolean: npt.NDArray[np.bool_],
    items: pd.DataFrame,
    rows: npt.NDArray[np.intp] | None,
) -> FloatArray:
    """One item's scores; ``rows`` (its rows in ``items``) only for goalposts without a
    ``worst`` parameter, which read the plausible range of the item's rows."""
    if boolean.all():
        return _score_yes_no(method, values, targets)
    params: dict[str, Any] = dict(method.params)
    if method.name == "goalposts" and "worst" not in params and rows is not None:
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


def _item_weights(items: pd.DataFrame, spec: ScoringSpec) -> FloatArray:
    """Spec item weight (by ``code|data_point``, then by code), else the frame's, else 1;
    times the data-quality factor when the spec down-weights low-quality items."""
    weights = _spec_item_weights(items, spec)
    if spec.down_weight_low_quality:
        return weights * quality_factors(items)
    return weights


def _spec_item_weights(items: pd.DataFrame, spec: ScoringSpec) -> FloatArray:
    base = (
        items["weight"].to_numpy(dtype=np.float64, na_value=1.0, copy=True)
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
    return _aggregate(scored_items, spec, category_groups, _parent_ids(scored_items))[0]


def _aggregate(
    scored_items: pd.DataFrame,
    spec: ScoringSpec,
    category_groups: tuple[npt.NDArray[np.int64], pd.DataFrame] | None,
    parents: dict[str, Mapping[str, str]],
) -> tuple[dict[str, pd.DataFrame], dict[str, npt.NDArray[np.int64]]]:
    """:func:`aggregate_levels`, plus for each level above the categories the row of its
    frame that each row of the level below falls in (its parent group)."""
    # ``item_weight`` already holds the frame's own ``weight`` column where it had one
    # (``_item_weights``); dropping that column keeps the renamed one the only ``weight``.
    children = scored_items.drop(columns="weight", errors="ignore").rename(
        columns={"item_weight": "weight"}
    )
    frames: dict[str, pd.DataFrame] = {}
    parent_rows: dict[str, npt.NDArray[np.int64]] = {}
    groups = category_groups
    levels = [*GROUP_LEVELS, ("overall", None, "overall")]
    for (frame_name, id_column, _), (next_name, next_id, _) in itertools.pairwise(
        [*levels, ("", None, "")]
    ):
        keys = [*ENTITY_KEYS] if id_column is None else [*ENTITY_KEYS, id_column]
        frame = aggregate_groups(
            children,
            keys,
            method=spec.aggregation_for(id_column or "overall"),
            min_coverage=spec.min_coverage,
            groups=groups,
        )
        frames[frame_name] = frame
        if not next_name:
            break
        assert id_column is not None
        children = _as_children(frame, id_column, spec, parents)
        # The grouping aggregate_groups would compute itself, kept to roll the counts up.
        groups = group_codes(
            children, [*ENTITY_KEYS] if next_id is None else [*ENTITY_KEYS, next_id]
        )
        parent_rows[next_name] = groups[0]
    return frames, parent_rows


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
            # A group with nothing assessable inside is not a missing answer one level up:
            # exactly the groups whose weight share is NaN (no assessable weight), which is
            # cheaper to test than the reason text.
            "assessable": groups["weight_share"].notna(),
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


def _result_items(
    items: pd.DataFrame, scored_items: pd.DataFrame, percent: FloatArray
) -> pd.DataFrame:
    """The caller's items (dtypes untouched) plus the item score and display columns.

    ``percent`` is the items' % of target (:func:`percent_of_target` of the frame).
    """
    # ``scored_items`` is this call's own frame: its fresh score and weight columns move
    # into the result uncopied (pandas copies a bare array it is given; uncopied_columns not).
    scores = scored_items["score"].to_numpy()
    band = band_of(scores)
    n_rows = len(band)
    return items.assign(
        **uncopied_columns(
            items.index,
            score=scores,
            item_weight=scored_items["item_weight"].to_numpy(),
            percent_of_target=percent,
            # Points belong to the U4SSC rule only; the item's display band comes from its score.
            points=pd.arrays.IntegerArray(np.zeros(n_rows, dtype=np.int8), np.ones(n_rows, bool)),
            band=pd.arrays.IntegerArray(band, band == NO_BAND),
            band_label=score_band_labels(band),
            scored=~np.isnan(scores),
        )
    )


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
    scored_items, cells = _normalise(items, resolved, None, checked)
    frames = level_frames(scored_items, resolved, checked, cells)
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

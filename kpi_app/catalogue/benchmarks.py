"""Benchmark sets: named, versioned targets for the catalogue's items, with provenance.

U4SSC does not publish its official benchmarks, so targets are data: each set is a YAML
file in ``indicators/benchmarks/`` whose entries give, per KPI or data point, a numeric
``target`` with its ``source`` and ``rationale``, or ``target: null`` with a rationale
saying why the item is deliberately not scored. A coordinator can add an official set as
another file. Format: ``indicators/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpi_app.catalogue.codes import normalise_code
from kpi_app.catalogue.errors import CatalogueError, ProblemLog
from kpi_app.catalogue.model import Catalogue, Direction, Item, text
from kpi_app.catalogue.yaml_source import Fields, display_name, read_yaml

BENCHMARKS_FOLDER = "benchmarks"
SET_FIELDS = ("id", "name", "version", "description", "benchmarks")
ENTRY_FIELDS = ("code", "data_point", "target", "direction", "source", "rationale")
DIRECTIONS = tuple(direction.value for direction in Direction)
_SET_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
FRAME_COLUMNS = ["code", "data_point", "target", "direction", "source", "rationale"]


@dataclass(frozen=True, slots=True)
class Benchmark:
    """The target for one item; ``target`` None means "deliberately not scored"."""

    code: str
    target: float | None
    data_point: str = ""
    direction: Direction | None = None  # overrides the item's direction when set
    source: str | None = None
    rationale: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(code, data_point)``, matching :attr:`Item.key`."""
        return (self.code, self.data_point)

    def direction_for(self, item: Item) -> Direction:
        """The direction to score ``item`` with: this entry's override or the item's own."""
        return self.direction or item.direction


@dataclass(frozen=True, eq=False)
class BenchmarkSet:
    """A named, versioned set of benchmarks loaded from one YAML file."""

    id: str
    name: dict[str, str]
    version: str
    description: str
    benchmarks: tuple[Benchmark, ...]
    path: Path | None = None  # None for a set imported into the database
    origin: str = "file"  # "file" (indicators/benchmarks/) or "imported"
    _by_key: dict[tuple[str, str], Benchmark] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {entry.key: entry for entry in self.benchmarks})

    def label(self, lang: str = "en") -> str:
        """The set's name in ``lang`` (English fallback)."""
        return text(self.name, lang)

    def benchmark(self, code: str, data_point: str = "") -> Benchmark | None:
        """The entry for a KPI code (any spelling) and data point, or None if absent."""
        return self._by_key.get((normalise_code(code), data_point))

    def target(self, code: str, data_point: str = "") -> float | None:
        """The numeric target, or None when the set has no target for the item."""
        entry = self.benchmark(code, data_point)
        return entry.target if entry is not None else None

    def to_frame(self) -> pd.DataFrame:
        """One row per entry: code, data_point, target, direction, source, rationale."""
        rows = [
            {
                "code": entry.code,
                "data_point": entry.data_point,
                "target": entry.target,
                "direction": str(entry.direction) if entry.direction else None,
                "source": entry.source,
                "rationale": entry.rationale,
            }
            for entry in self.benchmarks
        ]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def load_benchmark_set(path: Path | str, catalogue: Catalogue | None = None) -> BenchmarkSet:
    """Load one benchmark set file.

    Without ``catalogue`` only the file's own structure is checked (fields, numeric
    targets, duplicates). With it, every entry must also name a known KPI and data point.
    Completeness (an entry for every scored item) is checked by :func:`load_benchmark_sets`.
    Raises CatalogueError listing every problem.
    """
    log = ProblemLog()
    loaded, _mentioned = _parse_set(Path(path), catalogue, log)
    log.raise_if_any()
    assert loaded is not None  # a None result always comes with a logged problem
    return loaded


def load_benchmark_sets(
    catalogue: Catalogue, directory: Path | str | None = None
) -> dict[str, BenchmarkSet]:
    """Load every ``*.yaml`` set in ``directory`` (default ``<catalogue dir>/benchmarks``).

    Each set is validated against ``catalogue`` and must cover every scored item, either
    with a target or with ``target: null`` and a rationale. Returns sets by id, in file
    name order; an absent default folder gives an empty dict. Raises CatalogueError
    listing every problem in every file.
    """
    folder = Path(directory) if directory is not None else catalogue.path / BENCHMARKS_FOLDER
    if not folder.is_dir():
        if directory is None:
            return {}
        raise CatalogueError([f"{display_name(folder)}: benchmark folder not found"])
    log = ProblemLog()
    sets: dict[str, BenchmarkSet] = {}
    for path in sorted(folder.glob("*.yaml")):
        loaded, mentioned = _parse_set(path, catalogue, log)
        if loaded is None:
            continue
        _check_complete(catalogue, mentioned, display_name(path), log)
        if loaded.id in sets:
            other_path = sets[loaded.id].path
            other = display_name(other_path) if other_path else loaded.id
            log.add(
                display_name(path), "", "id", f"duplicate set id {loaded.id!r} (also {other})", None
            )
        sets[loaded.id] = loaded
    log.raise_if_any()
    return sets


_Key = tuple[str, str]


def _parse_set(
    path: Path, catalogue: Catalogue | None, log: ProblemLog
) -> tuple[BenchmarkSet | None, set[_Key]]:
    """The set (None when unusable) and the item keys its entries mention, valid or not."""
    name = display_name(path)
    raw = read_yaml(path, log)
    if raw is None:
        return None, set()  # unreadable or empty, already reported
    return _parse_raw(raw, name, path, catalogue, log)


def _parse_raw(
    raw: object, name: str, path: Path | None, catalogue: Catalogue | None, log: ProblemLog
) -> tuple[BenchmarkSet | None, set[_Key]]:
    head = Fields(raw, log=log, file=name, subject="", allowed=SET_FIELDS)
    set_id = head.text("id")
    if set_id is not None and not _SET_ID.fullmatch(set_id):
        head.problem("id", f"must be a lower-case slug like 'indicative-2026', got {set_id!r}")
    languages = catalogue.languages if catalogue is not None else None
    title = head.translations("name", languages)
    version = head.text("version")
    description = head.text("description")
    raw_entries = head.mapping_list("benchmarks")
    entries = _parse_entries(raw_entries, catalogue, name, log)
    mentioned = {key for key in map(_raw_key, raw_entries) if key is not None}
    if not head.ok or set_id is None or version is None or description is None:
        return None, mentioned
    loaded = BenchmarkSet(
        id=set_id,
        name=title,
        version=version,
        description=description,
        benchmarks=tuple(entries),
        path=path,
    )
    return loaded, mentioned


def _raw_key(raw: object) -> _Key | None:
    """The item an entry is meant for, read leniently (the entry may have other faults)."""
    code = raw.get("code") if isinstance(raw, dict) else None
    point = raw.get("data_point") if isinstance(raw, dict) else None
    if not isinstance(code, str):
        return None
    try:
        return (normalise_code(code), point if isinstance(point, str) else "")
    except ValueError:
        return None


def _parse_entries(
    raw_entries: Iterable[object], catalogue: Catalogue | None, file: str, log: ProblemLog
) -> list[Benchmark]:
    entries: dict[tuple[str, str], Benchmark] = {}
    for position, raw in enumerate(raw_entries, start=1):
        entry = _parse_entry(raw, position, catalogue, file, log)
        if entry is None:
            continue
        if entry.key in entries:
            subject = entry.code + (f" [{entry.data_point}]" if entry.data_point else "")
            log.add(file, subject, "code", "duplicate benchmark entry", _line(raw))
            continue
        entries[entry.key] = entry
    return list(entries.values())


def _line(raw: object) -> int | None:
    return getattr(raw, "line", None)


def _entry_subject(raw: object, position: int) -> str:
    """How an entry is named in messages: its code (and data point) or its position."""
    code = raw.get("code") if isinstance(raw, dict) else None
    point = raw.get("data_point") if isinstance(raw, dict) else None
    try:
        subject = normalise_code(code) if isinstance(code, str) else f"benchmark #{position}"
    except ValueError:
        subject = f"benchmark #{position} ({code!r})"
    return f"{subject} [{point}]" if isinstance(point, str) and point else subject


def _parse_entry(
    raw: object, position: int, catalogue: Catalogue | None, file: str, log: ProblemLog
) -> Benchmark | None:
    fields = Fields(
        raw, log=log, file=file, subject=_entry_subject(raw, position), allowed=ENTRY_FIELDS
    )
    code = _entry_code(fields)
    data_point = fields.text("data_point", required=False) or ""
    target = _entry_target(fields)
    direction = fields.choice("direction", DIRECTIONS, required=False)
    source = fields.text("source", required=False)
    rationale = fields.text("rationale", required=False)
    if target is not None and source is None and fields.raw.get("source") is None:
        fields.problem(
            "source", "required when a target is given (where does the value come from?)"
        )
    if fields.has("target") and fields.raw.get("target") is None and rationale is None:
        fields.problem("rationale", "required when target is null (say why there is no target)")
    if code is not None and catalogue is not None:
        _check_against_catalogue(fields, catalogue, code, data_point, target, direction)
    if not fields.ok or code is None:
        return None
    return Benchmark(
        code=code,
        target=target,
        data_point=data_point,
        direction=Direction(direction) if direction else None,
        source=source,
        rationale=rationale,
    )


def _entry_code(fields: Fields) -> str | None:
    raw = fields.text("code")
    if raw is None:
        return None
    try:
        return normalise_code(raw)
    except ValueError as exc:
        fields.problem("code", str(exc))
        return None


def _entry_target(fields: Fields) -> float | None:
    if not fields.has("target"):
        fields.problem("target", "missing required field (a number, or null for no benchmark)")
        return None
    return fields.number("target")


def _check_against_catalogue(
    fields: Fields,
    catalogue: Catalogue,
    code: str,
    data_point: str,
    target: float | None,
    direction: str | None,
) -> None:
    """Entry must name a real item, and its target must make sense for that item."""
    if code not in catalogue:
        fields.problem("code", "unknown KPI code (not in the catalogue)")
        return
    try:
        item = catalogue.item(code, data_point)
    except KeyError as exc:
        fields.problem("data_point", str(exc.args[0]))
        return
    effective = Direction(direction) if direction else item.direction
    if target is None:
        return
    if effective is Direction.OTHER:
        fields.problem(
            "direction",
            "the item is not scored (direction other): add direction: or use target: null",
        )
    if item.is_boolean and target not in (0.0, 1.0):
        fields.problem("target", f"must be 1 (yes) or 0 (no) for a yes/no item, got {target:g}")
    if effective is Direction.TARGET_VALUE and target == 0:
        fields.problem("target", "must be non-zero for a two-sided (target_value) item")


def _check_complete(catalogue: Catalogue, mentioned: set[_Key], file: str, log: ProblemLog) -> None:
    """Every scored item needs an entry: a target, or null with a rationale.

    An entry that exists but is faulty counts as present: its own problem is reported
    already, and a second "missing" message would only mislead.
    """
    for item in catalogue.items():
        if item.direction is Direction.OTHER:
            continue  # not scored unless an entry says otherwise, so no entry is required
        if item.key not in mentioned:
            subject = item.code + (f" [{item.data_point}]" if item.data_point else "")
            log.add(
                file,
                subject,
                "target",
                "no benchmark entry (add a target, or target: null with a rationale)",
                None,
            )

"""Benchmark sets from uploaded files (YAML, CSV, xlsx), validated like the built-in sets.

Every format goes through the same checks as ``indicators/benchmarks/*.yaml``: known items
only, numeric targets, a ``source`` for every target, a ``rationale`` for every ``null``
target, and an entry for every scored item of the catalogue. CSV and xlsx files carry one
row per entry (columns ``code, data_point, target, direction, source, rationale``); the set's
id and version come from the caller (the command's options or the admin form) or, in an
xlsx workbook, from an optional sheet named ``set`` with ``field | value`` rows.

Also here: the comparison of two sets' entries (:func:`diff_entries`), shown on the admin
page and before a republication. Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kpi_app.catalogue.benchmarks import (
    ENTRY_FIELDS,
    Benchmark,
    BenchmarkSet,
    _check_complete,
    _parse_raw,
)
from kpi_app.catalogue.errors import CatalogueError, ProblemLog
from kpi_app.catalogue.model import Catalogue, Direction
from kpi_app.catalogue.yaml_source import _LineLoader

FORMATS = ("yaml", "csv", "xlsx")
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".xlsx": "xlsx"}
MAX_BYTES = 2_000_000


def file_format(filename: str) -> str:
    """``yaml``, ``csv`` or ``xlsx`` from the file name; CatalogueError for anything else."""
    kind = _SUFFIXES.get(Path(filename).suffix.lower())
    if kind is None:
        raise CatalogueError([f"{filename}: unsupported file type; use .yaml, .yml, .csv or .xlsx"])
    return kind


def parse_benchmark_file(
    data: bytes,
    filename: str,
    catalogue: Catalogue,
    *,
    overrides: Mapping[str, str | None] | None = None,
) -> BenchmarkSet:
    """Parse and validate an uploaded set. ``overrides`` (id, version, name, description)
    fill or replace the set's own fields. Raises CatalogueError listing every problem."""
    if len(data) > MAX_BYTES:
        raise CatalogueError([f"{filename}: file too large (over {MAX_BYTES // 1000} kB)"])
    kind = file_format(filename)
    raw = _read(kind, data, filename)
    given = {key: value for key, value in (overrides or {}).items() if value}
    head: dict[str, Any] = {key: value for key, value in raw.items() if key != "benchmarks"}
    head.update(given)
    if "name" in head and isinstance(head["name"], str):
        head["name"] = {"en": head["name"]}
    if "name" not in head and "id" in head:
        head["name"] = {"en": str(head["id"])}
    if "description" not in head:
        head["description"] = f"Imported from {Path(filename).name}"
    missing = [key for key in ("id", "version") if key not in head]
    if missing:
        raise CatalogueError(
            [
                f"{filename}: the set has no {' or '.join(missing)}; give "
                + " and ".join(f"--{key}" for key in missing)
                + " (or the form's fields)"
                + (", or a 'set' sheet in the workbook" if kind == "xlsx" else "")
            ]
        )
    head["version"] = str(head["version"])
    head["benchmarks"] = raw.get("benchmarks", [])
    log = ProblemLog()
    loaded, mentioned = _parse_raw(head, Path(filename).name, None, catalogue, log)
    _check_complete(catalogue, mentioned, Path(filename).name, log)
    log.raise_if_any()
    assert loaded is not None
    return BenchmarkSet(
        id=loaded.id,
        name=loaded.name,
        version=loaded.version,
        description=loaded.description,
        benchmarks=loaded.benchmarks,
        path=None,
        origin="imported",
    )


def _read(kind: str, data: bytes, filename: str) -> dict[str, Any]:
    if kind == "xlsx":
        return _read_xlsx(data, filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogueError([f"{filename}: not UTF-8 text"]) from None
    if kind == "csv":
        return {"benchmarks": _rows_to_entries(_csv_rows(text, filename), filename)}
    try:
        loaded = yaml.load(text, Loader=_LineLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise CatalogueError([f"{filename}: YAML syntax error: {exc}"]) from None
    if not isinstance(loaded, dict):
        raise CatalogueError([f"{filename}: expected a mapping with id, version, benchmarks"])
    return dict(loaded)


def _csv_rows(text: str, filename: str) -> list[dict[str, Any]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    return [dict(row) for row in reader]


def _read_xlsx(data: bytes, filename: str) -> dict[str, Any]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise CatalogueError([f"{filename}: not a readable xlsx workbook ({exc})"]) from None
    names = {name.lower(): name for name in book.sheetnames}
    entries_sheet = book[names.get("benchmarks", book.sheetnames[0])]
    rows = list(entries_sheet.iter_rows(values_only=True))
    result: dict[str, Any] = {}
    if "set" in names:
        for row in book[names["set"]].iter_rows(values_only=True):
            if row and row[0] is not None and len(row) > 1 and row[1] is not None:
                key = str(row[0]).strip().lower()
                if key in ("id", "version", "name", "description"):
                    result[key] = str(row[1]).strip()
    if not rows:
        raise CatalogueError([f"{filename}: the benchmarks sheet is empty"])
    header = [str(cell).strip().lower() if cell is not None else "" for cell in rows[0]]
    records = [
        dict(zip(header, row, strict=False))
        for row in rows[1:]
        if any(cell not in (None, "") for cell in row)
    ]
    result["benchmarks"] = _rows_to_entries(records, filename)
    return result


def _rows_to_entries(rows: Sequence[Mapping[str, Any]], filename: str) -> list[dict[str, Any]]:
    """Table rows as the YAML entries the validator reads (empty cells = absent)."""
    if rows:
        columns = {str(key).strip().lower() for key in rows[0] if key is not None}
        unknown = sorted(columns - set(ENTRY_FIELDS) - {""})
        problems = []
        if unknown:
            problems.append(
                f"{filename}: unknown column(s) {', '.join(unknown)}; "
                f"expected {', '.join(ENTRY_FIELDS)}"
            )
        for needed in ("code", "target"):
            if needed not in columns:
                problems.append(f"{filename}: missing column {needed!r}")
        if problems:
            raise CatalogueError(problems)
    entries = []
    for row in rows:
        entry: dict[str, Any] = {}
        for key, cell in row.items():
            name = str(key).strip().lower() if key is not None else ""
            if name not in ENTRY_FIELDS:
                continue
            value = cell.strip() if isinstance(cell, str) else cell
            if name == "target":
                entry["target"] = _number(value)
            elif value not in (None, ""):
                entry[name] = str(value) if not isinstance(value, str) else value
        entries.append(entry)
    return entries


def _number(value: Any) -> Any:
    """A cell as a number; empty means null (no target); text that is no number stays text,
    so the validator names the cell."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    try:
        return float(str(value))
    except ValueError:
        return value


# --- storage form and fingerprints -----------------------------------------------------


def entry_records(benchmarks: Iterable[Benchmark]) -> list[dict[str, Any]]:
    """Entries as JSON-ready dicts (what the database and snapshots store)."""
    return [
        {
            "code": entry.code,
            "data_point": entry.data_point,
            "target": entry.target,
            "direction": str(entry.direction) if entry.direction else None,
            "source": entry.source,
            "rationale": entry.rationale,
        }
        for entry in benchmarks
    ]


def entries_from_records(records: Iterable[Mapping[str, Any]]) -> tuple[Benchmark, ...]:
    return tuple(
        Benchmark(
            code=str(record["code"]),
            data_point=str(record.get("data_point") or ""),
            target=None if record.get("target") is None else float(record["target"]),
            direction=Direction(record["direction"]) if record.get("direction") else None,
            source=record.get("source"),
            rationale=record.get("rationale"),
        )
        for record in records
    )


def set_from_record(
    set_id: str,
    version: str,
    name: Mapping[str, str],
    description: str,
    entries: Iterable[Mapping[str, Any]],
) -> BenchmarkSet:
    return BenchmarkSet(
        id=set_id,
        name=dict(name),
        version=version,
        description=description,
        benchmarks=entries_from_records(entries),
        path=None,
        origin="imported",
    )


def entries_hash(benchmarks: Iterable[Benchmark]) -> str:
    """A hash of everything a score reads from a set: targets and direction overrides."""
    content = [
        [b.code, b.data_point, b.target, None if b.direction is None else str(b.direction)]
        for b in benchmarks
    ]
    return hashlib.sha256(json.dumps(content).encode("utf-8")).hexdigest()[:16]


def content_hash(benchmark_set: BenchmarkSet) -> str:
    """A hash of the whole set as stored (entries with sources and rationales, name, text)."""
    content = {
        "name": benchmark_set.name,
        "description": benchmark_set.description,
        "entries": entry_records(benchmark_set.benchmarks),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- differences ---------------------------------------------------------------------------


@dataclass
class EntryDiff:
    """What changed from ``old`` to ``new`` entries (targets, directions, items)."""

    changed: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.changed or self.added or self.removed)


def _effective(record: Mapping[str, Any]) -> tuple[Any, Any]:
    target = record.get("target")
    return (None if target is None else float(target), record.get("direction") or None)


def diff_entries(old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]) -> EntryDiff:
    """Entries (dicts with code, data_point, target, direction) compared by item key."""
    before = {(str(r["code"]), str(r.get("data_point") or "")): r for r in old}
    after = {(str(r["code"]), str(r.get("data_point") or "")): r for r in new}
    result = EntryDiff()
    for key in sorted(before.keys() | after.keys()):
        code, point = key
        if key not in after:
            result.removed.append({"code": code, "data_point": point, **_pair(before[key])})
        elif key not in before:
            result.added.append({"code": code, "data_point": point, **_pair(after[key])})
        else:
            old_target, old_direction = _effective(before[key])
            new_target, new_direction = _effective(after[key])
            if old_target != new_target or old_direction != new_direction:
                result.changed.append(
                    {
                        "code": code,
                        "data_point": point,
                        "old_target": old_target,
                        "new_target": new_target,
                        "old_direction": old_direction,
                        "new_direction": new_direction,
                    }
                )
    return result


def _pair(record: Mapping[str, Any]) -> dict[str, Any]:
    target, direction = _effective(record)
    return {"target": target, "direction": direction}

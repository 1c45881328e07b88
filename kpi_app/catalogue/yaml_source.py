"""Reading the catalogue's YAML files with line numbers and field-level checks.

Two jobs, both about turning hand-edited YAML into precise error messages:

* :func:`read_yaml` parses a file into plain Python data whose mappings remember the line
  they start on (:class:`LineDict`), rejects duplicate keys (PyYAML would silently keep the
  last one, hiding an editing mistake) and reports syntax errors with file and line
  instead of a stack trace.
* :class:`Fields` reads the typed fields of one mapping (a KPI, a data point, a benchmark
  entry) and records a problem, naming file, subject and field, for every missing,
  mistyped, out-of-vocabulary or unknown field.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from kpi_app.catalogue.errors import ProblemLog

MISSING = "missing required field"


class LineDict(dict[Any, Any]):
    """A mapping read from YAML that remembers the (1-based) line it starts on."""

    line: int | None = None


# The C parser (libyaml) is several times faster when PyYAML was built with it; the
# constructors below are Python either way, so line tracking works with both.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):
    """Safe loader that builds LineDicts and refuses duplicate keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        mapping: dict[Hashable, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _construct_line_dict(loader: _LineLoader, node: MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_dict)


def display_name(path: Path) -> str:
    """How a file is named in messages: its folder and name, e.g. ``indicators/economy.yaml``.

    Only the last two parts are shown so that messages are the same on every machine and
    in temporary test copies of the catalogue.
    """
    return f"{path.parent.name}/{path.name}"


def read_yaml(path: Path, log: ProblemLog) -> object | None:
    """Parse one YAML file; on failure record the problem (with line) and return None.

    An empty file is a problem too: it would otherwise drop a whole dimension silently.
    """
    name = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.add(name, "", "", "file not found", None)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.add(name, "", "", f"cannot read file ({exc})", None)
        return None
    try:
        data: object = yaml.load(text, Loader=_LineLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        log.add(name, "", "", _syntax_message(exc, text), None)
        return None
    except yaml.YAMLError as exc:
        log.add(name, "", "", f"YAML syntax error: {exc}", None)
        return None
    if data is None:
        log.add(name, "", "", "file is empty", None)
    return data


def _syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    """Where the parser stopped, why, and the offending line as written.

    Quoting the line matters: it usually shows the KPI code and field being edited, e.g.
    an unquoted ``code: EC: ICT: ICT: 1C``.
    """
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return f"YAML syntax error: {exc.problem or exc}"
    lines = text.splitlines()
    source = lines[mark.line].strip() if mark.line < len(lines) else ""
    quoted = f": {source!r}" if source else ""
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    return f"YAML syntax error at {where}: {exc.problem or exc}{quoted}"


def line_of(data: object) -> int | None:
    """The line a mapping starts on, when it was read by :func:`read_yaml`."""
    return data.line if isinstance(data, LineDict) else None


def is_number(value: object) -> bool:
    """True for ints and floats; YAML booleans are ints in Python and are excluded."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """Typed access to one YAML mapping, recording a problem for every bad field.

    Getters return None when a field is missing or invalid, after logging why, so callers
    can keep checking the rest of the file and only build objects from clean input.
    """

    def __init__(
        self,
        raw: object,
        *,
        log: ProblemLog,
        file: str,
        subject: str,
        allowed: Collection[str],
        prefix: str = "",
    ) -> None:
        self.log = log
        self.file = file
        self.subject = subject
        self.prefix = prefix
        self.line = line_of(raw)
        self.ok = True
        if isinstance(raw, Mapping):
            self.raw: Mapping[str, Any] = raw
        else:
            self.raw = {}
            self.problem("", f"must be a mapping of fields, got {type(raw).__name__}")
        for key in self.raw:
            if key not in allowed:
                self.problem(str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def problem(self, field_name: str, message: str) -> None:
        """Record a problem with this mapping and mark it unusable."""
        self.ok = False
        self.log.add(self.file, self.subject, self.prefix + field_name, message, self.line)

    def has(self, key: str) -> bool:
        """True when the field is present (even if null)."""
        return key in self.raw

    def text(self, key: str, *, required: bool = True) -> str | None:
        """A non-empty string field; optional fields may be absent or null."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problem(key, MISSING)
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"must be non-empty text, got {value!r}")
            return None
        return value.strip()

    def choice(self, key: str, choices: Collection[str], *, required: bool = True) -> str | None:
        """A field whose value must be one of ``choices``."""
        value = self.text(key, required=required)
        if value is not None and value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)} (got {value!r})")
            return None
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        """A numeric field (int or float, not a quoted string or a yes/no)."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problem(key, MISSING)
            return None
        if not is_number(value):
            self.problem(key, f"must be a number, got {value!r}")
            return None
        return float(value)

    def text_list(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings; absent or null means empty."""
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            self.problem(key, f"must be a list of quoted texts, got {value!r}")
            return ()
        return tuple(item.strip() for item in value)

    def mapping_list(self, key: str, *, required: bool = True) -> list[Any]:
        """A list field whose items are read further by the caller."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problem(key, MISSING)
            return []
        if not isinstance(value, list):
            self.problem(key, f"must be a list, got {type(value).__name__}")
            return []
        if required and not value:
            self.problem(key, "must not be empty")
        return value

    def translations(
        self, key: str, languages: Collection[str] | None, *, required: bool = True
    ) -> dict[str, str]:
        """A ``{language: text}`` mapping; English is mandatory when the field is.

        ``languages`` lists the accepted language codes (None accepts any).
        """
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problem(key, MISSING)
            return {}
        if not isinstance(value, Mapping):
            self.problem(
                key, f"must be a mapping of language to text, e.g. {{en: ...}}, got {value!r}"
            )
            return {}
        result: dict[str, str] = {}
        for lang, text in value.items():
            if not isinstance(lang, str) or (languages is not None and lang not in languages):
                allowed = ", ".join(languages or ())
                self.problem(f"{key}.{lang}", f"unknown language (allowed: {allowed})")
            elif not isinstance(text, str) or not text.strip():
                self.problem(f"{key}.{lang}", f"must be non-empty text, got {text!r}")
            else:
                result[lang] = " ".join(text.split())
        if required and "en" not in value:
            self.problem(f"{key}.en", MISSING)
        return result

    def plausible_range(self, key: str = "plausible") -> tuple[float | None, float | None]:
        """The ``{min, max}`` plausibility range; either bound may be omitted."""
        value = self.raw.get(key)
        if value is None:
            return None, None
        if not isinstance(value, Mapping) or not set(value) <= {"min", "max"}:
            self.problem(key, f"must be a mapping with optional min and max, got {value!r}")
            return None, None
        bounds: list[float | None] = []
        for bound in ("min", "max"):
            number = value.get(bound)
            if number is not None and not is_number(number):
                self.problem(f"{key}.{bound}", f"must be a number, got {number!r}")
                number = None
            bounds.append(None if number is None else float(number))
        low, high = bounds
        if low is not None and high is not None and low > high:
            self.problem(key, f"min ({low:g}) is greater than max ({high:g})")
        return low, high

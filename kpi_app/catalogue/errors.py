"""Error reporting for catalogue and benchmark files.

Loading never stops at the first mistake: every problem found in every file is collected
in a :class:`ProblemLog` and raised together as one :class:`CatalogueError`, so an editor
fixing the YAML sees the whole list at once. Each message names the file, the subject (a
KPI code, a dimension, a benchmark entry) and the field, e.g.
``indicators/economy.yaml: EC: ICT: ICT: 1C: direction: must be one of ... (line 27)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CatalogueError(Exception):
    """One or more problems in the indicator catalogue or a benchmark set.

    ``problems`` holds one human-readable message per problem; ``str(error)`` lists them
    one per line.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class ProblemLog:
    """Collects problems while files are read; :meth:`raise_if_any` ends a load."""

    problems: list[str] = field(default_factory=list)

    def add(self, file: str, subject: str, field_name: str, message: str, line: int | None) -> None:
        """Record a problem with ``subject``'s ``field_name`` in ``file``."""
        parts = [file, subject, field_name, message]
        text = ": ".join(part for part in parts if part)
        self.problems.append(f"{text} (line {line})" if line else text)

    def raise_if_any(self) -> None:
        """Raise one CatalogueError carrying every problem recorded so far."""
        if self.problems:
            raise CatalogueError(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

"""Whole numbers from URLs within what the database stores (a 32-bit INTEGER column).

A number beyond that range names nothing that can exist: a path argument answers 404 and a
query argument is treated as absent, instead of the database driver failing on the
conversion (SQLite: OverflowError; PostgreSQL: "integer out of range", aborting the
transaction).
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

#: The largest value of the INTEGER columns that ids, years and counts are stored in.
INT_MAX = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """Flask's ``<int:…>`` limited to ``INT_MAX``: a larger id is a 404, not a driver error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def _bounded(text: str | None) -> int | None:
    try:
        number = int(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and -INT_MAX <= number <= INT_MAX else None


def int_arg(name: str, default: int | None = None) -> int | None:
    """The query argument ``name`` as an int; ``default`` if absent, not a number, or too big."""
    number = _bounded(request.args.get(name))
    return default if number is None else number


def int_args(name: str) -> list[int]:
    """Every value of the repeated query argument ``name`` that is an int in range."""
    return [n for n in (_bounded(text) for text in request.args.getlist(name)) if n is not None]


def int_form(name: str) -> int | None:
    """The form field ``name`` as an int in range, or None."""
    return _bounded(request.form.get(name))

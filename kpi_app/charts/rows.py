"""Rows of a small DataFrame as named tuples, at the cost of a list per column.

``DataFrame.itertuples`` builds a new namedtuple class on every call (``collections``
compiles it: ~0.2 ms) and boxes every cell one at a time, which for a categorical column
goes through pandas' indexing (~2 µs a cell). A city page iterates a dozen 100-row frames
of categoricals and paid 4 ms for one of them. :func:`tuples` gives the same tuples (the
same field names, renamed as ``itertuples`` renames them, and the same values: Python
scalars, where ``itertuples`` leaves a nullable integer as a numpy one) from one
``tolist()`` per column and a class made once per set of columns.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pandas as pd


@lru_cache(maxsize=256)
def _row_type(fields: tuple[str, ...]) -> Any:
    return namedtuple("Row", fields, rename=True)


def tuples(frame: pd.DataFrame, index: bool = True) -> Iterator[Any]:
    """What ``frame.itertuples(index=index)`` yields, faster."""
    names = [str(column) for column in frame.columns]
    columns = [column.tolist() for _name, column in frame.items()]
    if index:
        names.insert(0, "Index")
        columns.insert(0, frame.index.tolist())
    if not columns:
        return iter(())
    return map(_row_type(tuple(names))._make, zip(*columns, strict=True))

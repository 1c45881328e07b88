"""Hypothesis strategies for untrusted exchange files: JSON, CSV text and zip archives."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from hypothesis import strategies as st

#: Any JSON document (what `json.loads` can hand a parser).
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)

#: Text that looks like KPI codes, numbers and years some of the time.
cell_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["EC: ICT: ICT: 1C", "EC_ICT_ICT_1C", "SC: EH: ED: 1C", "sc:eh:ed:1c", "Not Reported"]
    ),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", "M", "A", "-", "true", "false", "NaN", "inf", "1e400", "2024", "N/A"]),
)


def json_with(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects whose keys are mostly the ones a parser looks for, with any values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), json_values, max_size=12)


def csv_text(columns: list[str]) -> st.SearchStrategy[str]:
    """CSV whose header holds (some of) `columns`, then rows of any length and content."""

    def render(header: list[str], rows: list[list[str]], sep: str) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=sep)
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    header = st.permutations(columns).flatmap(
        lambda cols: st.lists(st.sampled_from([*cols, "EXTRA", ""]), max_size=3).map(
            lambda extra: [*cols, *extra]
        )
    )
    rows = st.lists(st.lists(cell_text, max_size=len(columns) + 2), max_size=6)
    return st.builds(render, header, rows, st.sampled_from([",", ",", ";"]))


def zip_bytes(members: dict[str, st.SearchStrategy[bytes]]) -> st.SearchStrategy[bytes]:
    """A real zip archive holding (some of) `members`, plus stray entries."""

    def build(contents: dict[str, bytes], deflate: bool) -> bytes:
        buffer = io.BytesIO()
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, content in contents.items():
                archive.writestr(name, content)
        return buffer.getvalue()

    chosen = st.fixed_dictionaries({}, optional=dict(members))
    strays = st.dictionaries(st.text("abc/.", min_size=1, max_size=8), st.binary(max_size=20))
    contents = st.builds(lambda a, b: {**b, **a}, chosen, strays)
    return st.builds(build, contents, st.booleans())


def damaged(archives: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """An archive with a few bytes overwritten or cut short: what a broken upload looks like."""

    @st.composite
    def damage(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(archives))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
        if draw(st.booleans()):
            data = data[: draw(st.integers(4, len(data)))]
        return bytes(data)

    return damage()


def json_bytes(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return values.map(lambda value: json.dumps(value).encode())

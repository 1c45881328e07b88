"""Babel's false ``python-format`` flags are dropped, so ``msgfmt -c`` accepts every PO file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi_app.catalogue.translations import fix_python_format_flags

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted((ROOT / "kpi_app" / "translations").glob("**/*.po*"))
CATALOGUE_FILES = sorted((ROOT / "indicators" / "translations").glob("**/*.po*"))

ENTRIES = """\
#: a.py:1
#, python-format
msgid "Less than 33% of Target"
msgstr "33% من"

#: b.html:2
#, fuzzy, python-format
msgid "No KPI reaches 95 %% of its target yet."
msgstr ""

#: c.py:3
#, python-format
msgid ""
"Scored %(count)s of "
"%(total)s"
msgstr ""
"""


def test_plain_percent_signs_lose_the_flag_real_placeholders_keep_it() -> None:
    fixed = fix_python_format_flags(ENTRIES).split("\n\n")
    assert "python-format" not in fixed[0]
    assert "#, fuzzy, python-format" in fixed[1]  # %% is formatted (templates always format)
    assert "#, python-format" in fixed[2]  # a placeholder split over two lines still counts


def test_catalogue_texts_are_never_format_strings() -> None:
    fixed = fix_python_format_flags(ENTRIES, formatted=False)
    assert "python-format" not in fixed
    assert "#, fuzzy" in fixed  # other flags stay


@pytest.mark.parametrize("path", UI_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_committed_ui_files_carry_no_false_flags(path: Path) -> None:
    content = path.read_text(encoding="utf-8")
    assert fix_python_format_flags(content) == content


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_committed_catalogue_files_carry_no_flags(path: Path) -> None:
    content = path.read_text(encoding="utf-8")
    assert "python-format" not in content

"""`kpi-app translate extract|update|compile|init`: the pybabel steps for the UI translations.

The workflow (microblog's `flask translate`, with the extraction step on its own):

* `extract` writes kpi_app/translations/messages.pot from the code and templates (babel.cfg);
* `update` extracts, then merges the new template into every language's messages.po;
* a translator edits kpi_app/translations/<lang>/LC_MESSAGES/messages.po;
* `compile` writes the messages.mo files the app reads (they are committed, so a fresh clone
  needs no build step; tests/unit/test_i18n_marking.py fails when one is stale);
* `init LANG` starts a new language.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from kpi_app.catalogue.translations import fix_python_format_flags
from kpi_app.commands.core import fail
from kpi_app.config import PROJECT_ROOT

TRANSLATIONS_DIR = PROJECT_ROOT / "kpi_app" / "translations"
TEMPLATE = TRANSLATIONS_DIR / "messages.pot"
BABEL_CONFIG = PROJECT_ROOT / "babel.cfg"
# `_l` is lazy_gettext, used for form labels built at import time.
KEYWORDS = ("_l", "lazy_gettext")


def run_pybabel(*arguments: str) -> None:
    """Run one pybabel command with the interpreter running us (no PATH lookups)."""
    command = [sys.executable, "-m", "babel.messages.frontend", *arguments]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        fail(f"pybabel {arguments[0]} failed:\n{completed.stderr.strip()}")


def extract_messages(template: Path = TEMPLATE) -> None:
    keyword_options = [option for keyword in KEYWORDS for option in ("-k", keyword)]
    run_pybabel(
        "extract",
        "-F",
        str(BABEL_CONFIG),
        *keyword_options,
        "--project",
        "kpi-app",
        "--sort-by-file",
        "-o",
        str(template),
        # The project root: babel.cfg's patterns are relative to it, and pybabel skips
        # dot-folders such as .venv by default.
        ".",
    )
    unflag_plain_percent_signs(template)


def unflag_plain_percent_signs(path: Path) -> None:
    """Rewrite a PO/POT file without Babel's false ``python-format`` flags (see
    :func:`kpi_app.catalogue.translations.fix_python_format_flags`)."""
    content = path.read_text(encoding="utf-8")
    fixed = fix_python_format_flags(content)
    if fixed != content:
        path.write_text(fixed, encoding="utf-8")


def catalogue_languages() -> list[str]:
    return sorted(
        path.name for path in TRANSLATIONS_DIR.iterdir() if (path / "LC_MESSAGES").is_dir()
    )


@click.group("translate")
def translate() -> None:
    """Extract, update and compile the user-interface translations."""


@translate.command("extract")
def extract_command() -> None:
    """Write kpi_app/translations/messages.pot from the code and templates."""
    extract_messages()
    click.echo(f"Template written: {TEMPLATE.relative_to(PROJECT_ROOT)}")


@translate.command("update")
def update_command() -> None:
    """Extract, then merge new and changed strings into every language's messages.po."""
    extract_messages()
    run_pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS_DIR), "--ignore-obsolete")
    for lang in catalogue_languages():
        unflag_plain_percent_signs(TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po")
    click.echo(f"Updated: {', '.join(catalogue_languages())}")


@translate.command("compile")
def compile_command() -> None:
    """Compile every messages.po into the messages.mo the app reads."""
    run_pybabel("compile", "-d", str(TRANSLATIONS_DIR))
    click.echo(f"Compiled: {', '.join(catalogue_languages())}")


@translate.command("init")
@click.argument("language")
def init_command(language: str) -> None:
    """Start a new language (e.g. `pt`) from a fresh extraction."""
    if (TRANSLATIONS_DIR / language).exists():
        fail(f"{language} exists already: use `kpi-app translate update`")
    extract_messages()
    run_pybabel("init", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS_DIR), "-l", language)
    click.echo(f"Started {language}: edit kpi_app/translations/{language}/LC_MESSAGES/messages.po")


COMMANDS = [translate]

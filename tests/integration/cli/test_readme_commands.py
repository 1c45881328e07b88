"""README's command table lists every `kpi-app` command, and only options that exist.

The list of commands comes from the real console script (`kpi-app --help` in a subprocess),
so a command added anywhere (a project module, Flask, an extension) must get its row.
"""

from __future__ import annotations

import re

import click

from kpi_app.config import PROJECT_ROOT
from tests.conftest import build_app
from tests.integration.cli.process import ok, run_kpi_app

CELL = re.compile(r"`kpi-app ([a-z][a-z-]*)([^`]*)`")


def readme_table() -> dict[str, list[str]]:
    """Command name → the text after it in each of its mentions in the table's first column."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `kpi-app")]
    assert rows, "README has no command table under '## Command line'"
    found: dict[str, list[str]] = {}
    for row in rows:
        first_cell = row.split(" | ", 1)[0]
        for name, rest in CELL.findall(first_cell):
            found.setdefault(name, []).append(rest.replace("\\|", "|"))
    return found


def registered_commands(tmp_path) -> set[str]:
    help_text = ok(run_kpi_app(f"sqlite:///{tmp_path / 'help.sqlite3'}", "--help"))
    listing = help_text.split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.startswith("  ")}


def test_the_readme_table_lists_exactly_the_registered_commands(tmp_path):
    registered = registered_commands(tmp_path)
    assert {"open-assessment", "import-interop", "workflow-status", "screen", "todo"} <= registered
    listed = set(readme_table())
    assert registered - listed == set(), "commands missing from README's table"
    assert listed - registered == set(), "README's table names commands that do not exist"


def test_the_options_named_in_the_readme_exist():
    app = build_app("sqlite://")
    for name, mentions in readme_table().items():
        command = app.cli.get_command(click.Context(app.cli), name)
        if command is None:
            continue  # Flask's own commands (run, shell, ...) are checked by the test above
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        subcommands: set[str] = set()
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                options |= {opt for param in sub.params for opt in getattr(param, "opts", [])}
            subcommands = set(command.commands)
        for rest in mentions:
            for option in re.findall(r"--[a-z][a-z-]*", rest):
                assert option in options, f"README: `kpi-app {name}` has no option {option}"
            words = rest.strip().split(" ", 1)[0]
            if subcommands and words and words != "…":
                for sub in words.split("|"):
                    assert sub in subcommands, f"README: `kpi-app {name}` has no {sub!r}"

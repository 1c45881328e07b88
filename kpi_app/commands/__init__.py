"""`kpi-app` commands, one module per area; each module lists its click commands in COMMANDS."""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask import Flask


def register(app: Flask) -> None:
    """Add the COMMANDS of every module in this package (a new module needs no edit here)."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            if isinstance(command, click.Command):
                app.cli.add_command(command)

"""`kpi-app extract-catalogue`: the translators' step for the catalogue's own texts.

The catalogue texts (KPI names, definitions, units, numerators, denominators, data points,
dimension, sub-dimension and category names) form the gettext domain ``catalogue``, separate
from the user-interface domain that `kpi-app translate` manages. This command extracts the
English texts of ``indicators/*.yaml`` into ``indicators/translations/catalogue.pot`` and
merges it into every language's ``catalogue.po`` (creating missing ones): kept translations
stay, changed English texts become fuzzy, removed ones obsolete. Translators then edit the
``.po`` files in Poedit, Weblate or any PO editor; no compile step is needed (the loader
reads the ``.po`` files). See indicators/README.md.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kpi_app.catalogue import CatalogueError, load_benchmark_sets, load_catalogue
from kpi_app.catalogue.translations import build_template, template_path, update_po_files
from kpi_app.commands.core import fail


@click.command("extract-catalogue")
@click.option("--path", type=click.Path(file_okay=False), default=None)
@with_appcontext
def extract_catalogue(path: str | None) -> None:
    """Extract the catalogue texts to catalogue.pot and update every language's catalogue.po."""
    directory = Path(path or current_app.config["CATALOGUE_DIR"])
    try:
        loaded = load_catalogue(directory)
        sets = load_benchmark_sets(loaded)
    except CatalogueError as error:
        for problem in error.problems:
            click.secho(problem, fg="red", err=True)
        fail(f"{len(error.problems)} problem(s) in the catalogue; fix them before extracting")
        return
    template = build_template(loaded, sets)
    counts = update_po_files(loaded.path, template, loaded.languages)
    click.echo(f"Template written: {template_path(loaded.path)} ({len(template)} texts)")
    for lang, (done, total) in counts.items():
        click.echo(f"  {lang}: {done} of {total} translated")


COMMANDS = [extract_catalogue]

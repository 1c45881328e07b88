"""An import-linter contract type for names, not modules: "services never use `render_template`".

import-linter's own contracts forbid *modules*. Some layer rules are about *names* inside a
module: services may import `flask` for `current_app`, but not `flask.render_template`,
`flask.request` or `flask.url_for`; web views may import `kpi_app.extensions` for the limiter, but
not `kpi_app.extensions.db`. This contract reads the source of every module in `source_modules`
and reports each forbidden name it binds or reaches, however it is spelt:

    from flask import render_template          # flask.render_template
    import flask; flask.request.args           # flask.request
    from kpi_app import extensions; extensions.db.session   # kpi_app.extensions.db
    from ..extensions import db                # relative imports are resolved

Configured in pyproject.toml (`[[tool.importlinter.contracts]]` with `type = "forbidden_names"`);
`lint-imports` (in `make lint`) runs it with the other contracts.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


@dataclass(frozen=True)
class Use:
    """One forbidden name used by one module, at one line."""

    module: str
    name: str
    line: int
    text: str


def _source_path(module: str) -> Path | None:
    """The file of `module`, found from its top-level package without importing anything."""
    root, _, rest = module.partition(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    parts = rest.split(".") if rest else []
    package = base.joinpath(*parts) / "__init__.py"
    if package.exists():
        return package
    if not parts:
        return None
    plain = base.joinpath(*parts[:-1]) / f"{parts[-1]}.py"
    return plain if plain.exists() else None


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an `from ... import` statement reads from."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"], or None when the chain does not start at a plain name."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(attrs)]
    return None


def forbidden_uses(module: str, source: str, forbidden: set[str], is_package: bool) -> list[Use]:
    """Every place where `source` (the text of `module`) binds or reaches a forbidden name."""
    tree = ast.parse(source)
    lines = source.splitlines()
    bound: dict[str, str] = {}  # local name -> the dotted name it stands for
    uses: list[Use] = []

    def hit(name: str, line: int) -> None:
        for bad in forbidden:
            if name == bad or name.startswith(bad + "."):
                uses.append(Use(module, bad, line, lines[line - 1].strip()))
                return

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit(alias.name, node.lineno)
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                hit(full, node.lineno)
                bound[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):  # `a.b.c` and its inner `a.b`: duplicates merge
            chain = _dotted(node)
            if chain and chain[0] in bound:
                hit(".".join([bound[chain[0]], *chain[1:]]), node.lineno)
    return sorted(set(uses), key=lambda u: (u.module, u.line, u.name))


class ForbiddenNamesContract(Contract):
    """Modules in `source_modules` must not use any of `forbidden_names` (dotted names).

    `ignore_uses` lists accepted exceptions as `module -> name`, each one kept on purpose.
    """

    type_name = "forbidden_names"

    source_modules = fields.ListField(subfield=fields.StringField())
    forbidden_names = fields.ListField(subfield=fields.StringField())
    ignore_uses = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        forbidden = set(self.forbidden_names)  # type: ignore[arg-type]
        ignored = set()
        for entry in self.ignore_uses:  # type: ignore[attr-defined]
            importer, _, name = (part.strip() for part in entry.partition("->"))
            ignored.add((importer, name))
        packages = list(self.source_modules)  # type: ignore[call-overload]
        modules = sorted(
            m for m in graph.modules if any(m == p or m.startswith(p + ".") for p in packages)
        )
        uses: list[Use] = []
        used_ignores: set[tuple[str, str]] = set()
        for module in modules:
            path = _source_path(module)
            if path is None:
                continue
            output.verbose_print(verbose, f"Reading {module}...")
            found = forbidden_uses(
                module, path.read_text(encoding="utf-8"), forbidden, path.name == "__init__.py"
            )
            for use in found:
                if (use.module, use.name) in ignored:
                    used_ignores.add((use.module, use.name))
                else:
                    uses.append(use)
        warnings = [
            f"No use matched the ignored use {importer} -> {name}."
            for importer, name in sorted(ignored - used_ignores)
        ]
        return ContractCheck(
            kept=not uses,
            warnings=warnings,
            ignored_import_count=len(used_ignores),
            metadata={"uses": uses},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for use in check.metadata["uses"]:
            output.print_error(f"{use.module} is not allowed to use {use.name}:")
            output.print_error(f"-   {use.module}:{use.line}: {use.text}", bold=False)
            output.new_line()

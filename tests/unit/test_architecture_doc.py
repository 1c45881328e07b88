"""docs/architecture.md's table of which user area calls which service is the code's.

The table is derived here from the imports of each `kpi_app/web/<area>/` package (read with
`ast`, so imports inside functions count too); the test fails when the docs drift.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "kpi_app" / "web"
DOC = ROOT / "docs" / "architecture.md"
SERVICES = "kpi_app.services"


def _service_of(module: str) -> str | None:
    if module == SERVICES or not module.startswith(SERVICES + "."):
        return None
    return module[len(SERVICES) + 1 :].split(".")[0]


def services_used(package: Path) -> set[str]:
    """The service modules a web package imports, by their top-level name under services."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found.update(s for a in node.names if (s := _service_of(a.name)))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == SERVICES:
                    found.update(a.name for a in node.names)
                elif service := _service_of(node.module):
                    found.add(service)
    return found


def areas_in_code() -> dict[str, set[str]]:
    return {
        package.name: services_used(package)
        for package in sorted(WEB.iterdir())
        if package.is_dir() and (package / "__init__.py").exists()
    }


def areas_in_docs() -> dict[str, set[str]]:
    """Rows of the "Areas and their services" table: | `area` | `svc`, `svc` | what it is |."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Areas and their services", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        rows[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[1]))
    return rows


def test_every_area_is_in_the_table_with_the_services_it_imports() -> None:
    code, docs = areas_in_code(), areas_in_docs()
    assert sorted(docs) == sorted(code), "areas in docs/architecture.md vs kpi_app/web/"
    drift = {
        area: {
            "missing in docs": sorted(code[area] - docs[area]),
            "not imported": sorted(docs[area] - code[area]),
        }
        for area in code
        if code[area] != docs[area]
    }
    assert not drift, f"docs/architecture.md's table has drifted: {drift}"


def test_the_reader_finds_imports_in_functions_and_submodules(tmp_path: Path) -> None:
    package = tmp_path / "area"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "views.py").write_text(
        "from kpi_app.services import cities, users\n"
        "import kpi_app.services.numbers\n"
        "def f():\n    from kpi_app.services.reports.city import page\n"
        "from kpi_app.models import City\n"
    )
    assert services_used(package) == {"cities", "users", "numbers", "reports"}

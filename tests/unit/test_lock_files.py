"""The lock files pin every dependency of pyproject.toml, with hashes, consistently.

`make run` installs requirements.lock and `make test` requirements-dev.lock with pip's
--require-hashes; a dependency added to pyproject.toml without `make lock` fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    pins = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==([^ \\]+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{name}: {match[1]} has no hash"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def test_every_runtime_dependency_is_locked_with_a_hash() -> None:
    runtime = _pins("requirements.lock")
    missing = _names(PROJECT["dependencies"]) - set(runtime)
    assert not missing, f"run `make lock`: {sorted(missing)} not in requirements.lock"


def test_the_dev_lock_holds_the_runtime_versions_and_the_dev_tools() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    missing = _names(PROJECT["optional-dependencies"]["dev"]) - set(dev)
    assert not missing, f"run `make lock`: {sorted(missing)} not in requirements-dev.lock"
    assert {"pip", "setuptools"} <= set(dev)  # pinned too: --require-hashes installs them


def test_test_only_tools_are_not_runtime_dependencies() -> None:
    runtime = _names(PROJECT["dependencies"])
    assert not runtime & {"frictionless", "pyld", "pytest", "schemathesis", "pip-tools"}
    imported = set()
    for path in (ROOT / "kpi_app").rglob("*.py"):
        imported |= set(re.findall(r"^\s*(?:from|import) ([a-z_]+)", path.read_text(), re.M))
    assert "frictionless" not in imported and "pydantic" not in imported

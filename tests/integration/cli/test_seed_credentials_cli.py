"""`kpi-app seed-demo` keeps one credentials file per database (it used to share one)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tests.integration.cli.process import ok, run_kpi_app


def printed(output: str) -> tuple[dict[str, str], Path]:
    """The accounts (e-mail → password) and the file path that seed-demo printed."""
    accounts = dict(re.findall(r"^\s+\w+\s+(\S+@\S+)\s+(\S+)$", output, flags=re.MULTILINE))
    match = re.search(r"also kept in (\S+)$", output, flags=re.MULTILINE)
    assert match, output
    return accounts, Path(match.group(1))


def in_file(path: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return {row[1]: row[2] for row in rows if len(row) == 3}


def test_seeding_a_second_database_does_not_touch_the_first_ones_credentials(new_database):
    first_url, second_url = new_database("first"), new_database("second")
    written: list[Path] = []
    try:
        ok(run_kpi_app(first_url, "init-db"))
        ok(run_kpi_app(second_url, "init-db"))
        first_accounts, first_file = printed(ok(run_kpi_app(first_url, "seed-demo")))
        written.append(first_file)
        first_content = first_file.read_bytes()
        second_accounts, second_file = printed(ok(run_kpi_app(second_url, "seed-demo")))
        written.append(second_file)

        assert first_file != second_file
        assert first_file.parent == second_file.parent  # both under instance/
        assert first_file.read_bytes() == first_content  # untouched by the second seeding
        assert in_file(first_file) == first_accounts and len(first_accounts) >= 5
        assert in_file(second_file) == second_accounts
        assert set(first_accounts.values()).isdisjoint(second_accounts.values())
        # Each file names its database (without password) and only its owner may read it.
        assert first_url.split("/")[-1] in first_file.read_text(encoding="utf-8")
        if os.name == "posix":
            assert stat.S_IMODE(first_file.stat().st_mode) == 0o600

        # Seeding again creates no accounts, so nothing is printed and nothing appended.
        again = ok(run_kpi_app(first_url, "seed-demo"))
        assert "also kept in" not in again
        assert first_file.read_bytes() == first_content
    finally:
        for path in written:
            path.unlink(missing_ok=True)

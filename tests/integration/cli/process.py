"""Run `kpi-app` as an operator does: the installed console script in a subprocess, with
DATABASE_URL in its environment, against databases made (and dropped) for one test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KPI_APP = Path(sys.executable).parent / "kpi-app"


def run_kpi_app(
    database_url: str, *args: str, extra_env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPI_", "FLASK_"))}
    env.pop("DATABASE_URL_TEST", None)
    env.update({"DATABASE_URL": database_url, "KPI_ENV": "development"})
    env.update(extra_env or {})
    return subprocess.run(
        [str(KPI_APP), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout

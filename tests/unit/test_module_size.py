"""No module of the application grows past 700 lines (issue 19: a newcomer finds one subject
per module). Split a module that grows along a real seam, as services/reports/ was."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kpi_app"
MAX_LINES = 700

#: Modules allowed past the limit, each with its reason; an entry goes when its module is split.
KNOWN_LARGE = {
    # Grew to 1,031 lines with the noise and water sensor feeds (merged into main while this
    # test was written): to split along its feeds; listed so that the suite stays green.
    "twin/sensors.py",
    # Grew to 754 lines with due dates, reminders and reply files (h15, merged into main
    # while this test was written): to split (e.g. query threads apart); listed meanwhile.
    "web/verification/views.py",
}


def line_counts() -> dict[str, int]:
    return {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_module_exceeds_the_limit() -> None:
    counts = line_counts()
    too_long = {
        name: lines
        for name, lines in counts.items()
        if lines > MAX_LINES and name not in KNOWN_LARGE
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them): {too_long}"


def test_every_known_exception_is_still_needed() -> None:
    # A split (or renamed) module leaves the list, so the list never hides a new long module.
    counts = line_counts()
    stale = sorted(name for name in KNOWN_LARGE if counts.get(name, 0) <= MAX_LINES)
    assert not stale, f"no longer over {MAX_LINES} lines: remove from KNOWN_LARGE: {stale}"

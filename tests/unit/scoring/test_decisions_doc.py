"""docs/scoring.md's decisions table says what the code does (numbers taken from the code)."""

from __future__ import annotations

from pathlib import Path

from kpi_app.scoring import u4ssc
from kpi_app.scoring.normalise import TIED_PEER_SCORE
from kpi_app.scoring.progress import (
    ACCELERATION_RATIO,
    FIRST_YEAR_LINEAR,
    ON_TRACK_RATIO,
    OPEN_SDG,
    OPEN_SDG_BASE_YEAR,
    ZERO_SUBSTITUTE,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "scoring.md"


def decisions() -> dict[str, tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Decisions and whose they are") :]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and cells[0] not in {"decision", "---"}:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_every_decision_names_whose_it_is() -> None:
    rows = decisions()
    assert len(rows) > 30
    for decision, (_, whose) in rows.items():
        assert whose.split(" ")[0].strip("()`") in {"U4SSC", "COINr", "Open", "ours"}, decision


def test_progress_rows_match_the_default_method() -> None:
    rows = decisions()
    assert OPEN_SDG.on_track == ON_TRACK_RATIO and OPEN_SDG.acceleration == ACCELERATION_RATIO
    assert rows["progress thresholds"] == (
        f"on track ≥ {ON_TRACK_RATIO}, acceleration ≥ {ACCELERATION_RATIO}, limited ≥ 0 "
        "(ratio of CAGRs)",
        "Open SDG",
    )
    assert str(OPEN_SDG_BASE_YEAR) in rows["progress base year"][0]
    assert str(ZERO_SUBSTITUTE) in rows["progress zero target / base value"][0]
    alternative = rows["progress alternative"][0]
    assert (
        FIRST_YEAR_LINEAR.name in alternative and str(FIRST_YEAR_LINEAR.acceleration) in alternative
    )


def test_engine_rows_match_the_code() -> None:
    rows = decisions()
    assert "10⁻⁹" in rows["arithmetic at an edge"][0] and u4ssc.EDGE_WINDOW == 1e-9
    assert rows["`min_max` without spread"][0] == f"{TIED_PEER_SCORE:.0f} for everyone"
    assert rows["`percentile_rank`"] == (
        "(rank − 1) ÷ (n − 1) × 100, min ties; all equal → 0; one value → NaN",
        "COINr `n_prank`",
    )
    assert rows["band edge"][0] == "belongs to the band above"

"""Texts translated from a variable are listed for extraction (issue 16: SDG 11 target titles,
data-quality levels and progress classes stayed English in every language)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kpi_app.scoring.progress import PROGRESS_CLASSES
from kpi_app.services.data_io import QUALITY_LABELS
from kpi_app.services.reports import SDG11_TARGETS
from kpi_app.web import dynamic_messages

ROOT = Path(__file__).resolve().parents[2]


def test_the_extraction_list_mirrors_the_tables() -> None:
    assert tuple(name for _, name in SDG11_TARGETS) == dynamic_messages.SDG11_TARGET_TITLES
    assert tuple(QUALITY_LABELS.values()) == dynamic_messages.QUALITY_LEVEL_LABELS
    assert dynamic_messages.PROGRESS_CLASS_LABELS == PROGRESS_CLASSES


def test_pybabel_extracts_them(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-o", str(template),
         str(ROOT / "kpi_app" / "web" / "dynamic_messages.py")],
        check=True, capture_output=True,
    )  # fmt: skip
    text = template.read_text(encoding="utf-8")
    for message in (
        *dynamic_messages.SDG11_TARGET_TITLES,
        *dynamic_messages.QUALITY_LEVEL_LABELS,
        *dynamic_messages.PROGRESS_CLASS_LABELS,
        *dynamic_messages.M49_REGION_NAMES,
    ):
        assert f'msgid "{message}"' in text, message


def test_every_seeded_region_is_a_listed_m49_name() -> None:
    import yaml

    cities = yaml.safe_load((ROOT / "seeds" / "cities.yaml").read_text(encoding="utf-8"))
    entries = cities["cities"] if isinstance(cities, dict) else cities
    regions = {entry["region"] for entry in entries if entry.get("region")}
    assert regions and regions <= set(dynamic_messages.M49_REGION_NAMES)

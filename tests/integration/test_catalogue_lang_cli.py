"""`kpi-app catalogue --lang`, `check-catalogue` translation report, `extract-catalogue`,
run as their users run them: the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kpi_app.catalogue import DEFAULT_CATALOGUE_DIR
from kpi_app.catalogue.translations import po_path, write_catalogue

BIN = Path(sys.executable).parent


def kpi_app(*args: str, catalogue_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KPI_ENV": "testing"}
    if catalogue_dir is not None:
        env["KPI_CATALOGUE_DIR"] = str(catalogue_dir)
    return subprocess.run(
        [str(BIN / "kpi-app"), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "indicators"
    shutil.copytree(DEFAULT_CATALOGUE_DIR, target)
    return target


def test_catalogue_json_in_arabic_has_the_same_fields_and_codes_as_english() -> None:
    english = json.loads(kpi_app("catalogue", "--format", "json").stdout)
    result = kpi_app("catalogue", "--format", "json", "--lang", "ar")
    assert result.returncode == 0, result.stderr
    arabic = json.loads(result.stdout)
    assert len(arabic) == len(english) == 91
    assert [list(r) for r in arabic] == [list(r) for r in english]
    assert [r["code"] for r in arabic] == [r["code"] for r in english]
    first = arabic[0]
    assert first["code"] == "EC: ICT: ICT: 1C"
    assert first["name"] == "نفاذ الأسر المعيشية إلى الإنترنت"
    assert first["unit"] == "نسبة مئوية"
    assert first["dimension"] == "الاقتصاد"
    assert english[0]["name"] == "Household Internet Access"  # the default stays English
    air = next(r for r in arabic if r["code"] == "EN: EN: AQ: 1C")
    assert [p["id"] for p in air["data_points"]][:2] == ["pm25", "pm10"]
    assert air["data_points"][0]["unit"] == "μg/m³"  # symbols stay symbols


def test_catalogue_csv_in_chinese_and_unknown_language_refused() -> None:
    result = kpi_app("catalogue", "--format", "csv", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "住户互联网接入" in result.stdout
    refused = kpi_app("catalogue", "--lang", "de")
    assert refused.returncode == 1
    assert "unknown catalogue language 'de'" in refused.stderr
    assert "en, fr, es, ar, zh, ru" in refused.stderr


def test_check_catalogue_reports_every_language_complete() -> None:
    result = kpi_app("check-catalogue", "--strict-translations")
    assert result.returncode == 0, result.stderr
    for lang in ("fr", "es", "ar", "zh", "ru"):
        assert re.search(rf"Translations {lang}: (\d+) of \1 texts", result.stdout), lang


def test_check_catalogue_reports_a_removed_translation(catalogue_copy: Path) -> None:
    po_file = po_path(catalogue_copy, "ru")
    with po_file.open("rb") as handle:
        po = read_po(handle)
    message = po.get("Household Internet Access")
    assert message is not None and message.string
    message.string = ""
    write_catalogue(po_file, po)

    result = kpi_app("check-catalogue", "--path", str(catalogue_copy))
    assert result.returncode == 0  # a warning by default: English is shown meanwhile
    assert re.search(r"Warning: translations ru: 1 of \d+ texts missing", result.stderr)
    assert "EC: ICT: ICT: 1C · name" in result.stderr
    assert re.search(r"Translations ar: (\d+) of \1 texts", result.stdout)

    strict = kpi_app("check-catalogue", "--path", str(catalogue_copy), "--strict-translations")
    assert strict.returncode == 1
    assert "1 missing translation(s)" in strict.stderr

    shown = json.loads(kpi_app("catalogue", "--lang", "ru", catalogue_dir=catalogue_copy).stdout)
    assert shown[0]["name"] == "Household Internet Access"  # fallback, not a blank


def test_extract_catalogue_keeps_translations_and_flags_changed_texts(
    catalogue_copy: Path,
) -> None:
    unchanged = kpi_app("extract-catalogue", "--path", str(catalogue_copy))
    assert unchanged.returncode == 0, unchanged.stderr
    assert re.search(r"ar: (\d+) of \1 translated", unchanged.stdout)
    total = int(re.search(r"zh: \d+ of (\d+) translated", unchanged.stdout).group(1))
    assert (catalogue_copy / "translations" / "catalogue.pot").is_file()

    economy = catalogue_copy / "economy.yaml"
    content = economy.read_text(encoding="utf-8")
    economy.write_text(
        content.replace("name: {en: Household Internet Access}", "name: {en: Home Internet}"),
        encoding="utf-8",
    )
    changed = kpi_app("extract-catalogue", "--path", str(catalogue_copy))
    assert changed.returncode == 0, changed.stderr
    assert f"zh: {total - 1} of {total} translated" in changed.stdout
    report = kpi_app("check-catalogue", "--path", str(catalogue_copy))
    assert re.search(r"translations zh: 1 of \d+ texts missing", report.stderr)
    assert "EC: ICT: ICT: 1C · name" in report.stderr

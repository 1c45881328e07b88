"""The catalogue's texts in six languages, kept as a gettext domain (issue 16).

Every KPI has its name, definition, unit, numerator and denominator, every data point its
label and unit, and every dimension, sub-dimension and category its name in fr, es, ar, zh
and ru (``tr(..., fallback=False)`` gives "" for a missing one). Texts must really be
translated: Arabic, Chinese and Russian texts are written in their script, French and Spanish
ones differ from English except for a short list of words that are spelt the same. Unit
symbols (%, km, kWh, μg/m³…) stay symbols.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kpi_app.catalogue import Catalogue, CatalogueError, load_benchmark_sets, load_catalogue
from kpi_app.catalogue.translations import (
    benchmark_texts,
    build_template,
    catalogue_texts,
    missing_translations,
    po_path,
    update_po_files,
)

LANGUAGES = ("fr", "es", "ar", "zh", "ru")
SCRIPTS = {"ar": "\u0600-\u06ff", "zh": "\u4e00-\u9fff", "ru": "\u0400-\u04ff"}
# Spelt the same in English and the other language (checked by a reviewer, not a shortcut).
SAME_WORD = {
    "fr": {"Culture", "Drainage", "Innovation", "Minutes"},
    "es": set(),
}
SYMBOLS = ("%", "km", "kWh", "GJ", "m²", "m³", "μg", "CO2")


def is_symbol_only(english: str) -> bool:
    """Chemical or unit symbols such as "PM2.5", "NO2", "μg/m³": no lower-case word."""
    return re.search(r"[a-z]{3,}", english) is None and re.search(r"[a-z]{2}", english) is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kpi_text_exists_in_every_language(catalogue: Catalogue, lang: str) -> None:
    missing = []
    for kpi in catalogue.indicators:
        for field in ("name", "help", "unit", "numerator", "denominator"):
            if kpi.tr(field, "en") and not kpi.tr(field, lang, fallback=False):
                missing.append(f"{kpi.code} {field}")
        for point in kpi.data_points:
            for field in ("label", "unit"):
                if not point.tr(field, lang, fallback=False):
                    missing.append(f"{kpi.code} {point.id} {field}")
    for group in (*catalogue.dimensions, *catalogue.sub_dimensions, *catalogue.categories):
        if not group.tr("name", lang, fallback=False):
            missing.append(f"{group.id} name")
    assert len(catalogue.indicators) == 91
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_are_translated_not_copied(catalogue: Catalogue, lang: str) -> None:
    copied = []
    for text in catalogue_texts(catalogue):
        translated = text.translations[lang]
        if is_symbol_only(text.english):
            continue
        if lang in SCRIPTS:
            if not re.search(f"[{SCRIPTS[lang]}]", translated):
                copied.append((text.place, translated))
        elif translated == text.english and text.english not in SAME_WORD[lang]:
            copied.append((text.place, translated))
    assert copied == []


def test_definitions_are_full_sentences_in_each_language(catalogue: Catalogue) -> None:
    for kpi in catalogue.indicators:
        english = kpi.tr("help", "en")
        for lang in LANGUAGES:
            translated = kpi.tr("help", lang, fallback=False)
            # Not a stub: comparable length (Chinese packs about 3-4 letters into one sign).
            ratio = 0.18 if lang == "zh" else 0.6
            assert len(translated) > ratio * len(english), (kpi.code, lang)
            # Numbers in the definition are facts and survive translation (100 000 = 100,000).
            for number in re.findall(r"\d+", english.replace(",", "")):
                digits = re.sub(r"[\s,.\u202f\u00a0]", "", translated)
                assert number in digits, (kpi.code, lang, number)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_unit_symbols_stay_symbols(catalogue: Catalogue, lang: str) -> None:
    lost = []
    for text in catalogue_texts(catalogue):
        if text.place.endswith(" · help") or text.place.endswith(" · name"):
            continue
        for symbol in SYMBOLS:
            used = re.search(r"(?<![A-Za-z])" + re.escape(symbol), text.english)
            if used and symbol not in text.translations[lang]:
                lost.append((text.place, symbol, text.translations[lang]))
    assert lost == []


def test_translated_records_keep_fields_codes_and_numbers(catalogue: Catalogue) -> None:
    english = catalogue.records()
    assert english == catalogue.records("en")
    for lang in LANGUAGES:
        translated = catalogue.records(lang)
        assert [list(r) for r in translated] == [list(r) for r in english]
        for before, after in zip(english, translated, strict=True):
            for key in ("code", "tier", "kind", "value_type", "multiplier", "direction"):
                assert after[key] == before[key]
            assert after["sdg_refs"] == before["sdg_refs"]
            assert [p["id"] for p in after["data_points"]] == [
                p["id"] for p in before["data_points"]
            ]
        assert translated[0]["name"] != english[0]["name"]


def _blank(po_file: Path, place: str) -> None:
    """Empty the msgstr of the message whose comment names ``place``."""
    with po_file.open("rb") as handle:
        po = read_po(handle)
    found = [m for m in po if m.id and place in m.auto_comments]
    assert found, place
    found[0].string = ""
    from kpi_app.catalogue.translations import write_catalogue

    write_catalogue(po_file, po)


def test_a_removed_translation_is_reported_and_falls_back_to_english(
    catalogue_copy: Path,
) -> None:
    _blank(po_path(catalogue_copy, "es"), "SC: EH: H: 2C · help")
    loaded = load_catalogue(catalogue_copy)
    kpi = loaded.indicator("SC: EH: H: 2C")
    assert kpi.tr("help", "es", fallback=False) == ""
    assert kpi.tr("help", "es") == kpi.tr("help", "en")
    report = {m.lang: m for m in missing_translations(loaded)}
    assert report["es"].places == ("SC: EH: H: 2C · help",)
    assert report["fr"].count == report["ar"].count == 0


def test_an_edited_english_text_marks_its_translations_fuzzy(
    catalogue_copy: Path, edit: object
) -> None:
    path = catalogue_copy / "economy.yaml"
    content = path.read_text(encoding="utf-8")
    old = "Total households"
    assert old in content
    path.write_text(content.replace(old, "Total private households", 1), encoding="utf-8")
    loaded = load_catalogue(catalogue_copy)
    counts = update_po_files(catalogue_copy, build_template(loaded), loaded.languages)
    assert all(done < total for done, total in counts.values())
    with po_path(catalogue_copy, "fr").open("rb") as handle:
        message = read_po(handle).get("Total private households")
    assert message is not None and message.fuzzy  # a hint for the translator, not used
    report = {m.lang: m for m in missing_translations(load_catalogue(catalogue_copy))}
    assert "EC: ICT: ICT: 1C · denominator" in report["fr"].places


def test_extraction_is_stable_on_the_shipped_catalogue(
    catalogue: Catalogue, catalogue_copy: Path
) -> None:
    template = build_template(catalogue)
    english = {text.english for text in catalogue_texts(catalogue)}
    assert {message.id for message in template if message.id} == english
    counts = update_po_files(catalogue_copy, template, catalogue.languages)
    assert all(done == total == len(english) for done, total in counts.values())


def test_a_broken_po_file_is_a_catalogue_problem_naming_the_file(catalogue_copy: Path) -> None:
    po_file = po_path(catalogue_copy, "ru")
    po_file.write_text(po_file.read_text(encoding="utf-8") + '\nmsgid "x"\nbroken\n', "utf-8")
    with pytest.raises(CatalogueError) as error:
        load_catalogue(catalogue_copy)
    assert "indicators/translations/ru/LC_MESSAGES/catalogue.po" in str(error.value)


def test_loading_is_cached_and_reloads_when_a_po_file_changes(catalogue_copy: Path) -> None:
    started = time.perf_counter()
    first = load_catalogue(catalogue_copy)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    assert load_catalogue(catalogue_copy) is first
    warm = time.perf_counter() - started
    assert warm < cold
    _blank(po_path(catalogue_copy, "zh"), "EC · name")
    reloaded = load_catalogue(catalogue_copy)
    assert reloaded is not first
    assert reloaded.dimension("EC").tr("name", "zh", fallback=False) == ""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_benchmark_set_texts_are_translated(catalogue: Catalogue, lang: str) -> None:
    sets = load_benchmark_sets(catalogue)
    texts = list(benchmark_texts(catalogue, sets))
    assert len(texts) > 200  # name, description, and a source and rationale per entry
    untranslated = [
        t.place
        for t in texts
        if not t.translations.get(lang)
        or (lang in SCRIPTS and not re.search(f"[{SCRIPTS[lang]}]", t.translations[lang]))
        or (lang not in SCRIPTS and t.translations[lang] == t.english)
    ]
    assert untranslated == []
    # The same texts are reported by check-catalogue: nothing missing in any language.
    assert all(m.count == 0 for m in missing_translations(catalogue, sets))

"""Translations of the catalogue's texts: a gettext domain ``catalogue`` kept as ``.po`` files.

The YAML files hold the English texts (the source language). Every other language lives in
``indicators/translations/<lang>/LC_MESSAGES/catalogue.po``, one standard gettext file per
language that translators open in Poedit, Weblate or any PO editor. The ``msgid`` is the
English text, so a text used in many places (``Percentage``) is translated once, and an edited
English text shows up as fuzzy/untranslated in the editor instead of silently keeping an
outdated translation. ``#.`` comments say where each text is used (``EC: ICT: ICT: 1C · help``).

This module is pure (Babel's PO reader only, no Flask): the loader merges the translations into
the catalogue objects, and :func:`missing_translations` reports what is still untranslated.
Parsed files are cached per language until the file changes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.pofile import PoFileError, read_po, write_po

from kpi_app.catalogue.errors import CatalogueError

if TYPE_CHECKING:
    from kpi_app.catalogue.benchmarks import BenchmarkSet
    from kpi_app.catalogue.model import Catalogue

DOMAIN = "catalogue"
SOURCE_LANGUAGE = "en"
TRANSLATIONS_FOLDER = "translations"


def translations_dir(catalogue_dir: Path) -> Path:
    """``indicators/translations``: the ``.pot`` template and one folder per language."""
    return catalogue_dir / TRANSLATIONS_FOLDER


def template_path(catalogue_dir: Path) -> Path:
    """The extracted template ``indicators/translations/catalogue.pot``."""
    return translations_dir(catalogue_dir) / f"{DOMAIN}.pot"


def po_path(catalogue_dir: Path, lang: str) -> Path:
    """``indicators/translations/<lang>/LC_MESSAGES/catalogue.po``."""
    return translations_dir(catalogue_dir) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_po(catalogue_dir: Path, lang: str) -> dict[str, str]:
    """``{english: translation}`` for ``lang``; fuzzy and empty entries are left out.

    An absent file gives an empty mapping (everything falls back to English). Cached until
    the file changes.
    """
    path = po_path(catalogue_dir, lang)
    if not path.is_file():
        return {}
    stat = path.stat()
    return _read_cached(str(path), lang, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _read_cached(path: str, lang: str, _mtime: int, _size: int) -> dict[str, str]:
    try:
        with open(path, "rb") as handle:
            po = read_po(handle, locale=lang, domain=DOMAIN, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogueError([f"{_display(Path(path))}: unreadable PO file: {exc}"]) from None
    table: dict[str, str] = {}
    for message in po:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        if isinstance(message.string, str) and message.string.strip():
            table[message.id] = " ".join(message.string.split())
    return table


def _display(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[parts.index("indicators") :]) if "indicators" in parts else str(path)


HEADER = """\
# Translations of the U4SSC KPI catalogue texts (gettext domain "catalogue").
# The msgid is the English text from indicators/*.yaml; "#." comments say where it is used.
# Update with `kpi-app extract-catalogue`; check with `kpi-app check-catalogue`.
# See indicators/README.md."""


# ----- what is translatable ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """One translatable text of the catalogue: where it is used and its texts per language."""

    place: str  # "EC: ICT: ICT: 1C · help", "EC: ICT · name"
    translations: dict[str, str]

    @property
    def english(self) -> str:
        return self.translations.get(SOURCE_LANGUAGE, "")


def catalogue_texts(catalogue: Catalogue) -> Iterator[Text]:
    """Every translatable text in catalogue order, with its translation mapping.

    Structure names, KPI name, definition (``help``), unit, numerator and denominator, data
    point labels and units. Codes, numbers, SDG references, sources and the reviewers'
    ``notes`` (the catalogue maintainers' provenance records, never shown to users) are not
    translated.
    """
    for dim in catalogue.dimensions:
        yield Text(f"{dim.code} · name", dim.name)
        for sub in dim.sub_dimensions:
            yield Text(f"{sub.id} · name", sub.name)
            for category in sub.categories:
                yield Text(f"{category.id} · name", category.name)
                for kpi in category.indicators:
                    yield Text(f"{kpi.code} · name", kpi.name)
                    yield Text(f"{kpi.code} · help", kpi.help)
                    for field_name in ("unit", "numerator", "denominator"):
                        if field_name in kpi.texts:
                            yield Text(f"{kpi.code} · {field_name}", kpi.texts[field_name])
                    for point in kpi.data_points:
                        yield Text(f"{kpi.code} · {point.id} · label", point.label)
                        yield Text(f"{kpi.code} · {point.id} · unit", point.units)


def benchmark_texts(
    catalogue: Catalogue, benchmark_sets: dict[str, BenchmarkSet] | None
) -> Iterator[Text]:
    """The benchmark sets' texts: name, description, and each entry's source and rationale.

    They live in ``benchmarks/*.yaml`` (English; a set's name may carry inline languages) and
    are translated in the same PO files; :meth:`Catalogue.translate` looks them up.
    """
    for set_id, benchmark_set in sorted((benchmark_sets or {}).items()):
        prefix = f"benchmark set {set_id}"
        name = dict(benchmark_set.name)
        yield Text(f"{prefix} · name", _looked_up(catalogue, name.get("en", ""), name))
        yield Text(f"{prefix} · description", _looked_up(catalogue, benchmark_set.description))
        for entry in benchmark_set.benchmarks:
            where = f"{prefix}: {entry.code}" + (f" {entry.data_point}" if entry.data_point else "")
            for field_name in ("source", "rationale"):
                value = getattr(entry, field_name)
                if value:
                    yield Text(f"{where} · {field_name}", _looked_up(catalogue, value))


def _looked_up(
    catalogue: Catalogue, english: str, inline: dict[str, str] | None = None
) -> dict[str, str]:
    found = {"en": english, **(inline or {})}
    for lang in catalogue.languages:
        translated = catalogue.translate(english, lang, fallback=False) if english else ""
        if translated and lang != SOURCE_LANGUAGE:
            found[lang] = translated
    return found


def apply_translations(catalogue: Catalogue, tables: dict[str, dict[str, str]]) -> None:
    """Merge ``{lang: {english: translation}}`` into the catalogue's translation mappings.

    Called by the loader before the catalogue is handed out; a translation written inline
    in the YAML (``name: {en: .., fr: ..}``) is kept only where the PO file has none.
    """
    for item in catalogue_texts(catalogue):
        _merge(item.translations, tables)


def _merge(translations: dict[str, str], tables: dict[str, dict[str, str]]) -> None:
    english = translations.get(SOURCE_LANGUAGE)
    if not english:
        return
    for lang, table in tables.items():
        found = table.get(english)
        if found:
            translations[lang] = found


# ----- extraction and checks ------------------------------------------------------------------


def build_template(
    catalogue: Catalogue, benchmark_sets: dict[str, BenchmarkSet] | None = None
) -> PoCatalog:
    """The ``.pot`` template: one message per distinct English text, with where it is used."""
    template = PoCatalog(
        domain=DOMAIN,
        project="U4SSC KPI catalogue",
        version=catalogue.version,
        msgid_bugs_address="",
        copyright_holder="",
        fuzzy=False,
        header_comment=HEADER,
    )
    for item in (*catalogue_texts(catalogue), *benchmark_texts(catalogue, benchmark_sets)):
        if not item.english:
            continue
        existing = template.get(item.english)
        if existing is None:
            template.add(item.english, auto_comments=[item.place])
        else:
            existing.auto_comments.append(item.place)
    return template


_DATE_LINE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*$', re.MULTILINE)


_FLAGS_LINE = re.compile(r"^#,(?P<flags>.*)$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
# A placeholder this codebase actually formats: ``%(name)s`` or a literal ``%%``.
_REAL_FORMAT = re.compile(r"%\(\w+\)|%%")


def fix_python_format_flags(content: str, *, formatted: bool = True) -> str:
    """Drop the ``python-format`` flag Babel puts on texts that merely contain a percent sign.

    Babel flags every msgid in which ``%`` happens to start a valid conversion ("33% of" reads
    as ``% o``), and ``msgfmt -c`` then rejects a correct translation ("33% من"). The catalogue
    domain is never %-formatted (``formatted=False`` drops every such flag); the user interface
    formats only named placeholders ``%(name)s`` and escapes literal percent signs as ``%%``, so
    a text with neither keeps its percent signs verbatim and is not a format string.
    """
    entries = content.split("\n\n")
    for index, entry in enumerate(entries):
        lines = entry.split("\n")
        flag_at = next((i for i, line in enumerate(lines) if _FLAGS_LINE.match(line)), None)
        if flag_at is None or "python-format" not in lines[flag_at]:
            continue
        if formatted and _REAL_FORMAT.search(_msgid_text(lines)):
            continue
        flags = [flag.strip() for flag in lines[flag_at][2:].split(",")]
        kept = [flag for flag in flags if flag and flag != "python-format"]
        if kept:
            lines[flag_at] = "#, " + ", ".join(kept)
        else:
            del lines[flag_at]
        entries[index] = "\n".join(lines)
    return "\n\n".join(entries)


def _msgid_text(lines: list[str]) -> str:
    """The msgid (and msgid_plural) of one PO entry, its quoted pieces joined."""
    text, inside = [], False
    for line in lines:
        if line.startswith(("msgid ", "msgid_plural ")):
            inside = True
        elif line.startswith("msgstr") or line.startswith("#"):
            inside = False
        if inside:
            text.extend(_QUOTED.findall(line))
    return "".join(text)


def write_catalogue(path: Path, po: PoCatalog) -> None:
    """Write a PO/POT file (wrapped at 79), leaving it untouched when only dates would change,
    so that re-running the extraction does not churn every file in version control."""
    buffer = io.BytesIO()
    write_po(buffer, po, width=79, omit_header=False, sort_output=False)
    content = fix_python_format_flags(buffer.getvalue().decode(), formatted=False).encode()
    if path.is_file() and _DATE_LINE.sub(b"", path.read_bytes()) == _DATE_LINE.sub(b"", content):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def update_po_files(
    catalogue_dir: Path, template: PoCatalog, languages: tuple[str, ...]
) -> dict[str, tuple[int, int]]:
    """Write the template and merge it into every language's ``.po`` (created when absent).

    Kept translations stay; a changed English text becomes fuzzy (Babel's fuzzy matching),
    removed texts become obsolete (``#~``). Returns ``{lang: (translated, total)}``.
    """
    write_catalogue(template_path(catalogue_dir), template)
    result: dict[str, tuple[int, int]] = {}
    for lang in languages:
        if lang == SOURCE_LANGUAGE:
            continue
        path = po_path(catalogue_dir, lang)
        if path.is_file():
            with open(path, "rb") as handle:
                po = read_po(handle, locale=lang, domain=DOMAIN)
        else:
            po = PoCatalog(
                locale=lang,
                domain=DOMAIN,
                project="U4SSC KPI catalogue",
                msgid_bugs_address="",
                copyright_holder="",
                fuzzy=False,
            )
        po.header_comment = HEADER
        po.version = template.version
        po.msgid_bugs_address = template.msgid_bugs_address
        po.update(template, update_header_comment=False)
        write_catalogue(path, po)
        total = sum(1 for message in po if message.id)
        done = sum(1 for message in po if message.id and message.string and not message.fuzzy)
        result[lang] = (done, total)
    return result


@dataclass(frozen=True, slots=True)
class Missing:
    """Untranslated texts of one language: how many, out of how many, and which."""

    lang: str
    total: int
    places: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.places)


def missing_translations(
    catalogue: Catalogue, benchmark_sets: dict[str, BenchmarkSet] | None = None
) -> list[Missing]:
    """Per catalogue language except English: the texts that fall back to English."""
    every = (*catalogue_texts(catalogue), *benchmark_texts(catalogue, benchmark_sets))
    texts = [item for item in every if item.english]
    return [
        Missing(
            lang=lang,
            total=len(texts),
            places=tuple(item.place for item in texts if not item.translations.get(lang)),
        )
        for lang in catalogue.languages
        if lang != SOURCE_LANGUAGE
    ]

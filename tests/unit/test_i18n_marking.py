"""Every user-facing string is marked for translation, and the compiled catalogues are current.

* Templates: each template is lexed with Jinja's own lexer; Jinja constructs are blanked out,
  `{% trans %}` blocks dropped, and the remaining HTML is parsed. Any text node, or
  user-facing attribute (alt, title, placeholder, aria-label...), that still contains a word
  was written in English straight into the HTML and is reported with its line.
* Python (kpi_app/web): an AST scan reports string literals passed to flash(), abort(...,
  description=...), ValidationError(...) and as WTForms field labels, descriptions or
  validator messages, instead of `_()` / `_l()`.
* Catalogues: every translation keeps the placeholders of its English original, and each
  committed messages.mo says exactly what its messages.po says (run `kpi-app translate
  compile` after editing a .po).
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from jinja2 import Environment
from jinja2.ext import i18n

from kpi_app.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "kpi_app" / "templates"
WEB = PROJECT_ROOT / "kpi_app" / "web"
TRANSLATIONS = PROJECT_ROOT / "kpi_app" / "translations"
LANGUAGES = ("fr", "es", "ar", "zh", "ru")

# Words that are the same in every language, so they need no translation. Keep this short.
ALLOWED_WORDS = {
    "U4SSC",  # the programme's name
    "ITU-T",  # the standards body, as in "ITU-T Y.4903"
    "Y.4903",
    "SDG",  # a code; its translated name is shown next to it
    "KPI",
    "KPIs",
    "CSV",  # file formats
    "XLSX",
    "JSON",
    "PDF",
    "NGSI-LD",
    "SDMX",
    "API",
    "OpenAPI",
    "URL",
    "SHA-256",  # a checksum algorithm
    "UTC",  # the time standard
    "km²",  # units
    "µg/m³",
    "GET",  # HTTP methods in the API reference
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
}
# Attributes whose text a user reads or hears.
USER_FACING_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description"}
# Elements whose content is code or data, never prose.
RAW_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp"}
# Stands in for a {{ expression }}: a digit, so `<h{{ level }}>` stays a valid tag name and the
# text checks (which look for letters) ignore it.
MARKER = "0"
LETTERS = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Finding:
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r}"


def template_without_jinja(source: str) -> str:
    """The template's HTML with Jinja blanked out, each piece kept on its own line number."""
    environment = Environment(extensions=[i18n])
    pieces: list[str] = []
    line = 1
    in_trans = False
    block: list[str] = []
    for lineno, token, value in environment.lex(source):
        if lineno > line:  # whitespace control ({%- -%}) eats newlines: put them back
            pieces.append("\n" * (lineno - line))
            line = lineno
        if token == "block_begin":
            block = []
        elif token == "name" and not block:
            block.append(value)
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        if in_trans:
            continue
        if token == "data":
            pieces.append(value)
            line += value.count("\n")
        elif token == "variable_begin":
            pieces.append(MARKER)
    return "".join(pieces)


def literal_words(text: str) -> str:
    words = [
        w for w in text.replace(MARKER, " ").split() if w.strip(".,:;()·–—→%") not in ALLOWED_WORDS
    ]
    candidate = " ".join(words)
    return candidate if LETTERS.search(candidate) else ""


class LiteralTextFinder(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.raw_depth = 0
        self.findings: list[Finding] = []

    def _report(self, text: str) -> None:
        words = literal_words(text)
        if words:
            self.findings.append(Finding(f"{self.name}:{self.getpos()[0]}", words))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in RAW_ELEMENTS:
            self.raw_depth += 1
        for attribute, value in attrs:
            if attribute in USER_FACING_ATTRIBUTES and value:
                self._report(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in RAW_ELEMENTS and self.raw_depth:
            self.raw_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.raw_depth:
            self._report(data)


def untranslated_template_text(path: Path) -> list[Finding]:
    finder = LiteralTextFinder(str(path.relative_to(PROJECT_ROOT)))
    finder.feed(template_without_jinja(path.read_text(encoding="utf-8")))
    finder.close()
    return finder.findings


# ----- Python ----------------------------------------------------------------------------

TRANSLATORS = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}
VALIDATORS_WITH_MESSAGES = {
    "DataRequired",
    "InputRequired",
    "Length",
    "NumberRange",
    "Email",
    "EqualTo",
    "Regexp",
    "URL",
    "AnyOf",
    "NoneOf",
    "Optional",
}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_literal_prose(node: ast.expr | None) -> bool:
    """A str constant or f-string with words in it (a call to _() is fine)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(LETTERS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(part, ast.Constant) and LETTERS.search(str(part.value))
            for part in node.values
        )
    return False


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def untranslated_python_strings(path: Path) -> list[Finding]:
    return untranslated_in_source(
        path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT))
    )


def untranslated_in_source(source: str, origin: str) -> list[Finding]:
    tree = ast.parse(source)
    findings = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = _name(call.func)
        first = call.args[0] if call.args else None
        suspects: list[ast.expr | None] = []
        if name in {"flash", "ValidationError"}:
            suspects.append(first)
        elif name == "abort":
            suspects.append(_keyword(call, "description"))
        elif name.endswith("Field"):
            suspects += [first, _keyword(call, "label"), _keyword(call, "description")]
        elif name in VALIDATORS_WITH_MESSAGES:
            suspects.append(_keyword(call, "message"))
        for node in suspects:
            if node is not None and _is_literal_prose(node):
                findings.append(Finding(f"{origin}:{node.lineno}", ast.unparse(node)))
    return findings


def web_modules() -> list[Path]:
    # The JSON API (web/api) answers programs, in English by design: its error texts are part
    # of the documented machine interface, so it is left out.
    return sorted(p for p in WEB.rglob("*.py") if "api" not in p.relative_to(WEB).parts[:1])


# ----- tests ---------------------------------------------------------------------------------


def test_the_template_scanner_catches_literal_text_and_accepts_marked_text() -> None:
    source = (
        '<h1>{{ _("Cities") }}</h1>\n<p title="Hover text">Plain English</p>\n'
        "{% trans %}Inside a trans block{% endtrans %}\n<td>{{ value }} km²</td>\n"
        "<script>var ignored = 'code';</script>\n"
    )
    finder = LiteralTextFinder("sample")
    finder.feed(template_without_jinja(source))
    assert [str(f) for f in finder.findings] == [
        "sample:2: 'Hover text'",
        "sample:2: 'Plain English'",
    ]


def test_every_template_marks_its_text_for_translation() -> None:
    findings = [
        f for path in sorted(TEMPLATES.rglob("*.html")) for f in untranslated_template_text(path)
    ]
    assert not findings, "text not wrapped in _() or {% trans %}:\n" + "\n".join(map(str, findings))


def test_python_user_messages_and_form_labels_are_marked_for_translation() -> None:
    findings = [f for path in web_modules() for f in untranslated_python_strings(path)]
    assert not findings, "literal text shown to users:\n" + "\n".join(map(str, findings))


def test_the_python_scanner_catches_literals() -> None:
    source = (
        "flash('Saved!')\nflash(_('Saved!'))\nname = StringField('Name')\n"
        "abort(403, description=f'No {x}')\nLength(max=3, message=_l('Too long'))\n"
        "flash(message)\nStringField(_l('Label'), render_kw={'class': 'wide'})\n"
    )
    found = [str(f) for f in untranslated_in_source(source, "sample.py")]
    assert found == [
        "sample.py:1: \"'Saved!'\"",
        "sample.py:3: \"'Name'\"",
        "sample.py:4: \"f'No {x}'\"",
    ]


# ----- catalogues ----------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|%%")
STRAY_PERCENT = re.compile(r"%(?!\(\w+\)[sdfr]|%)")


def read_catalogue(language: str) -> Catalog:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _forms(message: Message) -> tuple[list[str], list[str]]:
    ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
    strings = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
    return [str(i) for i in ids], [str(s) for s in strings]


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_the_original(language: str) -> None:
    problems = []
    for message in read_catalogue(language):
        if not message.id:
            continue
        ids, strings = _forms(message)
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0])))
        for string in filter(None, strings):
            found = sorted(set(PLACEHOLDER.findall(string)))
            # A plural form may drop the count (e.g. "one item"): only extra names are wrong.
            if set(found) - set(expected) or (len(ids) == 1 and found != expected):
                problems.append(f"{ids[0]!r}: {found} vs {expected}")
            # A lone % only survives in messages that are never %-formatted (Python strings
            # without variables); a translation must not add one.
            if STRAY_PERCENT.search(string) and not STRAY_PERCENT.search(ids[0]):
                problems.append(f"{ids[0]!r}: lone % in {string!r} (write %% in templates)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_po_file(language: str) -> None:
    """Every translation in the .po is what the .mo answers, and the .mo holds nothing else."""
    mo_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"run `kpi-app translate compile` ({mo_path} missing)"
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    known_ids = set()
    for message in read_catalogue(language):
        if not message.id:
            continue
        ids, strings = _forms(message)
        known_ids.add(ids[0])
        if message.fuzzy or not all(strings):
            continue
        if len(ids) == 1:
            answered = [compiled.gettext(ids[0])]
        else:
            answered = [compiled.ngettext(ids[0], ids[1], n) for n in range(1, 200)]
            strings = sorted(set(strings))
            answered = sorted(set(answered))
        if answered != strings:
            stale.append(f"{ids[0]!r}: .mo says {answered}, .po says {strings}")
    catalog = compiled._catalog  # type: ignore[attr-defined]
    extra = {k if isinstance(k, str) else k[0] for k in catalog} - known_ids - {""}
    assert not stale and not extra, (
        f"{mo_path} is stale: run `kpi-app translate compile`\n"
        + "\n".join(stale[:10] + [f"not in the .po: {e!r}" for e in sorted(extra)[:10]])
    )

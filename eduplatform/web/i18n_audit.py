"""Checks of the English interface (docs/i18n.md): Chinese left outside translate tags in templates,
msgids of the catalog without a translation, strings marked in the code but missing from the catalog,
and Chinese on a rendered page that is not data.

Used by tests/test_i18n.py; each function returns exactly what is missing, so a failure names it.
"""

from __future__ import annotations

import bisect
import gettext as gettext_module
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_MARKED_ARGUMENT = re.compile(r"""_\("[^"]*"\)|_\('[^']*'\)""")
# Template tags whose Chinese arguments are compared with data values and never displayed.
_COMPARISON_TAGS = ("if", "elif")
# What `manage.py makemessages` must skip (docs/i18n.md gives the same command).
MAKEMESSAGES_IGNORE = ("node_modules", "var", "tests", "bench", "docs", "data", "deploy", "scripts", "locale")


# --------------------------------------------------------------------------------------------
# Templates


def scan_template(text: str) -> list[tuple[int, str]]:
    """(line, text) of every piece of Chinese outside {% translate %}, {% blocktranslate %}, _("…"),
    comments, and the if/elif comparisons."""
    from django.template.base import Lexer, TokenType

    found: list[tuple[int, str]] = []
    in_comment = in_blocktranslate = 0
    for token in Lexer(text).tokenize():
        contents = token.contents
        word = contents.split()[0] if token.token_type == TokenType.BLOCK and contents.split() else ""
        if word == "comment":
            in_comment += 1
            continue
        if word == "endcomment":
            in_comment -= 1
            continue
        if word in ("blocktranslate", "blocktrans"):
            in_blocktranslate += 1
            continue
        if word in ("endblocktranslate", "endblocktrans"):
            in_blocktranslate -= 1
            continue
        if in_comment or in_blocktranslate or token.token_type == TokenType.COMMENT:
            continue
        if word in ("translate", "trans", *_COMPARISON_TAGS):
            continue
        if HAN.search(_MARKED_ARGUMENT.sub("", contents)):
            found.append((token.lineno, contents.strip()[:120]))
    return found


def template_files() -> list[Path]:
    return sorted((Path(settings.BASE_DIR) / "eduplatform").rglob("templates/**/*.html"))


def untranslated_template_text() -> list[tuple[str, int, str]]:
    base = Path(settings.BASE_DIR)
    return [(str(path.relative_to(base)), line, text)
            for path in template_files() for line, text in scan_template(path.read_text(encoding="utf-8"))]


# --------------------------------------------------------------------------------------------
# The catalog


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    fuzzy: bool = False
    where: str = ""

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstrs) and all(s.strip() for s in self.msgstrs)

    @property
    def key(self) -> str:
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


def _unquote(line: str) -> str:
    return line[line.index('"') + 1: line.rindex('"')].encode("raw_unicode_escape").decode("unicode_escape")


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file as makemessages writes it (one blank line between entries; the
    header and obsolete entries left out)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: str | None = None
    refs: list[str] = []
    fuzzy = False

    def finish() -> None:
        nonlocal current
        if current is not None and current.msgid:
            entries.append(current)
        current = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#:"):
            refs.append(line[2:].strip())
            continue
        if line.startswith("#,"):
            fuzzy = "fuzzy" in line
            continue
        if line.startswith("#"):
            continue
        if current is None:
            current = Entry(msgid="", fuzzy=fuzzy, where=refs[0].split()[0] if refs else "")
            refs, fuzzy = [], False
        if line.startswith("msgctxt"):
            current.msgctxt, target = _unquote(line), "msgctxt"
        elif line.startswith("msgid_plural"):
            current.plural, target = _unquote(line), "plural"
        elif line.startswith("msgid"):
            current.msgid, target = _unquote(line), "msgid"
        elif line.startswith("msgstr"):
            current.msgstrs.append(_unquote(line))
            target = "msgstr"
        elif line.startswith('"') and current is not None:
            text = _unquote(line)
            if target == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + text
            elif target == "msgid":
                current.msgid += text
            elif target == "plural":
                current.plural = (current.plural or "") + text
            elif target == "msgstr":
                current.msgstrs[-1] += text
    finish()
    return entries


def stale_compiled_entries(po: Path) -> list[str]:
    """msgids whose translation in the compiled .mo differs from the .po (all of them without a .mo)."""
    mo = po.with_suffix(".mo")
    entries = [e for e in read_po(po) if e.translated]
    if not mo.exists():
        return [e.msgid for e in entries]
    with mo.open("rb") as f:
        catalog = gettext_module.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    stale = []
    for e in entries:
        if e.plural is None:
            if catalog.get(e.key) != e.msgstrs[0]:
                stale.append(e.msgid)
        elif any(catalog.get((e.key, n)) != s for n, s in enumerate(e.msgstrs)):
            stale.append(e.msgid)
    return stale


def have_gettext_tools() -> bool:
    return shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None


def msgids_missing_from_catalog(po: Path, workdir: Path) -> list[tuple[str, str]]:
    """(msgid, where) of every string marked in the code or templates and absent from ``po``: runs
    makemessages into ``workdir`` (the committed catalog is not touched)."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    # makemessages writes beside the nearest "locale" folder it sees, so it runs in ``workdir``, which
    # holds only a link to the code (no "locale" folder of the project in sight).
    base = Path(settings.BASE_DIR)
    (workdir / "eduplatform").symlink_to(base / "eduplatform", target_is_directory=True)
    cwd = os.getcwd()
    try:
        os.chdir(workdir)
        with override_settings(LOCALE_PATHS=[str(workdir / "locale")]):
            call_command("makemessages", locale=["en"], ignore_patterns=list(MAKEMESSAGES_IGNORE), symlinks=True,
                         verbosity=0)
    finally:
        os.chdir(cwd)
    known = {e.key for e in read_po(po)}
    fresh = read_po(workdir / "locale" / "en" / "LC_MESSAGES" / "django.po")
    return [(e.msgid, e.where) for e in fresh if e.key not in known]


# --------------------------------------------------------------------------------------------
# Rendered pages


class DataStrings:
    """The Chinese runs of every stored value: a run of Chinese on a page is data when it is exactly a
    run of some stored value (a school, region, person or organization name, a code-table name, a
    stored message)."""

    def __init__(self, runs: set[str]) -> None:
        self.runs = runs
        self._sorted: list[str] | None = None

    @classmethod
    def of(cls, values: Iterable[str]) -> DataStrings:
        return cls({run for value in values for run in HAN.findall(value)})

    def __contains__(self, run: str) -> bool:
        return run in self.runs

    def begins(self, run: str) -> bool:
        """Whether ``run`` begins some stored run (a long stored text cut short for display)."""
        if self._sorted is None:
            self._sorted = sorted(self.runs)
        i = bisect.bisect_left(self._sorted, run)
        return i < len(self._sorted) and self._sorted[i].startswith(run)


# The platform's own code lists kept in Python (names by national standards or fixed once, like the code
# tables in the database): data, shown as the standards name them (docs/i18n.md, "Code tables").
CODE_LIST_MODULES = ("eduplatform.staff.codes", "eduplatform.assets.codes", "eduplatform.students.schema",
                     "eduplatform.facilities.schema")


# Models whose texts are not records but the platform's own texts kept ready-made: the stored 基表 (their
# headings, titles, notes and rules are marked in ``stats.basetables`` and translated on screen).
DERIVED_MODELS = ("stats.StoredBaseTables",)


def code_list_names() -> list[str]:
    """The names of the code lists of CODE_LIST_MODULES ((code, name) pairs and code → name maps), the
    grade names (JY/T 年级) and the 基表 series' form-number prefixes (基础基, 中职基, 高基: codes of the
    national forms, shown as codes with a translated title)."""
    import importlib

    from eduplatform.stats.basetables import SERIES
    from eduplatform.students.grades import GRADES

    names = [g.name for g in GRADES] + [s.name for s in SERIES.values()]
    for module_name in CODE_LIST_MODULES:
        for value in vars(importlib.import_module(module_name)).values():
            if isinstance(value, dict):
                names += [v for v in value.values() if isinstance(v, str)]
            elif isinstance(value, tuple) and value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
                names += [p[1] for p in value if isinstance(p[1], str)]
    return names


def data_strings() -> DataStrings:
    """Every text value stored in the database (all models' char, text and JSON fields)."""
    from django.apps import apps
    from django.db import models

    values: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            if HAN.search(value):
                values.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(code_list_names())
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed or model._meta.label in DERIVED_MODELS:
            continue
        names = [f.attname for f in model._meta.concrete_fields
                 if isinstance(f, (models.CharField, models.TextField, models.JSONField))]
        if names:
            for row in model._base_manager.values_list(*names).iterator(chunk_size=5000):
                walk(list(row))
    return DataStrings.of(values)


_MASKED = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)\*")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# A text at least this long whose last Chinese run only begins a stored run is a stored text cut short.
TRUNCATED_LENGTH = 30


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped: script/style/Chinese-language element)

    def _skipped(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # Skipped: scripts and styles, text marked as Chinese (the switch's 简体中文) and text marked not to
        # be translated (translate="no": sample values and commands of the data standard).
        skip = (tag in ("script", "style") or attributes.get("translate") == "no"
                or (attributes.get("lang") or "").lower().startswith("zh") and tag != "html")
        if not skip and not self._skipped():
            self.texts += [f"{name}: {attributes[name]}" for name in _SHOWN_ATTRIBUTES if attributes.get(name)]
        if tag not in _VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipped() and data.strip():
            self.texts.append(" ".join(data.split()))


def chinese_outside_data(html: str, data: DataStrings) -> list[str]:
    """The texts (and shown attributes, as ``name: value``) of a page holding Chinese that is not data."""
    parser = _Texts()
    parser.feed(html)
    found: list[str] = []
    for text in parser.texts:
        runs = HAN.findall(text)
        if runs and len(text) >= TRUNCATED_LENGTH and runs[-1] not in data and data.begins(runs[-1]):
            runs.pop()  # a stored text cut short for display (a list shows the first characters of a message)
        # A masked value (苏*, 新塘街道长沥****): a run followed by the mask begins a stored value.
        masked = {m[1] for m in _MASKED.finditer(text) if data.begins(m[1])}
        if any(run not in data and run not in masked for run in runs) and text not in found:
            found.append(text)
    return found

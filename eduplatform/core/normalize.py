"""Turning what real spreadsheet cells contain into clean values.

Uploaded files are typed by hand, pasted from web pages and Word, exported by other systems and
read back through calamine, which returns every number cell as a float. These functions accept
all the usual spellings of one value and fail with a short Chinese sentence saying what is
allowed, so an import can report every bad cell in one pass. Callers prefix the message with the
column and the value, e.g. ``出生日期「2015-02-30」`` + message.

Pure functions: no Django, nothing from the rest of eduplatform.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

from django.utils.translation import gettext, gettext_lazy

__all__ = [
    "CodeMatcher",
    "clean_text",
    "compact",
    "normalize_id_number",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_month",
]

# Not whitespace to str.split(), yet routinely carried along by copy and paste.
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

# Anything clean_text's slow path would change in NFKC-normal text: runs of spaces, tabs,
# line breaks and invisible characters.
_ODD_SPACE: Final = re.compile(r"\s\s|[\t\n\r\f\v\u200b\u200c\u200d\u2060\ufeff\u3000\xa0]")

DATE_FORMATS_HINT: Final = gettext_lazy("可写作 2015-09-01、2015/9/1、20150901 或 2015.9.1")
MONTH_FORMATS_HINT: Final = gettext_lazy("可写作 201509、2015-09、2015/9 或 2015年9月")


def clean_text(value: object) -> str:
    """The text a person sees in a cell, in one canonical spelling.

    Integral floats lose their ``.0`` (calamine reads every number cell as a float, so a typed
    20150901 arrives as 20150901.0); dates become ISO dates; NFKC folds full-width digits,
    letters and punctuation to ASCII; invisible characters go; whitespace runs become one space.
    """
    if value is None:
        return ""
    if type(value) is str:
        # Fast path for the common cell: already clean ASCII, or normalised text without odd spaces.
        stripped = value.strip()
        if (stripped.isascii() or unicodedata.is_normalized("NFKC", stripped)) and not _ODD_SPACE.search(stripped):
            return stripped
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime):  # before date: datetime is a subclass of date
        text = value.date().isoformat()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    # NFKC already maps NBSP and the ideographic space to U+0020; split() handles the rest.
    return " ".join(text.split())


def compact(text: object) -> str:
    """clean_text without any whitespace: for codes, ID numbers and phone numbers."""
    return "".join(clean_text(text).split())


# ---------------------------------------------------------------------------
# Dates and months
# ---------------------------------------------------------------------------

# One pattern for the separated forms; the separators are checked pairwise afterwards so that
# "2015-9/1" is rejected. A time part ("00:00:00", as Excel writes dates into CSV) is ignored.
_SEPARATED_DATE: Final = re.compile(
    r"^(?P<y>\d{4})\s*(?P<s1>[-/.年])\s*(?P<m>\d{1,2})\s*(?P<s2>[-/.月])\s*(?P<d>\d{1,2})\s*(?P<s3>日?)"
    r"(?:(?:\s+|T)\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_SEPARATOR_PAIRS: Final = {
    ("-", "-", ""),
    ("/", "/", ""),
    (".", ".", ""),
    ("年", "月", "日"),
    ("年", "月", ""),
}
_COMPACT_DATE: Final = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL: Final = re.compile(r"^(\d{4,5})(?:\.\d+)?$")
_SEPARATED_MONTH: Final = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?$")
_COMPACT_MONTH: Final = re.compile(r"^(\d{4})(\d{2})$")

# Excel's 1900 date system counts 1900-02-29, which never existed, so from serial 61 on the
# serial is the number of days since 1899-12-30.
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 1000, 80000


class _NoSuchDate(ValueError):
    """The text is a date's shape but names no day in the calendar (its message is translated)."""


def _make_date(year: int, month: int, day: int) -> dt.date:
    if not 1 <= month <= 12:
        raise _NoSuchDate(gettext("日期不存在：没有%(month)s月") % {"month": month})
    if year < 1:
        raise _NoSuchDate(gettext("日期不存在：没有%(year)s年") % {"year": year})
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _NoSuchDate(gettext("日期不存在：%(year)s年%(month)s月没有%(day)s日") % {"year": year, "month": month, "day": day}) from None


def parse_date(text: object) -> dt.date:
    """A calendar date from any of the spellings found in school spreadsheets.

    Accepts 2015-09-01, 2015-9-1, 2015/9/1, 2015.9.1, 2015年9月1日, 20150901, ISO datetimes
    and Excel serial day numbers (1000–80000, what a date cell shows when its format is lost).
    """
    value = clean_text(text)
    if not value:
        raise ValueError(gettext("日期不能为空，%(date_formats_hint)s") % {"date_formats_hint": DATE_FORMATS_HINT})
    if match := _SEPARATED_DATE.match(value):
        if (match["s1"], match["s2"], match["s3"]) not in _SEPARATOR_PAIRS:
            raise ValueError(gettext("日期格式无法识别，%(date_formats_hint)s") % {"date_formats_hint": DATE_FORMATS_HINT})
        return _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
    if match := _COMPACT_DATE.match(value):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _SERIAL.match(value):
        serial = int(match[1])
        # A bare four-digit year is far more likely than a day in 1902–1905 (serials 1900–2100).
        if "." not in value and 1900 <= serial <= 2100:
            raise ValueError(gettext("只有年份，缺少月和日，%(date_formats_hint)s") % {"date_formats_hint": DATE_FORMATS_HINT})
        if _SERIAL_MIN <= serial <= _SERIAL_MAX:
            return _EXCEL_EPOCH + dt.timedelta(days=serial)
    raise ValueError(gettext("日期格式无法识别，%(date_formats_hint)s") % {"date_formats_hint": DATE_FORMATS_HINT})


def parse_month(text: object) -> dt.date:
    """The first day of a month written as 201509, 2015-09, 2015/9, 2015.9, 2015年9月 or a full date.

    A month typed into a number cell as 2015.10 reaches us as 2015.1 (January); nothing here can
    tell, which is why templates format every column as text.
    """
    value = clean_text(text)
    if not value:
        raise ValueError(gettext("年月不能为空，%(month_formats_hint)s") % {"month_formats_hint": MONTH_FORMATS_HINT})
    match = _SEPARATED_MONTH.match(value) or _COMPACT_MONTH.match(value)
    if match:
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ValueError(gettext("月份不存在：没有%(month)s月") % {"month": month})
        return dt.date(year, month, 1)
    try:
        return parse_date(value).replace(day=1)
    except ValueError as exc:
        if isinstance(exc, _NoSuchDate):
            raise
        raise ValueError(gettext("年月格式无法识别，%(month_formats_hint)s") % {"month_formats_hint": MONTH_FORMATS_HINT}) from None


# ---------------------------------------------------------------------------
# Booleans and integers
# ---------------------------------------------------------------------------

_TRUE: Final = frozenset({"是", "1", "y", "yes", "true", "有", "√", "✓", "✔", "对"})
_FALSE: Final = frozenset({"否", "0", "n", "no", "false", "无", "×", "✗", "✘", "不是", "错"})


def parse_bool(text: object) -> bool:
    """是/否 and the other ways people tick a box (1/0, Y/N, true/false, 有/无, √/×)."""
    value = compact(text).casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(gettext("只能填写 是 或 否"))


_INT: Final = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.0*)?$")


def parse_int(text: object) -> int:
    """A whole number; "3.0" (a number cell read as float) and "1,200" are accepted."""
    value = compact(text)
    if not _INT.match(value):
        raise ValueError(gettext("只能填写整数，如 3"))
    return int(value.split(".")[0].replace(",", ""))


def normalize_id_number(text: object) -> str:
    """An ID number as stored: no spaces, check digit X in upper case.

    A leading apostrophe is dropped: it forces text in Excel and survives literally in CSV files.
    Validation (length, check digit) is the caller's business.
    """
    return compact(text).lstrip("'").upper()


# ---------------------------------------------------------------------------
# Code tables
# ---------------------------------------------------------------------------

# Tried longest first; removing one from a name (or the typed text) gives its short form, so
# "汉" finds 汉族 and "男" finds 男性.
_NAME_SUFFIXES: Final = tuple(
    sorted(
        (
            "特别行政区",
            "自治区",
            "自治州",
            "自治县",
            "自治旗",
            "性别",
            "族",
            "性",
            "省",
            "市",
            "区",
            "县",
            "镇",
            "乡",
            "街道",
        ),
        key=len,
        reverse=True,
    )
)
# "code-name", "code:name", "code、name", "code|name" and "code name".
_PAIR_SEPARATORS: Final = re.compile(r"\s*[-—–_:、|/]\s*|\s+")
# "name(code)" and "code(name)"; NFKC has already turned （） into ().
_BRACKETED: Final = re.compile(r"^(?P<a>.+?)\s*[(\[【](?P<b>[^()\[\]【】]+)[)\]】]$")
# "01汉族", "CHN中国": what compact() makes of "01 汉族".
_CODE_PREFIX: Final = re.compile(r"^(?P<a>[0-9A-Za-z]+)(?P<b>[^0-9A-Za-z].*)$")

_AMBIGUOUS: Final = "\x00ambiguous"
# An unmatched value's message lists every allowed value of a table this small.
_LIST_ALL_UP_TO: Final = 8
# A suggestion is shown only when at least this alike as the best one.
_CLOSE_ENOUGH: Final = 0.6


def _key(text: object) -> str:
    return compact(text).casefold()


def _stem(key: str) -> str:
    for suffix in _NAME_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def _put(index: dict[str, str], key: str, code: str) -> None:
    """Record key → code; a key that two codes claim is kept as ambiguous, never first-wins."""
    if not key:
        return
    existing = index.get(key)
    index[key] = code if existing in (None, code) else _AMBIGUOUS


class CodeMatcher:
    """Finds the code a person meant in a code-table column.

    Accepts the code (with or without leading zeros), the name, "code-name" and "name(code)"
    forms, the table's synonyms (``data/reference/code_synonyms.csv``: official short names, superseded
    names, common spellings) and names with a common suffix dropped or added. Anything ambiguous or
    self-contradictory gives None, so the row is reported instead of guessed.
    """

    def __init__(
        self, codes: Iterable[tuple[str, str]], synonyms: Mapping[str, str] | None = None
    ) -> None:
        self.codes: tuple[tuple[str, str], ...] = tuple(
            (clean_text(c), clean_text(n)) for c, n in codes
        )
        self._by_code: dict[str, str] = {}
        self._by_unpadded: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self._by_stem: dict[str, str] = {}
        self._by_synonym: dict[str, str] = {}
        self._memo: dict[str, str | None] = {}
        # Every spelling of each code (code, name, synonyms), for the closest-value suggestion.
        self._spellings: dict[str, list[str]] = {}
        self._nearest: dict[str, tuple[tuple[str, str], ...]] = {}
        for code, name in self.codes:
            _put(self._by_code, code.casefold(), code)
            if code.isdigit():
                _put(self._by_unpadded, code.lstrip("0") or "0", code)
            _put(self._by_name, _key(name), code)
            _put(self._by_stem, _stem(_key(name)), code)
            self._spellings.setdefault(code, []).extend((code.casefold(), _key(name)))
        for text, code in (synonyms or {}).items():
            wanted = clean_text(code).casefold()
            target = self._by_code.get(wanted) or self._by_unpadded.get(wanted.lstrip("0") or "0")
            if target and target != _AMBIGUOUS:
                _put(self._by_synonym, _key(text), target)
                self._spellings[target].append(_key(text))

    def __len__(self) -> int:
        return len(self.codes)

    def match(self, text: object) -> str | None:
        """The code meant by ``text``, or None when unknown, ambiguous or contradictory."""
        # A column holds few distinct texts; a big import asks the same question thousands of times.
        key = text if type(text) is str else None
        if key is not None and key in self._memo:
            return self._memo[key]
        found = self._match(text)
        if key is not None and len(self._memo) < 10_000:
            self._memo[key] = found
        return found

    def _match(self, text: object) -> str | None:
        whole = clean_text(text)
        if not whole:
            return None
        found = self._single(_key(whole))
        if found is not None:
            return None if found == _AMBIGUOUS else found
        return self._pair(whole)

    def _single(self, key: str) -> str | None:
        """Code for one part; _AMBIGUOUS when a short form fits several codes."""
        if not key:
            return None
        # A synonym is a deliberate choice, so it settles a name shared by several codes ("其他").
        for index in (self._by_code, self._by_synonym, self._by_name):
            if key in index:
                return index[key]
        if key.isdigit() and (found := self._by_unpadded.get(key.lstrip("0") or "0")):
            return found
        return self._by_stem.get(_stem(key))

    def _pair(self, whole: str) -> str | None:
        """Code for "code-name" style text: each part may identify it; they must not disagree."""
        splits: list[tuple[str, str]] = []
        if match := _BRACKETED.match(whole):
            splits.append((match["a"], match["b"]))
        for sep in _PAIR_SEPARATORS.finditer(whole):
            if sep.start() > 0 and sep.end() < len(whole):
                splits.append((whole[: sep.start()], whole[sep.end() :]))
        if match := _CODE_PREFIX.match(compact(whole)):
            splits.append((match["a"], match["b"]))
        results: set[str] = set()
        for left, right in splits:
            found = {self._single(_key(left)), self._single(_key(right))} - {None}
            if _AMBIGUOUS in found and len(found) > 1:
                found.discard(_AMBIGUOUS)  # the other part settles it
            if len(found) > 1:
                return None  # "01-蒙古族": the parts name different codes
            results |= found - {_AMBIGUOUS}
        # Different splits of one text naming different codes is as good as a contradiction.
        return results.pop() if len(results) == 1 else None

    def hint(self, limit: int = 8) -> str:
        """What may be written, for error messages: a few "code-name" examples and the count."""
        if not self.codes:
            return gettext("代码表为空")
        shown = "、".join(f"{code}-{name}" for code, name in self.codes[:limit])
        if len(self.codes) <= limit:
            return gettext("可填写代码或名称：%(shown)s") % {"shown": shown}
        return gettext("可填写代码或名称，如 %(shown)s…（共%(count)s项）") % {"shown": shown, "count": len(self.codes)}

    def closest(self, text: object, limit: int = 5) -> tuple[tuple[str, str], ...]:
        """The (code, name) pairs whose code, name or synonyms look most like ``text``, best first.

        Likeness is the Dice coefficient over the characters two spellings share, raised when one
        contains the other ("党员" in "中共党员"); ties keep the table's order. Codes sharing no
        character with the text, or far less alike than the best, are left out, so the result may
        be empty.
        """
        key = _key(text)
        if not key:
            return ()
        found = self._nearest.get(key)
        if found is None:
            found = self._rank(key, limit)
            if len(self._nearest) < 1_000:  # a misread column can hold thousands of distinct texts
                self._nearest[key] = found
        return found

    def _rank(self, key: str, limit: int) -> tuple[tuple[str, str], ...]:
        chars = set(key)
        scored: list[tuple[float, int, str, str]] = []
        for order, (code, name) in enumerate(self.codes):
            best = 0.0
            for spelling in self._spellings.get(code, ()):
                shared = len(chars.intersection(spelling))
                if not shared:
                    continue
                likeness = 2 * shared / (len(chars) + len(set(spelling)))
                if key in spelling or spelling in key:
                    likeness += 1
                best = max(best, likeness)
            if best:
                scored.append((-best, order, code, name))
        scored.sort()
        floor = scored[0][0] * _CLOSE_ENOUGH if scored else 0.0  # scores are negated
        return tuple((code, name) for score, _order, code, name in scored[:limit] if score <= floor)

    def unmatched(self, text: object, label: str) -> str:
        """Why ``text`` was refused: the closest allowed values, and all of them when they are few."""
        nearest = self.closest(text)
        if not nearest:
            return gettext("不是有效的%(label)s代码或名称，%(hint)s") % {"label": label, "hint": self.hint()}
        shown = "、".join(f"{code}-{name}" for code, name in nearest)
        if len(nearest) == len(self.codes):
            return gettext("不是有效的%(label)s代码或名称；可填写：%(shown)s") % {"label": label, "shown": shown}
        if len(self.codes) <= _LIST_ALL_UP_TO:
            every = "、".join(f"{code}-{name}" for code, name in self.codes)
            return gettext("不是有效的%(label)s代码或名称；最接近的是：%(shown)s（可填写：%(every)s）") % {
                "label": label, "shown": shown, "every": every}
        return gettext("不是有效的%(label)s代码或名称；最接近的是：%(shown)s …"
                       "（共%(count)s项，完整列表见模板的下拉选项或数据字典）") % {
                           "label": label, "shown": shown, "count": len(self.codes)}

"""Checking one record's raw text against its columns: the shared half of every import and form.

A ``RowSchema`` is built once per kind of record (staff, buildings, equipment …) from its
``Column`` list plus the code tables its code columns use. ``clean`` turns raw text — a spreadsheet
row or a form post — into typed values and a list of problems, each naming the column, the value
as written and what is allowed. Record-specific rules (a check digit, an age, a sum) are the
caller's, applied to the ``CleanRow`` afterwards.

Every record kind uses it, the student register included (``students.schema``). For files,
``FileChecker`` gives the same result as ``clean`` row by row, faster.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext

from eduplatform.core.errors import RowProblem
from eduplatform.core.imports import Column
from eduplatform.core.input_guard import forbidden_character, has_forbidden_character, visible
from eduplatform.core.normalize import (
    CodeMatcher,
    clean_text,
    compact,
    normalize_id_number,
    parse_bool,
    parse_date,
    parse_int,
    parse_month,
)
from eduplatform.standards import codebook
from eduplatform.standards.validators import (
    ID_NUMBER_STORED_AS_NUMBER,
    IdentifierError,
    id_number_cell_is_number,
    redact_identifiers,
    validate_id_number,
)

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$")
MAX_TEXT = 200
MAX_MEMO = 50_000

# Kinds whose values repeat across a file's rows: each distinct value is parsed once per batch.
_REPEATING_KINDS = frozenset({"code", "date", "month", "bool", "int", "decimal"})
_COMPACT_KINDS = frozenset({"code", "id_number", "phone", "int", "decimal"})

_date = lru_cache(maxsize=4096)(parse_date)
_month = lru_cache(maxsize=1024)(parse_month)


@dataclass
class CleanRow:
    """Typed values of one record and what was wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (field, value as written, message)

    def add(self, field_name: str, value: Any, message: str) -> None:
        self.problems.append((field_name, visible(clean_text(value)), message))  # no NUL into the report

    def failed(self, field_name: str) -> bool:
        # Asked of every row of a batch, nearly all without a problem.
        return bool(self.problems) and any(p[0] == field_name for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_decimal(text: object) -> decimal.Decimal:
    """A non-negative amount (an area, a price, a count of volumes); "1,200.50" is accepted."""
    value = compact(text)
    if not _DECIMAL.match(value):
        raise ValueError(gettext("只能填写数字，如 1200.5"))
    number = decimal.Decimal(value.replace(",", ""))
    if number < 0:
        raise ValueError(gettext("不能为负数"))
    return number


def parse_phone(text: str) -> str:
    phone = text.replace(" ", "").replace("+86", "")
    if not (MOBILE.match(phone) or LANDLINE.match(phone)):
        raise ValueError(gettext("不是有效的电话号码，应为11位手机号或带区号的固定电话（如 020-87654321）"))
    return phone


def parse_resident_id(text: str) -> str:
    """A mainland resident ID number with its check digit verified (GB 11643). The message never
    names the check digit the number should have, and says so when a spreadsheet's number format
    has cut the number (``validators.id_number_stored_as_number``)."""
    try:
        return validate_id_number(normalize_id_number(text))
    except IdentifierError as exc:
        raise ValueError(gettext("无效：%(reason)s") % {"reason": exc.message}) from exc


# --------------------------------------------------------------------------------------------
# Identity rules: what a resident ID number fixes


# GB/T 2261.1 names of the sex codes: code-table names, shown as the standard names them (docs/i18n.md).
_SEX_SHOWN = {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}


@lru_cache(maxsize=8192)
def _encoded_birth(digits: str) -> dt.date:
    """The birth date a validated ID number encodes (its YYYYMMDD part); a school has a few hundred."""
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def check_against_resident_id(row: CleanRow, number: str, *, check_birth: bool, check_gender: bool) -> bool:
    """Birth date and sex of ``row`` against its validated resident ID number ``number``.

    GB 11643-1999: digits 7–14 are the birth date, the 17th is odd for a man and even for a woman,
    so a holder's sex is never 0 (未知) or 9 (未说明). Each disagreement is a problem on the field
    that disagrees, naming the ID number as the other side; the number itself is not repeated.
    Returns False when the birth date disagrees (so no further rule judges it).
    """
    values = row.values
    agrees = True
    birth = values.get("birth_date") if check_birth else None
    if birth is not None:
        encoded = _encoded_birth(number[6:14])
        if encoded != birth:
            row.add("birth_date", birth.isoformat(),
                    gettext("出生日期「%(birth)s」与身份证件号不一致：身份证件号第7–14位表明出生日期为 %(encoded)s")
                    % {"birth": f"{birth:%Y-%m-%d}", "encoded": f"{encoded:%Y-%m-%d}"})
            agrees = False
    gender = values.get("gender") if check_gender else None
    if gender:
        sex = "1" if number[16] in "13579" else "2"
        if gender != sex:
            shown, fixed = _SEX_SHOWN.get(gender, gender), _SEX_SHOWN[sex]
            rest = gettext("；持居民身份证者的性别须填写 男 或 女") if gender not in ("1", "2") else ""
            row.add("gender", shown, gettext("性别「%(shown)s」与身份证件号不一致：身份证件号第17位表明性别为%(fixed)s%(rest)s")
                    % {"shown": shown, "fixed": fixed, "rest": rest})
    return agrees


def _required(col: Column) -> str:
    return gettext("%(label)s为必填项") % {"label": gettext(col.label)}


class RowSchema:
    """The columns of one record kind, with their code tables, defaults and special parsers.

    ``code_tables`` maps a code column to the key of its code table, whose codes and synonyms
    (``data/reference/code_synonyms.csv``) it accepts; ``extra_choices`` gives code columns whose
    codes are not in a loaded table (their synonyms are under the key ``code_tables`` gives them, if
    any); ``parsers`` replaces the parser of a text column (it receives cleaned text and raises
    ValueError with the message to show);
    ``max_lengths`` caps text columns (default ``MAX_TEXT``); ``blank_codes`` lists texts that mean
    "none" in an optional code column; ``row_type`` is the CleanRow subclass ``clean`` returns.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        code_tables: Mapping[str, str] | None = None,
        extra_choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        defaults: Mapping[str, Any] | None = None,
        parsers: Mapping[str, Callable[[str], Any]] | None = None,
        max_lengths: Mapping[str, int] | None = None,
        blank_codes: Mapping[str, Iterable[str]] | None = None,
        row_type: type[CleanRow] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self.by_field = {c.field: c for c in self.columns}
        self.code_tables = dict(code_tables or {})
        if bad := [k for k, v in self.code_tables.items() if not isinstance(v, str)]:
            # Short forms live in data/reference/code_synonyms.csv, not beside the schema.
            raise TypeError(f"code_tables values must be code table keys: {bad}")
        self.extra_choices = {k: tuple(v) for k, v in (extra_choices or {}).items()}
        self.parsers = dict(parsers or {})
        self.max_lengths = dict(max_lengths or {})
        # Texts that mean "none" in an optional code column (残疾类型: 无, 否).
        self.blank_codes = {k: frozenset(v) for k, v in (blank_codes or {}).items()}
        self.row_type = row_type or CleanRow
        self.defaults = {c.field: self._empty(c) for c in self.columns} | dict(defaults or {})
        self._matchers: dict[str, CodeMatcher] = {}
        unknown = [c.field for c in self.columns if c.kind == "code" and c.field not in self.code_tables
                   and c.field not in self.extra_choices and not c.choices]
        if unknown:
            raise ValueError(f"code columns without a code table: {unknown}")

    @staticmethod
    def _empty(col: Column) -> Any:
        if col.kind in ("date", "month", "int", "decimal"):
            return None
        return False if col.kind == "bool" else ""

    # -- code tables ---------------------------------------------------------------------------

    def choices_of(self, field_name: str) -> tuple[tuple[str, str], ...]:
        if field_name in self.extra_choices:
            return self.extra_choices[field_name]
        if field_name in self.code_tables:
            return tuple(codebook.codes_of(self.code_tables[field_name]).items())
        return self.by_field[field_name].choices

    def matcher(self, field_name: str) -> CodeMatcher:
        found = self._matchers.get(field_name)
        if found is None:
            synonyms = codebook.synonyms_of(self.code_tables.get(field_name, ""))
            found = self._matchers[field_name] = CodeMatcher(self.choices_of(field_name), synonyms=synonyms)
        return found

    def forget_codes(self) -> None:
        """Drop cached matchers (after the code tables were reloaded, e.g. in tests)."""
        self._matchers.clear()

    def code_name(self, field_name: str, code: str | None) -> str:
        if not code:
            return ""
        return dict(self.choices_of(field_name)).get(code, code)

    def template_columns(self) -> list[Column]:
        """The columns with the dropdown choices of code columns filled from the code tables."""
        return [replace(c, choices=self.choices_of(c.field)) if c.kind == "code" else c for c in self.columns]

    # -- checking ------------------------------------------------------------------------------

    def clean(self, raw: Mapping[str, Any], *, memo: dict | None = None,
              only: Iterable[str] | None = None) -> CleanRow:
        """Each column (or just ``only``) parsed on its own; ``memo`` is shared by a batch's rows."""
        out = self.row_type()
        values = out.values
        columns = self.columns if only is None else [self.by_field[f] for f in only]
        for col in columns:
            value = raw.get(col.field)
            if value is None or value == "":
                if col.required:
                    out.add(col.field, value, _required(col))
                else:
                    values[col.field] = self.defaults[col.field]
                continue
            key = (col.field, value) if memo is not None and col.kind in _REPEATING_KINDS else None
            if key is not None and key in memo:
                parsed, message = memo[key]
            else:
                parsed, message = self.parse_cell(col, value)
                if key is not None and len(memo) < MAX_MEMO:
                    memo[key] = (parsed, message)
            if message is None:
                values[col.field] = parsed
            elif message:
                out.add(col.field, value, message)
            elif col.required:  # blank once cleaned (only spaces)
                out.add(col.field, value, _required(col))
            else:
                values[col.field] = self.defaults[col.field]
        return out

    def parse_cell(self, col: Column, value: Any) -> tuple[Any, str | None]:
        """(value, None), (None, message), or (None, "") for a cell that is blank once cleaned."""
        text = compact(value) if col.kind in _COMPACT_KINDS else clean_text(value)
        if not text:
            return None, ""
        if has_forbidden_character(text):  # NUL, control, bidi: never stored (the label translated only then)
            return None, forbidden_character(gettext(col.label), text)
        if col.kind == "id_number" and id_number_cell_is_number(value):
            # Whatever the document type: no number cell holds 16 digits or more exactly.
            return None, gettext("%(label)s「%(text)s」不完整。%(hint)s") % {
                "label": gettext(col.label), "text": redact_identifiers(text), "hint": gettext(ID_NUMBER_STORED_AS_NUMBER)}
        try:
            return self._parse(col, text), None
        except ValueError as exc:
            return None, gettext("%(label)s「%(text)s」%(reason)s") % {"label": gettext(col.label), "text": text, "reason": exc}

    def _parse(self, col: Column, text: str) -> Any:
        if col.field in self.parsers:
            return self.parsers[col.field](text)
        kind = col.kind
        if kind == "code":
            if text in self.blank_codes.get(col.field, ()):
                return ""
            matcher = self.matcher(col.field)
            code = matcher.match(text)
            if code is None:
                raise ValueError(matcher.unmatched(text, gettext(col.label)))
            return code
        if kind == "date":
            return _date(text)
        if kind == "month":
            return _month(text)
        if kind == "bool":
            return parse_bool(text)
        if kind == "int":
            number = parse_int(text)
            if number < 0:
                raise ValueError(gettext("不能为负数"))
            return number
        if kind == "decimal":
            return parse_decimal(text)
        if kind == "id_number":
            return normalize_id_number(text)
        if kind == "phone":
            return parse_phone(text)
        if len(text) > self.max_lengths.get(col.field, MAX_TEXT):
            raise ValueError(gettext("过长（最多 %(count)s 个字）") % {"count": self.max_lengths.get(col.field, MAX_TEXT)})
        return text

    # -- batches -------------------------------------------------------------------------------

    def file_checker(self, column_index: Mapping[str, int]) -> FileChecker:
        return FileChecker(self, column_index)

    def row_problems(self, row: int, clean: CleanRow) -> list[RowProblem]:
        """A cleaned row's problems as report lines (row number, column header, value, message)."""
        return [RowProblem(row, f, gettext(self.by_field[f].label) if f in self.by_field else f, value, message)
                for f, value, message in clean.problems]


def _fast_id_number(text: str) -> tuple[Any, str | None]:
    # ASCII letters and digits only: compact() and the apostrophe strip change nothing.
    return text.upper(), None


def _fast_phone(text: str) -> tuple[Any, str | None] | None:
    if text.isdigit() and (MOBILE.match(text) or LANDLINE.match(text)):
        return text, None
    return None


# parse_cell's result for plain ASCII alphanumeric cells of the kinds that differ in every row;
# None sends the cell through parse_cell after all.
_FAST_PARSERS: dict[str, Callable[[str], tuple[Any, str | None] | None]] = {
    "id_number": _fast_id_number, "phone": _fast_phone,
}


class FileChecker:
    """``RowSchema.clean`` for the rows of one file, with the same values and problems in the same order.

    Built once per file from its column positions: columns the file lacks get their empty value once,
    and each present column keeps its own table of the texts already parsed (a school's file repeats
    the same few codes, dates and grades thousands of times), so a row costs a look-up per cell.
    Kinds with their own field parsers take no fast path: a parser may be stricter than the kind.
    """

    _UNIQUE_KINDS = frozenset({"id_number", "phone"})  # different in every row: not worth remembering
    _MAX_REMEMBERED = MAX_MEMO  # distinct texts per column

    def __init__(self, schema: RowSchema, column_index: Mapping[str, int]) -> None:
        self.schema = schema
        self.base = {c.field: schema.defaults[c.field] for c in schema.columns
                     if c.field not in column_index and not c.required}
        # A required column the file lacks (read_table refuses such files, but callers may not) sends
        # every row through ``clean``, which reports it where the column stands.
        self.column_index = dict(column_index)
        self.generic = any(c.required and c.field not in column_index for c in schema.columns)
        self.present = [
            (c, column_index[c.field], None if c.kind in self._UNIQUE_KINDS else {},
             None if c.field in schema.parsers else _FAST_PARSERS.get(c.kind))
            for c in schema.columns if c.field in column_index
        ]

    def check(self, cells: Sequence[Any]) -> CleanRow:
        schema = self.schema
        if self.generic:
            return schema.clean({f: cells[pos] for f, pos in self.column_index.items() if pos < len(cells)})
        out = schema.row_type(values=self.base.copy())
        values, problems = out.values, out.problems
        width = len(cells)
        for col, pos, seen, fast in self.present:
            value = cells[pos] if pos < width else None
            if value is None or value == "":
                if col.required:
                    problems.append((col.field, clean_text(value), _required(col)))
                else:
                    values[col.field] = schema.defaults[col.field]
                continue
            if fast is not None and type(value) is str and value.isascii() and value.isalnum():
                result = fast(value) or schema.parse_cell(col, value)
            elif seen is not None and type(value) is str:
                result = seen.get(value)
                if result is None:
                    result = schema.parse_cell(col, value)
                    if len(seen) < self._MAX_REMEMBERED:
                        seen[value] = result
            else:
                result = schema.parse_cell(col, value)
            parsed, message = result
            if message is None:
                values[col.field] = parsed
            elif message:
                out.add(col.field, value, message)
            elif col.required:  # blank once cleaned (only spaces)
                out.add(col.field, value, _required(col))
            else:
                values[col.field] = schema.defaults[col.field]
        return out

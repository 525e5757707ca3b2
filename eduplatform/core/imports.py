"""Reading uploaded spreadsheets, and writing import templates and error reports.

An import is described by a list of ``Column``s. The same list writes the template a school
downloads (text-formatted columns, dropdowns for code columns, an instructions sheet) and finds
those columns again in whatever comes back: our template, the national student register's
export with its title row and other header names, or a CSV saved by WPS in GB18030.

This module only locates and returns raw cells; turning them into values is normalize.py's job
and checking records is the services'. Problems with the file as a whole raise ImportFileError.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import Any, Final

import xlsxwriter
from django.utils.translation import gettext
from python_calamine import CalamineError, CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_col_to_name, xl_range_abs

from eduplatform.core.normalize import clean_text
from eduplatform.core.spreadsheets import TextCells
from eduplatform.standards.validators import redact_identifiers

__all__ = [
    "COLUMN_KINDS",
    "Column",
    "ImportFileError",
    "Table",
    "EXAMPLE_MARKER",
    "mapping_summary",
    "normalize_header",
    "problems_xlsx",
    "read_table",
    "template_xlsx",
]

COLUMN_KINDS: Final = frozenset(
    {"text", "code", "date", "month", "bool", "int", "decimal", "id_number", "phone"}
)
SPREADSHEET_SUFFIXES: Final = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})
TEXT_SUFFIXES: Final = frozenset({".csv", ".txt", ".tsv"})
HEADER_SEARCH_ROWS: Final = 10
MAX_ROWS: Final = 200_000  # data rows of one file
# The used area of a sheet is checked before calamine reads it: calamine builds a dense grid from
# the first to the last cell, so one cell at XFD1048576 in a 5 KB file asks for 550 GB and aborts
# the process. Blank rows beyond the data rows are allowed up to this many.
BLANK_ROWS_ALLOWED: Final = 1000
MAX_COLUMNS: Final = 200
MAX_CELLS: Final = 20_000_000  # rows × columns of the used area
TEMPLATE_ROWS: Final = 2000
DATA_SHEET, CODES_SHEET, INSTRUCTIONS_SHEET = "数据", "代码表", "填写说明"

_KIND_HINTS: Final = {
    "code": "从下拉列表选择，也可直接填写代码或名称",
    "date": "日期，如 2015-09-01、2015/9/1 或 20150901",
    "month": "年月，如 2015-09 或 201509",
    "bool": "填写 是 或 否",
    "int": "填写整数",
    "decimal": "填写数字，可带小数，如 1200.5",
    "id_number": "身份证件号，末位 X 大小写均可",
    "phone": "手机号或带区号的固定电话",
}


@dataclass(frozen=True)
class Column:
    """One column of an import: how it is found in a file and how the template presents it."""

    field: str
    label: str  # Chinese header written into the template
    required: bool = False
    kind: str = "text"  # one of COLUMN_KINDS; read_table ignores it, the caller parses by it
    choices: tuple[tuple[str, str], ...] = ()  # (code, name): the template's dropdown
    aliases: tuple[str, ...] = ()  # other headers accepted, e.g. the national register's
    help: str = ""  # header comment and instructions line
    width: int = 14
    example: str = ""

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"unknown column kind {self.kind!r} for {self.field!r}")


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` tells the user what to fix, and
    ``mapping`` (when the header was found) what was read of the file."""

    def __init__(self, message: str, *, mapping: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mapping = mapping


@dataclass
class Table:
    headers: list[str]  # the header row as found (cleaned text, markers kept)
    column_index: dict[str, int]  # Column.field → 0-based position in each row
    ignored_headers: list[str]  # non-empty headers that matched no column
    header_row: int  # 1-based spreadsheet row number
    rows: list[tuple[int, list[object]]] = field(
        default_factory=list
    )  # (1-based row number, cells)
    sheet: str = ""  # the sheet holding the data ("" for a CSV file)
    # The mapping report, JSON-ready, shown before any row is checked: which column (letter and
    # header) became which field, which were ignored, which required fields are missing, which rows
    # were skipped as titles, examples or signatures (see read_table).
    mapping: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

Grid = Sequence[Sequence[object]]

# Required-markers, and the colon of "其中：教学及辅助用房" (a header is a name, not a sentence).
_MARKERS: Final = re.compile(r"[*★☆※:：]")
# "出生日期(格式:2015-09-01)", "姓名(必填)", "学制【年】": a trailing note, not part of the name.
_TRAILING_NOTE: Final = re.compile(r"\s*[(\[【][^()\[\]【】]*[)\]】]\s*$")


def _header_key(text: object) -> str:
    """A header without required-markers and whitespace, its notes kept."""
    return "".join(_MARKERS.sub("", clean_text(text)).split()).casefold()


def normalize_header(text: object) -> str:
    """The bare column name: no "*"/"★" markers, no "(必填)" or other trailing notes, no spaces."""
    name = _MARKERS.sub("", clean_text(text))
    while True:
        stripped = _TRAILING_NOTE.sub("", name)
        if stripped == name or not stripped.strip():
            break
        name = stripped
    return "".join(name.split())


class _HeaderMatcher:
    """Header text → field. Exact headers (notes kept) win over bare names; a bare name that two
    columns share (联系电话(本人) / 联系电话(家庭)) matches neither."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.exact: dict[str, str] = {}
        self.bare: dict[str, str | None] = {}
        for col in columns:
            for name in (col.label, *col.aliases):
                self.exact.setdefault(_header_key(name), col.field)
                bare = normalize_header(name).casefold()
                if bare:
                    self.bare[bare] = (
                        col.field if self.bare.get(bare, col.field) == col.field else None
                    )

    def field_of(self, header: object) -> str | None:
        key = _header_key(header)
        if not key:
            return None
        return self.exact.get(key) or self.bare.get(normalize_header(header).casefold())


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _unreadable(file_name: str) -> ImportFileError:
    return ImportFileError(
        gettext("无法读取文件「%(file_name)s」，请上传 .xlsx、.xls 或 .csv 文件。从其他系统导出的表格请先用 Excel 或 WPS 打开，另存为 .xlsx 后再上传") % {"file_name": file_name}
    )


def _letters_to_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _beyond_pattern(limit: str, alphabet: str) -> str:
    """A regex matching exactly the strings over ``alphabet`` (a run, without leading zeros) that
    stand for a number greater than ``limit``: longer ones, or as long and greater digit by digit
    (column letters and row numbers both compare that way)."""
    first, last = alphabet[0], alphabet[-1]
    parts = [f"[{first}-{last}]{{{len(limit) + 1},}}"]
    for i, char in enumerate(limit):
        if char != last:
            nxt = chr(ord(char) + 1)
            rest = len(limit) - i - 1
            parts.append(f"{re.escape(limit[:i])}[{nxt}-{last}][{first}-{last}]{{{rest}}}")
    return "|".join(parts)


def _column_letters(number: int) -> str:
    return xl_col_to_name(number - 1)


_REF: Final = re.compile(r"([A-Z]{1,3})([0-9]{1,7})$")
_CHUNK: Final = 1 << 20


def _attributes(tag: bytes) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "replace") for k, v in re.findall(rb'([\w:]+)="([^"]*)"', tag)}


def _xlsx_sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, worksheet part) of the sheets calamine may read: the data sheet of our template when
    there is one, else every sheet (read_table looks for the one holding the data). Read with
    regular expressions from at most 1 MB of each part (no XML parser: no entity tricks)."""
    try:
        with archive.open("xl/workbook.xml") as part:
            book = part.read(_CHUNK)
        with archive.open("xl/_rels/workbook.xml.rels") as part:
            rels = part.read(_CHUNK)
    except (KeyError, zipfile.BadZipFile, OSError):
        return []
    sheets = [_attributes(tag) for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*>", book)]
    template_sheet = [a for a in sheets if a.get("name") == DATA_SHEET]
    targets = {a.get("Id"): a.get("Target", "") for a in map(_attributes, re.findall(rb"<Relationship\s[^>]*>", rels))}
    names = set(archive.namelist())
    parts = []
    for chosen in template_sheet or sheets:
        rel_id = chosen.get("r:id") or next((v for k, v in chosen.items() if k.endswith(":id")), "")
        target = targets.get(rel_id)
        if not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        if path in names:
            parts.append((chosen.get("name", ""), path))
    return parts


def _ref_beyond(*, rows: int | None = None, columns: int | None = None) -> str:
    """A regex for the value of a row or cell reference (``GS12``) past ``rows`` or ``columns``."""
    parts = []
    if columns is not None:
        parts.append(f"(?:{_beyond_pattern(_column_letters(columns), 'AZ')})[0-9]+")
    if rows is not None:
        parts.append(f"[A-Z]*(?:{_beyond_pattern(str(rows), '09')})")
    return "|".join(parts)


def _xlsx_extent(content: bytes) -> tuple[str, int, int] | None:
    """(area, rows, columns) of the first sheet calamine may read that is past the limits: the
    ``<dimension ref>`` first, then every row and cell reference, streamed from the zip in 1 MB
    pieces (so a file of a few KB that unpacks to gigabytes is never held whole).

    The grid calamine builds is rows × columns of the used area. Many rows or many columns are both
    fine, but not both: a file whose references go past ``soft_rows`` must stay within
    ``soft_columns`` and the other way round, so the grid never exceeds ``MAX_CELLS``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError):
        return None  # not a zip: calamine says it cannot read it
    with archive:
        for _name, part in _xlsx_sheet_parts(archive):
            extent = _part_extent(archive, part)
            if extent is not None:
                return extent
    return None


def _part_extent(archive: zipfile.ZipFile, part: str) -> tuple[str, int, int] | None:
    """The extent of one worksheet part when it is past the limits (see ``_xlsx_extent``)."""
    max_rows = MAX_ROWS + HEADER_SEARCH_ROWS + BLANK_ROWS_ALLOWED
    soft_rows, soft_columns = MAX_CELLS // MAX_COLUMNS, MAX_CELLS // max_rows
    hard = _ref_beyond(rows=max_rows, columns=MAX_COLUMNS)
    soft_row, soft_col = _ref_beyond(rows=soft_rows), _ref_beyond(columns=soft_columns)
    # One literal prefix, ` r="` (in a worksheet only rows and cells carry that attribute), which
    # the regex engine skips to quickly; the reference's value decides which limit it passes.
    patterns = {  # by (many rows seen, many columns seen)
        (False, False): rf' r="(?:(?P<hard>{hard})|(?P<rows>{soft_row})|(?P<cols>{soft_col}))"',
        (True, False): rf' r="(?:(?P<hard>{hard})|(?P<rows>(?!))|(?P<cols>{soft_col}))"',
        (False, True): rf' r="(?:(?P<hard>{hard})|(?P<rows>{soft_row})|(?P<cols>(?!)))"',
    }
    compiled = {key: re.compile(value.encode()) for key, value in patterns.items()}
    dimension = re.compile(rb'<dimension\s[^>]*?\bref="(?:[A-Z]*[0-9]*:)?([A-Z]{1,3})([0-9]{1,7})"')
    many_rows = many_columns = False
    rows_seen = 0
    tail = b""
    with archive.open(part) as stream:
        first = True
        while chunk := stream.read(_CHUNK):
            data = tail + chunk
            if first:
                first = False
                if found := dimension.search(data):
                    rows, cols = int(found[2]), _letters_to_number(found[1].decode())
                    if rows > max_rows or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
                        return f"A1:{found[1].decode()}{rows}", rows, cols
            position = 0
            while found := compiled[many_rows, many_columns].search(data, position):
                ref = re.search(rb'r="([A-Z]*)([0-9]+)"', found[0])
                letters = ref[1].decode() if ref else ""
                rows, cols = (int(ref[2]) if ref else 0), (_letters_to_number(letters) if letters else 0)
                if found["hard"] or (found["rows"] and many_columns) or (found["cols"] and many_rows):
                    return (f"{letters}{rows}" if letters else ""), rows, cols
                many_rows = many_rows or bool(found["rows"])
                many_columns = many_columns or bool(found["cols"])
                position = found.end()
            # Rows without a reference count one by one (calamine numbers them that way).
            rows_seen += data.count(b"<row") - tail.count(b"<row")
            if rows_seen > max_rows:
                return "", rows_seen, 0
            tail = data[-256:]
    return None


def _check_spreadsheet_size(content: bytes, file_name: str, suffix: str) -> None:
    if suffix not in (".xlsx", ".xlsm"):
        return
    extent = _xlsx_extent(content)
    if extent is None:
        return
    where, rows, cols = extent
    place = (gettext("用到了 %(where)s") % {"where": where} if cols
             else gettext("用到了第 %(rows)s 行") % {"rows": f"{rows:,}"})
    raise ImportFileError(
        gettext("文件「%(file_name)s」的表格使用区域过大（%(place)s），超出导入上限：最多 %(max_columns)s 列、%(max_rows)s 行数据，且行数与列数之积不超过 %(max_cells)s。表格中可能有远处的单元格被填写或设置过格式：请把数据复制到一个新的工作表后再上传") % {"file_name": file_name, "place": place, "max_columns": MAX_COLUMNS, "max_rows": format(MAX_ROWS, ','), "max_cells": format(MAX_CELLS, ',')}
    )


def _read_spreadsheet(content: bytes, file_name: str) -> tuple[list[str], Iterator[tuple[str, Grid]]]:
    """The workbook's sheet names, and its sheets (name, grid) to look through for the data: our
    template's data sheet wherever the user moved it, else every sheet in order."""
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = list(book.sheet_names)
    except PasswordError:
        raise ImportFileError(gettext("文件「%(file_name)s」设置了密码，请取消密码后再上传") % {"file_name": file_name}) from None
    except (CalamineError, ValueError, OSError):
        raise _unreadable(file_name) from None

    def sheets() -> Iterator[tuple[str, Grid]]:
        wanted = [DATA_SHEET] if DATA_SHEET in names else names
        read = 0
        with book:
            for name in wanted:
                try:
                    # skip_empty_area=False keeps blank leading rows and columns, so positions are
                    # real spreadsheet coordinates (the default drops them).
                    grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                except PasswordError:
                    raise ImportFileError(gettext("文件「%(file_name)s」设置了密码，请取消密码后再上传") % {"file_name": file_name}) from None
                except (CalamineError, ValueError, OSError):
                    continue  # a chart sheet or a damaged sheet beside the data: look at the others
                read += 1
                yield name, grid
        if not read:
            raise _unreadable(file_name)

    return names, sheets()


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return content.decode("utf-16")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel and WPS on Chinese Windows save CSV in the ANSI code page; GB18030 is its superset.
        return content.decode("gb18030")


def _read_csv(content: bytes, file_name: str) -> Sequence[Sequence[object]]:
    try:
        text = _decode(content)
    except UnicodeDecodeError:
        raise _unreadable(file_name) from None
    if "\x00" in text:  # a binary file renamed to .csv
        raise _unreadable(file_name)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise _unreadable(file_name) from None


def _is_blank(cell: object) -> bool:
    return clean_text(cell) == ""


def _has_content(cells: Sequence[object]) -> bool:
    """Whether any cell is non-blank (the usual row answers at its first cell)."""
    for cell in cells:
        # ASCII text that is not all whitespace keeps a character through clean_text.
        if type(cell) is str and cell.isascii() and cell and not cell.isspace():
            return True
        if not _is_blank(cell):
            return True
    return False


@dataclass
class _HeaderCell:
    position: int
    header: str  # as shown in the report: "监护人1/姓名" for a column under a group header
    field: str | None
    weak: bool = False  # matched by its own name while a group header above says something else


@dataclass
class _Header:
    row: int  # 0-based index of the (lower) header row
    group_row: int | None  # 0-based index of the group header row above it, if one is used
    cells: list[_HeaderCell]

    @property
    def score(self) -> int:
        return len({c.field for c in self.cells if c.field})


def _resolve_header(grid: Grid, row: int, group_row: int | None, matcher: _HeaderMatcher) -> _Header:
    """The columns of a header in ``row``, read with the group header row above it when given: a
    group cell ("监护人1", merged over three columns) names each column below it ("姓名" →
    "监护人1姓名"), and a cell merged down over both rows ("性别") stands in the upper row only."""
    lower = grid[row]
    upper = grid[group_row] if group_row is not None else ()
    cells: list[_HeaderCell] = []
    group = ""
    for position in range(max(len(lower), len(upper))):
        low = clean_text(lower[position]) if position < len(lower) else ""
        up = clean_text(upper[position]) if position < len(upper) else ""
        if up:
            # A cell over a sub-column starts a group; one merged down over both rows ends it.
            group = up if low else ""
        if not low:
            if up:  # merged down over both header rows
                cells.append(_HeaderCell(position, up, matcher.field_of(up)))
            continue
        if group:
            found = matcher.field_of(group + normalize_header(low)) or matcher.field_of(
                normalize_header(group) + normalize_header(low))  # "成员1（监护人）" over 姓名
            if found:
                cells.append(_HeaderCell(position, f"{group}/{low}", found))
                continue
            found = matcher.field_of(low)
            cells.append(_HeaderCell(position, f"{group}/{low}", found, weak=found is not None))
            continue
        cells.append(_HeaderCell(position, low, matcher.field_of(low)))
    return _Header(row, group_row, cells)


def _find_header(grid: Grid, matcher: _HeaderMatcher) -> _Header | None:
    """The header with the most recognised columns in the first rows, one row or two (a group
    row above); the earlier and the simpler wins a tie, unless the row below a header is blank
    under every column that header recognised and filled elsewhere: then it is the second row of
    a two-row header (cells merged down, a group's sub-columns), not the first record."""
    best: tuple[tuple[int, bool], _Header] | None = None
    previous: _Header | None = None
    for row in range(min(HEADER_SEARCH_ROWS, len(grid))):
        single = _resolve_header(grid, row, None, matcher)
        found = [((single.score, False), single)]
        # A group header row has at least two cells; a merged title row ("XX学校学生名册") has one.
        if previous is not None and sum(1 for cell in grid[row - 1] if not _is_blank(cell)) >= 2:
            grouped = _resolve_header(grid, row, row - 1, matcher)
            lower = grid[row]
            named_above = [c.position for c in previous.cells if c.field]
            second_row = bool(named_above) and all(p >= len(lower) or _is_blank(lower[p]) for p in named_above)
            found.append(((grouped.score, second_row), grouped))
        for key, header in found:
            if best is None or key > best[0]:
                best = (key, header)
        previous = single
    return best[1] if best else None


# Lines below (or between) the records that are not records: the signatures of a form, notes, totals.
_FOOTER: Final = re.compile(
    r"^(?:(?:填表人|填报人|制表人|审核人|审批人|核对人|复核人|负责人|单位负责人|统计负责人|校长|联系人|"
    r"填表日期|填报日期|制表日期|报送日期|审核日期|日期|填报单位|单位名称|单位)\s*[:：]"
    r"|(?:注|备注|说明|填表说明|注意)\s*[0-9一二三四五六七八九十]*\s*[:：.、]"
    r"|(?:合计|总计|小计|共计)\s*[:：]?\s*$)"
)
_FOOTER_INITIALS: Final = frozenset("填制审核复负单统校联日注备说合总小共")
_SIGNATURE_CELLS: Final = 6  # a signature line holds a few cells; a record usually many more
EXAMPLE_CELL: Final = "示例"  # what the template writes in the marker column of its example rows
EXAMPLE_MARKER: Final = "示例标记"  # the template's last column: "示例" marks its example rows
_SKIPPED_SHOWN: Final = 100


def _first_content(cells: Sequence[object]) -> object:
    """The first non-blank cell, or None (the usual row answers at its first cell)."""
    for cell in cells:
        # ASCII text that is not all whitespace keeps a character through clean_text.
        if type(cell) is str and cell.isascii() and cell and not cell.isspace():
            return cell
        if not _is_blank(cell):
            return cell
    return None


def _is_footer(first: object, cells: Sequence[object]) -> bool:
    if type(first) is not str or first.lstrip()[:1] not in _FOOTER_INITIALS:
        return False
    text = clean_text(first)
    if not _FOOTER.match(text):
        return False
    if text.startswith(("合计", "总计", "小计", "共计")):
        return True
    return sum(1 for cell in cells if not _is_blank(cell)) <= _SIGNATURE_CELLS


def _is_column_numbers(cells: Sequence[object]) -> bool:
    """A numbering row under the header ("1 2 3 …" or "甲 乙 丙 …"), as statistical forms have."""
    values = [clean_text(cell) for cell in cells if not _is_blank(cell)]
    if len(values) < 3:
        return False
    if all(v.isdigit() for v in values):
        return [int(v) for v in values] == list(range(int(values[0]), int(values[0]) + len(values)))
    return all(v in "甲乙丙丁戊己庚辛壬癸" for v in values[:2])


def read_table(
    content: bytes, file_name: str, columns: Sequence[Column], *, max_rows: int = MAX_ROWS
) -> Table:
    """Find the sheet, the header and the columns of an uploaded file and return its records.

    Cells are returned raw (calamine gives floats for number cells, dates for date cells, "" for
    blanks; CSV gives strings), each row padded to the header's width. Title rows, group headers,
    column-number rows, repeated headers, signature and note lines and the template's example
    rows are recognised and skipped, and ``Table.mapping`` says what was found, for the user.
    """
    if not content:
        raise ImportFileError(gettext("文件「%(file_name)s」是空的") % {"file_name": file_name})
    suffix = PurePath(file_name).suffix.lower()
    sheet_names: list[str] = []
    sheets: Iterable[tuple[str, Grid]]
    if suffix in TEXT_SUFFIXES:
        sheets = [("", _read_csv(content, file_name))]
    elif suffix in SPREADSHEET_SUFFIXES:
        _check_spreadsheet_size(content, file_name, suffix)
        sheet_names, sheets = _read_spreadsheet(content, file_name)
    else:
        raise _unreadable(file_name)

    matcher = _HeaderMatcher(columns)
    needed = min(2, len(columns))
    chosen: tuple[str, Grid, _Header] | None = None
    all_blank = True
    for name, grid in sheets:
        header = _find_header(grid, matcher)
        if header is not None and header.score >= needed and (chosen is None or header.score > chosen[2].score):
            chosen = (name, grid, header)
        all_blank = all_blank and all(_is_blank(cell) for row in grid for cell in row)
    if chosen is None:
        if all_blank:
            raise ImportFileError(gettext("文件「%(file_name)s」是空的") % {"file_name": file_name})
        sample = "、".join(c.label for c in columns[:4])
        where = (gettext("（共 %(n)s 个工作表：%(names)s）") % {"n": len(sheet_names), "names": "、".join(sheet_names)}
                 if len(sheet_names) > 1 else "")
        raise ImportFileError(
            gettext("未找到表头：前 %(header_search_rows)s 行中没有可识别的列名（应包含 %(sample)s 等）%(where)s，请使用下载的模板填写") % {"header_search_rows": HEADER_SEARCH_ROWS, "sample": sample, "where": where}
        )
    sheet_name, grid, header = chosen
    labels = {c.field: c.label for c in columns}
    by_field = {c.field: c for c in columns}

    # Columns: a name matched only by the cell under an unrelated group yields to a plain match.
    column_index: dict[str, int] = {}
    weak_of: dict[str, bool] = {}
    report_columns: list[dict[str, object]] = []
    ignored: list[str] = []
    marker_at: int | None = None
    for cell in header.cells:
        letter = xl_col_to_name(cell.position)
        entry: dict[str, object] = {"letter": letter, "header": cell.header, "field": None, "label": "", "note": ""}
        report_columns.append(entry)
        if cell.field is None:
            if normalize_header(cell.header) == EXAMPLE_MARKER:
                marker_at = cell.position
                entry["note"] = gettext("模板的示例标记列：标有“示例”的行不导入")
            else:
                ignored.append(cell.header)
                entry["note"] = gettext("本平台不保存此列，未导入")
            continue
        found = cell.field
        if found in column_index:
            first = column_index[found]
            if cell.weak and not weak_of[found]:
                ignored.append(cell.header)
                entry["note"] = gettext("与%(letter)s列的「%(label)s」重复，未导入") % {
                    "letter": xl_col_to_name(first), "label": gettext(labels[found])}
                continue
            if not (weak_of[found] and not cell.weak):
                # Silently taking one of two 姓名 columns would import the wrong one half the time.
                raise ImportFileError(
                    gettext("「%(value)s」列出现了两次（%(xl_col_to_name)s列和%(letter)s列），请删除多余的一列") % {"value": gettext(labels[found]), "xl_col_to_name": xl_col_to_name(first), "letter": letter}
                )
            earlier = next(e for e in report_columns if e["letter"] == xl_col_to_name(first))
            earlier.update(field=None, label="", note=gettext("与%(letter)s列的「%(label)s」重复，未导入") % {
                "letter": letter, "label": gettext(labels[found])})
            ignored.append(str(earlier["header"]))
        column_index[found], weak_of[found] = cell.position, cell.weak
        entry.update(field=found, label=labels[found])

    header_rows = [r + 1 for r in (header.group_row, header.row) if r is not None]
    mapping: dict[str, object] = {
        "file": file_name,
        "sheet": sheet_name,
        "sheets": sheet_names,
        "header_rows": header_rows,
        "columns": report_columns,
        "missing_required": [c.label for c in columns if c.required and c.field not in column_index],
        "absent": [c.label for c in columns if not c.required and c.field not in column_index],
        "skipped_rows": [],
        "skipped_count": 0,
        "data_rows": 0,
    }
    skipped: list[dict[str, object]] = mapping["skipped_rows"]  # type: ignore[assignment]

    def skip(row_number: int, reason: str, cells: Sequence[object]) -> None:
        mapping["skipped_count"] = int(mapping["skipped_count"]) + 1  # type: ignore[call-overload]
        if len(skipped) < _SKIPPED_SHOWN:
            text = " ".join(t for t in (clean_text(c) for c in cells) if t)
            skipped.append({"row": row_number, "reason": reason, "text": redact_identifiers(text)[:80]})

    first_header = header_rows[0] - 1
    for index in range(first_header):
        if _has_content(grid[index]):
            filled = sum(1 for cell in grid[index] if not _is_blank(cell))
            skip(index + 1, gettext("标题行") if filled == 1 else gettext("表头上方的说明行"), grid[index])

    if mapping["missing_required"]:
        raise ImportFileError(gettext("缺少必填列：%(columns)s") % {"columns": '、'.join(mapping['missing_required'])}, mapping=mapping)  # type: ignore[arg-type]

    # The template's example row: marked in its marker column, or (the column deleted) every
    # column still holding exactly the example the template wrote.
    examples = [(pos, clean_text(by_field[f].example)) for f, pos in column_index.items() if by_field[f].example]
    probe = examples[0] if len(examples) >= 3 else None
    header_texts = [(cell.position, clean_text(grid[header.row][cell.position]))
                    for cell in header.cells if cell.field and cell.position < len(grid[header.row])]

    width = max(len(grid[header.row]), max((c.position for c in header.cells), default=0) + 1)
    rows: list[tuple[int, list[object]]] = []
    examples_skipped = False  # the template's example rows were found (and skipped)
    for index in range(header.row + 1, len(grid)):
        cells = grid[index]
        first = _first_content(cells)
        if first is None:
            continue
        if marker_at is not None and marker_at < len(cells) and clean_text(cells[marker_at]).startswith(EXAMPLE_CELL):
            skip(index + 1, gettext("模板示例行"), cells)
            examples_skipped = True
            continue
        if probe is not None and probe[0] < len(cells) and clean_text(cells[probe[0]]) == probe[1] and all(
            pos < len(cells) and clean_text(cells[pos]) == text for pos, text in examples
        ):
            skip(index + 1, gettext("模板示例行（与模板中的示例完全相同）"), cells)
            examples_skipped = True
            continue
        if _is_footer(first, cells):
            skip(index + 1, gettext("落款、合计或备注行"), cells)
            continue
        if index == header.row + 1 and _is_column_numbers(cells):
            skip(index + 1, gettext("列序号行"), cells)
            continue
        if type(first) is str and len(header_texts) >= 2 and all(
            pos < len(cells) and clean_text(cells[pos]) == text for pos, text in header_texts
        ):
            skip(index + 1, gettext("重复的表头行"), cells)
            continue
        if len(rows) == max_rows:
            raise ImportFileError(gettext("数据超过 %(max_rows)s 行，请拆分成多个文件分批导入") % {"max_rows": max_rows})
        # The grid's rows are fresh lists nobody else holds: a full-width one is used as it is.
        if type(cells) is not list or len(cells) < width:
            cells = list(cells) + [""] * (width - len(cells))
        rows.append((index + 1, cells))
    mapping["data_rows"] = len(rows)
    if not rows:
        examples_only = examples_skipped
        raise ImportFileError(
            gettext("文件「%(file_name)s」只有模板的示例行，没有要导入的数据：请在示例行下面填写，或把示例改成真实数据") % {"file_name": file_name}
            if examples_only else gettext("文件「%(file_name)s」在表头（第%(value)s行）下面没有数据") % {"file_name": file_name, "value": header.row + 1},
            mapping=mapping,
        )
    return Table(
        headers=[cell.header for cell in header.cells],
        column_index=column_index,
        ignored_headers=ignored,
        header_row=header.row + 1,
        rows=rows,
        sheet=sheet_name,
        mapping=mapping,
    )


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _column_help(col: Column) -> str:
    parts = [col.help, _KIND_HINTS.get(col.kind, "")]
    if col.example:
        parts.append(f"示例：{col.example}")
    return "；".join(p for p in parts if p)


def template_xlsx(
    columns: Sequence[Column],
    *,
    title: str,
    instructions: Sequence[str] = (),
    example_rows: Sequence[Sequence[str]] = (),
) -> bytes:
    """An import template whose first sheet read_table reads back unchanged."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    title = redact_identifiers(title)
    book.set_properties({"title": title})
    data = book.add_worksheet(DATA_SHEET)
    guide = book.add_worksheet(INSTRUCTIONS_SHEET)
    code_columns = [c for c in columns if c.choices]
    codes = book.add_worksheet(CODES_SHEET) if code_columns else None

    header_base = {
        "bold": True,
        "bg_color": "#E8EEF7",
        "border": 1,
        "align": "center",
        "valign": "vcenter",
    }
    header_fmt = book.add_format(header_base)
    required_fmt = book.add_format({**header_base, "font_color": "#C00000"})
    # Text format keeps leading zeros (代码 01) and all 18 digits of an ID number.
    text_fmt = book.add_format({"num_format": "@"})
    example_fmt = book.add_format({"num_format": "@", "italic": True, "font_color": "#808080"})

    # Codes sheet first: the dropdowns refer to its ranges.
    source_of: dict[str, str] = {}
    if codes is not None:
        for position, col in enumerate(code_columns):
            codes.write_string(0, position, col.label, header_fmt)
            for r, (code, name) in enumerate(col.choices, start=1):
                codes.write_string(r, position, f"{code}-{name}", text_fmt)
            codes.set_column(position, position, max(col.width, 16))
            area = xl_range_abs(1, position, len(col.choices), position)
            source_of[col.field] = f"='{CODES_SHEET}'!{area}"
        codes.freeze_panes(1, 0)

    for position, col in enumerate(columns):
        data.set_column(position, position, col.width, text_fmt)
        data.write_string(
            0,
            position,
            f"*{col.label}" if col.required else col.label,
            required_fmt if col.required else header_fmt,
        )
        if col.help:
            data.write_comment(0, position, col.help, {"x_scale": 1.5, "y_scale": 1.2})
        if col.field in source_of:
            data.data_validation(
                1,
                position,
                TEMPLATE_ROWS,
                position,
                {
                    "validate": "list",
                    "source": source_of[col.field],
                    # A warning, not a stop: pasting "01" or "汉族" must stay possible.
                    "error_type": "warning",
                    "input_title": col.label[:32],
                    "input_message": f"请从下拉列表选择{col.label}，也可直接填写代码或名称"[:255],
                    "error_title": "不在代码表中",
                    "error_message": f"{col.label}不在代码表中，请核对。可查看“{CODES_SHEET}”工作表"[
                        :255
                    ],
                },
            )
    if example_rows:
        # The example rows carry "示例" in a last column of their own, and read_table skips them:
        # a template uploaded with its example still in it imports nothing it did not mean to.
        marker = len(columns)
        data.set_column(marker, marker, 10, text_fmt)
        data.write_string(0, marker, EXAMPLE_MARKER, header_fmt)
        data.write_comment(0, marker, "标有“示例”的行是填写示例，导入时自动跳过；填写数据的行此列留空")
    for r, values in enumerate(example_rows, start=1):
        for c, value in enumerate(values[: len(columns)]):
            data.write_string(r, c, str(value), example_fmt)
        data.write_string(r, len(columns), "示例", example_fmt)
    data.freeze_panes(1, 0)
    data.set_row(0, 22)

    title_fmt = book.add_format({"bold": True, "font_size": 14})
    wrap_fmt = book.add_format({"text_wrap": True, "valign": "top"})
    guide.set_column(0, 0, 24)
    guide.set_column(1, 1, 10)
    guide.set_column(2, 2, 80)
    guide.write_string(0, 0, title, title_fmt)
    lines = list(instructions)
    if example_rows:
        lines.append("“数据”表中灰色斜体、最后一列标有“示例”的行仅作参考，导入时自动跳过，可以保留")
    row = 1
    for line in lines:
        guide.write_string(row, 0, line)
        row += 1
    row += 1
    for c, head in enumerate(("列名", "是否必填", "填写说明")):
        guide.write_string(row, c, head, header_fmt)
    for col in columns:
        row += 1
        guide.write_string(row, 0, col.label)
        guide.write_string(row, 1, "是" if col.required else "否")
        guide.write_string(row, 2, _column_help(col), wrap_fmt)

    book.close()
    return buffer.getvalue()


_EXCEL_CELL_LIMIT: Final = 32_767


def problems_xlsx(
    problems: Sequence[Mapping[str, object]], *, title: str, mapping: Mapping[str, object] | None = None,
    extra_sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]] = (),
) -> bytes:
    """An error report: one line per problem (row, column, value as typed, what is wrong).

    The header is row 1 (so the report can be filtered and read back like any table); the title
    goes into the document properties and the printed page header. Row numbers are numbers so
    that sorting works; everything else is text so a value like 0123 is shown as it was read.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    title = redact_identifiers(title)
    book.set_properties({"title": title})
    sheet = book.add_worksheet(gettext("错误报告"))
    header_fmt = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    # Values as typed in the upload: one that would start a formula is written quote-prefixed.
    text_fmt = TextCells(book, {"num_format": "@", "text_wrap": True, "valign": "top"})
    number_fmt = book.add_format({"valign": "top"})

    headers = (gettext("行号"), gettext("列名"), gettext("填写内容"), gettext("问题说明"))
    keys = ("row", "column", "value", "message")
    for c, width in enumerate((8, 18, 28, 60)):
        sheet.set_column(c, c, width)
    sheet.set_header(f"&C{title[:200].replace('&', '&&')}")
    for c, head in enumerate(headers):
        sheet.write_string(0, c, head, header_fmt)
    for r, problem in enumerate(problems, start=1):
        for c, key in enumerate(keys):
            value = problem.get(key)
            if key == "row" and isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(r, c, value, number_fmt)
                continue
            text = value if isinstance(value, str) else clean_text(value)
            # Problems are masked when made (core.errors); reports of older jobs are masked here.
            text_fmt.write(sheet, r, c, redact_identifiers(text)[:_EXCEL_CELL_LIMIT])
    sheet.autofilter(0, 0, len(problems), len(headers) - 1)
    sheet.freeze_panes(1, 0)
    if mapping and mapping.get("columns"):
        _write_mapping_sheet(book, mapping, header_fmt, text_fmt)
    for name, extra_headers, lines in extra_sheets:  # e.g. the import's 逐行结果 (imports.runner)
        _write_text_sheet(book, name, extra_headers, lines, header_fmt, text_fmt, number_fmt)
    book.close()
    return buffer.getvalue()


def _write_text_sheet(book: Any, name: str, headers: Sequence[str], lines: Sequence[Sequence[object]],
                      header_fmt: Any, text_fmt: TextCells, number_fmt: Any) -> None:
    """A further sheet of the report: row numbers as numbers, everything else as text."""
    sheet = book.add_worksheet(name)
    for c, head in enumerate(headers):
        sheet.write_string(0, c, head, header_fmt)
        sheet.set_column(c, c, 8 if c == 0 else 40)
    for r, line in enumerate(lines, start=1):
        for c, value in enumerate(line):
            if isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(r, c, value, number_fmt)
            else:
                text_fmt.write(sheet, r, c, redact_identifiers(str(value or ""))[:_EXCEL_CELL_LIMIT])
    sheet.autofilter(0, 0, len(lines), len(headers) - 1)
    sheet.freeze_panes(1, 0)


def mapping_summary(mapping: Mapping[str, object]) -> list[str]:
    """The mapping report's findings as sentences (the job page and the Excel report share them)."""
    lines = []
    sheets = list(mapping.get("sheets") or [])  # type: ignore[call-overload]
    if mapping.get("sheet"):
        others = gettext("（共 %(n)s 个工作表）") % {"n": len(sheets)} if len(sheets) > 1 else ""
        lines.append(gettext("数据所在工作表：「%(sheet)s」%(others)s") % {"sheet": mapping["sheet"], "others": others})
    rows = list(mapping.get("header_rows") or [])  # type: ignore[call-overload]
    if rows:
        numbers = "、".join(str(r) for r in rows)
        lines.append(gettext("表头：第%(rows)s行（两行表头）") % {"rows": numbers} if len(rows) > 1
                     else gettext("表头：第%(rows)s行") % {"rows": numbers})
    columns = list(mapping.get("columns") or [])  # type: ignore[call-overload]
    used = sum(1 for c in columns if c.get("field"))
    lines.append(gettext("共 %(n)s 列：导入 %(used)s 列，未导入 %(unused)s 列")
                 % {"n": len(columns), "used": used, "unused": len(columns) - used})
    if mapping.get("missing_required"):
        lines.append(gettext("缺少必填列：%(columns)s") % {"columns": "、".join(mapping["missing_required"])})  # type: ignore[arg-type]
    if mapping.get("skipped_count"):
        lines.append(gettext("跳过非数据行 %(n)s 行（标题、示例、落款、合计或备注）") % {"n": mapping["skipped_count"]})
    return lines


def _write_mapping_sheet(book: xlsxwriter.Workbook, mapping: Mapping[str, object], header_fmt,
                         text_fmt: TextCells) -> None:
    sheet = book.add_worksheet(gettext("列对应"))
    for c, width in enumerate((8, 28, 22, 44)):
        sheet.set_column(c, c, width)
    row = 0
    for line in mapping_summary(mapping):
        sheet.write_string(row, 0, line)
        row += 1
    row += 1
    for c, head in enumerate((gettext("列"), gettext("文件中的列名"), gettext("导入为"), gettext("说明"))):
        sheet.write_string(row, c, head, header_fmt)
    for col in mapping.get("columns") or []:  # type: ignore[union-attr]
        row += 1
        values = (col.get("letter"), col.get("header"), gettext(str(col.get("label") or "")) if col.get("label") else "", col.get("note"))
        for c, value in enumerate(values):
            text_fmt.write(sheet, row, c, str(value or "")[:_EXCEL_CELL_LIMIT])
    skipped = list(mapping.get("skipped_rows") or [])  # type: ignore[call-overload]
    if skipped:
        row += 2
        for c, head in enumerate((gettext("行号"), gettext("跳过的原因"), gettext("内容"))):
            sheet.write_string(row, c, head, header_fmt)
        for item in skipped:
            row += 1
            sheet.write_number(row, 0, int(item.get("row", 0)))
            text_fmt.write(sheet, row, 1, str(item.get("reason") or ""))
            text_fmt.write(sheet, row, 2, redact_identifiers(str(item.get("text") or "")))

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import Final

import xlsxwriter
from python_calamine import CalamineError, CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_col_to_name, xl_range_abs

from eduplatform.core.normalize import clean_text
from eduplatform.standards.validators import redact_identifiers

__all__ = [
    "COLUMN_KINDS",
    "Column",
    "ImportFileError",
    "Table",
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
    """The file as a whole cannot be imported; ``message`` tells the user what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    headers: list[str]  # the header row as found (cleaned text, markers kept)
    column_index: dict[str, int]  # Column.field → 0-based position in each row
    ignored_headers: list[str]  # non-empty headers that matched no column
    header_row: int  # 1-based spreadsheet row number
    rows: list[tuple[int, list[object]]] = field(
        default_factory=list
    )  # (1-based row number, cells)


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

_MARKERS: Final = re.compile(r"[*★☆※]")
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
        f"无法读取文件「{file_name}」，请上传 .xlsx、.xls 或 .csv 文件。"
        "从其他系统导出的表格请先用 Excel 或 WPS 打开，另存为 .xlsx 后再上传"
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


def _xlsx_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The worksheet part calamine will read: the data sheet of our template, else the first.
    Read with regular expressions from at most 1 MB of each part (no XML parser: no entity tricks)."""
    try:
        with archive.open("xl/workbook.xml") as part:
            book = part.read(_CHUNK)
        with archive.open("xl/_rels/workbook.xml.rels") as part:
            rels = part.read(_CHUNK)
    except (KeyError, zipfile.BadZipFile, OSError):
        return None
    sheets = [_attributes(tag) for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*>", book)]
    if not sheets:
        return None
    chosen = next((a for a in sheets if a.get("name") == DATA_SHEET), sheets[0])
    rel_id = chosen.get("r:id") or next((v for k, v in chosen.items() if k.endswith(":id")), "")
    targets = {a.get("Id"): a.get("Target", "") for a in map(_attributes, re.findall(rb"<Relationship\s[^>]*>", rels))}
    target = targets.get(rel_id)
    if not target:
        return None
    path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return path if path in archive.namelist() else None


def _ref_beyond(*, rows: int | None = None, columns: int | None = None) -> str:
    """A regex for the value of a row or cell reference (``GS12``) past ``rows`` or ``columns``."""
    parts = []
    if columns is not None:
        parts.append(f"(?:{_beyond_pattern(_column_letters(columns), 'AZ')})[0-9]+")
    if rows is not None:
        parts.append(f"[A-Z]*(?:{_beyond_pattern(str(rows), '09')})")
    return "|".join(parts)


def _xlsx_extent(content: bytes) -> tuple[str, int, int] | None:
    """(area, rows, columns) of the sheet calamine would read, when it is past the limits: the
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
        part = _xlsx_sheet_part(archive)
        if part is None:
            return None
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
    place = f"用到了 {where}" if cols else f"用到了第 {rows:,} 行"
    raise ImportFileError(
        f"文件「{file_name}」的表格使用区域过大（{place}），超出导入上限："
        f"最多 {MAX_COLUMNS} 列、{MAX_ROWS:,} 行数据，且行数与列数之积不超过 {MAX_CELLS:,}。"
        "表格中可能有远处的单元格被填写或设置过格式：请把数据复制到一个新的工作表后再上传"
    )


def _read_spreadsheet(content: bytes, file_name: str) -> Sequence[Sequence[object]]:
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
            # Prefer our template's data sheet, wherever the user moved it.
            names = book.sheet_names
            sheet = (
                book.get_sheet_by_name(DATA_SHEET)
                if DATA_SHEET in names
                else book.get_sheet_by_index(0)
            )
            # skip_empty_area=False keeps blank leading rows and columns, so positions are real
            # spreadsheet coordinates (the default drops them; iter_rows drops only the columns).
            return sheet.to_python(skip_empty_area=False)
    except PasswordError:
        raise ImportFileError(f"文件「{file_name}」设置了密码，请取消密码后再上传") from None
    except (CalamineError, ValueError, OSError):
        raise _unreadable(file_name) from None


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


def read_table(
    content: bytes, file_name: str, columns: Sequence[Column], *, max_rows: int = MAX_ROWS
) -> Table:
    """Find the header row and the columns of an uploaded file and return its non-empty rows.

    Cells are returned raw (calamine gives floats for number cells, dates for date cells, "" for
    blanks; CSV gives strings), each row padded to the header's width.
    """
    if not content:
        raise ImportFileError(f"文件「{file_name}」是空的")
    suffix = PurePath(file_name).suffix.lower()
    grid: Sequence[Sequence[object]]
    if suffix in TEXT_SUFFIXES:
        grid = _read_csv(content, file_name)
    elif suffix in SPREADSHEET_SUFFIXES:
        _check_spreadsheet_size(content, file_name, suffix)
        grid = _read_spreadsheet(content, file_name)
    else:
        raise _unreadable(file_name)

    matcher = _HeaderMatcher(columns)
    needed = min(2, len(columns))
    header_at = None
    for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        if sum(1 for cell in row if matcher.field_of(cell)) >= needed:
            header_at = index
            break
    if header_at is None:
        if all(_is_blank(cell) for row in grid for cell in row):
            raise ImportFileError(f"文件「{file_name}」是空的")
        sample = "、".join(c.label for c in columns[:4])
        raise ImportFileError(
            f"未找到表头：前 {HEADER_SEARCH_ROWS} 行中没有可识别的列名（应包含 {sample} 等），"
            "请使用下载的模板填写"
        )

    headers = [clean_text(cell) for cell in grid[header_at]]
    column_index: dict[str, int] = {}
    ignored: list[str] = []
    labels = {c.field: c.label for c in columns}
    for position, header in enumerate(headers):
        found = matcher.field_of(header)
        if found is None:
            if header:
                ignored.append(header)
        elif found in column_index:
            # Silently taking one of two 姓名 columns would import the wrong one half the time.
            first = xl_col_to_name(column_index[found])
            raise ImportFileError(
                f"「{labels[found]}」列出现了两次（{first}列和{xl_col_to_name(position)}列），"
                "请删除多余的一列"
            )
        else:
            column_index[found] = position

    missing = [c.label for c in columns if c.required and c.field not in column_index]
    if missing:
        raise ImportFileError(f"缺少必填列：{'、'.join(missing)}")

    width = len(headers)
    rows: list[tuple[int, list[object]]] = []
    for index in range(header_at + 1, len(grid)):
        cells = grid[index]
        if not _has_content(cells):
            continue
        if len(rows) == max_rows:
            raise ImportFileError(f"数据超过 {max_rows} 行，请拆分成多个文件分批导入")
        # The grid's rows are fresh lists nobody else holds: a full-width one is used as it is.
        if type(cells) is not list or len(cells) < width:
            cells = list(cells) + [""] * (width - len(cells))
        rows.append((index + 1, cells))
    if not rows:
        raise ImportFileError(f"文件「{file_name}」在表头（第{header_at + 1}行）下面没有数据")
    return Table(
        headers=headers,
        column_index=column_index,
        ignored_headers=ignored,
        header_row=header_at + 1,
        rows=rows,
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
    for r, values in enumerate(example_rows, start=1):
        for c, value in enumerate(values[: len(columns)]):
            data.write_string(r, c, str(value), example_fmt)
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
        lines.append("“数据”表中灰色斜体的示例行仅作参考，导入前请删除")
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


def problems_xlsx(problems: Sequence[Mapping[str, object]], *, title: str) -> bytes:
    """An error report: one line per problem (row, column, value as typed, what is wrong).

    The header is row 1 (so the report can be filtered and read back like any table); the title
    goes into the document properties and the printed page header. Row numbers are numbers so
    that sorting works; everything else is text so a value like 0123 is shown as it was read.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    title = redact_identifiers(title)
    book.set_properties({"title": title})
    sheet = book.add_worksheet("错误报告")
    header_fmt = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text_fmt = book.add_format({"num_format": "@", "text_wrap": True, "valign": "top"})
    number_fmt = book.add_format({"valign": "top"})

    headers = ("行号", "列名", "填写内容", "问题说明")
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
            sheet.write_string(r, c, redact_identifiers(text)[:_EXCEL_CELL_LIMIT], text_fmt)
    sheet.autofilter(0, 0, len(problems), len(headers) - 1)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()

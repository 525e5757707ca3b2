"""A form as an Excel workbook in its printed layout, and a filled one read back.

One worksheet per table: the title lines (form, table, school, period, version, unit), a header of
column labels with their units, a line of column codes, then one line per row with its label and
code. Code cells carry a dropdown from the 代码表 sheet; computed and disabled cells are locked
(the sheet is protected without a password, so a person cannot type into them by mistake, and can
still unprotect it); prefilled cells are tinted and carry the records' value as a comment.

Reading goes by the codes, not by positions: a sheet is found by its table code, a row by the code
in its code column, a column by the code line. Every cell is checked against its column's type
before anything is saved; one bad cell refuses the whole file and the message names the sheet,
the row and the column (``WorkbookInvalid``).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

import xlsxwriter
from django.utils.translation import gettext, gettext_noop
from python_calamine import CalamineError, CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_col_to_name, xl_range_abs

from eduplatform.core.imports import ImportFileError, _check_spreadsheet_size
from eduplatform.core.uploads import UploadRefused, check_spreadsheet
from eduplatform.reporting import grid as grid_mod

CODES_SHEET = gettext_noop("代码表")  # the sheet name, in the language of the download
HEADER_ROW = 3  # column labels (0-based); the code line is the next one
CODE_ROW = 4
FIRST_ROW = 5
LABEL_COL, CODE_COL, FIRST_COL = 0, 1, 2
MAX_TEXT = 500


class WorkbookInvalid(Exception):
    """The uploaded file was refused; nothing was saved. ``problems`` are Chinese messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


def sheet_name(table: grid_mod.Table) -> str:
    return f"{table.code} {table.title}"[:31].replace("/", "／").replace("\\", "＼").replace("?", "？") \
        .replace("*", "＊").replace("[", "［").replace("]", "］").replace(":", "：")


def form_workbook(g: grid_mod.Grid, *, task: Any, school: Any, blank: bool) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    title_fmt = book.add_format({"bold": True, "font_size": 14})
    info_fmt = book.add_format({"font_color": "#555555"})
    head_fmt = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "align": "center",
                                "valign": "vcenter", "text_wrap": True, "locked": True})
    code_fmt = book.add_format({"border": 1, "align": "center", "font_color": "#555555", "locked": True})
    label_fmt = book.add_format({"border": 1, "locked": True})
    entry_fmt = book.add_format({"border": 1, "locked": False})
    entry_text_fmt = book.add_format({"border": 1, "locked": False, "num_format": "@"})
    prefill_fmt = book.add_format({"border": 1, "locked": False, "bg_color": "#E6F4EA"})
    computed_fmt = book.add_format({"border": 1, "locked": True, "bg_color": "#F1F3F5", "font_color": "#1D4ED8"})
    disabled_fmt = book.add_format({"border": 1, "locked": True, "pattern": 16, "bg_color": "#DDDDDD"})

    # The code tables of code columns, on one sheet the dropdowns refer to.
    code_tables: dict[str, list[tuple[str, str]]] = {}
    for table in g.tables:
        for row in table.rows:
            for cell in row.cells:
                if cell.type == "code" and cell.choices:
                    code_tables.setdefault(_table_of(table, cell), cell.choices)
    sources: dict[str, str] = {}
    codes = None
    if code_tables:
        codes_sheet = gettext(CODES_SHEET)
        codes = book.add_worksheet(codes_sheet)
        for position, (name, choices) in enumerate(code_tables.items()):
            codes.write_string(0, position, name, head_fmt)
            for r, (code, label) in enumerate(choices, start=1):
                codes.write_string(r, position, f"{code}-{label}")
            codes.set_column(position, position, 24)
            sources[name] = f"='{codes_sheet}'!{xl_range_abs(1, position, len(choices), position)}"

    subject = school.name if school is not None else gettext("（学校名称）")
    version = task.form_version if task is not None else None
    for table in g.tables:
        ws = book.add_worksheet(sheet_name(table))
        ws.write_string(0, 0, f"{g.code} {g.title}", title_fmt)
        ws.write_string(1, 0, f"{table.code} {table.title}" + (gettext("（单位：%(unit)s）") % {"unit": table.unit} if table.unit else ""))
        ws.write_string(2, 0, gettext("填报单位：%(subject)s    统计期：%(period)s    报表版本：%(version)s    绿色为业务数据预填，灰色为自动计算或不填") % {"subject": subject, "period": getattr(task, 'period', ''), "version": version.version if version else ''}, info_fmt)
        ws.write_string(HEADER_ROW, LABEL_COL, gettext("项目"), head_fmt)
        ws.write_string(HEADER_ROW, CODE_COL, gettext("代码"), head_fmt)
        ws.write_string(CODE_ROW, LABEL_COL, gettext("甲"), code_fmt)
        ws.write_string(CODE_ROW, CODE_COL, gettext("乙"), code_fmt)
        ws.set_column(LABEL_COL, LABEL_COL, max(16, max((len(r.label) for r in table.rows), default=8) * 2 + 2))
        ws.set_column(CODE_COL, CODE_COL, 8)
        for c, column in enumerate(table.columns):
            x = FIRST_COL + c
            unit = f"（{column.unit}）" if column.unit else ""
            ws.write_string(HEADER_ROW, x, f"{column.label}{unit}", head_fmt)
            ws.write_string(CODE_ROW, x, column.code, code_fmt)
            ws.set_column(x, x, max(12, len(column.label) * 2 + 4))
        ws.set_row(HEADER_ROW, 36)
        for r, row in enumerate(table.rows):
            y = FIRST_ROW + r
            ws.write_string(y, LABEL_COL, row.label, label_fmt)
            ws.write_string(y, CODE_COL, row.code, code_fmt)
            for c, cell in enumerate(row.cells):
                x = FIRST_COL + c
                value = "" if blank and not cell.computed else cell.value
                if cell.disabled:
                    ws.write_blank(y, x, None, disabled_fmt)
                    continue
                fmt = computed_fmt if cell.computed else prefill_fmt if cell.prefilled else (
                    entry_text_fmt if cell.type in ("text", "code") else entry_fmt)
                _write_value(ws, y, x, cell, value if not blank or cell.computed else "", fmt)
                if cell.prefilled and cell.prefill_value != "":
                    ws.write_comment(y, x, gettext("业务数据预填：%(shown_prefill)s。修改时请在系统中填写说明") % {"shown_prefill": cell.shown_prefill})
                if cell.type == "code" and cell.choices and not cell.computed:
                    ws.data_validation(y, x, y, x, {
                        "validate": "list", "source": sources[_table_of(table, cell)], "error_type": "warning",
                        "error_title": gettext("不在代码表中"), "error_message": gettext("请从下拉列表选择，或填写代码")})
                elif cell.type == "integer" and not cell.computed:
                    ws.data_validation(y, x, y, x, {"validate": "integer", "criteria": ">=", "value": -(10**12),
                                                    "error_type": "warning", "error_title": gettext("请填写整数"),
                                                    "error_message": gettext("该列为整数")})
        ws.freeze_panes(FIRST_ROW, FIRST_COL)
        ws.protect("", {"format_columns": True, "format_rows": True, "select_locked_cells": True,
                        "select_unlocked_cells": True})
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    book.close()
    return buffer.getvalue()


def _table_of(table: grid_mod.Table, cell: grid_mod.Cell) -> str:
    column = next(c for c in table.columns if cell.key.endswith(f".{c.code}"))
    return column.code_table or column.label


def _write_value(ws: Any, y: int, x: int, cell: grid_mod.Cell, value: str, fmt: Any) -> None:
    if value in (None, ""):
        ws.write_blank(y, x, None, fmt)
        return
    if cell.numeric:
        number = grid_mod.as_decimal(value)
        if number is not None:
            ws.write_number(y, x, number, fmt)
            return
    if cell.type == "code":
        name = dict(cell.choices).get(str(value))
        ws.write_string(y, x, f"{value}-{name}" if name else str(value), fmt)
        return
    ws.write_string(y, x, str(value), fmt)


# --------------------------------------------------------------------------------------------
# Reading a filled workbook


def _where(sheet: str, y: int, x: int, row_label: str, column_label: str) -> str:
    return gettext("工作表「%(sheet)s」第 %(row)s 行 %(column)s 列（%(row_label)s · %(column_label)s）") % {"sheet": sheet, "row": y + 1, "column": xl_col_to_name(x), "row_label": row_label, "column_label": column_label}


def _read_cell(raw: Any, column: grid_mod.Column, cell: grid_mod.Cell) -> tuple[str, str | None]:
    """(value as stored, problem or None) for one spreadsheet value of ``column``'s type."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "", None
    kind = column.type
    if kind in grid_mod.NUMERIC:
        if isinstance(raw, bool):
            return "", gettext("「%(raw)s」不是数字") % {"raw": raw}
        if isinstance(raw, (int, float)):
            number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        else:
            try:
                number = Decimal(str(raw).replace(",", "").replace("，", "").strip())
            except (InvalidOperation, ValueError):
                return "", (gettext("「%(raw)s」不是数字，该列应填整数") if kind == "integer" else gettext("「%(raw)s」不是数字，该列应填数字")) % {"raw": raw}
        if not number.is_finite():
            return "", gettext("「%(raw)s」不是数字") % {"raw": raw}
        if kind == "integer":
            if number != number.to_integral_value():
                return "", gettext("「%(raw)s」不是整数，该列应填整数") % {"raw": raw}
            return str(int(number)), None
        decimals = column.decimals
        normalized = number.normalize()
        if decimals is not None and -normalized.as_tuple().exponent > decimals:
            return "", gettext("「%(raw)s」的小数位多于 %(decimals)s 位") % {"raw": raw, "decimals": decimals}
        return format(normalized, "f"), None
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat(), None
        if isinstance(raw, dt.date):
            return raw.isoformat(), None
        text = str(raw).strip().replace("/", "-").replace(".", "-")
        try:
            return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-"))).isoformat(), None
        except ValueError:
            return "", gettext("「%(raw)s」不是日期，请填写如 2026-09-01") % {"raw": raw}
    text = (str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)).strip()
    if kind == "code":
        choices = dict(cell.choices)
        if not choices:
            return text, None
        code = text.split("-", 1)[0].strip() if "-" in text else text
        if code in choices:
            return code, None
        by_name = {name: c for c, name in choices.items()}
        if text in by_name:
            return by_name[text], None
        allowed = "、".join(f"{c} {n}" for c, n in list(choices.items())[:8])
        return "", (gettext("「%(text)s」不在代码表中（可选：%(allowed)s 等）") if len(choices) > 8 else gettext("「%(text)s」不在代码表中（可选：%(allowed)s）")) % {"text": text, "allowed": allowed}
    if len(text) > MAX_TEXT:
        return "", gettext("文字超过 %(max_text)s 个字") % {"max_text": MAX_TEXT}
    return text, None


def read_form_workbook(g: grid_mod.Grid, content: bytes, *, file_name: str) -> dict[str, str]:
    """The editable cells' values from a workbook laid out as ``form_workbook`` writes it."""
    if not file_name.lower().endswith((".xlsx", ".xlsm")):
        raise WorkbookInvalid([gettext("文件「%(file_name)s」不是 Excel 文件（.xlsx），请上传从本页下载的报表文件") % {"file_name": file_name}])
    try:  # a zip bomb, a damaged or renamed file is refused before calamine opens it
        check_spreadsheet(content, file_name)
    except UploadRefused as refused:
        raise WorkbookInvalid([refused.message]) from None
    try:
        _check_spreadsheet_size(content, file_name, ".xlsx")
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = list(book.sheet_names)
    except ImportFileError as err:
        raise WorkbookInvalid([str(err)]) from None
    except PasswordError:
        raise WorkbookInvalid([gettext("文件「%(file_name)s」设置了密码，请取消密码后再上传") % {"file_name": file_name}]) from None
    except (CalamineError, ValueError, OSError):
        raise WorkbookInvalid([gettext("文件「%(file_name)s」无法读取：不是有效的 Excel 文件或已损坏") % {"file_name": file_name}]) from None
    problems: list[str] = []
    values: dict[str, str] = {}
    with book:
        for table in g.tables:
            name = next((n for n in names if n == table.code or n.startswith(f"{table.code} ")), None)
            if name is None:
                problems.append(gettext("找不到表 %(code)s「%(title)s」的工作表（应名为「%(sheet_name)s」）") % {"code": table.code, "title": table.title, "sheet_name": sheet_name(table)})
                continue
            try:
                rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except (CalamineError, ValueError, OSError):
                problems.append(gettext("工作表「%(name)s」无法读取") % {"name": name})
                continue
            problems += _read_table(table, name, rows, values)
    if problems:
        raise WorkbookInvalid(problems[:200] + ([gettext("……另有 %(count)s 处问题") % {"count": len(problems) - 200}] if len(problems) > 200 else []))
    return values


def _read_table(table: grid_mod.Table, name: str, rows: list[list[Any]], values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    codes = {c.code for c in table.columns}
    # The code line: the first row holding the column codes.
    header_y = next((y for y, row in enumerate(rows[:20]) if codes <= {str(v).strip() for v in row}), None)
    if header_y is None:
        return [gettext("工作表「%(name)s」找不到栏目代码行（%(items)s），请使用本页下载的报表文件填写") % {"name": name, "items": '、'.join(sorted(codes))}]
    column_x = {str(v).strip(): x for x, v in enumerate(rows[header_y]) if str(v).strip() in codes}
    row_codes = {r.code for r in table.rows}
    row_y: dict[str, int] = {}
    for y in range(header_y + 1, len(rows)):
        line = rows[y]
        found = next((str(v).strip() for v in line[:FIRST_COL + 1] if str(v).strip() in row_codes), None)
        if found and found not in row_y:
            row_y[found] = y
    for row in table.rows:
        if row.code not in row_y:
            problems.append(gettext("工作表「%(name)s」缺少代码为 %(code)s 的行（%(label)s）") % {"name": name, "code": row.code, "label": row.label})
            continue
        y = row_y[row.code]
        for column, cell in zip(table.columns, row.cells, strict=True):
            if not cell.editable:
                continue
            x = column_x[column.code]
            raw = rows[y][x] if x < len(rows[y]) else None
            value, problem = _read_cell(raw, column, cell)
            if problem:
                problems.append(f"{_where(name, y, x, row.label, column.label)}：{problem}")
            else:
                values[cell.key] = value
    return problems

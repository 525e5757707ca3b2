"""Writing lists to Excel: every list page can be exported with the same columns it shows.

Nothing is cut off silently. A worksheet holds at most ``SHEET_ROW_LIMIT`` rows (Excel's 1,048,576,
header included); a longer list continues on "名单 (2)", "名单 (3)" … each with the header again.
A list longer than ``settings.EXPORT_BACKGROUND_ROWS`` is not built inside the request at all: the
request becomes an export job for the worker (``core/exports.py``) and the user gets its page.
"""

from __future__ import annotations

import decimal
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROW_LIMIT = 1_048_576  # Excel's rows per worksheet, the header row included

# Set by the export worker: called with the number of rows written so far, now and then.
progress_callback: ContextVar[Callable[[int, int], None] | None] = ContextVar("export_progress", default=None)
PROGRESS_EVERY = 5000


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1") -> bytes:
    return xlsx_workbook([(sheet, headers, rows)])


def xlsx_workbook(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """One worksheet per (name, headers, rows) — more when the rows do not fit one worksheet."""
    buffer = io.BytesIO()
    # constant_memory streams rows to disk, so a province-wide export does not hold it all in RAM.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    used: set[str] = set()
    written = 0
    for sheet, headers, rows in sheets:
        written = _write_sheets(book, used, sheet, headers, iter(rows), bold, text, written)
    book.close()
    return buffer.getvalue()


def _sheet_name(base: str, part: int, used: set[str]) -> str:
    suffix = f" ({part})" if part > 1 else ""
    name = base[: 31 - len(suffix)] + suffix
    while name in used:  # two long names cut to the same 31 characters
        part += 1
        suffix = f" ({part})"
        name = base[: 31 - len(suffix)] + suffix
    used.add(name)
    return name


def _write_sheets(book: Any, used: set[str], sheet: str, headers: Sequence[str], rows: Iterator[Sequence[Any]],
                  bold: Any, text: Any, written: int) -> int:
    per_sheet = SHEET_ROW_LIMIT - 1  # data rows under the header
    report = progress_callback.get()
    part = 0
    pending = next(rows, None)
    while part == 0 or pending is not None:
        part += 1
        ws = book.add_worksheet(_sheet_name(sheet, part, used))
        for col, header in enumerate(headers):
            ws.write_string(0, col, header, bold)
            ws.set_column(col, col, max(10, len(header) * 2 + 2))
        ws.freeze_panes(1, 0)
        r = 0
        while pending is not None and r < per_sheet:
            r += 1
            _write_row(ws, r, pending, text)
            written += 1
            if report is not None and written % PROGRESS_EVERY == 0:
                report(written, part)
            pending = next(rows, None)
    if report is not None:
        report(written, part)
    return written


def _write_row(ws: Any, r: int, row: Sequence[Any], text: Any) -> None:
    for c, value in enumerate(row):
        if value is None:
            continue
        if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            ws.write_number(r, c, value)  # amounts (areas, values) stay numbers a user can sum
        else:
            # Codes stay text: a leading zero or a 10-digit 学校标识码 must not become a number.
            ws.write_string(r, c, str(value), text)


def attachment(content: bytes, filename: str, content_type: str = XLSX_TYPE) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str) -> HttpResponse:
    """A list page's export: the workbook itself, or — past ``EXPORT_BACKGROUND_ROWS`` rows — a redirect
    to the page of an export job that builds it in the worker."""
    from eduplatform.core import exports

    return exports.respond(filename, headers, rows, sheet=sheet)

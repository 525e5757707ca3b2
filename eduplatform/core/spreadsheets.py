"""Writing lists to Excel: every list page can be exported with the same columns it shows.

Nothing is cut off silently. A worksheet holds at most ``SHEET_ROW_LIMIT`` rows (Excel's 1,048,576,
header included); a longer list continues on "名单 (2)", "名单 (3)" … each with the header again.
A list longer than ``settings.EXPORT_BACKGROUND_ROWS`` is not built inside the request at all: the
request becomes an export job for the worker (``core/exports.py``) and the user gets its page.

Formula injection (CSV/spreadsheet injection, OWASP): a cell typed as ``=HYPERLINK(…)`` or
``+cmd|…`` by one user must not become a live formula on another user's computer. Every exported
cell goes through this module: in a workbook such text is a string cell with Excel's quote prefix
(shown as typed, and it stays text when edited), in CSV it is prefixed with an apostrophe
(``neutralise``). Exports of personal data also carry a watermark (``Watermark``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse
from django.utils.translation import gettext

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROW_LIMIT = 1_048_576  # Excel's rows per worksheet, the header row included

# Set by the export worker: called with the number of rows written so far, now and then.
progress_callback: ContextVar[Callable[[int, int], None] | None] = ContextVar("export_progress", default=None)
PROGRESS_EVERY = 5000


# A spreadsheet program reads a cell starting with one of these as a formula (tab and CR too: some
# programs strip them and read what follows).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(value: Any) -> Any:
    """A value as a CSV cell: numbers as they are, text that would start a formula behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if is_formula_like(text) else text


class TextCells:
    """A workbook's text format and its quote-prefixed twin, for sheets written outside
    ``xlsx_workbook`` (import reports): text that would start a formula is written with the twin."""

    def __init__(self, book: Any, props: dict[str, Any]) -> None:
        self.plain = book.add_format(props)
        self.quoted = book.add_format({**props, "quote_prefix": True})

    def write(self, ws: Any, r: int, c: int, text: str) -> None:
        ws.write_string(r, c, text, self.quoted if is_formula_like(text) else self.plain)


@dataclass(frozen=True)
class Watermark:
    """Who exported personal data, for whom, when and why: written into the file so a copy found
    elsewhere names its source (document properties and every printed page's header)."""

    user: str
    organization: str
    at: dt.datetime
    purpose: str

    def text(self) -> str:
        return gettext("导出人：%(user)s（%(organization)s）；导出时间：%(at)s；"
                       "用途：%(purpose)s；含个人信息，仅限上述用途，不得转发或公开") % {
                           "user": self.user, "organization": self.organization or gettext("无所属单位"),
                           "at": f"{self.at:%Y-%m-%d %H:%M}", "purpose": self.purpose}


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1",
               watermark: Watermark | None = None) -> bytes:
    return xlsx_workbook([(sheet, headers, rows)], watermark=watermark)


def xlsx_workbook(sheets: Iterable[tuple], *, watermark: Watermark | None = None) -> bytes:
    """One worksheet per (name, headers, rows) — more when the rows do not fit one worksheet.

    A sheet may carry a fourth item, the Excel number format of each column's numbers (``None``:
    as written), e.g. ``"#,##0"`` for counts and ``"0.00%"`` for a share kept as a fraction — the
    cells stay numbers a user can sum and sort, shown as the page shows them."""
    buffer = io.BytesIO()
    # constant_memory streams rows to disk, so a province-wide export does not hold it all in RAM.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    formats = {
        "head": book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1}),
        "head_quoted": book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "quote_prefix": True}),
        "text": book.add_format({"num_format": "@"}),
        "quoted": book.add_format({"num_format": "@", "quote_prefix": True}),
    }
    if watermark is not None:
        book.set_properties({"title": watermark.purpose[:200], "author": watermark.user,
                             "company": watermark.organization, "keywords": gettext("个人信息"), "comments": watermark.text()})
        book.set_custom_property(gettext("导出人"), watermark.user)
        book.set_custom_property(gettext("导出单位"), watermark.organization or "")
        book.set_custom_property(gettext("导出时间"), watermark.at.strftime("%Y-%m-%d %H:%M:%S"))
        book.set_custom_property(gettext("导出用途"), watermark.purpose)
    used: set[str] = set()
    written = 0
    for sheet, headers, rows, *column_formats in sheets:
        formats["columns"] = [book.add_format({"num_format": f}) if f else None
                              for f in (column_formats[0] if column_formats else ())]
        written = _write_sheets(book, used, sheet, headers, iter(rows), formats, written, watermark)
    book.close()
    return buffer.getvalue()


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, trailer: Sequence[str] = ()) -> bytes:
    """A CSV file every cell of which went through ``neutralise``; UTF-8 with a byte-order mark so
    Excel on Windows opens it as Chinese text. ``trailer``: lines after the table (a legend)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in headers])
    writer.writerows([neutralise(v) for v in row] for row in rows)
    if trailer:
        writer.writerow([])
        writer.writerows([neutralise(line)] for line in trailer)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet_name(base: str, part: int, used: set[str]) -> str:
    suffix = f" ({part})" if part > 1 else ""
    name = base[: 31 - len(suffix)] + suffix
    while name in used:  # two long names cut to the same 31 characters
        part += 1
        suffix = f" ({part})"
        name = base[: 31 - len(suffix)] + suffix
    used.add(name)
    return name


def _page_text(text: str) -> str:
    # Excel's header/footer: "&" starts a control code, and the whole is at most 255 characters.
    return text.replace("&", "&&")[:240]


def _write_sheets(book: Any, used: set[str], sheet: str, headers: Sequence[str], rows: Iterator[Sequence[Any]],
                  formats: dict[str, Any], written: int, watermark: Watermark | None) -> int:
    per_sheet = SHEET_ROW_LIMIT - 1  # data rows under the header
    report = progress_callback.get()
    part = 0
    pending = next(rows, None)
    while part == 0 or pending is not None:
        part += 1
        ws = book.add_worksheet(_sheet_name(sheet, part, used))
        if watermark is not None:
            ws.set_header("&L" + _page_text(watermark.text()))
            ws.set_footer("&L" + _page_text(f"{watermark.user} {watermark.at:%Y-%m-%d %H:%M}") + gettext("&R第 &P 页，共 &N 页"))
        for col, header in enumerate(headers):
            header = str(header)
            ws.write_string(0, col, header, formats["head_quoted" if is_formula_like(header) else "head"])
            ws.set_column(col, col, max(10, len(header) * 2 + 2))
        ws.freeze_panes(1, 0)
        r = 0
        while pending is not None and r < per_sheet:
            r += 1
            _write_row(ws, r, pending, formats)
            written += 1
            if report is not None and written % PROGRESS_EVERY == 0:
                report(written, part)
            pending = next(rows, None)
    if report is not None:
        report(written, part)
    return written


def _write_row(ws: Any, r: int, row: Sequence[Any], formats: dict[str, Any]) -> None:
    columns = formats.get("columns") or ()
    for c, value in enumerate(row):
        if value is None:
            continue
        if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            # amounts (areas, values) stay numbers a user can sum, in the column's format if it has one
            number_format = columns[c] if c < len(columns) else None
            if number_format is not None:
                ws.write_number(r, c, value, number_format)
            else:
                ws.write_number(r, c, value)
        else:
            # Codes stay text: a leading zero or a 10-digit 学校标识码 must not become a number. Never
            # ws.write(): it would turn "=…" into a formula.
            text = str(value)
            ws.write_string(r, c, text, formats["quoted" if is_formula_like(text) else "text"])


def attachment(content: bytes, filename: str, content_type: str = XLSX_TYPE) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 trailer: Sequence[str] = ()) -> HttpResponse:
    return attachment(csv_bytes(headers, rows, trailer=trailer), filename, "text/csv; charset=utf-8")


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str,
                  watermark: Watermark | None = None) -> HttpResponse:
    """A list page's export: the workbook itself, or — past ``EXPORT_BACKGROUND_ROWS`` rows — a redirect
    to the page of an export job that builds it in the worker. ``watermark``: for personal data
    (``core.exports.personal_data_export``)."""
    from eduplatform.core import exports

    return exports.respond(filename, headers, rows, sheet=sheet, watermark=watermark)

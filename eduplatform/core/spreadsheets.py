"""Writing lists to Excel: every list page can be exported with the same columns it shows."""

from __future__ import annotations

import decimal
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1") -> bytes:
    return xlsx_workbook([(sheet, headers, rows)])


def xlsx_workbook(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """One worksheet per (name, headers, rows), each written like ``xlsx_bytes``'s one."""
    buffer = io.BytesIO()
    # constant_memory streams rows to disk, so a province-wide export does not hold it all in RAM.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    for sheet, headers, rows in sheets:
        _write_sheet(book.add_worksheet(sheet[:31]), headers, rows, bold, text)
    book.close()
    return buffer.getvalue()


def _write_sheet(ws: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]], bold: Any, text: Any) -> None:
    for col, header in enumerate(headers):
        ws.write_string(0, col, header, bold)
        ws.set_column(col, col, max(10, len(header) * 2 + 2))
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
                ws.write_number(r, c, value)  # amounts (areas, values) stay numbers a user can sum
            else:
                # Codes stay text: a leading zero or a 10-digit 学校标识码 must not become a number.
                ws.write_string(r, c, str(value), text)
    ws.freeze_panes(1, 0)


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(headers, rows, sheet=sheet), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response

"""Builders shared by the student tests: valid ID numbers, student rows and spreadsheet files."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import xlsxwriter

from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization
from eduplatform.standards.validators import id_number_check_char

from .world import TOWN_A2, school_row


def make_id(birth: dt.date, seq: int, *, area: str = "440106", female: bool = False) -> str:
    """A valid 18-digit ID number; the sequence's last digit carries the sex (odd = male)."""
    seq3 = (seq % 500) * 2 + (0 if female else 1)
    body = f"{area}{birth:%Y%m%d}{seq3:03d}"
    return body + id_number_check_char(body)


def student_row(seq: int = 1, **overrides: object) -> dict[str, object]:
    # 400 people per birth date, each with its own sequence number: unique IDs for 100,000 rows.
    birth = dt.date(2018, 9, 1) + dt.timedelta(days=seq // 400)
    female = seq % 2 == 0
    row: dict[str, object] = {
        "name": f"测试学生{seq}",
        "gender": "女" if female else "男",
        "birth_date": birth.isoformat(),
        "id_type": "1",
        "id_number": make_id(birth, seq % 400, female=female),
        "ethnicity": "01",
        "grade": "一年级",
        "class_number": "1",
        "entered_on": "2025-09",
        "phone": "13800138000",
        "home_address": f"天河区测试路{seq}号",
        "guardian1_name": f"家长{seq}",
        "guardian1_relation": "父亲",
        "guardian1_phone": "13900139000",
    }
    row.update(overrides)
    return row


def second_primary_in_county_a() -> Organization:
    (school,) = orgs.register_schools(actor=None, rows=[school_row("2144000009", "天河第二测试小学", "211", TOWN_A2)])
    return school


def xlsx_file(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("学生")
    start = 0
    if title:
        sheet.write(0, 0, title)
        start = 1
    sheet.write_row(start, 0, headers)
    for i, row in enumerate(rows, start=start + 1):
        for j, value in enumerate(row):
            sheet.write_string(i, j, str(value)) if isinstance(value, str) else sheet.write(i, j, value)
    book.close()
    return buffer.getvalue()

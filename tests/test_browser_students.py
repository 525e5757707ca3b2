"""A school clerk's spreadsheet import, in a real browser: template → file with errors → progress and
error report → fixed file → students found in the list.

The import runs in the background worker (django-tasks' ``db_worker``); here the test itself plays
the worker, between the browser's polls, so the page's progress bar is seen before and after.
See tests/test_browser.py for why the reference data is reloaded and async-unsafe ORM is allowed.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from eduplatform.core.models import ImportJob
from eduplatform.students.models import Enrolment
from tests.students_support import student_row, xlsx_file
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World

FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number", "entered_on"]


def run_worker() -> None:
    """What ``manage.py db_worker`` does in production: run every queued task, then stop."""
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0, reload=False)


def upload(tab: Page, content: bytes, mode: str) -> None:
    tab.goto("/students/import/")
    tab.locator("input[name=file]").set_input_files(
        files=[{"name": "新生名单.xlsx", "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content}]
    )
    tab.locator(f"input[name=mode][value={mode}]").check()
    tab.locator("#import-submit").click()
    tab.wait_for_url("**/students/import/*/")


@pytest.mark.browser
def test_clerk_imports_fixes_and_finds_students(site: World, tab: Page, live_server):
    log_in(tab, "clerk_a1")
    tab.goto("/students/import/")

    # 1. The template: Chinese headers, a code sheet.
    with tab.expect_download() as download_info:
        tab.locator("#download-template").click()
    template = CalamineWorkbook.from_filelike(io.BytesIO(open(download_info.value.path(), "rb").read()))  # noqa: SIM115
    headers = template.get_sheet_by_name("数据").to_python()[0]
    assert "*姓名" in headers and "身份证件类型" in headers  # optional: blank means 居民身份证
    assert "代码表" in template.sheet_names
    labels = [h.lstrip("*") for h in headers]

    def file_of(rows: list[dict]) -> bytes:
        by_label = {"姓名": "name", "性别": "gender", "出生日期": "birth_date", "身份证件类型": "id_type",
                    "身份证件号": "id_number", "民族": "ethnicity", "年级": "grade", "班级": "class_number",
                    "入学年月": "entered_on"}
        used = [label for label in labels if label in by_label]
        return xlsx_file(used, [[str(r[by_label[label]]) for label in used] for r in rows])

    rows = [student_row(i) for i in range(1, 6)]
    rows[1] = {**rows[1], "ethnicity": "火星族"}
    rows[3] = {**rows[3], "id_number": rows[3]["id_number"][:17] + ("1" if rows[3]["id_number"][17] != "1" else "2")}

    # 2. A file with errors, all or nothing: queued, then processed, then the report.
    upload(tab, file_of(rows), "all_or_nothing")
    bar = tab.locator(".progress-bar")
    expect(tab.locator(".progress")).to_be_visible()  # the bar itself is 0 px wide while queued
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(tab.locator("#import-status")).to_have_attribute("data-status", "queued")
    screenshot(tab, "import-queued.png")
    run_worker()
    expect(tab.locator("#import-status")).to_have_attribute("data-status", "rejected", timeout=10_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    problems = tab.locator("#import-problems")
    expect(problems).to_contain_text("火星族")
    expect(problems).to_contain_text("身份证件号")
    assert problems.locator("tbody tr").count() == 2
    screenshot(tab, "import-report.png")
    assert not Enrolment.objects.filter(school=site.school_a1).exists()

    # 3. The fixed file goes in.
    rows[1]["ethnicity"] = "01"
    rows[3] = student_row(4)
    upload(tab, file_of(rows), "all_or_nothing")
    run_worker()
    expect(tab.locator("#import-status")).to_have_attribute("data-status", "done", timeout=10_000)
    job = ImportJob.objects.order_by("-pk").first()
    assert job.written_rows == 5
    screenshot(tab, "import-done.png")

    # 4. The students are in the register, findable by name.
    tab.goto("/students/?q=测试学生4")
    expect(tab.locator("body")).to_contain_text("测试学生4")
    expect(tab.locator("body")).to_contain_text("G" + student_row(4)["id_number"])
    tab.goto("/students/")
    for i in range(1, 6):
        expect(tab.locator("body")).to_contain_text(f"测试学生{i}")
    screenshot(tab, "students-list.png")

"""The collection cycle in a real browser: the province publishes a task with the shipped 基础基442
form, the school fills it (prefilled teacher counts, computed ratios, a hard rule beside its cell
after auto-save, a soft rule's explanation box), submits, the county returns it with a reason on
one cell, the school corrects and resubmits, and the county, the city and the province approve.

The form is the shipped data/forms/JC442.json, imported and published through the designer's pages
(building one field by field is the designer's own browser test). Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from eduplatform.reporting import selectors
from eduplatform.reporting.models import FormVersion, RegionApproval, Submission, SubmissionStatus
from eduplatform.staff import services as staff_services
from tests.staff_support import staff_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World

JC442 = Path(settings.BASE_DIR) / "data" / "forms" / "JC442.json"
TIANHE = "44/4401/440106/"


shot = screenshot  # into test-artifacts/, beside the other browser tests' screenshots


def switch_to(page: Page, username: str) -> None:
    page.context.clear_cookies()
    log_in(page, username)


def type_cell(page: Page, key: str, value: str) -> None:
    """Type into a cell and leave it: the change auto-saves; wait until the page says so."""
    field = page.locator(f'[name="{key}"]')
    field.fill(value)
    field.press("Tab")
    expect(page.locator("#save-status")).to_have_attribute("data-status", "saved")


@pytest.mark.browser
def test_a_form_published_filled_returned_corrected_and_approved_up_to_the_province(
        site: World, tab: Page, live_server):  # noqa: F811
    selectors._published_spec.cache_clear()  # parsed forms are kept by primary key, which a rolled-back test reuses
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    clerk = site.user("clerk_a1")
    for seq in range(1, 5):  # four full-time teachers: the form prefills 专任教师数 = 4
        staff_services.hire(actor=clerk, unit=site.school_a1, data=staff_row(seq))
    # The province imports the shipped form into the designer and publishes it there.
    log_in(tab, "province")
    tab.goto("/reports/designer/")
    tab.locator('form[action="/reports/designer/import/"] input[type=file]').set_input_files(str(JC442))
    tab.get_by_role("button", name="导入").click()
    expect(tab.get_by_test_id("version-status")).to_contain_text("草稿")
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.locator("input[name=confirm]").check()
    tab.get_by_test_id("publish").click()
    expect(tab.get_by_test_id("version-status")).to_contain_text("已发布")
    version = FormVersion.objects.get(form__code="JC442")
    assert version.definition == json.loads(JC442.read_text(encoding="utf-8"))

    # The province creates the task through the form and sends it out.
    tab.goto("/reports/")
    tab.get_by_test_id("task-new").click()
    tab.locator("#id_form_version").select_option(str(version.pk))
    tab.locator("#id_title").fill("2026年教师培训情况")
    tab.locator("#id_period").fill("2026")
    tab.locator("#id_deadline").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    tab.locator("#id_regions").select_option(TIANHE)
    tab.locator("#id_school_types").select_option("211")
    shot(tab, "reporting-task-new.png")
    tab.get_by_test_id("task-create").click()
    expect(tab.locator("h2.page-title")).to_contain_text("2026年教师培训情况")
    tab.get_by_test_id("task-open").click()
    expect(tab.locator(".alert-success")).to_contain_text("已下发")
    expect(tab.get_by_test_id("children")).to_contain_text("广州市")
    shot(tab, "reporting-task-province.png")
    sub = Submission.objects.get(task__title="2026年教师培训情况", school=site.school_a1)

    # The school fills it in.
    switch_to(tab, "clerk_a1")
    tab.goto("/reports/")
    tab.get_by_role("link", name="2026年教师培训情况").click()
    expect(tab.locator("h2.page-title")).to_contain_text("JC442 教师培训情况")
    prefilled = tab.locator("#cell-T1-R1-C1")
    expect(prefilled).to_contain_text("预填")
    expect(prefilled).to_contain_text("4")
    # Changing a prefilled cell shows the difference from the records and asks for an explanation.
    type_cell(tab, "T1.R1.C1", "5")
    expect(tab.locator("#diff-T1-R1-C1")).to_have_text("差 +1")
    expect(tab.locator("#explain-T1-R1-C1")).to_be_visible()
    expect(tab.locator('[data-soft="E2"]')).to_be_visible()  # and the soft rule against the records fails
    shot(tab, "reporting-entry-prefill-changed.png")
    type_cell(tab, "T1.R1.C1", "4")
    expect(tab.locator("#diff-T1-R1-C1")).to_have_text("")
    expect(tab.locator("#explain-T1-R1-C1")).to_be_hidden()
    type_cell(tab, "T1.R1.C2", "9")  # more trainees than teachers: V1 appears beside the cell
    expect(tab.locator("#notes-T1-R1-C2")).to_contain_text("参加培训人数不能大于专任教师数")
    expect(tab.locator("#cell-T1-R1-C2")).to_have_class(re.compile("rp-error"))
    expect(tab.get_by_test_id("submit")).to_be_disabled()
    shot(tab, "reporting-entry-hard-rule.png")
    type_cell(tab, "T1.R1.C2", "1")  # 1 of 4: the ratio (computed) is 25%, below the soft rule's 50%
    expect(tab.locator("#cv-T1-R1-C3")).to_have_text("25")
    expect(tab.locator("#notes-T1-R1-C2")).not_to_contain_text("参加培训人数不能大于")
    soft_box = tab.locator('[data-soft="E4"]')
    expect(soft_box).to_be_visible()
    soft_box.locator("textarea").fill("本学年多数教师参加校本研修，按规定不计入")
    soft_box.locator("textarea").press("Tab")
    expect(tab.locator("#save-status")).to_have_attribute("data-status", "saved")
    type_cell(tab, "T2.R2.C1", "1")
    type_cell(tab, "T2.R2.C2", "24")
    expect(tab.locator("#cv-T2-R1-C2")).to_have_text("24")
    type_cell(tab, "T3.R1.C1", "李老师")
    tab.locator('[name="T3.R1.C2"]').select_option("1")  # a code cell: 岗位类别 from its code table
    expect(tab.locator("#save-status")).to_have_attribute("data-status", "saved")
    expect(tab.locator("#entry-status")).to_contain_text("填报中")
    shot(tab, "reporting-entry-filled.png")
    tab.get_by_test_id("submit").click()
    expect(tab.locator(".alert-success")).to_contain_text("已上报")
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SUBMITTED and sub.values["T1.R1.C2"] == "1" and sub.values["T3.R1.C2"] == "1"

    # The county opens it, writes a reason on the trainees cell and returns it.
    switch_to(tab, "county_a_stat")
    tab.goto(f"/reports/tasks/{sub.task_id}/")
    tab.get_by_test_id("schools").get_by_test_id("open-submission").click()
    expect(tab.get_by_test_id("explanation-E4")).to_contain_text("校本研修")
    tab.locator("#cell-T1-R1-C2").click()
    reason = tab.locator('[name="cell_reason:T1.R1.C2"]')
    expect(reason).to_be_visible()
    reason.fill("与培训台账不符：台账记录 3 人参训")
    tab.locator("#review-reason").fill("请按培训台账核对参训人数")
    shot(tab, "reporting-review-return.png")
    tab.get_by_test_id("return").click()
    expect(tab.get_by_test_id("return-reason")).to_contain_text("请按培训台账核对参训人数")
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.RETURNED and "T1.R1.C2" in sub.return_cells

    # The school sees the reason on the cell, corrects and resubmits.
    switch_to(tab, "clerk_a1")
    tab.goto(f"/reports/submissions/{sub.pk}/entry/")
    expect(tab.get_by_test_id("return-reason")).to_contain_text("请按培训台账核对参训人数")
    expect(tab.locator("#cell-T1-R1-C2")).to_contain_text("台账记录 3 人参训")
    shot(tab, "reporting-entry-returned.png")
    type_cell(tab, "T1.R1.C2", "3")
    type_cell(tab, "T2.R2.C1", "3")
    expect(tab.locator("#cv-T1-R1-C3")).to_have_text("75")
    tab.get_by_test_id("submit").click()
    expect(tab.locator(".alert-success")).to_contain_text("已上报")

    # County → city → province.
    switch_to(tab, "county_a_stat")
    tab.goto(f"/reports/submissions/{sub.pk}/")
    tab.get_by_test_id("approve").click()
    expect(tab.locator(".alert-success")).to_contain_text("审核通过")
    tab.goto(f"/reports/tasks/{sub.task_id}/")
    tab.get_by_test_id("region-approve").click()
    expect(tab.get_by_test_id("region-approval")).to_contain_text("已审核通过")
    shot(tab, "reporting-county-approved.png")
    for user, name in (("city_stat", "广州市"), ("province", "广东省")):
        switch_to(tab, user)
        tab.goto(f"/reports/tasks/{sub.task_id}/")
        tab.get_by_test_id("region-approve").click()
        expect(tab.get_by_test_id("region-approval")).to_contain_text("已审核通过")
        expect(tab.locator(".alert-success")).to_contain_text(name)
    shot(tab, "reporting-province-approved.png")
    assert RegionApproval.objects.filter(task_id=sub.task_id).count() == 3
    # The province's 汇总: the one approved school's figures, the computed total worked out again.
    tab.get_by_test_id("region-summary").click()
    expect(tab.get_by_test_id("summary-counted")).to_contain_text("汇总已审核通过的填报：1 所")
    expect(tab.locator("#cv-T1-R1-C3")).to_have_text("75")
    shot(tab, "reporting-summary.png")

    tab.goto("/reports/")
    expect(tab.get_by_test_id("task-list")).to_contain_text("2026年教师培训情况")
    shot(tab, "reporting-task-list.png")
    tab.goto(f"/reports/submissions/{sub.pk}/")
    tab.emulate_media(media="print")  # the approved return as printed: no buttons, no forms
    expect(tab.get_by_test_id("review-form")).to_have_count(0)
    expect(tab.get_by_test_id("print-title")).to_contain_text("JC442 教师培训情况")
    expect(tab.get_by_test_id("print-title")).to_contain_text("统计期 2026")
    shot(tab, "reporting-submission-print.png")
    tab.emulate_media(media="screen")
    tab.goto(f"/reports/submissions/{sub.pk}/history/")
    history = tab.get_by_test_id("history")
    for action in ("上报", "退回", "审核通过"):
        expect(history).to_contain_text(action)
    expect(history).to_contain_text("台账记录 3 人参训")
    shot(tab, "reporting-history.png")
    assert not errors, errors

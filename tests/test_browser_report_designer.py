"""The form designer in a real browser: an expression typed with an error shows the message and its
position as it is typed, the measure picker inserts RECORD('measure:…'), the preview evaluates the
prefill for a school, and the version is published after the confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eduplatform.reporting.models import FormVersion, FormVersionStatus
from tests.test_browser import chromium, log_in, pick, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World


@pytest.mark.browser
def test_designer_in_the_browser_checks_expressions_live_and_publishes(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "province")
    tab.goto("/reports/designer/")
    tab.locator("#new-code").fill("JC442")
    tab.locator("#new-title").fill("教师培训情况")
    tab.get_by_test_id("create-form").click()
    expect(tab.get_by_test_id("version-status")).to_contain_text("草稿")

    # A rule typed with an error: the message with its position appears beside the box, live.
    rules = tab.get_by_test_id("rules")
    box = rules.locator("textarea[name=rule_expression_0]")
    box.click()
    box.press_sequentially("[T1.R1.C1] >= (")
    expect(rules.get_by_test_id("expression-error").first).to_contain_text("第 16 个字符处：表达式不完整")
    box.fill("")
    box.press_sequentially("[T1.R1.C1] >= ")
    # The measure picker inserts RECORD('measure:…') where the cursor is.
    tab.locator("#picker-measures").select_option(value="RECORD('measure:teachers')")
    expect(box).to_have_value("[T1.R1.C1] >= RECORD('measure:teachers')")
    expect(rules.locator(".expr-check").first).to_contain_text("表达式正确")
    rules.locator("input[name=rule_code_0]").fill("E1")
    rules.locator("select[name=rule_kind_0]").select_option("soft")
    rules.locator("input[name=rule_message_0]").fill("参加培训人数超过专任教师数")
    screenshot(tab, "designer-rule.png")
    tab.get_by_test_id("save-rules").click()
    expect(tab.locator(".alert-success")).to_contain_text("草稿已保存")

    # A prefilled cell: R1.C1 from the records (专任教师), through the picker.
    table = tab.get_by_test_id("table-0")
    table.locator("input[name=cell_key_0]").fill("R1.C1")
    table.locator("textarea[name=cell_prefill_0]").click()
    tab.locator("#picker-measures").select_option(value="RECORD('measure:teachers')")
    # Two more columns, the last one computed from the first two.
    table.locator("input[name=col_code_1]").fill("C2")
    table.locator("input[name=col_label_1]").fill("参训人数")
    table.locator("input[name=col_code_2]").fill("C3")
    table.locator("input[name=col_label_2]").fill("未参训人数")
    table.locator("input[name=cell_key_1]").fill("R1.C3")
    table.locator("textarea[name=cell_computed_1]").fill("[T1.R1.C1] - [T1.R1.C2]")
    tab.get_by_test_id("save-table-0").click()
    expect(tab.locator(".alert-success")).to_contain_text("草稿已保存")

    # A hard rule over the new column.
    rules = tab.get_by_test_id("rules")
    rules.locator("input[name=rule_code_1]").fill("V1")
    rules.locator("select[name=rule_kind_1]").select_option("hard")
    rules.locator("textarea[name=rule_expression_1]").fill("[T1.R1.C2] <= [T1.R1.C1]")
    rules.locator("input[name=rule_message_1]").fill("参训人数不能大于专任教师数")
    tab.get_by_test_id("save-rules").click()
    expect(tab.locator(".alert-success")).to_contain_text("草稿已保存")

    tab.get_by_role("link", name="预览").click()
    pick(tab, "school_code", site.school_a1.school_code, site.school_a1.name)
    tab.get_by_role("button", name="计算预填").click()
    expect(tab.get_by_test_id("preview-T1").locator("[data-cell='T1.R1.C1']")).to_contain_text("预填")
    expect(tab.get_by_test_id("preview-T1").locator("[data-cell='T1.R1.C1'] input")).to_have_value("0")
    screenshot(tab, "designer-preview.png")

    tab.get_by_role("link", name="JC442 第 1 版").click()
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.locator("input[name=confirm]").check()
    tab.get_by_test_id("publish").click()
    expect(tab.get_by_test_id("version-status")).to_contain_text("已发布")
    version = FormVersion.objects.get(form__code="JC442")
    assert version.status == FormVersionStatus.PUBLISHED
    assert [(r["code"], r["kind"], r["expression"]) for r in version.definition["rules"]] == [
        ("E1", "soft", "[T1.R1.C1] >= RECORD('measure:teachers')"), ("V1", "hard", "[T1.R1.C2] <= [T1.R1.C1]")]
    assert version.definition["tables"][0]["cells"] == {"R1.C1": {"prefill": "RECORD('measure:teachers')"},
                                                        "R1.C3": {"computed": "[T1.R1.C1] - [T1.R1.C2]"}}
    screenshot(tab, "designer-published.png")


@pytest.mark.browser
def test_completeness_page_colours_the_map_and_drills_down(site: World, tab: Page, live_server):  # noqa: F811
    import datetime as dt

    from django.utils import timezone

    from eduplatform.reporting.models import (
        CollectionTask,
        FormDefinition,
        Submission,
        SubmissionStatus,
        TaskStatus,
    )

    form = FormDefinition.objects.create(code="JC442", title="教师培训情况", owner_path="44/")
    version = FormVersion.objects.create(form=form, version=1, status=FormVersionStatus.PUBLISHED, definition={
        "code": "JC442", "title": "教师培训情况", "tables": [{"code": "T1", "title": "培训", "rows": [{"code": "R1", "label": "合计"}],
                                                           "columns": [{"code": "C1", "label": "人数", "type": "integer"}]}]})
    task = CollectionTask.objects.create(title="2026 年教师培训情况", form_version=version, period="2026",
                                         deadline=timezone.localdate() + dt.timedelta(days=5), status=TaskStatus.OPEN,
                                         owner_path="44/", review_levels=["county", "city", "province"])
    for school, status in ((site.school_a1, SubmissionStatus.SUBMITTED), (site.school_a2, SubmissionStatus.NOT_STARTED),
                           (site.school_b1, SubmissionStatus.APPROVED)):
        Submission.objects.create(task=task, school=school, region_path=school.region_path, status=status,
                                  submitted_at=timezone.now() if status != SubmissionStatus.NOT_STARTED else None)

    log_in(tab, "province")
    tab.goto(f"/reports/tasks/{task.pk}/completeness/")
    expect(tab.locator("#province-map[data-ready=yes]")).to_be_visible()
    row = tab.locator("[data-testid=completeness] tr[data-region='440100000000']")
    expect(row).to_contain_text("66.7%")  # 2 of 3 广州 schools reported
    screenshot(tab, "completeness-province.png")
    row.get_by_role("link", name="广州市").click()
    tab.locator("[data-testid=completeness] tr[data-region='440106000000']").get_by_role("link").click()
    tab.locator("[data-testid=completeness] tbody tr a").first.click()
    expect(tab.locator(f"tr[data-school='{site.school_a2.school_code}']")).to_contain_text("未填报")
    screenshot(tab, "completeness-schools.png")

"""The form designer in a real browser: an expression typed with an error shows the message and its
position as it is typed, the measure picker inserts RECORD('measure:…'), the preview evaluates the
prefill for a school, and the version is published after the confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eduplatform.reporting.models import FormVersion, FormVersionStatus
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
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
    tab.get_by_test_id("save-table-0").click()
    expect(tab.locator(".alert-success")).to_contain_text("草稿已保存")

    tab.get_by_role("link", name="预览").click()
    tab.locator("#school_code").fill(site.school_a1.school_code)
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
    assert version.definition["rules"][0]["expression"] == "[T1.R1.C1] >= RECORD('measure:teachers')"
    assert version.definition["tables"][0]["cells"] == {"R1.C1": {"prefill": "RECORD('measure:teachers')"}}
    screenshot(tab, "designer-published.png")

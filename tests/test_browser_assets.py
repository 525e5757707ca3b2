"""A county statistician walks the assets database in a real browser: the register list, a filter,
one line's record page with its history, and the summary page derived from the register.

See tests/test_browser.py for the fixtures (live server, reference data, async-unsafe ORM).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eduplatform.assets import services
from tests import test_browser as browser
from tests.assets_support import line
from tests.world import World

# The shared browser fixtures, by name (assigned rather than imported so F811 does not read the
# test's parameters as redefinitions).
chromium, reference_restored, site, tab = browser.chromium, browser.reference_restored, browser.site, browser.tab
log_in, screenshot = browser.log_in, browser.screenshot


@pytest.mark.browser
def test_county_walks_the_register_a_record_its_history_and_the_summary(site: World, tab: Page, live_server):
    clerk = site.user("clerk_a1")
    pcs = services.create_equipment(actor=clerk, school=site.school_a1, data=line(
        "PC-001", category="01", name="学生用台式计算机", quantity=40, unit_price="4200", location="计算机室一"))
    services.create_equipment(actor=clerk, school=site.school_a1, data=line("TY-001", category="05", name="篮球架"))
    services.update_equipment(actor=clerk, equipment=pcs, data=line(
        "PC-001", category="01", name="学生用台式计算机", quantity=45, unit_price="4200", location="计算机室一"))

    log_in(tab, "county_a_stat")
    tab.goto("/assets/")
    rows = tab.locator("[data-testid=equipment-list] tbody tr")
    expect(rows).to_have_count(2)
    tab.locator("#category").select_option("05")
    tab.locator("[data-testid=search]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("篮球架")
    tab.locator("#category").select_option("")
    tab.locator("#q").fill("计算机")
    tab.locator("[data-testid=search]").click()
    expect(rows).to_have_count(1)
    screenshot(tab, "assets-list.png")

    tab.get_by_role("link", name="学生用台式计算机").click()
    expect(tab.locator("[data-testid=equipment-fields]")).to_contain_text("PC-001")
    history = tab.locator("[data-testid=change-history]")
    expect(history).to_contain_text("数量")
    expect(history).to_contain_text("40")
    expect(history).to_contain_text("45")
    expect(history).to_contain_text("clerk_a1")
    screenshot(tab, "assets-detail.png")

    tab.goto("/assets/holdings/")
    table = tab.locator("[data-testid=holdings-list]")
    expect(table).to_contain_text("天河测试小学")
    expect(table).to_contain_text("由台账汇总")
    table.get_by_role("link", name="天河测试小学").click()
    expect(tab.locator("[data-testid=holdings-source]")).to_have_text("由台账汇总")
    fields = tab.locator("[data-testid=holdings-fields]")
    expect(fields).to_contain_text("45")  # computers for teaching, from the register
    screenshot(tab, "assets-summary.png")

"""The staff database and the administrators database in a real browser: list, filter, open a
record, see its history (a title promotion and its audit trail)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from eduplatform.staff import services
from tests.staff_support import admin_row, staff_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World


@pytest.mark.browser
def test_county_user_walks_the_staff_and_administrator_databases(site: World, tab: Page, live_server):  # noqa: F811
    clerk, county = site.user("clerk_a1"), site.user("county_a_stat")
    teacher = services.hire(actor=clerk, unit=site.school_a1, data=staff_row(1, name="王晓明", title="一级教师"))
    services.hire(actor=clerk, unit=site.school_a1, data=staff_row(2, name="赵工勤", post_category="4", title=""))
    services.promote_title(actor=clerk, staff=teacher, title="12", on=dt.date(2026, 1, 10), reason="2025年度评审")
    services.hire(actor=county, unit=site.county_a, data=admin_row(3, name="陈科长"))

    log_in(tab, "county_a_stat")
    tab.goto("/staff/")
    rows = tab.locator("[data-testid=staff-list] tbody tr")
    expect(rows).to_have_count(2)
    # Filter: full-time teachers only.
    tab.locator("#post_category").select_option("1")
    tab.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王晓明")
    expect(rows.first).to_contain_text("高级教师")
    screenshot(tab, "staff-list.png")

    # The record: masked ID, career, events and the audit trail of the promotion.
    rows.first.get_by_role("link", name="王晓明").click()
    expect(tab.locator("[data-testid=staff-fields]")).to_contain_text(teacher.id_number_masked)
    expect(tab.locator("[data-testid=events]")).to_contain_text("职称晋升")
    expect(tab.locator("[data-testid=events]")).to_contain_text("一级教师 → 高级教师")
    expect(tab.locator("[data-testid=history]")).to_contain_text("高级教师")
    expect(tab.locator("[data-testid=posts]")).to_contain_text("天河测试小学")
    screenshot(tab, "staff-record.png")

    # The administrators database: the bureau's own staff, filtered by rank.
    tab.goto("/staff/administrators/")
    admin_rows = tab.locator("[data-testid=staff-list] tbody tr")
    expect(admin_rows).to_have_count(1)
    tab.locator("#rank").select_option("41")  # 科员: nobody
    tab.get_by_role("button", name="查询").click()
    expect(admin_rows.first).to_contain_text("没有符合条件的人员")
    tab.locator("#rank").select_option("31")
    tab.get_by_role("button", name="查询").click()
    expect(admin_rows.first).to_contain_text("陈科长")
    admin_rows.first.get_by_role("link", name="陈科长").click()
    expect(tab.locator("[data-testid=staff-fields]")).to_contain_text("基础教育科")
    expect(tab.locator("[data-testid=events]")).to_contain_text("聘用（入职）")
    expect(tab.locator("[data-testid=history]")).to_contain_text("天河区教育局")
    screenshot(tab, "administrator-record.png")

"""The buildings database in a real browser: a county statistician lists the buildings, filters to
the D-grade ones still in use, opens one and reads its history, then looks at a school's totals
and the land parcels. See tests/test_browser.py for the fixtures and the database handling."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from eduplatform.facilities import services
from tests.facilities_support import building_row, land_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World


@pytest.mark.browser
def test_county_user_walks_the_buildings_database(site: World, tab: Page, live_server):  # noqa: F811
    clerk = site.user("clerk_a1")
    school = site.school_a1
    services.create_building(actor=clerk, school=school, data=building_row(1, name="明德楼"))
    old = services.create_building(actor=clerk, school=school, data=building_row(
        2, name="旧食堂", use_code="22", total_area="600", teaching_area="", admin_area="", condition="23"))
    services.update_building(actor=clerk, building=old, data=building_row(
        2, name="旧食堂", use_code="22", total_area="600", teaching_area="", admin_area="", condition="24"))
    gone = services.create_building(actor=clerk, school=school, data=building_row(3, name="旧平房", built_year="1978"))
    services.demolish_building(actor=clerk, building=gone, on=dt.date(2024, 8, 1), reason="拆除重建")
    services.create_parcel(actor=clerk, school=school, data=land_row(1, name="五山路主校区"))

    log_in(tab, "county_a_stat")
    tab.goto("/facilities/")
    rows = tab.locator("[data-testid=building-list] tbody tr")
    expect(rows).to_have_count(2)  # the demolished one is not listed by default
    expect(tab.locator("[data-testid=building-totals]")).to_contain_text("3,600")
    screenshot(tab, "facilities-list.png")

    tab.locator("#condition").select_option("d_in_use")
    tab.locator("[data-testid=building-search]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("旧食堂")
    expect(rows.first).to_contain_text("D级危房")

    rows.first.get_by_role("link", name="旧食堂").click()
    expect(tab.locator("[data-testid=d-grade-in-use]")).to_be_visible()
    history = tab.locator("[data-testid=building-history]")
    expect(history).to_contain_text("C级危房")  # before
    expect(history).to_contain_text("D级危房")  # after
    expect(history).to_contain_text("clerk_a1")
    screenshot(tab, "facilities-detail.png")

    tab.get_by_role("link", name=school.name).first.click()
    expect(tab.locator("[data-testid=floor-area-total]")).to_have_text("3,600 ㎡")
    expect(tab.locator("[data-testid=dangerous-area]")).to_have_text("600 ㎡")
    expect(tab.locator("[data-testid=school-buildings]")).to_contain_text("旧平房")  # listed, greyed

    tab.goto("/facilities/land/")
    expect(tab.locator("[data-testid=parcel-list] tbody tr")).to_have_count(1)
    expect(tab.locator("[data-testid=parcel-list]")).to_contain_text("五山路主校区")
    screenshot(tab, "facilities-land.png")

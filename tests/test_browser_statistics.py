"""The statistics pages in a real browser: the province map, a click on a city, drill-down to a county,
a town and its school, and the export of the table shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from eduplatform.students import services
from tests.students_support import student_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import World

GUANGZHOU_CENTRE = [113.280637, 23.125178]  # from gd_cities.geojson


@pytest.mark.browser
def test_a_city_click_on_the_map_drills_down_to_a_school(site: World, tab: Page, live_server):  # noqa: F811
    for seq in range(3):  # committed for real: the roll-ups refresh after each commit
        services.enrol_student(actor=site.user("county_a_stat"), school=site.school_a1, data=student_row(700 + seq))
    log_in(tab, "province")
    tab.goto("/statistics/")
    tab.locator("#open-map").click()
    expect(tab.locator("#province-map")).to_have_attribute("data-ready", "yes")
    expect(tab.locator("#ranking tbody tr").first).to_contain_text("广州市")  # the only city with pupils
    screenshot(tab, "statistics-map.png")

    # Click where the map draws Guangzhou's centre.
    x, y = tab.evaluate(
        "c => echarts.getInstanceByDom(document.getElementById('province-map')).convertToPixel({seriesIndex: 0}, c)",
        GUANGZHOU_CENTRE)
    box = tab.locator("#province-map").bounding_box()
    tab.mouse.click(box["x"] + x, box["y"] + y)
    # The map drills within itself (tests/test_browser_map_drill.py); the city's table is a link away.
    tab.wait_for_url("**/statistics/map/?region=440100000000**")
    tab.locator('[data-testid="map-trail"]').get_by_role("link", name="实时统计").click()
    tab.goto("/statistics/?region=440100000000")
    expect(tab.locator("h2.page-title")).to_contain_text("广州市")

    tab.locator("#stats-table").get_by_role("link", name="天河区").click()
    expect(tab.locator('[data-testid="grand-total"]')).to_have_text("3")
    tab.locator("#stats-table").get_by_role("link", name="五山街道").click()
    expect(tab.locator("#stats-table")).to_contain_text("天河测试小学")
    screenshot(tab, "statistics-school-level.png")
    with tab.expect_download() as download:
        tab.locator("#export").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    # The pivot of the same town: its schools by stage; a click on the school breaks it down by grade.
    tab.locator("#open-pivot").click()
    expect(tab.locator("#pivot-table")).to_contain_text("天河测试小学")
    tab.locator("#pivot-table").get_by_role("link", name="天河测试小学").click()
    expect(tab.locator("h2.page-title")).to_contain_text("天河测试小学")
    expect(tab.locator("#pivot-table thead")).to_contain_text("年级")
    expect(tab.locator("#pivot-table tbody")).to_contain_text("一年级")
    expect(tab.locator('[data-testid="pivot-total"]')).to_have_text("3")
    expect(tab.locator("#pivot-chart")).to_have_attribute("data-ready", "yes")
    screenshot(tab, "statistics-pivot-school.png")
    with tab.expect_download() as download:
        tab.locator("#export-pivot").click()
    sheet = CalamineWorkbook.from_path(download.value.path()).get_sheet_by_name("数据透视").to_python()
    assert sheet[0][0] == "年级" and sheet[1][0] == "一年级"
    assert sheet[-1][0] == "合计" and sheet[-1][-1] == 3

    # Choosing another subject applies at once (no inline script: the page's CSP would block it).
    tab.locator("#subject").select_option("staff")
    tab.wait_for_url("**subject=staff**")
    expect(tab.locator("#rows")).to_have_value("area")
    tab.go_back()

    # A figure opens the records it counts.
    tab.locator('[data-testid="figure-link"]').first.click()
    expect(tab.locator('[data-testid="figure-filter"]')).to_be_visible()
    expect(tab.locator('[data-testid="student-list"] tbody tr')).to_have_count(3)

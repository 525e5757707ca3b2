"""Indicators: ratios of sums at every level, and the student-weighted 差异系数 of 优质均衡."""

from __future__ import annotations

import pytest
from django.utils import timezone

from eduplatform.assets import codes as asset_codes
from eduplatform.assets import services as assets
from eduplatform.facilities import services as facilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.stages import Stage
from eduplatform.staff import services as staff
from eduplatform.stats import indicators
from eduplatform.students import services as students
from tests.facilities_support import building_row, land_row
from tests.staff_support import staff_row
from tests.students_support import second_primary_in_county_a, student_row
from tests.test_rollups import committed

COUNTY_A = "440106000000"


def test_the_worked_example_of_five_schools_gives_a_cv_of_0_515():
    # DOMAIN §3.1: (students, books) of five primary schools; X̄ = 1913 / 302 = 6.33.
    pairs = [(45, 279), (37, 137), (89, 935), (76, 160), (55, 402)]
    assert sum(r for _p, r in pairs) / sum(p for p, _r in pairs) == pytest.approx(6.334, abs=0.001)
    assert indicators.weighted_cv(pairs) == pytest.approx(0.515, abs=0.001)


def test_cv_is_zero_when_every_school_has_the_same_ratio_and_undefined_without_students():
    assert indicators.weighted_cv([(100, 450), (50, 225)]) == pytest.approx(0.0)
    assert indicators.weighted_cv([(0, 10)]) is None


def _school_with(capture, world, school, *, pupils: int, teachers: int, teaching_area: int, equipment: int, seq: int,
                 sports_area: int = 0, subjects: str = "语文", grade: str = "一年级", teaching_stage: str = "2"):
    county = world.user("county_a_stat")
    for n in range(pupils):
        committed(capture, lambda n=n: students.enrol_student(actor=county, school=school, data=student_row(
            seq + n, grade=grade)))
    for n in range(teachers):
        committed(capture, lambda n=n: staff.hire(actor=county, unit=school, data=staff_row(
            seq + n, backbone_level="县级", subjects=subjects, teaching_stage=teaching_stage)))
    if teaching_area:
        committed(capture, lambda: facilities.create_building(actor=county, school=school, data=building_row(
            seq, total_area=str(teaching_area), teaching_area=str(teaching_area), admin_area="0")))
    if sports_area:
        committed(capture, lambda: facilities.create_parcel(actor=county, school=school, data=land_row(
            seq, area=str(sports_area * 3), sports_area=str(sports_area), green_area="0")))
    year = asset_codes.statistical_year(timezone.localdate())
    committed(capture, lambda: assets.type_holdings(actor=county, school=school, data={
        "year": str(year), "books_volumes": str(30 * pupils), "computers_for_teaching": "2",
        "multimedia_classrooms": "1", "teaching_equipment_value": str(equipment), "fixed_asset_value": str(equipment * 3)}))


def test_region_indicators_are_ratios_of_sums_and_the_county_cv_follows_its_schools(
        world, django_capture_on_commit_callbacks):
    other = second_primary_in_county_a()
    _school_with(django_capture_on_commit_callbacks, world, world.school_a1, pupils=4, teachers=1, teaching_area=40,
                 equipment=10_000, seq=100, sports_area=40, subjects="体育")
    _school_with(django_capture_on_commit_callbacks, world, other, pupils=2, teachers=1, teaching_area=6,
                 equipment=2_000, seq=200, sports_area=15, subjects="音乐、美术")
    province = world.user("province")
    county = Region.objects.get(code=COUNTY_A)
    rows, total = indicators.region_indicators(province, county)
    value = {i.key: indicators.value_of(i, total.cells) for i in indicators.INDICATORS}
    # Σ primary pupils ÷ Σ primary teachers, not the mean of 4 and 2 (生师比 is per stage since issue 12).
    assert value["pupil_teacher_primary"] == pytest.approx(6 / 2)
    assert value["teaching_area_per_student"] == pytest.approx(46 / 6)
    assert value["equipment_per_student"] == pytest.approx(12_000 / 6)
    assert value["books_per_student"] == pytest.approx(30)
    assert value["backbone_per_100"] == pytest.approx(2 * 100 / 6)
    assert value["pe_art_per_100"] == pytest.approx(2 * 100 / 6)  # a PE teacher and a music teacher
    assert value["sports_area_per_student"] == pytest.approx((40 + 15) / 6)
    assert sorted(r.cells["students"] for r in rows if r.cells) == [2, 4]  # the two schools' towns

    primary = indicators.balance(province, county, Stage.PRIMARY)
    assert primary.schools == 2
    cv = {ind.key: c for ind, _value, c, _limit, _ok in primary.indicators}
    assert cv["teaching_area_per_student"] == pytest.approx(indicators.weighted_cv([(4, 40), (2, 6)]))
    assert cv["equipment_per_student"] == pytest.approx(indicators.weighted_cv([(4, 10_000), (2, 2_000)]))
    assert cv["sports_area_per_student"] == pytest.approx(indicators.weighted_cv([(4, 40), (2, 15)]))
    # One 本科 teacher per school (above the 专科 a primary school requires): 25 and 50 per 100 pupils.
    assert cv["above_required_primary"] == pytest.approx(indicators.weighted_cv([(4, 100), (2, 100)]))
    assert cv["pe_art_per_100"] == pytest.approx(indicators.weighted_cv([(4, 100), (2, 100)]))
    assert len(cv) == 7
    # The second school has 3 ㎡ of teaching space (4.5 required) and ¥1,000 of equipment per pupil (2,000).
    failing = dict(primary.failing_schools)
    assert list(failing) == ["天河第二测试小学"] and len(failing["天河第二测试小学"]) == 2


def test_indicator_page_explains_formulas_and_stays_in_scope(client, world, django_capture_on_commit_callbacks):
    _school_with(django_capture_on_commit_callbacks, world, world.school_a1, pupils=3, teachers=1, teaching_area=30,
                 equipment=9_000, seq=300)
    client.force_login(world.user("county_a_stat"))
    page = client.get("/statistics/indicators/").content.decode()
    assert 'id="formulas"' in page and "在校生数 ÷ 专任教师数" in page and 'data-testid="balance-2"' in page
    assert "3.00:1" in page  # 3 pupils, 1 teacher
    assert client.get("/statistics/indicators/?region=440104000000").status_code == 404
    response = client.get("/statistics/indicators/?format=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_province_map_colours_cities_by_an_indicator_and_sends_others_to_their_statistics(
        client, world, django_capture_on_commit_callbacks):
    import json
    import re

    _school_with(django_capture_on_commit_callbacks, world, world.school_a1, pupils=2, teachers=1, teaching_area=20,
                 equipment=4_000, seq=400)
    client.force_login(world.user("province"))
    page = client.get("/statistics/map/?indicator=pupil_teacher_primary").content.decode()
    data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>', page, re.S)[1])
    values = {row["name"]: row["value"] for row in data["rows"]}
    assert len(values) == 21 and values["广州市"] == 2.0 and values["深圳市"] is None
    assert data["label"] == "生师比（小学）" and data["unit"] == ":1"
    # A county's map shows its schools as points (the drill-down: tests/test_browser_map_drill.py) …
    client.force_login(world.user("county_a_stat"))
    page = client.get("/statistics/map/?indicator=pupil_teacher_primary").content.decode()
    data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert data["points"] and {row["name"]: row["value"] for row in data["rows"]}["天河测试小学"] == 2.0
    # … and a school user is sent to its statistics.
    client.force_login(world.user("clerk_a1"))
    assert client.get("/statistics/map/")["Location"] == "/statistics/"


def test_a_snapshots_asset_indicators_stay_as_they_were_when_holdings_change_later(
        world, django_capture_on_commit_callbacks):
    from eduplatform.stats.snapshots import take_snapshot

    _school_with(django_capture_on_commit_callbacks, world, world.school_a1, pupils=2, teachers=1, teaching_area=20,
                 equipment=4_000, seq=500)
    province = world.user("province")
    county = Region.objects.get(code=COUNTY_A)
    snapshot = take_snapshot(actor=province, census_date=timezone.localdate())
    year = asset_codes.statistical_year(timezone.localdate())
    committed(django_capture_on_commit_callbacks, lambda: assets.type_holdings(
        actor=world.user("county_a_stat"), school=world.school_a1, data={
            "year": str(year), "books_volumes": "600", "computers_for_teaching": "2", "multimedia_classrooms": "1",
            "teaching_equipment_value": "10000", "fixed_asset_value": "30000"}))
    equipment = indicators.BY_KEY["equipment_per_student"]
    live = indicators.region_indicators(province, county)[1].cells
    frozen = indicators.region_indicators(province, county, snapshot)[1].cells
    assert indicators.value_of(equipment, live) == pytest.approx(10_000 / 2)
    assert indicators.value_of(equipment, frozen) == pytest.approx(4_000 / 2)


def test_a_nine_year_school_is_judged_as_a_primary_and_a_junior_section(world, django_capture_on_commit_callbacks):
    """九年一贯制: the primary section on its pupils and its 小学 teachers, the junior section on its
    pupils and its 初中 teachers; the school's space and equipment shared by their pupils."""
    from eduplatform.orgs import services as orgs
    from tests.world import TOWN_A, school_row

    (nine_year,) = orgs.register_schools(actor=None, rows=[school_row("3144000002", "天河九年一贯制学校", "312", TOWN_A)])
    capture = django_capture_on_commit_callbacks
    # 3 primary pupils with a PE teacher of 小学; 1 junior pupil with a Chinese teacher of 初中 (本科);
    # the school's holdings (typed twice: the second replaces the first) ¥8,000.
    _school_with(capture, world, nine_year, pupils=3, teachers=1, teaching_area=40, equipment=8_000, seq=600,
                 sports_area=80, subjects="体育", teaching_stage="2")
    _school_with(capture, world, nine_year, pupils=1, teachers=1, teaching_area=0, equipment=8_000, seq=700,
                 subjects="语文", grade="初一", teaching_stage="3")
    province, county = world.user("province"), Region.objects.get(code=COUNTY_A)
    value = {}
    for stage in (Stage.PRIMARY, Stage.JUNIOR):
        result = indicators.balance(province, county, stage)
        assert (result.schools, result.sections) == (1, 1)
        value[stage] = {ind.key: v for ind, v, _cv, _limit, _ok in result.indicators}
    primary, junior = value[Stage.PRIMARY], value[Stage.JUNIOR]
    # Space, grounds and equipment per pupil are the school's: 40 ㎡, 80 ㎡ and ¥8,000 for 4 pupils.
    for section in (primary, junior):
        assert section["teaching_area_per_student"] == pytest.approx(40 / 4)
        assert section["sports_area_per_student"] == pytest.approx(80 / 4)
        assert section["equipment_per_student"] == pytest.approx(8_000 / 4)
    # Teachers by the stage they teach: the PE teacher counts for the 3 primary pupils only.
    assert primary["pe_art_per_100"] == pytest.approx(100 / 3) and junior["pe_art_per_100"] == pytest.approx(0)
    assert primary["above_required_primary"] == pytest.approx(100 / 3)
    assert junior["above_required_junior"] == pytest.approx(100 / 1)
    failing = dict(indicators.balance(province, county, Stage.JUNIOR).failing_schools)
    assert any("体育、艺术" in miss for miss in failing["天河九年一贯制学校"])

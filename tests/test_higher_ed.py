"""Higher-education condition checks (教发〔2004〕2号): the five basic indicators of an institution
computed from its records with the arithmetic shown, the card, the category an officer sets, and
jurisdiction."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.assets import services as assets
from eduplatform.assets.codes import statistical_year
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.facilities import services as facilities
from eduplatform.funding import conditions, services
from eduplatform.funding.models import HigherEdProfile, InstitutionCategory
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.orgs.models import Region
from eduplatform.staff import services as staff
from eduplatform.staff.models import StaffMember
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.models import Enrolment
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.test_rollups import committed

COUNTY_A = "440106000000"
D = decimal.Decimal


@pytest.fixture
def college(world, django_capture_on_commit_callbacks):
    """天河泄漏检测学院 (办学类型 412 本科院校：学院) with 10 本科, 4 硕士 and 2 博士 students; two
    full-time teachers (one with a master's education) and two 兼任 teachers; 200 ㎡ teaching and
    40 ㎡ administrative floor area; 90,000 元 of equipment and 2,100 books this year."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    school = world.college_a
    seq = 700
    for level, n in (("本科", 10), ("硕士", 4), ("博士", 2)):
        for _ in range(n):
            seq += 1
            committed(capture, lambda s=seq, lv=level: students.enrol_student(actor=county, school=school, data=student_row(
                s, grade="大学一年级", major="计算机科学与技术", programme_length="4", level=lv)))
    for n, (post, education) in enumerate((("1", "硕士"), ("1", "本科"), ("7", "本科"), ("7", "本科"))):
        committed(capture, lambda n=n, p=post, e=education: staff.hire(actor=county, unit=school, data=staff_row(
            760 + n, post_category=p, education_level=e, title="讲师", subjects="计算机", teaching_stage="")))
    committed(capture, lambda: facilities.create_building(actor=county, school=school, data=building_row(
        1, total_area="240", teaching_area="200", admin_area="40")))
    committed(capture, lambda: assets.type_holdings(actor=county, school=school, data={
        "year": str(statistical_year(timezone.localdate())), "books_volumes": "2100",
        "teaching_equipment_value": "90000", "fixed_asset_value": "500000"}))
    return school


def checks_of(world, user: str = "province", snapshot=None) -> conditions.InstitutionResult:
    results = conditions.institution_checks(world.user(user), Region.objects.get(code=COUNTY_A), snapshot)
    (result,) = [r for r in results if r.school_code == world.college_a.school_code]
    return result


def test_indicators_of_an_institution_from_its_records(world, college):
    services.set_institution_category(actor=world.user("county_a_stat"), school=college,
                                      category=InstitutionCategory.GENERAL)
    result = checks_of(world)
    # The students by level equal the records'.
    active = Enrolment.objects.filter(school=college, is_active=True)
    assert [active.filter(level=code).count() for code in ("2", "3", "4")] == [10, 4, 2]
    teachers = StaffMember.objects.filter(unit=college, is_active=True)
    assert (teachers.filter(post_category="1").count(), teachers.filter(post_category="7").count()) == (2, 2)
    by_key = {c.key: c for c in result.checks}
    # 折合在校生 = 10 + 4 × 1.5 + 2 × 2 = 20; 教师总数 = 2 + 2 × 0.5 = 3; 生师比 = 20 ÷ 3 = 6.67 ≤ 18.
    assert by_key["pupil_teacher"].value == D("6.67") and by_key["pupil_teacher"].passed is True
    assert by_key["pupil_teacher"].arithmetic == "折合在校生 20 ÷ 教师总数 3"
    # 全日制在校生 = 10 + 6 = 16; (200 + 40) ÷ 16 = 15.00 ㎡ ≥ 14 (综合).
    assert by_key["teaching_admin_area"].value == D("15.00") and by_key["teaching_admin_area"].passed is True
    # 90,000 ÷ 20 = 4,500 元 < 5,000: fails; 2,100 ÷ 20 = 105 册 ≥ 100.
    assert by_key["equipment"].value == D("4500.00") and by_key["equipment"].passed is False
    assert by_key["books"].value == D("105.00") and by_key["books"].passed is True
    # The teachers' degree is not in the roll-up: not judged, the education-based share shown as a reference.
    degree = by_key["graduate_degree_share"]
    assert degree.value is None and degree.passed is None
    assert "研究生学历专任教师 1 ÷ 专任教师 2 = 50.00%" in degree.arithmetic
    assert result.card == conditions.Card.YELLOW and "生均教学科研仪器设备值" in result.card_reason
    assert "若其不合格则为红牌" in result.card_reason
    assert any("留学生" in note for note in result.notes)  # what is not recorded is said
    assert any("超过专任教师的四分之一" in note for note in result.notes)  # 2 兼任 > 2 ÷ 4


def test_the_category_picks_the_standard(world, college):
    assert checks_of(world).card == conditions.Card.NOT_JUDGED  # no category yet
    services.set_institution_category(actor=world.user("county_a_stat"), school=college,
                                      category=InstitutionCategory.ENGINEERING)
    result = checks_of(world)
    # 工科: 15 ㎡ < 16 and 4,500 元 < 5,000 fail (books 105 ≥ 80): two failures → red.
    assert [c.key for c in result.failed] == ["teaching_admin_area", "equipment"]
    assert result.card == conditions.Card.RED


def test_three_yellow_years_make_a_red_card(world, college):
    services.set_institution_category(actor=world.user("county_a_stat"), school=college,
                                      category=InstitutionCategory.GENERAL)
    region, county = Region.objects.get(code=COUNTY_A), world.user("county_a_stat")
    results, earlier = conditions.with_history(county, region)
    assert earlier == [] and results[0].card == conditions.Card.YELLOW
    year = statistical_year(timezone.localdate())
    for census_year in (year - 2, year - 1):  # the same (yellow) figures frozen for the two years before
        take_snapshot(actor=world.user("province"), census_date=dt.date(census_year, 9, 1))
    results, earlier = conditions.with_history(county, region)
    assert [s.school_year for s in earlier] == [year - 1, year - 2]
    assert results[0].card == conditions.Card.RED and "连续三年黄牌" in results[0].card_reason


def test_a_snapshot_keeps_the_census_figures(world, college, django_capture_on_commit_callbacks):
    services.set_institution_category(actor=world.user("county_a_stat"), school=college,
                                      category=InstitutionCategory.GENERAL)
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    committed(django_capture_on_commit_callbacks, lambda: students.enrol_student(
        actor=world.user("county_a_stat"), school=college, data=student_row(
            799, grade="大学一年级", major="计算机科学与技术", programme_length="4", level="博士")))
    live = {c.key: c.value for c in checks_of(world).checks}
    frozen = {c.key: c.value for c in checks_of(world, snapshot=snapshot).checks}
    assert frozen["pupil_teacher"] == D("6.67")  # 20 ÷ 3
    assert live["pupil_teacher"] == D("7.33")  # a third 博士: (20 + 2) ÷ 3


def test_setting_the_category_is_audited_and_limited_to_the_jurisdiction(world, college):
    county = world.user("county_a_stat")
    profile = services.set_institution_category(actor=county, school=college, category=InstitutionCategory.MEDICAL)
    entry = AuditEntry.objects.get(object_type="funding.higher_ed_profile", object_id=str(profile.pk))
    assert entry.changes == {"category": {"label": "院校类别", "before": "", "after": "医学院校"}}
    assert entry.school_id == college.pk and entry.actor_id == county.pk
    assert ChangeFeedEntry.objects.filter(resource="higher_ed_profile", natural_key=college.school_code).exists()
    for outsider in ("county_b_stat", "k12_officer", "clerk_a1", "principal_a1"):
        with pytest.raises((NotPermitted, OutOfScope)):
            services.set_institution_category(actor=world.user(outsider), school=college,
                                              category=InstitutionCategory.GENERAL)
    with pytest.raises(RecordInvalid) as invalid:
        services.set_institution_category(actor=county, school=world.school_a1, category="nonsense")
    assert {p.code for p in invalid.value.problems} == {"school.not_higher", "code.unknown"}
    assert HigherEdProfile.objects.get(school=college).category == InstitutionCategory.MEDICAL


def test_pages_show_the_checks_within_the_jurisdiction(client, world, college):
    code = college.school_code
    client.force_login(world.user("county_a_stat"))
    response = client.post(f"/statistics/higher-education/{code}/", {"category": "general"})
    assert response.status_code == 302
    body = client.get("/statistics/higher-education/").content.decode()
    assert "天河泄漏检测学院" in body and 'data-card="黄牌（限制招生）"' in body and "教发〔2004〕2号" in body
    detail = client.get(f"/statistics/higher-education/{code}/").content.decode()
    assert "折合在校生 20 ÷ 教师总数 3" in detail and "10 + 4 × 1.5 + 2 × 2 = 20" in detail
    book = CalamineWorkbook.from_filelike(io.BytesIO(client.get("/statistics/higher-education/?format=xlsx").content))
    assert book.sheet_names == ["结论", "指标与计算", "输入数据"]
    assert book.get_sheet_by_name("结论").to_python()[1][0] == "天河泄漏检测学院"
    # Outside the jurisdiction (another county; a K-12 officer; Shenzhen): not found, not listed.
    for outsider in ("county_b_stat", "k12_officer", "county_c_stat"):
        client.force_login(world.user(outsider))
        assert client.get(f"/statistics/higher-education/{code}/").status_code == 404
        assert client.post(f"/statistics/higher-education/{code}/", {"category": "arts"}).status_code == 404
        assert "天河泄漏检测学院" not in client.get("/statistics/higher-education/").content.decode()
    client.force_login(world.user("higher_officer"))
    assert "天河泄漏检测学院" in client.get("/statistics/higher-education/").content.decode()
    client.force_login(world.user("principal_a1"))  # may read, not a school of its own: 404
    assert client.get(f"/statistics/higher-education/{code}/").status_code == 404
    assert HigherEdProfile.objects.get(school=college).category == InstitutionCategory.GENERAL

"""The 基表 series by level: 基础基 tables count basic education only; the 中职基 and 高基 tables of a
world with a vocational school and a university equal independent counts over the raw records; their
validation relationships hold and flag a planted inconsistency; pages and the export offer every
series; a county sees only its own schools."""

from __future__ import annotations

import dataclasses
import decimal
import io
from collections import Counter

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.facilities import services as facilities
from eduplatform.facilities.models import Building
from eduplatform.facilities.schema import use_category
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Region
from eduplatform.staff import services as staff
from eduplatform.staff.models import StaffMember
from eduplatform.stats import basetables
from eduplatform.stats.basetables import BASIC, HIGHER, VOCATIONAL
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.test_rollups import committed
from tests.world import TOWN_A, TOWN_B, school_row

pytestmark = pytest.mark.django_db
COUNTY_A, COUNTY_B = "440106000000", "440104000000"
VOCATIONAL_SCHOOL = "天河测试职业技术学校"
D = decimal.Decimal
# (major, grade, programme length, how many) of the vocational school's students
VOCATIONAL_STUDENTS = (("数控技术应用", "中职一年级", "3", 3), ("数控技术应用", "中职三年级", "3", 2),
                       ("会计事务", "中职二年级", "3", 2))
# (level, major, grade, how many) of the university's students
HIGHER_STUDENTS = (("本科", "计算机科学与技术", "大学一年级", 3), ("本科", "计算机科学与技术", "大学二年级", 2),
                   ("本科", "汉语言文学", "大学一年级", 2), ("专科", "护理", "大学一年级", 1),
                   ("硕士", "计算机科学与技术", "大学一年级", 2), ("博士", "计算机科学与技术", "大学一年级", 1))


@pytest.fixture
def levels(world, django_capture_on_commit_callbacks):
    """County A with its primary school (3 pupils, 2 teachers, a 代课 teacher), a vocational school
    (7 students in two majors; staff of every kind, one 双师型; a building) and the university (11
    students at four levels; two teachers, a 兼任; a building); then a census snapshot."""
    capture, county = django_capture_on_commit_callbacks, world.user("county_a_stat")
    (vocational,) = orgs.register_schools(actor=None, rows=[school_row(
        "3644000001", VOCATIONAL_SCHOOL, "361", TOWN_A, address="广州市天河区职教路八号")])
    seq = 3000

    def enrol(school, **row) -> None:
        nonlocal seq
        seq += 1
        committed(capture, lambda s=seq: students.enrol_student(actor=county, school=school, data=student_row(s, **row)))

    for _ in range(3):
        enrol(world.school_a1, grade="一年级", entered_on=f"{timezone.localdate().year - 1}-09")
    for major, grade, length, n in VOCATIONAL_STUDENTS:
        for _ in range(n):
            enrol(vocational, grade=grade, major=major, programme_length=length, level="中职")
    for level, major, grade, n in HIGHER_STUDENTS:
        for _ in range(n):
            enrol(world.college_a, grade=grade, major=major, programme_length="4", level=level)
    hires = ((world.school_a1, "1", {}), (world.school_a1, "1", {}), (world.school_a1, "6", {}),
             (vocational, "1", {"is_dual_qualified": "是", "education_level": "硕士"}), (vocational, "1", {}),
             (vocational, "2", {}), (vocational, "4", {}), (vocational, "6", {}), (vocational, "7", {}),
             (world.college_a, "1", {"education_level": "博士"}), (world.college_a, "1", {}),
             (world.college_a, "3", {}), (world.college_a, "7", {}))
    for n, (unit, post, extra) in enumerate(hires):
        committed(capture, lambda n=n, u=unit, p=post, e=extra: staff.hire(actor=county, unit=u, data=staff_row(
            3100 + n, post_category=p, **({"teaching_stage": ""} if u != world.school_a1 else {}), **e)))
    for n, (school, areas) in enumerate(((vocational, {"total_area": "1200", "teaching_area": "800", "admin_area": "100"}),
                                         (world.college_a, {"total_area": "5000", "teaching_area": "3000",
                                                            "admin_area": "600"}),
                                         (world.school_a1, {"total_area": "900", "teaching_area": "700",
                                                            "admin_area": "100"}))):
        committed(capture, lambda n=n, s=school, a=areas: facilities.create_building(
            actor=county, school=s, data=building_row(3200 + n, **a)))
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    return dataclasses.make_dataclass("Levels", ["vocational", "snapshot"])(vocational, snapshot)


def tables_of(world, levels, series: str, *, user: str = "province", region: str = COUNTY_A, school_id=None):
    region = Region.objects.get(code=region)
    made = basetables.generate(world.user(user), region, levels.snapshot, series=series, school_id=school_id)
    return {t.code: t for t in made}


def cells(table) -> dict[tuple[str, str], object]:
    return {(label, column): value for label, row in table.rows for column, value in zip(table.columns, row, strict=True)
            if value}


def test_basic_education_tables_hold_no_vocational_or_higher_education_rows(world, levels):
    tables = tables_of(world, levels, BASIC)
    # Students: only the primary pupils (no 中职 or 大学 grade anywhere in 311).
    grades = {label for label, _cells in tables["基础基311"].rows} - {"合计"}
    assert grades == {"一年级"} and tables["基础基311"].cell("合计", "合计") == 3
    # Schools: the primary school and the kindergarten, not the vocational school or the university.
    schools = dict(tables["基础基111"].rows)
    assert schools["合计"][0] == 2 and not {"调整后中等职业学校", "本科院校：学院"} & set(schools)
    # Staff: the primary school's two teachers; its 代课 teacher outside the headcount.
    staff = tables["基础基411"]
    assert (staff.cell("教职工", "合计"), staff.cell("教职工", "专任教师"), staff.cell("教职工", "代课教师")) == (2, 2, 1)
    assert tables["基础基4211"].cell("专任教师", "合计") == 2
    assert tables["基础基512"].cell("合计", "建筑面积") == D("900.00")


def _expected_by_major(enrolments, columns_of_grade) -> Counter:
    expected: Counter = Counter()
    for major, grade, gender in enrolments:
        for row in (major, "合计"):
            expected[(row, columns_of_grade(grade))] += 1
            expected[(row, "合计")] += 1
            expected[(row, "其中：女")] += gender == "2"
    return expected


def test_vocational_tables_equal_the_records(world, levels):
    tables = tables_of(world, levels, VOCATIONAL)
    assert list(tables) == ["中职基111", "中职基311", "中职基411", "中职基421", "中职基521"]
    school = levels.vocational
    # 111: one school of 办学类型 361.
    assert dict(tables["中职基111"].rows)["调整后中等职业学校"][0] == 1 == tables["中职基111"].cell("合计", "合计")
    # 311: by major × grade, counted from the enrolments; 预计毕业生 are those whose year reached the programme's
    # length, 招生 those who entered this school year.
    active = Enrolment.objects.filter(school=school, is_active=True)
    expected = _expected_by_major(active.values_list("major", "grade", "student__gender"), lambda g: BY_CODE[g].name)
    start = timezone.localdate().replace(month=9, day=1)
    start = start if timezone.localdate() >= start else start.replace(year=start.year - 1)
    for major, grade, length, entered in active.values_list("major", "grade", "programme_length", "entered_on"):
        for row in (major, "合计"):
            expected[(row, "预计毕业生")] += BY_CODE[grade].year >= length
            expected[(row, "招生")] += entered >= start
    assert expected[("合计", "合计")] == 7 and expected[("合计", "预计毕业生")] == 2
    assert cells(tables["中职基311"]) == {k: v for k, v in expected.items() if v}
    # 411: posts of the school's staff; 代课 and 兼任 outside the 合计.
    posts = Counter(StaffMember.objects.filter(unit=school, is_active=True).values_list("post_category", flat=True))
    staff = tables["中职基411"]
    assert staff.cell("教职工", "合计") == posts["1"] + posts["2"] + posts["3"] + posts["4"] + posts["5"] == 4
    assert (staff.cell("教职工", "代课教师"), staff.cell("教职工", "兼任教师")) == (posts["6"], posts["7"]) == (1, 1)
    # 421: the two full-time teachers by 学历 and title, one 双师型.
    teachers = StaffMember.objects.filter(unit=school, is_active=True, post_category="1")
    table = tables["中职基421"]
    assert table.cell("专任教师", "合计") == teachers.count() == 2
    assert table.cell("专任教师", "其中：双师型") == teachers.filter(is_dual_qualified=True).count() == 1
    assert table.cell("专任教师", "硕士研究生") == teachers.filter(education_level__startswith="1").count() == 1
    # 521: the school's building.
    building = Building.objects.get(school=school)
    assert tables["中职基521"].cell("合计", "建筑面积") == building.total_area == D("1200.00")
    # The area not assigned to a use counts with the building's own use (a 教学楼: teaching).
    assert use_category(building.use_code) == "teaching"
    assert tables["中职基521"].cell("教学及辅助用房", "建筑面积") == building.total_area - building.admin_area


def test_higher_education_tables_equal_the_records(world, levels):
    tables = tables_of(world, levels, HIGHER)
    assert list(tables) == ["高基111", "高基311", "高基312", "高基411", "高基421", "高基521"]
    active = Enrolment.objects.filter(school=world.college_a, is_active=True)
    names = {"1": "专科", "2": "本科", "3": "硕士", "4": "博士"}
    by_level = _expected_by_major(
        [(names[level], grade, gender) for level, grade, gender in active.values_list("level", "grade", "student__gender")],
        lambda g: BY_CODE[g].name)
    students = tables["高基311"]
    shown = {k: v for k, v in cells(students).items() if k[1] not in ("招生", "预计毕业生", "毕业生（上学年）", "折合在校生")}
    assert shown == {k: v for k, v in by_level.items() if v}
    # 折合在校生 = 本专科 8 + 硕士 2 × 1.5 + 博士 1 × 2 = 13, counted from the records.
    weights = {"1": D(1), "2": D(1), "3": D("1.5"), "4": D(2)}
    weighted = sum((weights[level] for level in active.values_list("level", flat=True)), D(0))
    assert students.cell("合计", "折合在校生") == weighted == D(13)
    assert students.cell("硕士", "折合在校生") == D(3)
    # 312: 本科 only, by major × grade.
    undergraduates = active.filter(level="2").values_list("major", "grade", "student__gender")
    expected = _expected_by_major(undergraduates, lambda g: BY_CODE[g].name)
    majors = {k: v for k, v in cells(tables["高基312"]).items() if k[1] not in ("招生", "预计毕业生", "毕业生（上学年）")}
    assert majors == {k: v for k, v in expected.items() if v} and expected[("合计", "合计")] == 7
    # 411: the 兼任 teacher (聘请校外教师) outside the headcount.
    staff = tables["高基411"]
    assert (staff.cell("教职工", "合计"), staff.cell("教职工", "专任教师"), staff.cell("教职工", "兼任教师")) == (3, 2, 1)
    assert tables["高基421"].cell("专任教师", "博士研究生") == 1
    area = tables["高基521"]
    assert area.cell("合计", "建筑面积") == D("5000.00")
    # 教学行政用房 = 教学及辅助 (a 教学楼: with the unassigned area) + 行政办公.
    building = Building.objects.get(school=world.college_a)
    unassigned = building.total_area - sum(a or 0 for a in (building.teaching_area, building.admin_area,
                                                            building.living_area, building.other_area))
    assert area.cell("其中：教学行政用房（教学及辅助 + 行政办公）", "建筑面积") == (
        building.teaching_area + unassigned + building.admin_area) == D("5000.00")


@pytest.mark.parametrize("series", [VOCATIONAL, HIGHER])
def test_the_relationships_hold_and_a_planted_inconsistency_is_flagged(world, levels, series):
    officer, county = world.user("province"), Region.objects.get(code=COUNTY_A)
    made = basetables.generate(officer, county, levels.snapshot, series=series)
    findings = basetables.check(made, officer, county, levels.snapshot, series=series)
    assert [f for f in findings if f.holds is False] == []
    decided = " ".join(f.rule for f in findings if f.holds)
    assert "V12" in decided and "V10" in decided
    if series == HIGHER:
        assert "V11 本科在校生 = 高基312 分专业之和 = 分年级之和" in decided
        assert any(f.rule.startswith("V11 高基331") and f.holds is None for f in findings)
    # Planted: one more student in a major's first grade of the by-major table (a table that no longer
    # agrees with the snapshot), and one more 行政人员 in the staff table's 合计 only.
    code = "中职基311" if series == VOCATIONAL else "高基312"
    table = next(t for t in made if t.code == code)
    label, row = table.rows[1]
    changed = dataclasses.replace(table, rows=[table.rows[0], (label, [row[0] + 1, row[1] + 1, *row[2:]]),
                                               *table.rows[2:]])
    staff_code = "中职基411" if series == VOCATIONAL else "高基411"
    staff_table = next(t for t in made if t.code == staff_code)
    first = staff_table.rows[0]
    staff_changed = dataclasses.replace(staff_table, rows=[(first[0], [first[1][0] + 1, *first[1][1:]]),
                                                           *staff_table.rows[1:]])
    planted = [changed if t.code == code else staff_changed if t.code == staff_code else t for t in made]
    failed = {f.rule for f in basetables.check(planted, officer, county, levels.snapshot, series=series)
              if f.holds is False}
    by_major = ("V12 中职基311 在校生：分专业之和 = 分年级之和 = 在校生数" if series == VOCATIONAL
                else "V11 本科在校生 = 高基312 分专业之和 = 分年级之和")
    prefix = "中职基" if series == VOCATIONAL else "高基"
    assert by_major in failed and f"V12 {prefix}411 教职工各类之和 = 教职工数（不含代课、兼任）" in failed


def test_a_county_without_vocational_or_higher_schools_shows_no_rows(world, levels):
    for series in (VOCATIONAL, HIGHER):
        tables = tables_of(world, levels, series, user="county_b_stat", region=COUNTY_B)
        assert all(t.is_empty or t.rows[0][1][0] == 0 for t in tables.values()), series
        assert all(v == 0 for t in tables.values() for _l, row in t.rows for v in row), series


def test_a_county_user_sees_only_its_own_schools(world, levels, django_capture_on_commit_callbacks):
    """A vocational school in county B: county A's and county B's tables each count their own."""
    (other,) = orgs.register_schools(actor=None, rows=[school_row("3644000002", "越秀泄漏检测职校", "361", TOWN_B)])
    committed(django_capture_on_commit_callbacks, lambda: students.enrol_student(
        actor=world.user("county_b_stat"), school=other, data=student_row(
            3900, grade="中职一年级", major="旅游服务与管理", programme_length="3", level="中职")))
    levels.snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    mine = tables_of(world, levels, VOCATIONAL, user="county_a_stat")
    assert mine["中职基111"].cell("合计", "合计") == 1 and mine["中职基311"].cell("合计", "合计") == 7
    assert "旅游服务与管理" not in dict(mine["中职基311"].rows)
    # Asked for the whole city, county A's user still gets county A's schools only.
    city = tables_of(world, levels, VOCATIONAL, user="county_a_stat", region="440100000000")
    assert city["中职基311"].cell("合计", "合计") == 7
    theirs = tables_of(world, levels, VOCATIONAL, user="county_b_stat", region=COUNTY_B)
    assert theirs["中职基311"].cell("合计", "合计") == 1 and "旅游服务与管理" in dict(theirs["中职基311"].rows)


def test_pages_and_export_offer_every_series(client, world, levels):
    client.force_login(world.user("county_a_stat"))
    url = f"/statistics/snapshots/{levels.snapshot.pk}/tables/?region={COUNTY_A}"
    page = client.get(url).content.decode()
    for series in ("基础基", "中职基", "高基"):
        assert f'data-series="{series}"' in page  # the series picker
    assert 'data-code="基础基311"' in page and 'data-code="中职基311"' not in page
    vocational = client.get(url + "&series=vocational").content.decode()
    assert 'data-code="中职基311"' in vocational and 'data-code="基础基311"' not in vocational
    assert "数控技术应用" in vocational and "V12 中职基311 在校生" in vocational
    assert "series=vocational&amp;format=xlsx" in vocational or "series=vocational&format=xlsx" in vocational
    higher = client.get(url + "&series=higher").content.decode()
    assert 'data-code="高基312"' in higher and "计算机科学与技术" in higher and "折合在校生" in higher
    book = CalamineWorkbook.from_filelike(io.BytesIO(client.get(url + "&series=higher&format=xlsx").content))
    assert book.sheet_names == ["高基111", "高基311", "高基312", "高基411", "高基421", "高基521"]
    sheet = book.get_sheet_by_name("高基311").to_python()
    total = next(row for row in sheet if row[0] == "合计")
    assert total[sheet[0].index("折合在校生")] == 13
    # One school's tables by its code (the school picker): those of its own series unless another is asked for.
    school = client.get(url + f"&school={levels.vocational.school_code}").content.decode()
    assert "中职学校（机构）基本情况" in school and VOCATIONAL_SCHOOL in school and 'data-code="基础基111"' not in school
    asked = client.get(url + f"&school={levels.vocational.school_code}&series=basic").content.decode()
    assert 'data-code="基础基111"' in asked and 'data-code="中职基111"' not in asked
    # The snapshot page links every series.
    detail = client.get(f"/statistics/snapshots/{levels.snapshot.pk}/?region={COUNTY_A}").content.decode()
    assert "series=vocational" in detail and "series=higher" in detail
    # Another county's statistician: the vocational school is not found.
    client.force_login(world.user("county_b_stat"))
    assert client.get(f"/statistics/snapshots/{levels.snapshot.pk}/tables/?region={COUNTY_B}&series=vocational"
                      f"&school={levels.vocational.school_code}").status_code == 404


def test_every_school_of_a_series_at_once_equals_its_own_tables(world, levels):
    officer, province = world.user("province"), Region.objects.get(code="440000000000")
    for series, school in ((VOCATIONAL, levels.vocational), (HIGHER, world.college_a)):
        every = dict(basetables.every_school(levels.snapshot, series=series))
        assert list(every) == [school.pk]
        assert every[school.pk] == basetables.generate(officer, province, levels.snapshot, school_id=school.pk,
                                                       series=series)
    assert levels.vocational.pk not in dict(basetables.every_school(levels.snapshot))

"""The base tables (基表) of a demo county from a census snapshot equal counts taken directly from
the records, and pass the validation relationships. A small demo province is generated once for the
module and rolled back afterwards."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from eduplatform.accounts.models import User
from eduplatform.demo.province import DEMO_COUNTY
from eduplatform.facilities.models import Building
from eduplatform.facilities.schema import use_category
from eduplatform.orgs.models import Region
from eduplatform.staff.models import StaffMember
from eduplatform.stats import basetables
from eduplatform.stats.rollup import SIZE_BANDS
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment

pytestmark = pytest.mark.django_db
CENSUS = dt.date(2026, 9, 1)


@pytest.fixture(scope="module")
def county_tables(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("generate_demo", "--scale", "0.002", "--students", "0.02", stdout=io.StringIO())
        officer = User.objects.get(username="province")
        snapshot = take_snapshot(actor=officer, census_date=min(CENSUS, dt.date.today()))
        county = Region.objects.get(code=DEMO_COUNTY)
        tables = basetables.generate(officer, county, snapshot)
        yield {t.code: t for t in tables}, basetables.check(tables, officer, county, snapshot), county, snapshot
        transaction.set_rollback(True)


def cells(table) -> dict[tuple[str, str], object]:
    """Every non-zero cell of a table by (row, column), totals included."""
    return {(label, column): value for label, row in table.rows for column, value in zip(table.columns, row, strict=True)
            if value}


def test_students_by_grade_and_age_equal_the_register(county_tables):
    tables, _findings, county, snapshot = county_tables
    year = snapshot.census_date.year
    active = Enrolment.objects.filter(is_active=True, region_path__startswith=county.path).values_list(
        "grade", "student__birth_date", "student__gender", "student__ethnicity")
    expected: Counter = Counter()
    for grade, birth, gender, ethnicity in active:
        name = BY_CODE[grade].name
        age = year - birth.year - (1 if birth.month >= 9 else 0)  # full years on 31 August
        for row in (name, "合计"):
            expected[(row, f"{age}岁")] += 1
            expected[(row, "合计")] += 1
            expected[(row, "其中：女")] += gender == "2"
            expected[(row, "其中：少数民族")] += ethnicity not in ("01", "")
    assert len(active) > 500
    assert cells(tables["基础基311"]) == {k: v for k, v in expected.items() if v}


def test_classes_by_size_band_equal_the_classes(county_tables):
    tables, _findings, county, snapshot = county_tables
    sizes = (Enrolment.objects.filter(is_active=True, region_path__startswith=county.path,
                                      school_class__school_year=snapshot.school_year)
             .values("school_class_id", "school_class__grade").annotate(n=Count("pk")))
    expected: Counter = Counter()
    for row in sizes:
        band = next(label for label, low in reversed(SIZE_BANDS) if row["n"] >= low)
        for label in (BY_CODE[row["school_class__grade"]].name, "合计"):
            expected[(label, band)] += 1
            expected[(label, "合计")] += 1
    assert cells(tables["基础基213"]) == dict(expected)


def test_staff_and_teachers_equal_the_staff_register(county_tables):
    tables, _findings, county, _snapshot = county_tables
    staff = StaffMember.objects.filter(is_active=True, unit_kind="school", region_path__startswith=county.path)
    posts = dict(basetables.POSTS + basetables.OUTSIDE_HEADCOUNT)
    by_post = Counter(posts[p] for p in staff.values_list("post_category", flat=True))
    headcount = sum(by_post[label] for _c, label in basetables.POSTS)
    table = tables["基础基411"]
    assert table.cell("教职工", "合计") == headcount > 100
    for label, count in by_post.items():
        assert table.cell("教职工", label) == count
    titles = Counter(t or "未定职级" for t in staff.filter(post_category="1").values_list("title_grade", flat=True))
    teachers = tables["基础基422"]
    assert {c: teachers.cell("专任教师", c) for c in titles} == dict(titles)
    assert teachers.cell("专任教师", "合计") == by_post["专任教师"]


def test_floor_areas_equal_the_buildings(county_tables):
    tables, _findings, county, _snapshot = county_tables
    expected = Counter()
    for b in Building.objects.filter(region_path__startswith=county.path, demolished_on__isnull=True):
        expected["合计"] += b.total_area
        parts = {"teaching": b.teaching_area, "admin": b.admin_area, "living": b.living_area, "other": b.other_area}
        parts[use_category(b.use_code)] += b.total_area - sum(parts.values())  # unassigned: the building's own use
        for key, label in (("teaching", "教学及辅助用房"), ("admin", "行政办公用房"), ("living", "生活用房"),
                           ("other", "其他用房")):
            expected[label] += parts[key]
        if b.condition.startswith("2"):
            expected["其中：危房"] += b.total_area
    table = tables["基础基512"]
    assert expected["合计"] > 0
    for label, area in expected.items():
        assert table.cell(label, "建筑面积") == area, label


def test_the_tables_pass_the_validation_relationships(county_tables):
    _tables, findings, _county, _snapshot = county_tables
    assert len(findings) == 5
    assert all(f.holds for f in findings), [f for f in findings if not f.holds]


def test_a_table_that_disagrees_with_the_snapshot_fails_its_check(county_tables):
    tables, _findings, county, snapshot = county_tables
    students = tables["基础基311"]
    altered = basetables.BaseTable(students.code, students.title, students.columns,
                                   [("合计", [students.cell("合计", "合计") + 1, *students.rows[0][1][1:]]),
                                    *students.rows[1:]])
    others = [t for code, t in tables.items() if code != "基础基311"]
    findings = basetables.check([altered, *others], User.objects.get(username="province"), county, snapshot)
    assert [f.rule for f in findings if not f.holds] == ["V12 在校生 = 各年级在校生之和"]

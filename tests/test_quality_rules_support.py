"""Builders for the quality-rule tests: records written straight to the tables (the services would
refuse most of the faults these tests need), and the roll-ups recomputed from them."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from eduplatform.assets.models import Equipment
from eduplatform.core.identity import seal_id_number
from eduplatform.facilities.models import Building
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.stages import Stage
from eduplatform.quality import engine
from eduplatform.quality.rules import ScanScope
from eduplatform.staff.models import StaffMember
from eduplatform.stats.rollup import recompute_schools, school_year_of
from eduplatform.students.grades import BY_CODE
from eduplatform.students.models import Enrolment, SchoolClass, Student
from tests.students_support import make_id

_seq = itertools.count(1)
TODAY = dt.date.today()
YEAR = school_year_of(TODAY)


def birth_for(grade: str, offset: int = 0) -> dt.date:
    """A birth date giving the grade's typical age (+ ``offset`` years) on 31 August of this school year."""
    return dt.date(YEAR - BY_CODE[grade].typical_age - offset, 3, 15)


def student(school: Organization, *, grade: str = "11", name: str | None = None, gender: str = "1",
            birth: dt.date | None = None, id_number: str | None = "", id_type: str = "1",
            guardian: str = "", number: str | None = None, school_class: SchoolClass | None = None,
            active: bool = True, **extra) -> Student:
    n = next(_seq)
    birth = birth or birth_for(grade)
    if id_number == "":
        id_number = make_id(birth, n, area="440106", female=gender == "2")
    sealed = seal_id_number(id_type, id_number) if id_number else None
    s = Student.objects.create(
        student_number=number or (f"G{id_number}" if id_number and id_type == "1" else f"L440106{birth:%Y%m%d}{n:04d}"),
        name=name or f"测试学生{n}", gender=gender, birth_date=birth, id_type=id_type if id_number else "Z",
        id_number_cipher=sealed.cipher if sealed else "", id_number_index=sealed.index if sealed else "",
        id_number_masked=sealed.masked if sealed else "", ethnicity=extra.pop("ethnicity", "01"),
        home_address=extra.pop("home_address", "广州市天河区某路1号"),
        guardians=[{"name": guardian or f"家长{n}", "relation": "父亲"}] if guardian is not None else [],
        school=school, region_path=school.region_path, **extra)
    stage = BY_CODE[grade].stage
    Enrolment.objects.create(student=s, school=school, region_path=school.region_path, stage=int(stage), grade=grade,
                             school_class=school_class, status="01" if active else "07", is_active=active,
                             entered_on=dt.date(YEAR, 9, 1))
    return s


def staff(unit: Organization, *, name: str | None = None, gender: str = "1", birth: dt.date = dt.date(1985, 5, 5),
          id_number: str | None = "", id_type: str = "1", post: str = "1", status: str = "11", **extra) -> StaffMember:
    n = next(_seq)
    if id_number == "":
        id_number = make_id(birth, n, area="440104", female=gender == "2")
    sealed = seal_id_number(id_type, id_number) if id_number else None
    return StaffMember.objects.create(
        staff_number=f"T{n:08d}", name=name or f"测试教师{n}", gender=gender, birth_date=birth, id_type=id_type,
        id_number_cipher=sealed.cipher if sealed else "", id_number_index=sealed.index if sealed else f"x{n}",
        id_number_masked=sealed.masked if sealed else "", ethnicity=extra.pop("ethnicity", "01"),
        education_level=extra.pop("education_level", "21"), post_category=post, establishment="1", first_employed_on=dt.date(2008, 7, 1),
        subjects="语文" if post == "1" else "", teaching_stage="2" if post == "1" else "", status=status,
        unit=unit, region_path=unit.region_path, unit_kind=unit.kind, stage_mask=unit.stage_mask, **extra)


def school_class(school: Organization, grade: str = "11", number: int = 1) -> SchoolClass:
    return SchoolClass.objects.create(school=school, region_path=school.region_path, school_year=YEAR, grade=grade,
                                      number=number, name=f"{BY_CODE[grade].name}（{number}）班")


def building(school: Organization, *, number: str | None = None, area: str = "3000", condition: str = "10",
             in_use: bool = True, **extra) -> Building:
    n = next(_seq)
    return Building.objects.create(
        school=school, region_path=school.region_path, number=number or f"JZ{n:04d}", name=f"{n}号教学楼",
        use_code="11", structure="4", floors_above=4, built_year=2008, total_area=Decimal(area),
        teaching_area=Decimal(area), property_right="1", condition=condition, in_use=in_use,
        safety_inspection=extra.pop("safety_inspection", "1"), seismic_category="2", **extra)


def equipment(school: Organization, **extra) -> Equipment:
    n = next(_seq)
    return Equipment.objects.create(
        school=school, region_path=school.region_path, asset_number=f"ZC{n:05d}", category="04", name="显微镜",
        quantity=10, unit_price=Decimal("150.00"), value=Decimal("1500.00"), purchased_on=dt.date(2020, 5, 1),
        funding_source=extra.pop("funding_source", "1"), acquisition_mode="1", use_direction="1", status="1")


def refresh(*schools: Organization) -> None:
    recompute_schools([s.pk for s in schools])


def scan(code: str, path: str = "44/", school_ids: tuple[int, ...] | None = None):
    return list(engine.scan_findings(ScanScope(path, school_ids), [code]))


def record(object_type: str, ids, code: str):
    codes, found = engine.record_findings(object_type, ids)
    assert code in codes
    return [f for f in found if f.rule == code]


def ids_of(findings) -> set[int]:
    return {f.object_id for f in findings}


def county_path(org: Organization) -> str:
    return org.region_path[:15]


def bureau_staff_unit(org: Organization) -> bool:
    return org.kind != OrgKind.SCHOOL


PRIMARY = int(Stage.PRIMARY)

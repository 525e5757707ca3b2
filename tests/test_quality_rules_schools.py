"""The school-level quality rules (teachers and students, robust outliers among peers, class sizes,
cross-database consistency) and the completeness rules, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from eduplatform.history.services import mark_schools_dirty
from eduplatform.orgs import services as orgs
from eduplatform.quality.checks.base import robust_outliers
from eduplatform.stats import rollup
from eduplatform.stats.models import AssetRollup, BuildingRollup, StaffRollup, StudentRollup
from eduplatform.students.models import Student
from tests.test_quality_rules_support import (
    YEAR,
    building,
    county_path,
    equipment,
    ids_of,
    record,
    refresh,
    scan,
    school_class,
    staff,
    student,
)
from tests.world import TOWN_A, TOWN_A2, school_row

pytestmark = pytest.mark.django_db


def peers(world, n: int = 6):
    """``n`` more primary schools in county A (with school_a1: n + 1 peers of one county and type)."""
    rows = [school_row(f"21440001{i:02d}", f"天河同类小学{i}", "211", TOWN_A if i % 2 else TOWN_A2) for i in range(n)]
    return [world.school_a1, *orgs.register_schools(actor=None, rows=rows)]


def figures(school, *, students: int, teachers: int = 10, area: str | None = None, equipment: str | None = None):
    """A school's roll-up rows as the platform keeps them (what the school-level rules read)."""
    StudentRollup.objects.create(school_id=school.pk, region_path=school.region_path, stage=2, grade="11", gender="1",
                                 cohort=YEAR - 6, school_year=YEAR, enrolled=students)
    StaffRollup.objects.create(school_id=school.pk, region_path=school.region_path, stage_mask=school.stage_mask,
                               post_category="1", establishment="1", gender="1", education_level="21",
                               title_grade="", teaching_stage="2", birth_year=1985, staff=teachers)
    if area is not None:
        BuildingRollup.objects.create(school_id=school.pk, region_path=school.region_path,
                                      stage_mask=school.stage_mask, buildings=2, total_area=Decimal(area))
    if equipment is not None:
        AssetRollup.objects.create(school_id=school.pk, region_path=school.region_path, stage_mask=school.stage_mask,
                                   year=YEAR, has_holdings=True, teaching_equipment_value=Decimal(equipment))


def test_robust_outliers_need_five_peers_and_flag_both_directions():
    assert robust_outliers({1: 10.0, 2: 100.0, 3: 10.5, 4: 9.8}) == {}
    values = {1: 10.0, 2: 10.5, 3: 9.5, 4: 11.0, 5: 9.0, 6: 10.2, 7: 60.0, 8: 1.2}
    assert set(robust_outliers(values)) == {7, 8}
    assert robust_outliers({i: 10.0 + i * 0.01 for i in range(8)}) == {}  # all alike: MAD floor


def test_school_with_students_but_no_teachers_and_school_with_staff_but_no_students(world):
    student(world.school_a1)
    staff(world.school_a1, post="2")  # an administrator, not a full-time teacher
    staff(world.school_a2)  # a kindergarten with a teacher and no pupils
    student(world.school_b1)
    staff(world.school_b1)  # a valid neighbour: both
    refresh(world.school_a1, world.school_a2, world.school_b1)
    no_teachers = scan("O_NO_TEACHERS")
    assert ids_of(no_teachers) == {world.school_a1.pk}
    assert no_teachers[0].object_type == "orgs.organization" and "专任教师" in no_teachers[0].message
    assert ids_of(scan("O_NO_STUDENTS")) == {world.school_a2.pk}
    assert scan("O_NO_TEACHERS", county_path(world.school_b1)) == []
    staff(world.school_a1)
    refresh(world.school_a1)
    assert scan("O_NO_TEACHERS") == []


def test_class_size_oversized_and_empty(world):
    big, empty, normal = (school_class(world.school_a1, "11", n) for n in (1, 2, 3))
    for _ in range(66):
        student(world.school_a1, school_class=big, id_number=None, guardian=None)
    for _ in range(30):
        student(world.school_a1, school_class=normal, id_number=None, guardian=None)
    school_class(world.school_b1, "11", 1)  # empty, in county B
    found = {f.object_id: f for f in scan("C_CLASS_SIZE", county_path(world.school_a1))}
    assert set(found) == {big.pk, empty.pk}
    assert found[big.pk].evidence["size"] == 66 and found[empty.pk].evidence["size"] == 0
    assert len(scan("C_CLASS_SIZE", county_path(world.school_b1))) == 1


def test_class_size_counts_the_candidate_schools_a_chunk_at_a_time(world, monkeypatch):
    """A province scan may name more candidate schools than one statement's parameters hold: the
    rule counts them in chunks, and the findings of every chunk are reported."""
    from eduplatform.quality.checks import base, plausibility

    monkeypatch.setattr(plausibility, "chunks", lambda ids: base.chunks(ids, size=1))
    empty_a, empty_b = school_class(world.school_a1, "11", 1), school_class(world.school_b1, "11", 1)
    assert ids_of(scan("C_CLASS_SIZE", "44/")) == {empty_a.pk, empty_b.pk}


def test_class_size_skips_only_schools_whose_current_roll_ups_show_nothing(world):
    """The rule counts pupils class by class only in schools whose class roll-ups show an
    oversized class, fewer classes than the school has (an empty one), or a pending recompute."""
    big, normal = school_class(world.school_a1, "11", 1), school_class(world.school_a1, "11", 2)
    for klass in (big, normal):
        for _ in range(30):
            student(world.school_a1, school_class=klass, id_number=None, guardian=None)
    rollup.refresh_schools([world.school_a1.pk])  # recomputed, its marks (from the world's set-up) gone
    assert scan("C_CLASS_SIZE") == []
    for _ in range(36):  # written around the services: no mark, the roll-up still says 30 …
        student(world.school_a1, school_class=big, id_number=None, guardian=None)
    assert scan("C_CLASS_SIZE") == []  # … so the school is skipped: the rule trusts current roll-ups
    mark_schools_dirty([world.school_a1.pk])  # what every write through a service does
    assert ids_of(scan("C_CLASS_SIZE")) == {big.pk}  # a marked school is counted from its records
    rollup.refresh_schools([world.school_a1.pk])  # the mark is gone; the roll-up has the ≥66 band
    assert ids_of(scan("C_CLASS_SIZE")) == {big.pk}
    empty = school_class(world.school_a1, "11", 3)  # three classes, two rolled up
    assert ids_of(scan("C_CLASS_SIZE")) == {big.pk, empty.pk}


def test_students_of_a_grade_without_classes(world):
    klass = school_class(world.school_a1, "11", 1)
    student(world.school_a1, school_class=klass)
    student(world.school_a1, grade="12")  # 二年级: no class at all
    refresh(world.school_a1)
    found = scan("X_CLASS_GRADE")
    assert [(f.object_id, f.key) for f in found] == [(world.school_a1.pk, "12")]
    assert "二年级" in found[0].message


def test_floor_area_and_equipment_outliers_among_the_county_peers_of_the_same_type(world):
    schools = peers(world)
    for i, school in enumerate(schools):
        figures(school, students=500, area=str(4000 + 100 * i), equipment=str(1_000_000 + 10_000 * i))
    odd_area, odd_equipment = schools[2], schools[4]
    BuildingRollup.objects.filter(school_id=odd_area.pk).update(total_area=Decimal("40000"))
    AssetRollup.objects.filter(school_id=odd_equipment.pk).update(teaching_equipment_value=Decimal("20000"))
    area = scan("O_AREA_OUTLIER", county_path(world.school_a1))
    assert ids_of(area) == {odd_area.pk} and "远高于" in area[0].message
    equipment_found = scan("O_EQUIPMENT_OUTLIER", county_path(world.school_a1))
    assert ids_of(equipment_found) == {odd_equipment.pk} and "远低于" in equipment_found[0].message
    # A scan of one school still compares it with its whole county; another school is not reported.
    assert ids_of(scan("O_AREA_OUTLIER", "44/", (odd_area.pk,))) == {odd_area.pk}
    assert scan("O_AREA_OUTLIER", "44/", (schools[1].pk,)) == []
    # Too few peers: no comparison.
    for school in schools[3:]:
        BuildingRollup.objects.filter(school_id=school.pk).delete()
    assert scan("O_AREA_OUTLIER") == []


def test_staff_load_outlier(world):
    schools = peers(world)
    for i, school in enumerate(schools):
        figures(school, students=300, teachers=20 + i)
        for n in range(1, 11):
            school_class(school, "11", n)
    odd = schools[3]
    StaffRollup.objects.filter(school_id=odd.pk).update(staff=2)  # 10 classes, 2 teachers
    found = scan("X_STAFF_LOAD", county_path(world.school_a1))
    assert ids_of(found) == {odd.pk}
    assert found[0].evidence["teachers"] == 2 and found[0].evidence["classes"] == 10


def test_students_against_floor_area(world):
    figures(world.school_a1, students=800, area="500")
    figures(world.school_b1, students=800, area="6000")
    figures(world.school_a2, students=100)  # no building recorded: completeness, not this rule
    found = scan("X_AREA_STUDENTS")
    assert ids_of(found) == {world.school_a1.pk}
    assert "0.62" in found[0].message


def test_required_fields_per_school_and_field_scan_and_record_agree(world):
    missing = student(world.school_a1, ethnicity="")
    student(world.school_a1, ethnicity="", home_address="")
    student(world.school_a1, guardian=None)
    student(world.school_a1)
    student(world.school_b1, ethnicity="")
    found = {f.key: f for f in scan("S_REQUIRED_MISSING", county_path(world.school_a1))}
    assert set(found) == {"ethnicity", "home_address", "guardians"}
    assert found["ethnicity"].object_id == world.school_a1.pk
    assert found["ethnicity"].evidence == {"field": "ethnicity", "missing": 2, "total": 4}
    assert found["guardians"].evidence["missing"] == 1
    assert "民族" in found["ethnicity"].message
    recorded = {f.key: f for f in record("students.student", [missing.pk], "S_REQUIRED_MISSING")}
    assert {k: f.fingerprint for k, f in recorded.items()} == {k: f.fingerprint for k, f in found.items()}
    Student.objects.filter(school=world.school_a1).update(ethnicity="01", home_address="某路",
                                                          guardians=[{"name": "家长", "relation": "母亲"}])
    assert record("students.student", [missing.pk], "S_REQUIRED_MISSING") == []


def test_required_fields_of_staff_buildings_and_equipment(world):
    teacher = staff(world.school_a1, education_level="")
    staff(world.school_a1)
    staff(world.county_a, education_level="")  # a bureau's administrator: not counted
    hall = building(world.school_a1, safety_inspection="")
    building(world.school_a1)
    item = equipment(world.school_a1, funding_source="")
    equipment(world.school_b1, funding_source="")
    county_a = county_path(world.school_a1)
    assert [(f.object_id, f.key) for f in scan("T_REQUIRED_MISSING", county_a)] == [
        (world.school_a1.pk, "education_level")]
    assert [(f.object_id, f.key) for f in scan("F_REQUIRED_MISSING", county_a)] == [
        (world.school_a1.pk, "safety_inspection")]
    assert [(f.object_id, f.key) for f in scan("A_REQUIRED_MISSING", county_a)] == [
        (world.school_a1.pk, "funding_source")]
    assert [f.key for f in record("staff.staffmember", [teacher.pk], "T_REQUIRED_MISSING")] == ["education_level"]
    assert [f.key for f in record("facilities.building", [hall.pk], "F_REQUIRED_MISSING")] == ["safety_inspection"]
    assert [f.key for f in record("assets.equipment", [item.pk], "A_REQUIRED_MISSING")] == ["funding_source"]

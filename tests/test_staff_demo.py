"""The demo staff generator: realistic proportions and its two planted anomalies."""

from __future__ import annotations

import datetime as dt

from eduplatform.demo import staff as demo_staff
from eduplatform.staff.models import StaffMember
from eduplatform.students import services as student_services

from .students_support import student_row

TODAY = dt.date(2026, 3, 1)


def test_demo_staff_has_every_unit_and_the_planted_anomalies(world):
    for seq in range(1, 40):
        student_services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(seq))
    line = demo_staff.generate(seed=7, today=TODAY)
    assert "教职工" in line and "教育管理人员" in line
    # The school with students but no staff.
    assert not StaffMember.objects.filter(unit=world.school_b1).exists()
    for school in (world.school_a1, world.school_a2, world.college_a):
        teachers = StaffMember.objects.filter(unit=school, post_category="1").count()
        assert teachers >= 2 and StaffMember.objects.filter(unit=school).count() > teachers
        assert StaffMember.objects.filter(unit=school, is_school_leader=True, position="校长").count() == 1
    for bureau in (world.county_a, world.county_b, world.city_gz, world.department, world.k12_division):
        assert StaffMember.objects.filter(unit=bureau, is_administrator=True).count() >= 6
    # One teacher aged 17 in the demo county.
    young = [s for s in StaffMember.objects.filter(post_category="1")
             if (TODAY - s.birth_date).days < 18 * 365]
    assert len(young) == 1 and young[0].unit.region.code.startswith("440106")
    assert set(demo_staff.ANOMALIES) == {"teacher_aged_17", "school_without_staff"}
    # One active post per person, each with its hiring event; a second run skips.
    assert StaffMember.objects.values("id_number_index").distinct().count() == StaffMember.objects.count()
    assert all(s.events.count() == 1 for s in StaffMember.objects.all()[:20])
    assert "跳过" in demo_staff.generate(seed=7, today=TODAY)

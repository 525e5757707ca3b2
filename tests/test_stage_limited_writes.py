"""A stage-limited user writes only where it reads: a K-12 statistician of county A changes the
records of the county's primary school but not of its college, through every register's service."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.assets import services as assets
from eduplatform.core.errors import OutOfScope
from eduplatform.facilities import services as facilities
from eduplatform.orgs.stages import K12
from eduplatform.staff import services as staff
from eduplatform.students import services as students
from tests.assets_support import line
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 10, 8)

COLLEGE = {"major": "计算机科学与技术", "programme_length": "4", "level": "本科"}
WRITES = {  # (actor, school, grade, sequence number) → the record written
    "student": lambda actor, school, grade, seq: students.enrol_student(
        actor=actor, school=school, data=student_row(seq, grade=grade, **COLLEGE if grade == "51" else {}), today=TODAY),
    "staff": lambda actor, school, _g, seq: staff.hire(actor=actor, unit=school, data=staff_row(seq), today=TODAY),
    "building": lambda actor, school, _g, seq: facilities.create_building(actor=actor, school=school,
                                                                        data=building_row(seq)),
    "equipment": lambda actor, school, _g, seq: assets.create_equipment(actor=actor, school=school,
                                                                      data=line(f"S-{seq}")),
}


@pytest.fixture
def k12_statistician(world):
    user = accounts.create_user(actor=None, username="k12_stat_a", password=PASSWORD, organization=world.county_a,
                                display_name="天河区基础教育统计员", stage_mask=int(K12))
    accounts.grant_role(actor=None, user=user, role=Role.STATISTICIAN)
    return user


@pytest.mark.parametrize("register", sorted(WRITES))
def test_a_k12_statistician_writes_to_primary_schools_but_not_to_the_college(world, k12_statistician, register):
    write = WRITES[register]
    with pytest.raises(OutOfScope):
        write(k12_statistician, world.college_a, "51", 5)
    assert write(k12_statistician, world.school_a1, "11", 6) is not None
    # A statistician of the same county without the stage limit reaches the college: the refusal
    # was the stage, not the region.
    assert write(world.user("county_a_stat"), world.college_a, "51", 7) is not None

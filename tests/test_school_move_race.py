"""A school moves to another county while its clerk registers pupils, from separate connections
(PostgreSQL, committing). Whichever commits first, every pupil ends with the school's new path:
the registration holds the school's row against a move (FOR KEY SHARE) and reads its path under
that hold, so it either waits for the move and writes the new path, or the move waits for it and
re-paths what it wrote."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import transaction

from eduplatform.facilities import services as facilities
from eduplatform.facilities.models import Building
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, Region
from eduplatform.staff import services as staff
from eduplatform.staff.models import StaffMember
from eduplatform.students import services as students
from eduplatform.students.models import Enrolment, Student
from eduplatform.students.schema import clean_student
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.world import TOWN_B

pytestmark = [committing, postgres_only]


TODAY = dt.date(2026, 9, 10)


def _rows(school, first: int, n: int):
    return [(i, clean_student(student_row(first + i), stage_mask=school.stage_mask, today=TODAY))
            for i in range(1, n + 1)]


def _move(world, on: dt.date = dt.date(2026, 9, 1)):
    orgs.update_school(actor=world.user("province"), school=world.school_a1, data={"town_code": TOWN_B},
                       effective_on=on, reason="划归越秀区")


def _register(world, school, first: int, n: int = 5):
    return students.register_students(actor=world.user("clerk_a1"), school=school, rows=_rows(school, first, n),
                                      accept_valid=False, today=TODAY)


def _paths(school_id: int) -> set[str]:
    return (set(Student.objects.filter(school_id=school_id).values_list("region_path", flat=True))
            | set(Enrolment.objects.filter(school_id=school_id).values_list("region_path", flat=True))
            | set(StaffMember.objects.filter(unit_id=school_id).values_list("region_path", flat=True))
            | set(Building.objects.filter(school_id=school_id).values_list("region_path", flat=True)))


# The other writers that copy the school's path into new records: a teacher hired, a building registered.
OTHER_WRITERS = {
    "staff": lambda world, school, seq: staff.hire(actor=world.user("clerk_a1"), unit=school, data=staff_row(seq)),
    "building": lambda world, school, seq: facilities.create_building(actor=world.user("clerk_a1"), school=school,
                                                                      data=building_row(seq)),
}


@pytest.mark.parametrize("kind", sorted(OTHER_WRITERS))
def test_other_writers_racing_a_move_write_the_new_path(world, kind):
    write = OTHER_WRITERS[kind]
    stale = Organization.objects.get(pk=world.school_a1.pk)
    moved, written = threading.Event(), threading.Event()

    def move_and_hold():
        with transaction.atomic():
            _move(world)
            moved.set()
            threading.Event().wait(1.0)

    def write_after_move():
        moved.wait(30)
        write(world, stale, 1)

    run_concurrently(move_and_hold, write_after_move)
    new_path = Region.objects.get(code=TOWN_B).path
    assert _paths(stale.pk) == {new_path}

    back = {"town_code": world.school_a1.region.code}
    orgs.update_school(actor=world.user("province"), school=Organization.objects.get(pk=stale.pk), data=back,
                       effective_on=dt.date(2026, 9, 2), reason="划回")
    school = Organization.objects.get(pk=stale.pk)

    def write_and_hold():
        with transaction.atomic():
            write(world, school, 2)
            written.set()
            threading.Event().wait(1.0)

    def move_after_write():
        written.wait(30)
        _move(world, dt.date(2026, 9, 3))

    run_concurrently(write_and_hold, move_after_write)
    assert _paths(stale.pk) == {new_path}


def test_a_registration_that_read_the_school_before_a_move_writes_the_new_path(world):
    stale = Organization.objects.get(pk=world.school_a1.pk)  # what the clerk's request loaded
    moved = threading.Event()

    def move_and_hold():
        with transaction.atomic():
            _move(world)
            moved.set()
            threading.Event().wait(1.0)  # the registration arrives while the move is uncommitted

    def register_after():
        moved.wait(30)
        return _register(world, stale, 100)

    run_concurrently(move_and_hold, register_after)
    new_path = Region.objects.get(code=TOWN_B).path
    assert Organization.objects.get(pk=stale.pk).region_path == new_path
    assert _paths(stale.pk) == {new_path}


def test_a_move_that_arrives_during_a_registration_re_paths_what_it_wrote(world):
    school = Organization.objects.get(pk=world.school_a1.pk)
    registered = threading.Event()

    def register_and_hold():
        with transaction.atomic():
            result = _register(world, school, 200)
            registered.set()
            threading.Event().wait(1.0)  # the move arrives while the registration is uncommitted
            return result

    def move_after():
        registered.wait(30)
        _move(world)

    result, _ = run_concurrently(register_and_hold, move_after)
    assert result.created == 5
    new_path = Region.objects.get(code=TOWN_B).path
    assert _paths(school.pk) == {new_path}

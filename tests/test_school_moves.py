"""A school that moves to another county takes its records along: students, enrolments, events,
classes, staff, buildings, land, equipment and API clients carry the new region path, the new
county sees them and the old one no longer does, and the county roll-ups move the school's figures
— whether the school's town is edited or its whole county is merged into another."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.facilities import services as facilities
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, Region
from eduplatform.orgs.moves import records_following_units
from eduplatform.orgs.scope import scoped
from eduplatform.staff import services as staff
from eduplatform.stats import selectors as stats
from eduplatform.students import services as students
from eduplatform.students.models import Enrolment, Student, StudentEvent
from tests.facilities_support import building_row
from tests.staff_support import staff_row
from tests.students_support import student_row
from tests.world import PASSWORD, TOWN_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def records_of_a1(world, django_capture_on_commit_callbacks):
    """Two pupils, a teacher and a building of 天河区's school A1, with the roll-ups refreshed."""
    clerk = world.user("clerk_a1")
    with django_capture_on_commit_callbacks(execute=True):
        for seq in (1, 2):
            students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(seq))
        staff.hire(actor=clerk, unit=world.school_a1, data=staff_row(1))
        facilities.create_building(actor=clerk, school=world.school_a1, data=building_row(1))
    return world.school_a1


def _paths_of(school: Organization) -> set[str]:
    """Every region path the school's records carry, over every model that follows its unit."""
    paths: set[str] = set()
    for model in records_following_units():
        paths |= set(model.objects.filter(**{model.SCOPE.school: school.pk}).values_list("region_path", flat=True))
    return paths


def _sees(user, school: Organization) -> dict[str, int]:
    return {
        "students": scoped(Student.objects.filter(school=school), user).count(),
        "enrolments": scoped(Enrolment.objects.filter(school=school, is_active=True), user).count(),
        "events": scoped(StudentEvent.objects.filter(school=school), user).count(),
    }


def test_a_school_moved_to_another_countys_town_takes_its_records(world, records_of_a1,
                                                                 django_capture_on_commit_callbacks):
    a, b = world.user("county_a_stat"), world.user("county_b_stat")
    assert _sees(a, records_of_a1)["students"] == 2 and _sees(b, records_of_a1)["students"] == 0
    a_before, b_before = stats.student_total(a), stats.student_total(b)
    with django_capture_on_commit_callbacks(execute=True):
        orgs.update_school(actor=world.user("province"), school=records_of_a1, data={"town_code": TOWN_B},
                           effective_on=dt.date(2026, 9, 1), reason="划归越秀区")
    school = Organization.objects.get(pk=records_of_a1.pk)
    assert school.region_path == Region.objects.get(code=TOWN_B).path
    assert _paths_of(school) == {school.region_path}  # every record, every model
    assert _sees(b, school) == {"students": 2, "enrolments": 2, "events": 2}
    assert _sees(a, school) == {"students": 0, "enrolments": 0, "events": 0}
    # The county roll-ups move the pupils from 天河区's figures to 越秀区's.
    assert stats.student_total(a) == a_before - 2
    assert stats.student_total(b) == b_before + 2


def test_merging_a_county_moves_the_records_of_all_its_schools(world, records_of_a1, django_capture_on_commit_callbacks):
    admin = accounts.create_user(actor=None, username="regions", password=PASSWORD, organization=world.department)
    accounts.grant_role(actor=None, user=admin, role=Role.SYSTEM_ADMIN)
    source, target = world.county_a.region, world.county_b.region
    with django_capture_on_commit_callbacks(execute=True):
        orgs.merge_region(actor=admin, source=source, target=target, effective_on=dt.date(2026, 9, 1), reason="区划调整")
    school = Organization.objects.get(pk=records_of_a1.pk)
    assert school.region_path.startswith(target.path)
    assert _paths_of(school) == {school.region_path}
    assert _sees(world.user("county_b_stat"), school)["students"] == 2
    assert stats.student_total(world.user("county_b_stat"), under=school.region_path) == 2


def test_an_edit_that_keeps_the_town_rewrites_nothing(world, records_of_a1):
    before = _paths_of(records_of_a1)
    orgs.update_school(actor=world.user("province"), school=records_of_a1, data={"phone": "020-88880000"})
    assert _paths_of(Organization.objects.get(pk=records_of_a1.pk)) == before

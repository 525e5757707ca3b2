"""Records outside each user's jurisdiction, for the scope matrix (tests/test_scope_matrix.py).

Every module in this package defines ``outside_records(world, group) -> dict[str, str | None]``:
for each URL parameter its app's routes use (``staff_id``, ``building_id`` …), a value naming a
record that the users of ``group`` must not reach. ``None`` means "no such record is outside this
group's reach" (e.g. bureau records for a stage-limited province officer) and skips those routes.
A new app adds a module here; the matrix itself needs no edit.

Users are walked in *groups* that share what lies outside their reach (a county's statistician and
reviewer, a school's clerk and principal …), so each set of outside records is made once per world.
The helpers below say where "outside" is for each group, and which text must never show in the
pages of its users (put it in a name or label of the records you create).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from eduplatform.accounts.roles import Role
from eduplatform.orgs.models import Organization
from tests.world import LEAK_MARKER_B, LEAK_MARKER_HIGHER, World

# Every user of tests/world.py, a town office's statistician (made by ``town_user``) and nobody.
ANONYMOUS = "anonymous"
TOWN_USER = "town_stat"
COUNTY_SECURITY_ADMIN = "county_a_secadmin"

# The group whose outside records each user is checked against; None: the whole province is in
# the user's reach (or the user reads no records at all), so only statuses are checked.
GROUP_OF: dict[str, str | None] = {
    "county_a_stat": "county_a_stat", "county_a_reviewer": "county_a_stat", "county_a_secadmin": "county_a_stat",
    "clerk_a1": "clerk_a1", "principal_a1": "clerk_a1",
    "k12_officer": "k12_officer", TOWN_USER: "k12_officer",
    "higher_officer": "higher_officer", "county_b_stat": "higher_officer", "clerk_b1": "higher_officer",
    "county_c_stat": "higher_officer",
    "city_stat": "city_stat",
    "province": None, "sysadmin": None, "secadmin": None, "auditor": None, ANONYMOUS: None,
}
GROUPS = ("county_a_stat", "clerk_a1", "k12_officer", "higher_officer", "city_stat")
# Kept for the modules written before every role was walked: the first user of each group.
CHECKED_ACTORS = GROUPS

# Names only: codes typed into a URL or a search box are echoed back in the page, which is not a leak.
# The first marker of a group's first user is the one its outside records carry (``marker_for``).
SCHOOL_A1, SCHOOL_A2, SCHOOL_C1 = "天河测试小学", "天河测试幼儿园", "福田测试小学"
LEAK_MARKERS: dict[str, list[str]] = {
    "county_a_stat": [LEAK_MARKER_B, SCHOOL_C1, "county_b_stat"],
    "county_a_reviewer": [LEAK_MARKER_B, SCHOOL_C1, "county_b_stat"],
    "county_a_secadmin": [LEAK_MARKER_B, SCHOOL_C1, "county_b_stat"],
    "clerk_a1": [LEAK_MARKER_B, SCHOOL_A2, LEAK_MARKER_HIGHER],
    "principal_a1": [LEAK_MARKER_B, SCHOOL_A2, LEAK_MARKER_HIGHER],
    "k12_officer": [LEAK_MARKER_HIGHER],
    TOWN_USER: [LEAK_MARKER_HIGHER, LEAK_MARKER_B, SCHOOL_C1],
    "higher_officer": [SCHOOL_A1, SCHOOL_A2, LEAK_MARKER_B],
    "county_b_stat": [SCHOOL_A1, SCHOOL_A2, SCHOOL_C1, LEAK_MARKER_HIGHER],
    "clerk_b1": [SCHOOL_A1, SCHOOL_A2, SCHOOL_C1, LEAK_MARKER_HIGHER],
    "county_c_stat": [SCHOOL_A1, SCHOOL_A2, LEAK_MARKER_B, LEAK_MARKER_HIGHER],
    "city_stat": [SCHOOL_C1],
    "province": [], "sysadmin": [], "secadmin": [], "auditor": [], ANONYMOUS: [],
}
ACTORS = tuple(GROUP_OF)


def town_user(world: World):
    """A statistician of 天河区's first town office (五山街道): the town is their jurisdiction."""
    from eduplatform.accounts import services as accounts
    from eduplatform.accounts.models import User
    from eduplatform.orgs import services as orgs
    from eduplatform.orgs.models import OrgKind, Region
    from tests.world import PASSWORD, TOWN_A

    found = User.objects.filter(username=TOWN_USER).first()
    if found is not None:
        return found
    office = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="五山街道教育指导中心",
                                   region=Region.objects.get(code=TOWN_A), parent=world.county_a)
    user = accounts.create_user(actor=None, username=TOWN_USER, password=PASSWORD, organization=office,
                                display_name=TOWN_USER)
    accounts.grant_role(actor=None, user=user, role=Role.STATISTICIAN)
    return user


def county_security_admin(world: World):
    """A security administrator of 天河区's bureau: registers API clients for county A only."""
    from eduplatform.accounts import services as accounts
    from eduplatform.accounts.models import User
    from tests.world import PASSWORD

    found = User.objects.filter(username=COUNTY_SECURITY_ADMIN).first()
    if found is not None:
        return found
    user = accounts.create_user(actor=None, username=COUNTY_SECURITY_ADMIN, password=PASSWORD,
                                organization=world.county_a, display_name=COUNTY_SECURITY_ADMIN)
    accounts.grant_role(actor=None, user=user, role=Role.SECURITY_ADMIN)
    return User.objects.get(pk=user.pk)


def actor_user(world: World, actor: str):
    """The user walking as ``actor`` (None for the anonymous visitor)."""
    if actor == ANONYMOUS:
        return None
    if actor == TOWN_USER:
        return town_user(world)
    if actor == COUNTY_SECURITY_ADMIN:
        return county_security_admin(world)
    return world.user(actor)


def school_c1(world: World) -> Organization:
    return Organization.objects.get(school_code="2144000003")  # 福田测试小学 (county C, another city)


def outside_school(world: World, group: str) -> Organization:
    """A school the group must not reach: another county's, another school in the same town, a
    college, a primary school, another city's."""
    return {"county_a_stat": lambda: world.school_b1, "clerk_a1": lambda: world.school_a2,
            "k12_officer": lambda: world.college_a, "higher_officer": lambda: world.school_a1,
            "city_stat": lambda: school_c1(world)}[group]()


def outside_bureau(world: World, group: str) -> Organization | None:
    """A bureau the group must not reach; None where every bureau is in reach or bureaus have no stage."""
    return {"county_a_stat": world.county_b, "clerk_a1": world.county_a, "k12_officer": None,
            "higher_officer": None, "city_stat": world.county_c}[group]


def writer_for(world: World, unit: Organization):
    """A user who may write records into ``unit`` (its county's statistician)."""
    by_unit = {world.school_b1.pk: "county_b_stat", world.county_b.pk: "county_b_stat",
               world.school_a2.pk: "county_a_stat", world.college_a.pk: "county_a_stat",
               world.county_a.pk: "county_a_stat", world.school_a1.pk: "county_a_stat",
               world.county_c.pk: "county_c_stat", school_c1(world).pk: "county_c_stat"}
    return world.user(by_unit[unit.pk])


def marker_for(group: str) -> str:
    """A text that must never appear in the pages of ``group``'s users: give it to the records you create."""
    return LEAK_MARKERS[group][0]


def providers() -> list[Callable[[World, str], dict[str, str | None]]]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(module.outside_records)
    return found


def outside_records(world: World, group: str) -> dict[str, str | None]:
    """Every provider's records for ``group``, built once per world."""
    cache = world.__dict__.setdefault("_outside_records", {})
    if group not in cache:
        merged: dict[str, str | None] = {}
        for provide in providers():
            merged.update(provide(world, group))
        cache[group] = merged
    return cache[group]


FAR_STUDENTS = 1000


def far_school(world: World) -> Organization:
    """A primary school in 佛山市禅城区 holding a thousand students, outside every user's reach but
    the province's and the K-12 division's: whatever sums over the province (a snapshot's totals)
    then carries a figure no smaller jurisdiction can have (``foreign_totals`` in the matrix)."""
    from django.utils import timezone

    from eduplatform.accounts import services as accounts
    from eduplatform.orgs import services as orgs
    from eduplatform.orgs.models import OrgKind, Region
    from eduplatform.students.schema import clean_student
    from eduplatform.students.services import register_students
    from tests.students_support import student_row
    from tests.world import PASSWORD, school_row

    found = Organization.objects.filter(school_code="2144000066").first()
    if found is not None:
        return found
    bureau = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="禅城区教育局",
                                   region=Region.objects.get(code="440604000000"), parent=world.department)
    writer = accounts.create_user(actor=None, username="far_stat", password=PASSWORD, organization=bureau,
                                  display_name="far_stat")
    accounts.grant_role(actor=None, user=writer, role=Role.STATISTICIAN)
    (school,) = orgs.register_schools(actor=None, rows=[school_row("2144000066", "禅城远方小学", "211", "440604010000")])
    today = timezone.localdate()
    rows = [(i, clean_student(student_row(3000 + i), stage_mask=school.stage_mask, today=today))
            for i in range(1, FAR_STUDENTS + 1)]
    register_students(actor=writer, school=school, rows=rows, accept_valid=False)
    return school

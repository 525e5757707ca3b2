"""Staff records outside each group's reach: a post at the group's outside school and a
transfer of that person to another unit the group cannot reach either."""

from __future__ import annotations

from tests.scope_records import marker_for, outside_school, writer_for
from tests.staff_support import staff_row
from tests.world import LEAK_MARKER_HIGHER, TOWN_A2, TOWN_C, World, school_row

_SEQ = {"county_a_stat": 801, "clerk_a1": 802, "k12_officer": 803, "higher_officer": 804, "city_stat": 805}


def _receiving_unit(world: World, group: str):
    """Where the transfer goes: also outside the group's reach, with a user who may apply for it."""
    from eduplatform.orgs import services as orgs
    from eduplatform.orgs.models import Organization

    if group == "county_a_stat":
        return Organization.objects.get(school_code="2144000003"), world.user("county_c_stat")  # 福田 (county C)
    if group == "clerk_a1":
        return world.school_b1, world.user("clerk_b1")
    if group == "higher_officer":
        return world.school_a2, world.user("county_a_stat")  # a kindergarten of county A
    if group == "city_stat":
        (school,) = orgs.register_schools(actor=None, rows=[school_row("2144000008", "福田测试小学分校", "211", TOWN_C)])
        return school, world.user("county_c_stat")
    (college,) = orgs.register_schools(actor=None, rows=[
        school_row("4144000008", f"{LEAK_MARKER_HIGHER}分院", "412", TOWN_A2, sponsor_code="811")])
    return college, world.user("county_a_stat")


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.staff import services, transfers

    school = outside_school(world, group)
    row = staff_row(_SEQ[group], name=f"{marker_for(group)}教师")
    if group == "k12_officer":
        row |= {"qualification_type": "7", "title": "讲师", "teaching_stage": ""}
    staff = services.hire(actor=writer_for(world, school), unit=school, data=row)
    to_unit, applicant = _receiving_unit(world, group)
    transfer = transfers.apply_transfer(actor=applicant, to_unit=to_unit, staff=staff, effective_on=staff.joined_on,
                                        reason="矩阵检查")
    return {"staff_id": str(staff.pk), "transfer_id": str(transfer.pk), "staff_number": staff.staff_number}

"""The staff and administrator databases: hiring, one active post per person, transfers with their
approvals, title promotions, leaving, and who may see and change what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from eduplatform.core import crypto
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.history.selectors import history_of
from eduplatform.staff import selectors, services, transfers
from eduplatform.staff.models import (
    StaffEvent,
    StaffEventKind,
    StaffMember,
    StaffStatus,
    TransferStatus,
)

from .staff_support import admin_row, staff_row

TODAY = dt.date(2026, 3, 1)


def hire(world, seq: int, *, user: str = "clerk_b1", unit=None, **overrides) -> StaffMember:
    return services.hire(actor=world.user(user), unit=unit or world.school_b1, data=staff_row(seq, **overrides),
                         today=TODAY)


def active_units(staff: StaffMember) -> list[str]:
    return list(StaffMember.objects.filter(id_number_index=staff.id_number_index, is_active=True)
                .values_list("unit__name", flat=True))


def on_list(world, user: str, staff: StaffMember) -> bool:
    return selectors.staff_in_scope(world.user(user)).filter(id_number_index=staff.id_number_index).exists()


# --------------------------------------------------------------------------------------------
# Hiring and the one-active-post rule


def test_hiring_stores_the_id_number_encrypted_and_masked(world):
    row = staff_row(1)
    staff = hire(world, 1)
    assert staff.id_number_masked != row["id_number"] and "*" in staff.id_number_masked
    assert row["id_number"] not in staff.id_number_cipher
    assert crypto.decrypt(staff.id_number_cipher) == row["id_number"]
    assert staff.staff_number.startswith("4401042026") and staff.title_grade == "中级"
    assert staff.events.get().kind == StaffEventKind.HIRE
    assert history_of(world.user("clerk_b1"), object_type="staff.staffmember", object_id=staff.pk).count() == 1


def test_a_second_active_hire_elsewhere_fails_naming_the_unit_that_holds_the_person(world):
    hire(world, 2)
    with pytest.raises(RecordInvalid) as err:
        services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(2), today=TODAY)
    assert "越秀泄漏检测小学" in str(err.value) and "调动" in str(err.value)
    assert StaffMember.objects.count() == 1


def test_the_database_itself_refuses_two_active_posts_for_one_person(world):
    staff = hire(world, 3)
    clone = {f.attname: getattr(staff, f.attname) for f in StaffMember._meta.concrete_fields if f.attname != "id"}
    clone["unit_id"] = world.school_a1.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMember.objects.create(**clone)
    clone["is_active"] = False  # an old, closed post of the same person is allowed
    StaffMember.objects.create(**clone)


def test_rehiring_after_retirement_keeps_the_lifelong_staff_number(world):
    staff = hire(world, 4)
    services.end_post(actor=world.user("clerk_b1"), staff=staff, kind=StaffEventKind.RETIRE,
                      status=StaffStatus.RETIRED, on=TODAY, reason="达到退休年龄", today=TODAY)
    again = services.hire(actor=world.user("clerk_a1"), unit=world.school_a1,
                          data=staff_row(4, joined_on="2026-03"), today=TODAY)
    assert again.staff_number == staff.staff_number and again.pk != staff.pk
    assert active_units(again) == ["天河测试小学"]
    with pytest.raises(RecordInvalid) as err:
        services.hire(actor=world.user("clerk_b1"), unit=world.school_b1,
                      data=staff_row(5, staff_number=staff.staff_number), today=TODAY)
    assert "已属于其他人员" in str(err.value)


def test_a_clerk_cannot_hire_into_another_school(world):
    with pytest.raises(OutOfScope):
        services.hire(actor=world.user("clerk_a1"), unit=world.school_b1, data=staff_row(6), today=TODAY)
    with pytest.raises(NotPermitted):
        services.hire(actor=world.user("principal_a1"), unit=world.school_a1, data=staff_row(6), today=TODAY)


def test_administrators_are_written_only_by_their_own_bureau(world):
    staff = services.hire(actor=world.user("county_a_stat"), unit=world.county_a, data=admin_row(7), today=TODAY)
    assert staff.is_administrator and staff.rank == "31" and staff.unit_kind == "bureau"
    with pytest.raises(OutOfScope):  # the city bureau's statistician does not run the county bureau's staff
        services.hire(actor=world.user("city_stat"), unit=world.county_a, data=admin_row(8), today=TODAY)
    leader = hire(world, 9, is_school_leader="是", position="校长")
    assert leader.is_administrator
    assert set(selectors.staff_in_scope(world.user("city_stat"), administrators=True)) == {staff, leader}


def test_stage_limited_officer_sees_bureau_administrators_but_not_college_staff(world):
    bureau_staff = services.hire(actor=world.user("county_a_stat"), unit=world.county_a, data=admin_row(10),
                                 today=TODAY)
    college = hire(world, 11, user="county_a_stat", unit=world.college_a, qualification_type="7", title="讲师")
    primary = hire(world, 12, user="county_a_stat", unit=world.school_a1)
    officer = world.user("k12_officer")
    assert set(selectors.staff_in_scope(officer)) == {primary}
    assert list(selectors.staff_in_scope(officer, administrators=True)) == [bureau_staff]
    assert college in selectors.staff_in_scope(world.user("province"))


# --------------------------------------------------------------------------------------------
# Transfers


def test_staff_transfer_across_counties_end_to_end_keeps_the_person_on_exactly_one_active_list(world):
    staff = hire(world, 20, is_head_teacher="是")
    number = staff.staff_number
    receiving = world.user("clerk_a1")
    found = transfers.find_transfer_candidate(actor=receiving, staff_number=number, name=staff.name)
    request = transfers.apply_transfer(actor=receiving, to_unit=world.school_a1, staff=found,
                                       effective_on=dt.date(2026, 3, 2), reason="夫妻团聚")
    steps = list(selectors.steps_of(request))
    assert [(s.title, s.organization.name) for s in steps] == [
        ("调出单位确认", "越秀泄漏检测小学"), ("调入地教育行政部门审核", "天河区教育局"),
        ("调出地教育行政部门审核", "越秀区教育局")]

    def assert_still_at_sending_unit() -> None:
        assert active_units(staff) == ["越秀泄漏检测小学"]
        assert on_list(world, "clerk_b1", staff) and not on_list(world, "clerk_a1", staff)

    # Each step shows in its organization's inbox in turn; nothing moves before the last approval.
    for step, user in zip(steps, ["clerk_b1", "county_a_reviewer", "county_b_stat"], strict=True):
        assert_still_at_sending_unit()
        assert [s.pk for s in selectors.inbox(world.user(user))] == [step.pk]
        assert not transfers.can_decide(world.user("clerk_a1"), step)
        transfers.decide(actor=world.user(user), step=step, approve=True)
    request.refresh_from_db()
    assert request.status == TransferStatus.APPROVED
    assert active_units(staff) == ["天河测试小学"]
    assert on_list(world, "clerk_a1", staff) and not on_list(world, "clerk_b1", staff)
    staff.refresh_from_db()
    new = request.new_post
    assert (staff.status, staff.is_active, staff.left_on) == (StaffStatus.TRANSFERRED_OUT, False, dt.date(2026, 3, 2))
    assert new.staff_number == number and new.unit == world.school_a1 and new.is_head_teacher
    assert new.id_number_index == staff.id_number_index and new.joined_on == dt.date(2026, 3, 2)
    kinds = set(StaffEvent.objects.filter(staff__in=[staff, new]).values_list("kind", flat=True))
    assert {StaffEventKind.HIRE, StaffEventKind.TRANSFER_OUT, StaffEventKind.TRANSFER_IN} <= kinds
    moved = AuditEntry.objects.filter(object_type="staff.staffmember", note__startswith="调动生效")
    assert {e.region_path for e in moved} == {world.school_a1.region_path, world.school_b1.region_path}
    # The receiving clerk sees the person's whole career, including the post at the other county's school.
    assert [p.unit.name for p in selectors.posts_of(selectors.staff_for(world.user("clerk_a1"), new.pk))] == [
        "天河测试小学", "越秀泄漏检测小学"]


def test_same_county_transfer_needs_one_bureau_and_a_return_leaves_the_person_in_place(world):
    staff = hire(world, 21, user="clerk_a1", unit=world.school_a1)
    request = transfers.apply_transfer(actor=world.user("county_a_stat"), to_unit=world.school_a2, staff=staff,
                                       effective_on=TODAY, reason="支教")
    assert [s.title for s in selectors.steps_of(request)] == ["调出单位确认", "教育行政部门审核"]
    with pytest.raises(RecordInvalid):  # a second unit cannot pull the same person meanwhile
        transfers.apply_transfer(actor=world.user("clerk_b1"), to_unit=world.school_b1, staff=staff,
                                 effective_on=TODAY, reason="另一申请")
    first = selectors.steps_of(request)[0]
    with pytest.raises(RecordInvalid):
        transfers.decide(actor=world.user("clerk_a1"), step=first, approve=False, comment="")
    transfers.decide(actor=world.user("clerk_a1"), step=first, approve=False, comment="学期中不放人")
    request.refresh_from_db()
    assert request.status == TransferStatus.RETURNED
    assert active_units(staff) == ["天河测试小学"]
    assert not selectors.inbox(world.user("county_a_stat")).exists()


def test_a_reviewer_of_another_county_cannot_decide_a_step(world):
    staff = hire(world, 22)
    request = transfers.apply_transfer(actor=world.user("clerk_a1"), to_unit=world.school_a1, staff=staff,
                                       effective_on=TODAY, reason="调动")
    with pytest.raises(OutOfScope):
        transfers.decide(actor=world.user("county_a_stat"), step=selectors.steps_of(request)[0], approve=True)


def test_transfer_lookup_needs_the_exact_name(world):
    staff = hire(world, 23)
    with pytest.raises(RecordInvalid):
        transfers.find_transfer_candidate(actor=world.user("clerk_a1"), staff_number=staff.staff_number, name="别人")
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_SENSITIVE).count() == 0


# --------------------------------------------------------------------------------------------
# Promotions and leaving


def test_title_promotion_goes_up_within_its_series_and_is_in_the_history(world):
    staff = hire(world, 30)
    with pytest.raises(RecordInvalid) as err:
        services.promote_title(actor=world.user("clerk_b1"), staff=staff, title="14", on=TODAY, today=TODAY)
    assert "不高于" in str(err.value)
    with pytest.raises(RecordInvalid):
        services.promote_title(actor=world.user("clerk_b1"), staff=staff, title="22", on=TODAY, today=TODAY)
    services.promote_title(actor=world.user("clerk_b1"), staff=staff, title="12", on=TODAY, reason="2025年度评审",
                           today=TODAY)
    staff.refresh_from_db()
    assert (staff.title, staff.title_grade, staff.title_obtained_on) == ("12", "副高级", TODAY)
    entry = history_of(world.user("clerk_b1"), object_type="staff.staffmember", object_id=staff.pk).first()
    assert entry.changes["title"] == {"label": "专业技术职务", "before": "一级教师", "after": "高级教师"}
    assert staff.events.filter(kind=StaffEventKind.TITLE, detail__title=["一级教师", "高级教师"]).exists()


def test_leaving_closes_the_post_with_its_status(world):
    staff = hire(world, 31)
    with pytest.raises(RecordInvalid):  # 退休 is not a way of leaving by resignation
        services.end_post(actor=world.user("clerk_b1"), staff=staff, kind=StaffEventKind.LEAVE,
                          status=StaffStatus.RETIRED, on=TODAY, reason="x", today=TODAY)
    services.end_post(actor=world.user("clerk_b1"), staff=staff, kind=StaffEventKind.LEAVE,
                      status=StaffStatus.RESIGNED, on=TODAY, reason="个人原因", today=TODAY)
    staff.refresh_from_db()
    assert (staff.status, staff.is_active) == (StaffStatus.RESIGNED, False)
    assert not on_list(world, "clerk_b1", staff)
    assert selectors.staff_in_scope(world.user("clerk_b1"), status="all").filter(pk=staff.pk).exists()


def test_revealing_the_id_number_is_audited_and_needs_the_right(world):
    staff = hire(world, 32)
    with pytest.raises(NotPermitted):
        services.reveal_identifiers(actor=world.user("county_b_stat"), staff=staff)
    revealed = services.reveal_identifiers(actor=world.user("clerk_b1"), staff=staff)
    assert revealed.id_number == staff_row(32)["id_number"]
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_SENSITIVE, object_id=str(staff.pk)).count() == 1

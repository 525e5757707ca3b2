"""State changes that take effect once when the same request arrives twice at the same moment.

A double click is two requests on two connections: each test here sends both at once from two
threads (``tests/concurrency.py``), through the pages with a test client where a person would
click, through the service where a script would call it, on committed data in PostgreSQL. After
each: the change happened exactly once (one batch, one snapshot, one approval, grades advanced one
step, the audit written once), and the repeat got a Chinese answer, not a 500.

Some tests widen the race window — a pause inside the service after its own checks — so that both
requests are surely past those checks before either commits; they pass with real timing as well.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from eduplatform.core.errors import RecordInvalid
from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.staff import selectors as staff_selectors
from eduplatform.staff import services as staff_services
from eduplatform.staff import transfers as staff_transfers
from eduplatform.staff.models import StaffMember, StaffTransfer, TransferStatus
from eduplatform.stats import snapshots
from eduplatform.stats.models import Snapshot
from eduplatform.students import approvals, importing, promotion, services
from eduplatform.students.models import (
    ChangeRequest,
    ChangeRequestStep,
    Enrolment,
    EventKind,
    PromotionBatch,
    RequestStatus,
    StudentEvent,
)
from eduplatform.students.selectors import steps_of
from tests.census_support import signed_off
from tests.concurrency import committing, postgres_only, run_concurrently
from tests.staff_support import staff_row
from tests.students_support import second_primary_in_county_a, student_row, xlsx_file
from tests.world import World, build_world

pytestmark = [committing, postgres_only]

TODAY = dt.date(2026, 3, 2)
GRADUATION = dt.date(2026, 7, 10)
PAUSE = 0.5  # seconds the first request waits inside the service, its checks done, before writing


@pytest.fixture
def committed_world(transactional_db) -> World:
    return build_world()


def widen(monkeypatch, module, name: str) -> None:
    """Pause after ``module.name`` returns: both requests pass the code before it before either commits."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(PAUSE)
        return result

    monkeypatch.setattr(module, name, slow)


def signed_in(world: World, user: str) -> Client:
    client = Client()
    client.force_login(world.user(user))
    return client


def once_token(page: str) -> str:
    """The form's one-time token ("" on a page without one: the pages before the token existed)."""
    found = re.search(r'name="once_token" value="([^"]+)"', page)
    return found.group(1) if found else ""


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def unplaced_first_graders(world: World, count: int) -> list[Enrolment]:
    """Grade-1 pupils of school A1 without a class: a second promotion would move them again."""
    clerk = world.user("clerk_a1")
    return [services.enrol_student(actor=clerk, school=world.school_a1, today=TODAY,
                                   data=student_row(i, class_number="")) for i in range(1, count + 1)]


def grades_of(enrolments: list[Enrolment]) -> list[str]:
    return sorted(Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).values_list("grade", flat=True))


# --------------------------------------------------------------------------------------------
# Year-end promotion


def test_a_double_clicked_promotion_promotes_once(committed_world, monkeypatch):
    world = committed_world
    pupils = unplaced_first_graders(world, 4)
    widen(monkeypatch, promotion, "_overlapping_batches")
    params = {"from_year": "2025", "graduation_date": GRADUATION.isoformat()}
    clicks = [signed_in(world, "clerk_a1") for _ in range(2)]
    token = once_token(clicks[0].get("/students/promotion/preview/", params).content.decode())
    feed_before = ChangeFeedEntry.objects.filter(resource="student").count()

    def click(client: Client):
        return client.post("/students/promotion/execute/", {**params, "confirm": "yes", "once_token": token})

    responses = run_concurrently(*[lambda c=c: click(c) for c in clicks])

    assert grades_of(pupils) == ["12"] * 4  # 一年级 → 二年级, once (not 三年级)
    assert PromotionBatch.objects.count() == 1
    assert AuditEntry.objects.filter(object_type="students.promotion", note="执行学年升级").count() == 1
    assert ChangeFeedEntry.objects.filter(resource="student").count() - feed_before == 4
    assert all(r.status_code == 302 and r["Location"] == "/students/promotion/" for r in responses)
    messages = sorted(m for r in responses for m in said(r))
    assert any("升级已完成" in m for m in messages)
    assert any("请勿重复提交" in m for m in messages), messages


def promoting(world, user: str, **where):
    """A callable for a thread: ``user`` promotes ``where`` (region_path= or school=) once; the
    batch, or the refusal the service raised."""
    def run():
        actor = world.user(user)
        scope = promotion.promotion_scope(actor, **where)
        try:
            return promotion.execute_promotion(actor=actor, scope=scope, from_year=2025, graduation_date=GRADUATION)
        except RecordInvalid as refused:
            return refused

    return run


def test_the_same_promotion_called_twice_by_a_script_runs_once(committed_world, monkeypatch):
    """No form, no token: the service's own lock and the one-live-batch constraint decide."""
    world = committed_world
    pupils = unplaced_first_graders(world, 3)
    widen(monkeypatch, promotion, "_overlapping_batches")

    run = promoting(world, "county_a_stat", region_path=world.county_a.region_path)
    outcomes = run_concurrently(run, run)

    assert grades_of(pupils) == ["12"] * 3
    assert PromotionBatch.objects.count() == 1
    (refused,) = [o for o in outcomes if not isinstance(o, PromotionBatch)]
    assert "已由 county_a_stat（county_a_stat） 于" in str(refused) and "无需重复操作" in str(refused)


def test_a_county_and_one_of_its_schools_promoting_at_once_move_each_pupil_once(committed_world, monkeypatch):
    """Overlapping scopes: whichever commits first, the other either leaves the school out (the
    county's run) or is refused (the school's run) — no pupil moves two grades."""
    world = committed_world
    pupils = unplaced_first_graders(world, 3)
    widen(monkeypatch, promotion, "_overlapping_batches")

    county = promoting(world, "county_a_stat", region_path=world.county_a.region_path)
    school = promoting(world, "clerk_a1", school=world.school_a1)

    run_concurrently(county, school)

    assert grades_of(pupils) == ["12"] * 3
    assert sum(b.promoted for b in PromotionBatch.objects.all()) == 3


def test_a_double_clicked_undo_restores_once_and_says_so(committed_world):
    world = committed_world
    pupils = unplaced_first_graders(world, 3)
    actor = world.user("clerk_a1")
    batch = promotion.execute_promotion(actor=actor, scope=promotion.promotion_scope(actor, school=world.school_a1),
                                        from_year=2025, graduation_date=GRADUATION)
    clicks = [signed_in(world, "clerk_a1") for _ in range(2)]
    token = once_token(clicks[0].get("/students/promotion/").content.decode())

    responses = run_concurrently(*[
        lambda c=c: c.post(f"/students/promotion/batches/{batch.pk}/undo/", {"confirm": "yes", "once_token": token})
        for c in clicks])

    assert grades_of(pupils) == ["11"] * 3
    batch.refresh_from_db()
    assert batch.undone_at is not None
    assert AuditEntry.objects.filter(object_type="students.promotion", note="撤销学年升级").count() == 1
    messages = [m for r in responses for m in said(r)]
    assert any(m.startswith("已撤销") for m in messages)
    assert any("请勿重复提交" in m or "无需重复操作" in m for m in messages), messages


def test_undo_called_twice_by_a_script_undoes_once(committed_world):
    world = committed_world
    unplaced_first_graders(world, 2)
    actor = world.user("clerk_a1")
    batch = promotion.execute_promotion(actor=actor, scope=promotion.promotion_scope(actor, school=world.school_a1),
                                        from_year=2025, graduation_date=GRADUATION)

    def undo():
        try:
            return promotion.undo_promotion(actor=world.user("clerk_a1"), batch=batch)
        except RecordInvalid as refused:
            return refused

    outcomes = run_concurrently(undo, undo)

    (refused,) = [o for o in outcomes if not isinstance(o, PromotionBatch)]
    assert "已由 clerk_a1（clerk_a1） 于" in str(refused) and "撤销，无需重复操作" in str(refused)
    assert AuditEntry.objects.filter(object_type="students.promotion", note="撤销学年升级").count() == 1


# --------------------------------------------------------------------------------------------
# Approvals


def test_a_double_clicked_transfer_approval_moves_the_student_once(committed_world):
    world = committed_world
    receiving = second_primary_in_county_a()
    enrolment = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1))
    change = approvals.apply_transfer(actor=world.user("county_a_stat"), to_school=receiving, enrolment=enrolment,
                                      to_grade="11", effective_on=timezone.localdate(), reason="就近入学")
    confirm, review = steps_of(change)
    approvals.decide(actor=world.user("clerk_a1"), step=confirm, approve=True)
    clicks = [signed_in(world, "county_a_reviewer") for _ in range(2)]

    responses = run_concurrently(*[
        lambda c=c: c.post(f"/students/requests/{change.pk}/decide/", {"decision": "approve"}) for c in clicks])

    student = enrolment.student
    assert list(Enrolment.objects.filter(student=student, is_active=True).values_list("school", flat=True)) == [receiving.pk]
    assert Enrolment.objects.filter(student=student).count() == 2  # the old registration and one new
    assert StudentEvent.objects.filter(student=student, kind=EventKind.TRANSFER_IN).count() == 1
    assert AuditEntry.objects.filter(object_type="students.student", note__startswith="转学生效").count() == 2  # a side each
    assert ChangeRequest.objects.get().status == RequestStatus.APPROVED
    assert ChangeRequestStep.objects.get(pk=review.pk).decided_by == "county_a_reviewer（county_a_reviewer）"
    assert all(r.status_code == 302 for r in responses), [r.status_code for r in responses]
    messages = [m for r in responses for m in said(r)]
    assert any("已同意" in m for m in messages)
    repeat = next(m for m in messages if "无需重复操作" in m)
    assert "已由 county_a_reviewer（county_a_reviewer） 于" in repeat and "同意" in repeat


def test_a_double_clicked_staff_transfer_approval_opens_one_new_post(committed_world):
    world = committed_world
    staff = staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1), today=TODAY)
    transfer = staff_transfers.apply_transfer(actor=world.user("county_a_stat"), to_unit=world.school_a2, staff=staff,
                                              effective_on=TODAY, reason="支教")
    confirm, review = staff_selectors.steps_of(transfer)
    staff_transfers.decide(actor=world.user("clerk_a1"), step=confirm, approve=True)
    clicks = [signed_in(world, "county_a_reviewer") for _ in range(2)]

    responses = run_concurrently(*[
        lambda c=c: c.post(f"/staff/transfers/{transfer.pk}/decide/", {"decision": "approve"}) for c in clicks])

    posts = StaffMember.objects.filter(id_number_index=staff.id_number_index)
    assert posts.count() == 2 and list(posts.filter(is_active=True).values_list("unit", flat=True)) == [world.school_a2.pk]
    assert StaffTransfer.objects.get().status == TransferStatus.APPROVED
    assert all(r.status_code == 302 for r in responses), [r.status_code for r in responses]
    repeat = next(m for r in responses for m in said(r) if "无需重复操作" in m)
    assert "调动申请" in repeat and "已由 county_a_reviewer（county_a_reviewer） 于" in repeat


def test_a_double_clicked_withdrawal_withdraws_once(committed_world):
    world = committed_world
    receiving = second_primary_in_county_a()
    enrolment = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1))
    change = approvals.apply_transfer(actor=world.user("county_a_stat"), to_school=receiving, enrolment=enrolment,
                                      to_grade="11", effective_on=timezone.localdate(), reason="就近入学")

    def withdraw():
        try:
            return approvals.withdraw(actor=world.user("county_a_stat"), request=change, reason="家长改变主意")
        except RecordInvalid as refused:
            return refused

    outcomes = run_concurrently(withdraw, withdraw)

    assert ChangeRequest.objects.get().status == RequestStatus.WITHDRAWN
    assert AuditEntry.objects.filter(object_type="students.request", note__startswith="撤回申请").count() == 1
    (refused,) = [o for o in outcomes if not isinstance(o, ChangeRequest)]
    assert "撤回，无需重复操作" in str(refused)


# --------------------------------------------------------------------------------------------
# Census snapshots


def test_a_double_clicked_snapshot_form_takes_one_snapshot(committed_world, monkeypatch):
    world = committed_world
    services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1))
    widen(monkeypatch, snapshots, "process_dirty")
    clicks = [signed_in(world, "province") for _ in range(2)]
    token = once_token(clicks[0].get("/statistics/snapshots/").content.decode())
    form = {"census_date": timezone.localdate().isoformat(), "title": "", "note": "", "once_token": token}

    responses = run_concurrently(*[lambda c=c: c.post("/statistics/snapshots/", form) for c in clicks])

    (snapshot,) = Snapshot.objects.all()
    assert snapshot.version == 1 and snapshot.totals["students"] == 1
    assert AuditEntry.objects.filter(object_type="stats.snapshot", note__startswith="生成统计快照").count() == 1
    assert [r["Location"] for r in responses] == [f"/statistics/snapshots/{snapshot.pk}/"] * 2
    messages = [m for r in responses for m in said(r)]
    assert any(m.startswith("已生成") for m in messages)
    assert any("该操作已提交，请勿重复提交" in m for m in messages), messages


def test_the_snapshot_command_run_twice_at_once_takes_one_snapshot(committed_world, monkeypatch):
    """The scheduler's command is once per census date: a second run, even a simultaneous one on
    another machine, finds the first's snapshot (inside the lock) and takes none."""
    widen(monkeypatch, snapshots, "process_dirty")
    outputs = [io.StringIO(), io.StringIO()]

    run_concurrently(*[lambda out=out: call_command("take_snapshot", "--user", "province", stdout=out)
                       for out in outputs])

    assert Snapshot.objects.count() == 1
    said_by_runs = sorted(out.getvalue() for out in outputs)
    assert any(s.startswith("已生成") for s in said_by_runs)
    assert any("未重复生成" in s for s in said_by_runs), said_by_runs
    # A new version is still possible when asked for.
    call_command("take_snapshot", "--user", "province", "--new-version", stdout=io.StringIO())
    assert sorted(Snapshot.objects.values_list("version", flat=True)) == [1, 2]


def test_a_double_clicked_publication_publishes_once(committed_world):
    world = committed_world
    snapshot = signed_off(snapshots.take_snapshot(actor=world.user("province"), census_date=timezone.localdate()),
                          actor=world.user("province"))
    clicks = [signed_in(world, "province") for _ in range(2)]

    responses = run_concurrently(*[lambda c=c: c.post(f"/statistics/snapshots/{snapshot.pk}/publish/", {"confirmed": "yes"})
                                   for c in clicks])

    snapshot.refresh_from_db()
    assert snapshot.published_at is not None and snapshot.published_by == "province（province）"
    assert AuditEntry.objects.filter(object_type="stats.snapshot", note__startswith="公布统计数据").count() == 1
    messages = [m for r in responses for m in said(r)]
    assert any(m.startswith("已公布") for m in messages)
    assert any("已由 province（province） 于" in m and "无需重复操作" in m for m in messages), messages


# --------------------------------------------------------------------------------------------
# Imports


def test_a_checked_file_committed_twice_at_once_is_imported_once(committed_world):
    world = committed_world
    headers = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月"]
    fields = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number", "entered_on"]
    upload = io.BytesIO(xlsx_file(headers, [[r[f] for f in fields] for r in (student_row(1), student_row(3))]))
    upload.name = "新生.xlsx"
    clicks = [signed_in(world, "clerk_a1") for _ in range(2)]
    clicks[0].post("/students/import/", {"file": upload, "mode": ImportMode.DRY_RUN})
    dry = importing.run_student_import(ImportJob.objects.get().pk)
    assert dry.status == JobStatus.DONE

    responses = run_concurrently(*[lambda c=c: c.post(f"/students/import/{dry.pk}/commit/") for c in clicks])

    (real,) = ImportJob.objects.exclude(pk=dry.pk)
    assert real.mode == ImportMode.ALL_OR_NOTHING
    assert [r["Location"] for r in responses] == [f"/students/import/{real.pk}/"] * 2
    assert any("该文件的正式导入已提交，请勿重复提交" in m for r in responses for m in said(r))
    # And later, from the page still open: the same answer, no second job.
    later = clicks[1].post(f"/students/import/{dry.pk}/commit/")
    assert later["Location"] == f"/students/import/{real.pk}/" and ImportJob.objects.count() == 2


# --------------------------------------------------------------------------------------------
# Schools


def test_a_school_closed_twice_at_once_is_closed_once(committed_world):
    from eduplatform.orgs import services as orgs
    from eduplatform.orgs.models import OrganizationVersion

    world = committed_world
    school = world.school_a1

    def close():
        try:
            return orgs.close_school(actor=world.user("county_a_stat"), school=school, closed_on="2025-07-31",
                                     reason="撤并")
        except RecordInvalid as refused:
            return refused

    outcomes = run_concurrently(close, close)

    (refused,) = [o for o in outcomes if isinstance(o, RecordInvalid)]
    assert "无需重复操作" in str(refused)
    assert AuditEntry.objects.filter(object_type="orgs.school", object_id=str(school.pk), note="撤并").count() == 1
    assert OrganizationVersion.objects.filter(organization=school, is_open=False).count() == 1


# --------------------------------------------------------------------------------------------
# Funding rates


def test_a_double_clicked_rate_revision_writes_one_version(committed_world):
    from eduplatform.funding.models import FundingRateSet

    world = committed_world
    versions_before = FundingRateSet.objects.filter(year=2026).count()  # the demo defaults
    clicks = [signed_in(world, "province") for _ in range(2)]
    token = once_token(clicks[0].get("/statistics/funding/rates/").content.decode())
    form = {"year": "2026", "basis": "页面录入", "note": "学前定额上调", "1.per_student": "520", "1.source": "测试",
            "once_token": token}

    responses = run_concurrently(*[lambda c=c: c.post("/statistics/funding/rates/", form) for c in clicks])

    assert FundingRateSet.objects.filter(year=2026).count() == versions_before + 1
    assert all(r.status_code == 302 for r in responses), [r.status_code for r in responses]
    assert any("请勿重复提交" in m for r in responses for m in said(r))


def test_the_same_rate_revision_sent_twice_by_a_script_writes_one_version(committed_world):
    from eduplatform.funding import services as funding
    from eduplatform.funding.models import FundingRateSet
    from eduplatform.orgs.stages import Stage

    world = committed_world
    versions_before = FundingRateSet.objects.filter(year=2026).count()
    rates = [{"stage": int(Stage.PRESCHOOL), "per_student": "520", "source": "测试"}]

    def revise():
        try:
            return funding.revise_rates(actor=world.user("province"), year=2026, rates=rates, basis="脚本录入",
                                        note="学前定额上调")
        except RecordInvalid as refused:
            return refused

    outcomes = run_concurrently(revise, revise)

    assert FundingRateSet.objects.filter(year=2026).count() == versions_before + 1
    (refused,) = [o for o in outcomes if isinstance(o, RecordInvalid)]
    assert "相同，未生成新版本" in str(refused)

"""Forms, tasks, entry and the review chain (issue 14): rules block or need explanations, a rejected
explanation returns the submission, a region is approved only when everything below it is, approval
locks and unapproval unlocks, a stale auto-save is refused, every step is in the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry
from eduplatform.reporting import selectors, services
from eduplatform.reporting.models import (
    CollectionTask,
    FormVersionStatus,
    RegionApproval,
    ReviewAction,
    Submission,
    SubmissionStatus,
    TaskStatus,
)
from tests.reporting_support import (
    GZ,
    TIANHE,
    YUEXIU,
    clerk_for,
    fill,
    fill_and_submit,
    form_definition,
    needs_engine,
    open_gz_task,
    published_form,
    submission,
)
from tests.world import World

pytestmark = [pytest.mark.django_db, needs_engine]

GOOD = {"T1.R1.C1": "10", "T1.R2.C1": "4", "T1.R1.C2": "120.5"}


def codes(exc: RecordInvalid) -> set[str]:
    return {p.code for p in exc.problems}


def approve_all_tianhe(world: World, task) -> None:
    """Every 天河 school reports and the county approves each submission."""
    reviewer = world.user("county_a_reviewer")
    for school, clerk in ((world.school_a1, world.user("clerk_a1")), (world.school_a2, clerk_for(world.school_a2, "clerk_a2")),
                          (world.college_a, clerk_for(world.college_a, "clerk_college"))):
        sub = fill_and_submit(clerk, submission(task, school), GOOD)
        services.review_submission(actor=reviewer, submission=sub, decision="approve")


# ------------------------------------------------------------------------------------------
# Forms


def test_published_version_never_changes_and_a_new_draft_is_the_next_version(world: World):
    officer = world.user("province")
    version = published_form(world)
    assert version.status == FormVersionStatus.PUBLISHED and version.version == 1
    changed = form_definition()
    changed["title"] = "教师培训情况（修订）"
    draft = services.save_form_draft(actor=officer, code="JC442", definition=changed)
    assert draft.version == 2 and draft.status == FormVersionStatus.DRAFT
    version.refresh_from_db()
    assert version.definition["title"] == "教师培训情况"
    again = services.save_form_draft(actor=officer, code="JC442", definition=form_definition())
    assert again.pk == draft.pk  # the draft is edited in place until published
    with pytest.raises(RecordInvalid) as exc:
        services.publish_form_version(actor=officer, version=version)
    assert "已发布的版本不能修改" in str(exc.value)


def test_form_json_round_trips_through_import(world: World):
    officer = world.user("province")
    version = published_form(world)
    exported = selectors.form_json(officer, version)
    exported["code"] = "JC443"
    imported = services.import_form_json(actor=officer, data=exported)
    assert imported.form.code == "JC443" and imported.definition["tables"] == version.definition["tables"]
    with pytest.raises(RecordInvalid) as exc:
        services.import_form_json(actor=officer, data={"title": "无表号"})
    assert "缺少表号" in str(exc.value)


def test_only_a_form_designer_saves_forms(world: World):
    with pytest.raises(NotPermitted):
        services.save_form_draft(actor=world.user("county_a_stat"), code="JC442", definition=form_definition())


# ------------------------------------------------------------------------------------------
# Tasks


def test_open_task_creates_one_submission_per_target_school(world: World):
    task = open_gz_task(world)
    targets = set(Submission.objects.filter(task=task).values_list("school_id", flat=True))
    assert targets == {world.school_a1.pk, world.school_a2.pk, world.college_a.pk, world.school_b1.pk}
    assert task.status == TaskStatus.OPEN
    assert ReviewAction.objects.filter(task=task, action="open", detail__schools=4).exists()
    # The prefilled cell holds the school's figure from the records (no students: 0), also as its value.
    sub = submission(task, world.school_a1)
    assert sub.prefill == {"T1.R1.C3": "0"} and sub.values["T1.R1.C3"] == "0"


def test_targets_by_school_type_and_stage(world: World):
    from eduplatform.orgs.stages import Stage

    task = open_gz_task(world, targets={"regions": [TIANHE], "school_types": ["21"]}, title="小学")
    assert set(Submission.objects.filter(task=task).values_list("school_id", flat=True)) == {world.school_a1.pk}
    task = open_gz_task(world, version=task.form_version, targets={"stage_mask": int(Stage.PRESCHOOL)}, title="幼儿园")
    assert set(Submission.objects.filter(task=task).values_list("school_id", flat=True)) == {world.school_a2.pk}


def test_review_levels_must_end_at_the_owner_level(world: World):
    with pytest.raises(RecordInvalid) as exc:
        services.create_task(actor=world.user("province"), title="t", period="2026", form_version=published_form(world),
                             deadline=timezone.localdate(), targets={}, review_levels=["county", "city"])
    assert "task.levels_top" in codes(exc.value)


def test_a_closed_task_takes_no_entry_until_reopened_for_the_school(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    services.close_task(actor=world.user("province"), task=task)
    with pytest.raises(RecordInvalid) as exc:
        fill(clerk, submission(task, world.school_a1), GOOD)
    assert "task.closed" in codes(exc.value)
    with pytest.raises(RecordInvalid):
        services.reopen_for_school(actor=world.user("province"), task=task, school=world.school_a1, reason="")
    services.reopen_for_school(actor=world.user("province"), task=task, school=world.school_a1, reason="补报")
    assert fill(clerk, submission(task, world.school_a1), GOOD).status == SubmissionStatus.DRAFT


def test_deadline_reminder_is_sent_once_per_task(world: World):
    task = open_gz_task(world, deadline=timezone.localdate() + dt.timedelta(days=2))
    later = open_gz_task(world, version=task.form_version, deadline=timezone.localdate() + dt.timedelta(days=20),
                         title="later")
    assert [t.pk for t in services.remind_due_tasks()] == [task.pk]
    assert services.remind_due_tasks() == []
    remind = ReviewAction.objects.get(task=task, action="remind")
    assert remind.detail == {"pending": 4}
    assert not ReviewAction.objects.filter(task=later, action="remind").exists()


# ------------------------------------------------------------------------------------------
# Entry


def test_hard_rule_failure_blocks_submit_naming_rule_and_cells(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    sub = fill(clerk, submission(task, world.school_a1), {"T1.R1.C1": "3", "T1.R2.C1": "5"})
    assert sub.values["T1.R3.C1"] == "-2"  # computed
    with pytest.raises(RecordInvalid) as exc:
        services.submit(actor=clerk, submission=sub)
    hard = [p for p in exc.value.problems if p.code == "rule.hard"]
    assert len(hard) == 1 and "V1" in hard[0].message and "T1.R2.C1" in hard[0].message
    assert "女教师参加培训人数不能大于合计" in hard[0].message
    assert submission(task, world.school_a1).status == SubmissionStatus.DRAFT
    services.submit(actor=clerk, submission=fill(clerk, sub, {"T1.R2.C1": "2"}))
    assert submission(task, world.school_a1).status == SubmissionStatus.SUBMITTED


def test_failing_soft_rule_needs_an_explanation(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    sub = fill(clerk, submission(task, world.school_a1), {**GOOD, "T1.R1.C2": "1500"})
    with pytest.raises(RecordInvalid) as exc:
        services.submit(actor=clerk, submission=sub)
    assert codes(exc.value) == {"rule.soft_unexplained"} and "E1" in str(exc.value)
    sub = fill(clerk, sub, {}, {"E1": "本年度集中开展了全员轮训"})
    assert services.submit(actor=clerk, submission=sub).status == SubmissionStatus.SUBMITTED
    assert ReviewAction.objects.get(submission=sub, action="submit").detail["soft_explained"] == ["E1"]


def test_a_changed_prefilled_cell_needs_an_explanation(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    sub = fill(clerk, submission(task, world.school_a1), {**GOOD, "T1.R1.C3": "7"})
    with pytest.raises(RecordInvalid) as exc:
        services.submit(actor=clerk, submission=sub)
    assert codes(exc.value) == {"prefill.unexplained"} and "T1.R1.C3" in str(exc.value)
    sub = fill(clerk, sub, {}, {"T1.R1.C3": "学籍系统尚未录入新生"})
    assert services.submit(actor=clerk, submission=sub).status == SubmissionStatus.SUBMITTED


def test_a_value_of_the_wrong_type_is_refused_and_nothing_is_saved(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    sub = fill(clerk, submission(task, world.school_a1), GOOD)
    with pytest.raises(RecordInvalid) as exc:
        fill(clerk, sub, {"T1.R1.C1": "十个"})
    assert [p.field for p in exc.value.problems] == ["T1.R1.C1"]
    assert submission(task, world.school_a1).values["T1.R1.C1"] == "10"
    with pytest.raises(RecordInvalid):
        fill(clerk, sub, {"T9.R1.C1": "1"})


def test_stale_auto_save_is_refused_and_the_newer_save_kept(world: World):
    task = open_gz_task(world)
    clerk = world.user("clerk_a1")
    page = submission(task, world.school_a1)  # two browser tabs read the same version
    seen = page.lock_version
    services.save_entry(actor=clerk, submission=page, values={"T1.R1.C1": "10"}, explanations={}, lock_version=seen)
    with pytest.raises(RecordInvalid) as exc:
        services.save_entry(actor=clerk, submission=page, values={"T1.R1.C1": "99"}, explanations={}, lock_version=seen)
    assert codes(exc.value) == {"report.stale"} and "未生效" in str(exc.value)
    assert submission(task, world.school_a1).values["T1.R1.C1"] == "10"


def test_school_clerk_fills_only_its_own_school(world: World):
    task = open_gz_task(world)
    with pytest.raises(OutOfScope):
        fill(world.user("clerk_a1"), submission(task, world.school_b1), GOOD)
    with pytest.raises(NotPermitted):
        fill(world.user("county_a_stat"), submission(task, world.school_a1), GOOD)


# ------------------------------------------------------------------------------------------
# Review


def test_rejected_explanation_returns_the_submission_with_that_reason(world: World):
    task = open_gz_task(world)
    clerk, reviewer = world.user("clerk_a1"), world.user("county_a_reviewer")
    sub = fill_and_submit(clerk, submission(task, world.school_a1), {**GOOD, "T1.R1.C2": "1500"},
                          {"E1": "本年度集中开展了全员轮训"})
    sub = services.review_submission(actor=reviewer, submission=sub, decision="approve",
                                     verdicts={"E1": {"accepted": False, "reason": "轮训学时应不超过 800"}})
    assert sub.status == SubmissionStatus.RETURNED
    assert "轮训学时应不超过 800" in sub.return_reason
    assert "轮训学时应不超过 800" in sub.return_cells["T1.R1.C2"]
    assert sub.verdicts["E1"] == {"accepted": False, "reason": "轮训学时应不超过 800"}
    actions = list(ReviewAction.objects.filter(submission=sub).values_list("action", flat=True))
    assert actions[-2:] == ["verdict", "return"]
    # Corrected and submitted again, it is approved.
    sub = fill_and_submit(clerk, sub, {"T1.R1.C2": "800"})
    assert services.review_submission(actor=reviewer, submission=sub, decision="approve").status == SubmissionStatus.APPROVED


def test_return_needs_a_reason_and_keeps_per_cell_reasons(world: World):
    task = open_gz_task(world)
    sub = fill_and_submit(world.user("clerk_a1"), submission(task, world.school_a1), GOOD)
    reviewer = world.user("county_a_stat")
    with pytest.raises(RecordInvalid) as exc:
        services.review_submission(actor=reviewer, submission=sub, decision="return")
    assert "review.reason" in codes(exc.value)
    sub = services.review_submission(actor=reviewer, submission=sub, decision="return", reason="数据有误",
                                     cell_reasons={"T1.R2.C1": "女教师人数与人事系统不符"})
    assert sub.status == SubmissionStatus.RETURNED and sub.return_cells == {"T1.R2.C1": "女教师人数与人事系统不符"}
    action = ReviewAction.objects.get(submission=sub, action="return")
    assert action.reason == "数据有误" and action.detail["cells"] == {"T1.R2.C1": "女教师人数与人事系统不符"}


def test_another_county_cannot_review_and_the_city_cannot_approve_a_school(world: World):
    task = open_gz_task(world)
    sub = fill_and_submit(world.user("clerk_a1"), submission(task, world.school_a1), GOOD)
    with pytest.raises(OutOfScope):
        services.review_submission(actor=world.user("county_b_stat"), submission=sub, decision="approve")
    with pytest.raises(NotPermitted):
        services.review_submission(actor=world.user("city_stat"), submission=sub, decision="approve")
    # The city may send it back while nothing above the school is approved.
    assert services.review_submission(actor=world.user("city_stat"), submission=sub, decision="return",
                                      reason="请核实").status == SubmissionStatus.RETURNED


def test_county_cannot_approve_until_all_schools_are_approved_or_zero_reported(world: World):
    task = open_gz_task(world)
    county, reviewer = world.user("county_a_stat"), world.user("county_a_reviewer")
    sub = fill_and_submit(world.user("clerk_a1"), submission(task, world.school_a1), GOOD)
    services.review_submission(actor=reviewer, submission=sub, decision="approve")
    with pytest.raises(RecordInvalid) as exc:
        services.approve_region(actor=county, task=task, region_path=TIANHE)
    assert "2 所学校" in str(exc.value)
    zero = services.report_zero(actor=clerk_for(world.school_a2, "clerk_a2"), submission=submission(task, world.school_a2),
                                reason="本园无专任教师参加培训")
    college = fill_and_submit(clerk_for(world.college_a, "clerk_college"), submission(task, world.college_a), GOOD)
    services.review_submission(actor=reviewer, submission=college, decision="approve")
    with pytest.raises(RecordInvalid):  # the zero report is not approved yet
        services.approve_region(actor=county, task=task, region_path=TIANHE)
    services.review_submission(actor=reviewer, submission=zero, decision="approve")
    approval = services.approve_region(actor=county, task=task, region_path=TIANHE)
    assert approval.level == "county"
    # The city waits for 越秀 too; the province for the city.
    with pytest.raises(RecordInvalid) as exc:
        services.approve_region(actor=world.user("city_stat"), task=task, region_path=GZ)
    assert "越秀" in str(exc.value) or "1 所学校" in str(exc.value)


def test_only_the_region_own_bureau_approves_it(world: World):
    task = open_gz_task(world)
    approve_all_tianhe(world, task)
    with pytest.raises(NotPermitted):
        services.approve_region(actor=world.user("city_stat"), task=task, region_path=TIANHE)
    with pytest.raises(NotPermitted):
        services.approve_region(actor=world.user("county_b_stat"), task=task, region_path=TIANHE)


def test_approval_locks_the_schools_data_and_unapproval_unlocks_it(world: World):
    task = open_gz_task(world)
    approve_all_tianhe(world, task)
    county, reviewer, clerk = world.user("county_a_stat"), world.user("county_a_reviewer"), world.user("clerk_a1")
    services.approve_region(actor=county, task=task, region_path=TIANHE)
    sub = submission(task, world.school_a1)
    for attempt in (
        lambda: services.unapprove_submission(actor=reviewer, submission=sub, reason="发现错误"),
        lambda: services.reopen_for_school(actor=world.user("province"), task=task, school=world.school_a1, reason="补报"),
        lambda: services.review_submission(actor=world.user("city_stat"), submission=sub, decision="return", reason="x"),
    ):
        with pytest.raises(RecordInvalid) as exc:
            attempt()
        assert exc.value.problems[0].code in {"report.locked", "review.decided"}
        assert "天河区" in str(exc.value) or "已由" in str(exc.value)
    assert submission(task, world.school_a1).status == SubmissionStatus.APPROVED
    with pytest.raises(RecordInvalid):
        fill(clerk, sub, GOOD)

    # The city approves 越秀 … no: 越秀 is not complete. The city may not unapprove without a reason.
    with pytest.raises(RecordInvalid):
        services.unapprove_region(actor=world.user("city_stat"), task=task, region_path=TIANHE, reason="")
    services.unapprove_region(actor=world.user("city_stat"), task=task, region_path=TIANHE, reason="请复核女教师人数")
    assert not RegionApproval.objects.filter(task=task, region_path=TIANHE).exists()
    sub = services.unapprove_submission(actor=reviewer, submission=sub, reason="复核")
    sub = services.review_submission(actor=reviewer, submission=sub, decision="return", reason="请复核女教师人数")
    assert fill(clerk, sub, {"T1.R2.C1": "3"}).values["T1.R2.C1"] == "3"
    unapprove = ReviewAction.objects.get(task=task, action="unapprove", submission__isnull=True)
    assert unapprove.reason == "请复核女教师人数" and unapprove.region_path == TIANHE


def test_a_node_under_an_approved_node_cannot_be_unapproved(world: World):
    task = open_gz_task(world, targets={"regions": [TIANHE]}, title="天河")
    approve_all_tianhe(world, task)
    services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE)
    services.approve_region(actor=world.user("city_stat"), task=task, region_path=GZ)
    services.approve_region(actor=world.user("province"), task=task, region_path="44/")
    with pytest.raises(RecordInvalid) as exc:
        services.unapprove_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE, reason="x")
    assert "须先由上级撤销审核" in str(exc.value)
    with pytest.raises(RecordInvalid):
        services.unapprove_region(actor=world.user("city_stat"), task=task, region_path=GZ, reason="x")
    services.unapprove_region(actor=world.user("province"), task=task, region_path="44/", reason="复核")
    services.unapprove_region(actor=world.user("city_stat"), task=task, region_path=GZ, reason="复核")
    services.unapprove_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE, reason="复核")
    assert not RegionApproval.objects.filter(task=task).exists()


def test_every_step_is_in_the_review_history_and_the_audit_log(world: World):
    task = open_gz_task(world, targets={"regions": [TIANHE]}, title="天河")
    approve_all_tianhe(world, task)
    services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE)
    kinds = list(ReviewAction.objects.filter(task=task).values_list("action", flat=True))
    assert kinds[0] == "open" and kinds.count("save") == 3 and kinds.count("submit") == 3
    assert kinds.count("approve") == 4 and kinds[-1] == "approve"
    audited = AuditEntry.objects.filter(object_type__startswith="reporting.")
    assert audited.filter(object_type="reporting.submission").count() == 9  # 3 × (save, submit, approve)
    assert audited.filter(note__contains="县（区）级审核通过").exists()
    assert all(a.by for a in ReviewAction.objects.filter(task=task).exclude(action="open"))


def test_census_task_province_approval_signs_the_snapshot_off_and_withdrawal_takes_it_back(world: World):
    from eduplatform.stats.snapshots import publish_snapshot, take_snapshot

    officer = world.user("province")
    snapshot = take_snapshot(actor=officer, census_date=timezone.localdate())
    task = services.create_task(actor=officer, title="2026年统计时点数据确认", period="2026", kind="census",
                                snapshot=snapshot, deadline=timezone.localdate() + dt.timedelta(days=5),
                                targets={"regions": [TIANHE]}, review_levels=["county", "city", "province"])
    task = services.open_task(actor=officer, task=task)
    reviewer = world.user("county_a_reviewer")
    for school, clerk in ((world.school_a1, world.user("clerk_a1")), (world.school_a2, clerk_for(world.school_a2, "clerk_a2")),
                          (world.college_a, clerk_for(world.college_a, "clerk_college"))):
        sub = services.submit(actor=clerk, submission=submission(task, school))  # the school confirms
        services.review_submission(actor=reviewer, submission=sub, decision="approve")
    services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE)
    services.approve_region(actor=world.user("city_stat"), task=task, region_path=GZ)
    snapshot.refresh_from_db()
    assert snapshot.signed_off_at is None
    with pytest.raises(RecordInvalid) as exc:  # the city has approved, the province not yet
        publish_snapshot(actor=officer, snapshot=snapshot)
    assert "snapshot.not_signed_off" in codes(exc.value)
    services.approve_region(actor=officer, task=task, region_path="44/")
    snapshot.refresh_from_db()
    assert snapshot.signed_off_at is not None
    services.unapprove_region(actor=officer, task=task, region_path="44/", reason="福田数据待核")
    snapshot.refresh_from_db()
    assert snapshot.signed_off_at is None
    with pytest.raises(RecordInvalid):
        publish_snapshot(actor=officer, snapshot=snapshot)
    services.approve_region(actor=officer, task=task, region_path="44/")
    assert publish_snapshot(actor=officer, snapshot=snapshot).published_at is not None


def test_tasks_and_submissions_are_read_in_scope(world: World):
    task = open_gz_task(world, targets={"regions": [YUEXIU]}, title="越秀")
    assert list(selectors.tasks_for(world.user("clerk_b1"))) == [task]
    assert list(selectors.tasks_for(world.user("clerk_a1"))) == []
    assert list(selectors.tasks_for(world.user("county_a_stat"))) == []
    assert list(selectors.tasks_for(world.user("city_stat"))) == [task]
    draft = services.create_task(actor=world.user("province"), title="未下发", period="2026",
                                 form_version=task.form_version, deadline=timezone.localdate(), targets={},
                                 review_levels=["county", "city", "province"])
    assert draft in selectors.tasks_for(world.user("province")) and draft not in selectors.tasks_for(world.user("city_stat"))
    sub = submission(task, world.school_b1)
    with pytest.raises(Submission.DoesNotExist):
        selectors.submission_for(world.user("county_a_stat"), sub.pk)
    assert selectors.submission_for(world.user("clerk_b1"), sub.pk) == sub
    assert CollectionTask.objects.count() == 2


def test_dongguan_schools_with_no_county_above_are_reviewed_by_the_city(world: World):
    from eduplatform.orgs import services as orgs
    from tests.reporting_support import bureau_user
    from tests.world import school_row

    (school,) = orgs.register_schools(actor=None, rows=[school_row("2144001901", "东城测试小学", "211", "441900003000")])
    city = bureau_user("dg_stat", "441900000000", parent=world.department)
    task = open_gz_task(world, targets={"regions": ["44/4419/"]}, title="东莞")
    sub = fill_and_submit(clerk_for(school, "clerk_dg"), submission(task, school), GOOD)
    assert selectors.review_node_of(task, sub.region_path) == "44/4419/"
    services.review_submission(actor=city, submission=sub, decision="approve")
    assert services.approve_region(actor=city, task=task, region_path="44/4419/").level == "city"
    services.approve_region(actor=world.user("province"), task=task, region_path="44/")


def test_with_the_town_level_the_town_approves_the_school_and_the_county_waits_for_its_towns(world: World):
    from tests.reporting_support import bureau_user
    from tests.scope_records import town_user

    town = town_user(world)
    task = open_gz_task(world, targets={"regions": [TIANHE]}, levels=["town", "county", "city", "province"], title="乡镇")
    sub = fill_and_submit(world.user("clerk_a1"), submission(task, world.school_a1), GOOD)
    with pytest.raises(NotPermitted):  # the county may return, not approve, a school below a town
        services.review_submission(actor=world.user("county_a_reviewer"), submission=sub, decision="approve")
    services.review_submission(actor=town, submission=sub, decision="approve")
    a2 = fill_and_submit(clerk_for(world.school_a2, "clerk_a2"), submission(task, world.school_a2), GOOD)
    services.review_submission(actor=town, submission=a2, decision="approve")
    college = fill_and_submit(clerk_for(world.college_a, "clerk_college"), submission(task, world.college_a), GOOD)
    town2 = bureau_user("town2_stat", "440106002000", parent=world.county_a)
    services.review_submission(actor=town2, submission=college, decision="approve")
    services.approve_region(actor=town, task=task, region_path=world.school_a1.region_path)
    with pytest.raises(RecordInvalid) as exc:
        services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE)
    assert "下级区域还有 1 个尚未审核通过" in str(exc.value)
    services.approve_region(actor=town2, task=task, region_path=world.college_a.region_path)
    assert services.approve_region(actor=world.user("county_a_stat"), task=task, region_path=TIANHE).level == "county"


def test_reminder_hook_only_logs_while_notifications_are_off_and_mails_the_clerks_when_on(world: World, settings, caplog):
    from django.core import mail

    task = open_gz_task(world, deadline=timezone.localdate() + dt.timedelta(days=1), targets={"regions": [YUEXIU]})
    clerk = world.user("clerk_b1")
    clerk.email = "clerk_b1@example.cn"
    clerk.save(update_fields=["email"])
    with caplog.at_level("INFO", logger="eduplatform.accounts.notifications"):
        assert services.notify_schools(task=task, school_ids=[world.school_b1.pk], message="请上报") == 0
    assert "NOTIFY_EMAIL/NOTIFY_SMS off" in caplog.text and not mail.outbox
    settings.NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notify_schools(task=task, school_ids=[world.school_b1.pk], message="请上报") == 1
    assert mail.outbox[0].to == ["clerk_b1@example.cn"] and task.title in mail.outbox[0].subject


def test_a_big_task_is_prefilled_by_the_worker_and_the_entry_page_never_waits_for_it(
        world: World, monkeypatch, django_capture_on_commit_callbacks):
    from types import SimpleNamespace

    from eduplatform.reporting import tasks

    queued: list[int] = []
    monkeypatch.setattr(services, "INLINE_PREFILL_SCHOOLS", 1)
    monkeypatch.setattr(tasks, "prefill_task_submissions", SimpleNamespace(enqueue=queued.append))
    with django_capture_on_commit_callbacks(execute=True):
        task = open_gz_task(world)
    assert queued == [task.pk]
    assert not Submission.objects.filter(task=task).exclude(prefill={}).exists()
    # The entry page of one school fills its own at once; the worker's job then fills the rest.
    sub = services.ensure_prefill(submission=submission(task, world.school_a1))
    assert sub.prefill == {"T1.R1.C3": "0"}
    assert services.prefill_submissions(task_id=task.pk) == 3
    assert not Submission.objects.filter(task=task, prefill={}).exists()


def test_only_the_province_sends_a_census_sign_off(world: World):
    from eduplatform.stats.snapshots import take_snapshot

    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    with pytest.raises(RecordInvalid) as exc:
        services.create_task(actor=world.user("city_stat"), title="确认", period="2026", kind="census", snapshot=snapshot,
                             deadline=timezone.localdate(), targets={}, review_levels=["county", "city"])
    assert "task.census_owner" in codes(exc.value)


def test_a_returned_submission_tells_the_schools_clerk_when_mail_is_on(world: World, settings,
                                                                        django_capture_on_commit_callbacks):
    from django.core import mail

    settings.NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clerk = world.user("clerk_b1")
    clerk.email = "clerk_b1@example.cn"
    clerk.save(update_fields=["email"])
    task = open_gz_task(world, targets={"regions": [YUEXIU]})
    submission = Submission.objects.get(task=task, school=world.school_b1)
    submission = services.submit(actor=clerk, submission=submission)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_submission(actor=world.user("county_b_stat"), submission=submission, decision="return",
                                   reason="请核对合计")
    assert [m.to for m in mail.outbox] == [["clerk_b1@example.cn"]]
    assert "请核对合计" in mail.outbox[0].body and task.title in mail.outbox[0].subject

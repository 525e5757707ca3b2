"""The issue workflow: findings become issues once (a rescan is idempotent), a rescan or the
record's next write closes what is gone, the school explains or corrects, the county confirms or
reopens, a duplicate person is settled by the county keeping one side — each within scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry
from eduplatform.quality import issues, selectors
from eduplatform.quality.models import IssueAction, IssueStatus, QualityIssue
from eduplatform.quality.rules import ScanScope
from eduplatform.students import services as students
from tests.quality_issues_support import DUPS, FLAGGED, evidence_files, test_rules_fixture  # noqa: F401 — fixtures
from tests.students_support import student_row

PROVINCE = ScanScope(region_path="44/")


def scan(codes=None, scope=PROVINCE):
    codes = codes or ["Z_SCHOOL", "Z_NAME", "Z_DUP"]
    return issues.sync_findings(scope=scope, codes=codes, findings=issues.scan_findings(scope, codes))


def live(**kw):
    return QualityIssue.objects.exclude(status=IssueStatus.RESOLVED).filter(**kw)


def test_rescan_is_idempotent_updates_and_closes(world, test_rules):
    FLAGGED[world.school_a1.pk] = "学校 A 有问题"
    FLAGGED[world.school_b1.pk] = "学校 B 有问题"
    first = scan()
    assert (first.found, first.opened, first.updated, first.closed) == (2, 2, 0, 0)
    issue_a = live(school=world.school_a1).get()
    assert issue_a.rule == "Z_SCHOOL" and issue_a.severity == "warning" and issue_a.database == "schools"
    assert issue_a.region_path == world.school_a1.region_path and issue_a.status == IssueStatus.OPEN
    seen = issue_a.last_seen_at

    FLAGGED[world.school_a1.pk] = "学校 A 仍有问题（新说明）"
    again = scan()
    assert (again.found, again.opened, again.updated, again.closed) == (2, 0, 2, 0)
    assert QualityIssue.objects.count() == 2  # never a second live issue for one finding
    issue_a.refresh_from_db()
    assert issue_a.message == "学校 A 仍有问题（新说明）" and issue_a.last_seen_at > seen
    assert issue_a.evidence == {"message": "学校 A 仍有问题（新说明）"}

    del FLAGGED[world.school_b1.pk]  # B's cause is gone
    third = scan()
    assert (third.opened, third.closed) == (0, 1)
    b = QualityIssue.objects.get(school=world.school_b1)
    assert b.status == IssueStatus.RESOLVED and b.resolved_at is not None
    assert list(b.actions.values_list("action", "note")) == [(IssueAction.RESOLVED, "问题已消除")]
    assert live().count() == 1

    # The cause comes back: a new issue (the resolved one stays as history).
    FLAGGED[world.school_b1.pk] = "学校 B 又有问题"
    assert scan().opened == 1
    assert QualityIssue.objects.filter(school=world.school_b1).count() == 2
    assert live(school=world.school_b1).count() == 1


def test_scan_of_one_scope_closes_nothing_outside_it(world, test_rules):
    FLAGGED[world.school_a1.pk] = "A"
    FLAGGED[world.school_b1.pk] = "B"
    scan()
    FLAGGED.clear()
    county_a = ScanScope(region_path=world.county_a.region_path)
    assert scan(scope=county_a).closed == 1
    assert live(school=world.school_b1).count() == 1  # county B was not scanned: its issue stays
    # A scan of other rules closes nothing of Z_SCHOOL.
    assert scan(codes=["Z_NAME"]).closed == 0
    assert live(school=world.school_b1).count() == 1


def test_school_explains_county_confirms_or_reopens(world, test_rules):
    FLAGGED[world.school_a1.pk] = "A"
    scan()
    issue = live().get()
    clerk, county, clerk_b, county_b = (world.user(k) for k in ("clerk_a1", "county_a_stat", "clerk_b1", "county_b_stat"))

    with pytest.raises(RecordInvalid) as err:
        issues.explain(actor=clerk, issue=issue, explanation="  ")
    assert "请填写情况说明" in str(err.value)
    bad = SimpleUploadedFile("证明.exe", b"MZ...", content_type="application/octet-stream")
    with pytest.raises(RecordInvalid) as err:
        issues.explain(actor=clerk, issue=issue, explanation="确有其事", attachment=bad)
    assert "只能上传 PDF、JPG 或 PNG" in str(err.value)
    big = SimpleUploadedFile("证明.pdf", b"%PDF" + b"0" * (issues.ATTACHMENT_MAX_BYTES + 1))
    with pytest.raises(RecordInvalid) as err:
        issues.explain(actor=clerk, issue=issue, explanation="确有其事", attachment=big)
    assert "不能超过 5 MB" in str(err.value)

    with pytest.raises(OutOfScope):
        issues.explain(actor=clerk_b, issue=issue, explanation="别校")
    with pytest.raises(NotPermitted):
        issues.explain(actor=county, issue=issue, explanation="县里替学校说明")
    with pytest.raises(RecordInvalid):  # nothing to confirm yet
        issues.confirm(actor=county, issue=issue)

    issues.explain(actor=clerk, issue=issue, explanation="该校确为新建校",
                   attachment=SimpleUploadedFile("批文.pdf", b"%PDF-1.4 test"))
    issue.refresh_from_db()
    assert issue.status == IssueStatus.EXPLAINED and issue.attachment.name.endswith(".pdf")
    assert selectors.review_queue(county).filter(pk=issue.pk).exists()
    assert not selectors.review_queue(county_b).exists()

    with pytest.raises(OutOfScope):
        issues.confirm(actor=county_b, issue=issue)
    with pytest.raises(NotPermitted):
        issues.confirm(actor=clerk, issue=issue)
    with pytest.raises(RecordInvalid) as err:
        issues.reopen(actor=county, issue=issue, note="")
    assert "请填写审核意见" in str(err.value)
    issues.reopen(actor=county, issue=issue, note="请补充批文")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN and issue.review_note == "请补充批文"
    issues.explain(actor=clerk, issue=issue, explanation="已补充批文")
    issues.confirm(actor=county, issue=issue, note="同意")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.CONFIRMED
    assert list(issue.actions.values_list("action", flat=True)) == [
        IssueAction.EXPLAINED, IssueAction.REOPENED, IssueAction.EXPLAINED, IssueAction.CONFIRMED]
    audits = AuditEntry.objects.filter(object_type="quality.qualityissue", object_id=str(issue.pk))
    assert audits.count() == 4 and set(audits.values_list("actor_id", flat=True)) == {clerk.pk, county.pk}

    # A confirmed issue whose cause remains is not opened again by a rescan…
    assert scan().opened == 0
    issue.refresh_from_db()
    assert issue.status == IssueStatus.CONFIRMED
    # …and is resolved once its cause is gone.
    FLAGGED.clear()
    scan()
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED


def test_mark_corrected_is_refused_while_the_cause_remains(world, test_rules, django_capture_on_commit_callbacks):
    clerk = world.user("clerk_a1")
    enrolment = students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1, name="错字学生"))
    scan()
    issue = live(rule="Z_NAME").get()
    assert issue.object_id == enrolment.student_id
    with pytest.raises(RecordInvalid) as err:
        issues.mark_corrected(actor=clerk, issue=issue)
    assert "复核未通过，问题仍然存在" in str(err.value) and "学生管理" in str(err.value)
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_fixing_the_record_closes_its_issue_on_the_next_write(world, test_rules, django_capture_on_commit_callbacks):
    clerk = world.user("clerk_a1")
    enrolment = students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1, name="错字学生"))
    other = students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(2, name="另一错字"))
    scan()
    assert live(rule="Z_NAME").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        students.update_student(actor=clerk, student=enrolment.student, data={"name": "正字学生"})
    fixed = QualityIssue.objects.get(object_id=enrolment.student_id)
    assert fixed.status == IssueStatus.RESOLVED
    assert fixed.actions.get().note == "问题已消除"
    assert live(object_id=other.student_id).exists()  # the recheck touched only the record written


def test_a_failing_recheck_never_fails_the_write(world, test_rules, django_capture_on_commit_callbacks, monkeypatch):
    clerk = world.user("clerk_a1")
    enrolment = students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1, name="错字学生"))

    def broken(*a, **k):
        raise RuntimeError("rule crashed")

    monkeypatch.setattr(issues, "record_findings", broken)
    with django_capture_on_commit_callbacks(execute=True):
        student = students.update_student(actor=clerk, student=enrolment.student, data={"name": "正字学生"})
    student.refresh_from_db()
    assert student.name == "正字学生"


def test_duplicate_person_shown_to_both_sides_and_settled_by_keeping_one(world, test_rules):
    clerk_a, clerk_b = world.user("clerk_a1"), world.user("clerk_b1")
    county_a, county_b, county_c = world.user("county_a_stat"), world.user("county_b_stat"), world.user("county_c_stat")
    DUPS["p1"] = [(world.school_a1.pk, 9001), (world.school_b1.pk, 9002)]
    assert scan().opened == 2
    side_a, side_b = live(school=world.school_a1).get(), live(school=world.school_b1).get()
    assert side_a.group_key == side_b.group_key == "p1"

    # Each school and each county sees its own side, and through it both sides of the group.
    for actor, own in ((clerk_a, side_a), (clerk_b, side_b), (county_a, side_a), (county_b, side_b)):
        assert list(selectors.issues(actor).filter(group_key="p1")) == [own]
        sides = selectors.group_sides(selectors.issue_for(actor, own.pk))
        assert {s.school_id for s in sides} == {world.school_a1.pk, world.school_b1.pk}
        groups = selectors.duplicate_groups(actor)
        assert len(groups) == 1 and len(groups[0]["sides"]) == 2
    assert not selectors.issues(county_c).exists() and selectors.duplicate_groups(county_c) == []

    with pytest.raises(OutOfScope):  # county B cannot decide for county A's school
        issues.keep_person(actor=county_b, issue_group="p1", keep_issue=side_a)
    with pytest.raises(NotPermitted):
        issues.keep_person(actor=clerk_a, issue_group="p1", keep_issue=side_a)

    issues.keep_person(actor=county_a, issue_group="p1", keep_issue=side_a, note="以天河为准")
    side_a.refresh_from_db()
    side_b.refresh_from_db()
    assert side_a.status == IssueStatus.CONFIRMED
    assert side_b.status == IssueStatus.OPEN and "天河测试小学" in side_b.review_note and "核销" in side_b.review_note
    assert side_a.actions.get().action == side_b.actions.get().action == IssueAction.KEPT
    assert selectors.school_todo(clerk_b).filter(pk=side_b.pk).exists()
    assert not selectors.school_todo(clerk_a).exists()

    # School B withdraws its registration: the rescan resolves both sides (the person is no longer
    # active in two schools).
    del DUPS["p1"]
    assert scan().closed == 2

"""The workflow with the real rules (quality/checks): a duplicate undocumented pupil in two counties'
schools is found on both sides, settled by county A keeping its side, and resolved by the rescan
after school B ends its registration; a pupil too old for the grade is flagged and the issue closes
on the write that corrects the birth date."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.core.errors import RecordInvalid
from eduplatform.quality import issues, scans, selectors
from eduplatform.quality.models import IssueStatus, QualityIssue, QualityScan
from eduplatform.students import services as students
from tests.quality_issues_support import evidence_files  # noqa: F401 — fixture
from tests.test_quality_rules_support import birth_for, student


def run(codes, path="44/"):
    scan = QualityScan.objects.create(region_path=path, rules=codes)
    return scans.run_scan(scan.pk)


def test_duplicate_pupil_in_two_counties_settled_by_keeping_one(world):
    birth = birth_for("13")
    a = student(world.school_a1, grade="13", name="王小明", birth=birth, id_number=None, guardian="王大明")
    b = student(world.school_b1, grade="13", name="王小明", birth=birth, id_number=None, guardian="王大明")
    done = run(["S_DUP_PERSON"])
    assert done.status == "done" and done.opened == 2
    side_a = QualityIssue.objects.get(object_id=a.pk, rule="S_DUP_PERSON")
    side_b = QualityIssue.objects.get(object_id=b.pk, rule="S_DUP_PERSON")
    assert side_a.group_key == side_b.group_key != "" and side_a.severity == "error"
    for key, own in (("clerk_a1", side_a), ("county_a_stat", side_a), ("clerk_b1", side_b), ("county_b_stat", side_b)):
        actor = world.user(key)
        assert list(selectors.issues(actor).filter(rule="S_DUP_PERSON")) == [own]
        assert {s.pk for s in selectors.group_sides(own)} == {side_a.pk, side_b.pk}
    assert run(["S_DUP_PERSON"]).opened == 0  # idempotent

    issues.keep_person(actor=world.user("county_a_stat"), issue_group=side_a.group_key, keep_issue=side_a)
    side_b.refresh_from_db()
    assert side_b.status == IssueStatus.OPEN and "天河测试小学" in side_b.review_note
    # School B ends its registration (the pupil leaves); the next scan resolves both sides.
    enrolment = b.enrolments.get(is_active=True)
    students.apply_event(actor=world.user("clerk_b1"), enrolment=enrolment, kind="drop_out", on=dt.date.today(),
                         reason="重复学籍，已核销", _approved=True)
    assert run(["S_DUP_PERSON"]).closed == 2
    assert not QualityIssue.objects.exclude(status=IssueStatus.RESOLVED).exists()


def test_age_for_grade_closes_on_the_write_that_fixes_it(world, django_capture_on_commit_callbacks):
    pupil = student(world.school_a1, grade="11", birth=birth_for("11", offset=5), id_number=None)
    run(["S_AGE_GRADE"])
    issue = QualityIssue.objects.get(rule="S_AGE_GRADE")
    assert issue.object_id == pupil.pk and issue.status == IssueStatus.OPEN
    clerk = world.user("clerk_a1")
    with pytest.raises(RecordInvalid, match="问题仍然存在"):
        issues.mark_corrected(actor=clerk, issue=issue)
    with django_capture_on_commit_callbacks(execute=True):
        students.update_student(actor=clerk, student=pupil, data={"birth_date": birth_for("11").isoformat()})
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED

"""The to-do inbox (待办): each user sees what waits on them — a school clerk its returned report and
reports near their deadline, a county reviewer the reports submitted to it and the explanations to
judge, a region whose schools are all approved its own approval, transfer steps of its
organization — and nothing of another county's; the badge and the home-page notice show the total,
counted with a fixed number of queries; e-mail notifications only when NOTIFY_EMAIL is on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eduplatform.reporting.models import (
    CollectionTask,
    FormDefinition,
    FormVersion,
    FormVersionStatus,
    RegionApproval,
    Submission,
    SubmissionStatus,
    TaskStatus,
)
from eduplatform.students import approvals
from eduplatform.students import services as students
from eduplatform.web import inbox
from tests.students_support import student_row

pytestmark = pytest.mark.django_db

DEFINITION = {"code": "JC442", "title": "教师培训情况", "tables": [
    {"code": "T1", "title": "培训", "rows": [{"code": "R1", "label": "合计"}],
     "columns": [{"code": "C1", "label": "人数", "type": "integer"}], "cells": {}}], "rules": []}


def make_task(*, title: str, deadline: dt.date, levels=("county", "city", "province"), remind_days: int = 3) -> CollectionTask:
    form, _created = FormDefinition.objects.get_or_create(code="JC442", defaults={"title": "教师培训情况", "owner_path": "44/"})
    version, _created = FormVersion.objects.get_or_create(form=form, version=1, defaults={
        "definition": DEFINITION, "status": FormVersionStatus.PUBLISHED})
    return CollectionTask.objects.create(title=title, form_version=version, period="2026", deadline=deadline,
                                         remind_days=remind_days, status=TaskStatus.OPEN, owner_path="44/",
                                         review_levels=list(levels))


def put(task, school, status: str, **extra) -> Submission:
    return Submission.objects.create(task=task, school=school, region_path=school.region_path, status=status,
                                     submitted_at=timezone.now() if status != SubmissionStatus.NOT_STARTED else None,
                                     **extra)


@pytest.fixture
def task(world):
    task = make_task(title="2026 年教师培训情况", deadline=timezone.localdate() + dt.timedelta(days=20))
    put(task, world.school_a1, SubmissionStatus.RETURNED, return_reason="R2 女教师人数与基础库不符")
    put(task, world.school_a2, SubmissionStatus.SUBMITTED, explanations={"E1": "本年新招聘教师较多"})
    put(task, world.school_b1, SubmissionStatus.SUBMITTED)
    return task


def counts(world, name: str) -> dict[str, int]:
    return {source.key: n for source, n in inbox.counts(world.user(name))}


def test_school_clerk_sees_its_returned_report_with_the_reason(client, world, task):
    assert counts(world, "clerk_a1")["returned"] == 1
    client.force_login(world.user("clerk_a1"))
    page = client.get("/inbox/").content.decode()
    assert "R2 女教师人数与基础库不符" in page and task.title in page
    assert 'data-testid="inbox-badge">1<' in client.get("/inbox/badge/").content.decode()
    assert 'data-testid="inbox-notice"' in client.get("/inbox/notice/").content.decode()
    # The principal (read only) is not asked to correct it; another school's clerk sees nothing of it.
    assert inbox.total(world.user("principal_a1")) == 0
    assert counts(world, "clerk_b1")["returned"] == 0


def test_county_reviewer_sees_the_reports_submitted_to_it_and_the_explanations_to_judge(client, world, task):
    found = counts(world, "county_a_reviewer")
    assert (found["review"], found["explanations"]) == (1, 1)
    client.force_login(world.user("county_a_reviewer"))
    page = client.get("/inbox/").content.decode()
    assert world.school_a2.name in page and world.school_b1.name not in page
    # The badge does not count a submission twice (its explanations are part of its review).
    assert inbox.total(world.user("county_a_reviewer")) == 1

    # Another county sees its own school only; a county with nothing waiting sees an empty inbox.
    assert counts(world, "county_b_stat")["review"] == 1
    client.force_login(world.user("county_b_stat"))
    page = client.get("/inbox/").content.decode()
    assert world.school_b1.name in page and world.school_a2.name not in page
    client.force_login(world.user("county_c_stat"))
    assert 'data-testid="inbox-empty"' in client.get("/inbox/").content.decode()
    assert "inbox-badge" not in client.get("/inbox/badge/").content.decode()
    # The city is not the first level: reports wait for the counties, not for it.
    assert counts(world, "city_stat")["review"] == 0


def test_with_a_town_level_the_county_does_not_review_schools(world, task):
    town_task = make_task(title="乡镇审核的任务", deadline=timezone.localdate() + dt.timedelta(days=20),
                          levels=("town", "county", "city", "province"))
    put(town_task, world.school_a1, SubmissionStatus.SUBMITTED)
    assert counts(world, "county_a_reviewer")["review"] == 1  # the first task's submission only


def test_a_region_whose_schools_are_all_approved_waits_for_its_approval(world, task):
    approvals_task = make_task(title="已全部审核的任务", deadline=timezone.localdate() + dt.timedelta(days=20))
    for school in (world.school_a1, world.school_a2, world.college_a):
        put(approvals_task, school, SubmissionStatus.APPROVED)
    put(approvals_task, world.school_b1, SubmissionStatus.SUBMITTED)
    assert counts(world, "county_a_reviewer")["approvals"] == 1
    assert counts(world, "county_b_stat")["approvals"] == 0  # its school is not approved yet
    assert counts(world, "city_stat")["approvals"] == 0  # county A is not approved, B not ready
    RegionApproval.objects.create(task=approvals_task, region_path=world.county_a.region_path, level="county",
                                  approved_by="county_a_reviewer")
    assert counts(world, "county_a_reviewer")["approvals"] == 0


def test_reports_near_their_deadline_wait_for_the_school(world):
    today = timezone.localdate()
    soon = make_task(title="三天后截止", deadline=today + dt.timedelta(days=2), remind_days=3)
    later = make_task(title="十天后截止", deadline=today + dt.timedelta(days=10), remind_days=3)
    put(soon, world.school_a1, SubmissionStatus.DRAFT)
    put(later, world.school_a1, SubmissionStatus.NOT_STARTED)
    done = make_task(title="已上报", deadline=today + dt.timedelta(days=1))
    put(done, world.school_a1, SubmissionStatus.SUBMITTED)
    items = inbox.SOURCES[[s.key for s in inbox.SOURCES].index("due")].items(world.user("clerk_a1"), 10)
    assert [i.title for i in items] == ["报表即将截止：三天后截止"]
    assert counts(world, "clerk_a1")["due"] == 1


def test_transfer_steps_wait_for_the_organization_deciding_them(client, world):
    today = timezone.localdate()
    enrolment = students.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1),
                                       today=today)
    approvals.apply_transfer(actor=world.user("clerk_b1"), to_school=world.school_b1, enrolment=enrolment,
                             to_grade="11", effective_on=today, reason="跨区转学")
    # Across counties the receiving county decides first.
    assert counts(world, "county_b_stat")["students"] == 1
    assert counts(world, "county_a_reviewer")["students"] == 0
    client.force_login(world.user("county_b_stat"))
    assert "学籍异动审核" in client.get("/inbox/").content.decode()


def test_the_counts_take_a_fixed_number_of_queries(world, task):
    reviewer = world.user("county_a_reviewer")
    with CaptureQueriesContext(connection) as few:
        inbox.total(reviewer)
    more = make_task(title="另一个任务", deadline=timezone.localdate() + dt.timedelta(days=20))
    for school in (world.school_a1, world.school_a2, world.college_a):
        put(more, school, SubmissionStatus.SUBMITTED, explanations={"E1": "说明"})
    reviewer = world.user("county_a_reviewer")
    with CaptureQueriesContext(connection) as many:
        assert inbox.total(reviewer) == 4
    # One count per source (approvals: its figures and the approvals), the actor's node and the task
    # list, and the user's organization and roles (read once per request anyway).
    assert len(many) == len(few) <= len(inbox.SOURCES) + 5


def test_email_only_when_notify_email_is_on(settings, world, task):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clerk = world.user("clerk_a1")
    clerk.email = "clerk@example.edu.cn"
    clerk.save(update_fields=["email"])
    assert settings.NOTIFY_EMAIL is False
    assert inbox.notify_organization(world.school_a1, subject="报表被退回", message="请修改") == 0
    assert not inbox.send_digest(clerk)
    assert mail.outbox == []
    settings.NOTIFY_EMAIL = True
    assert inbox.notify_organization(world.school_a1, subject="报表被退回", message="请修改") == 1
    assert mail.outbox[-1].to == ["clerk@example.edu.cn"]
    assert inbox.send_digest(clerk)
    assert "被退回的报表：1 件" in mail.outbox[-1].body


def test_an_app_registers_its_own_source(world):
    source = inbox.Source("test_source", "测试待办", lambda actor: 2, lambda actor, limit: [])
    inbox.register(source)
    try:
        assert ("test_source", 2) in [(s.key, n) for s, n in inbox.counts(world.user("county_c_stat"))]
        with pytest.raises(ValueError):
            inbox.register(source)
    finally:
        inbox.SOURCES.remove(source)


def test_the_daily_digest_command_mails_users_with_waiting_work(settings, world, task):
    from io import StringIO

    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for name in ("clerk_a1", "county_c_stat"):
        user = world.user(name)
        user.email = f"{name}@example.edu.cn"
        user.save(update_fields=["email"])
    out = StringIO()
    call_command("send_inbox_digests", stdout=out)
    assert mail.outbox == [] and "未开启" in out.getvalue()
    settings.NOTIFY_EMAIL = True
    call_command("send_inbox_digests", stdout=StringIO())
    assert [m.to for m in mail.outbox] == [["clerk_a1@example.edu.cn"]]  # county C has nothing waiting

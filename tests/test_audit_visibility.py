"""Who viewed whose personal data is the security auditor's alone to see (issue 17, 三员分立):
a record's history tab shows the changes to the record, never other users' views of its ID number;
the auditor finds every such view in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.history.selectors import history_of
from eduplatform.staff import services as staff_services
from eduplatform.students import services
from tests.students_support import student_row
from tests.test_students import TODAY

pytestmark = pytest.mark.django_db


def student_viewed_by_clerk(world):
    student = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1),
                                     today=TODAY).student
    services.reveal_identifiers(actor=world.user("clerk_a1"), student=student)
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_SENSITIVE, object_id=str(student.pk)).count() == 1
    return student


def test_a_records_history_tab_does_not_show_who_viewed_the_id_number(world, client):
    student = student_viewed_by_clerk(world)
    for key in ("principal_a1", "county_a_stat", "clerk_a1"):
        client.force_login(world.user(key))
        page = client.get(reverse("students:detail", args=[student.public_id]))
        assert page.status_code == 200
        body = page.content.decode()
        assert "新增" in body  # the tab is there, with the record's own changes
        assert "查看敏感信息" not in body, key
        assert not history_of(world.user(key), object_type="students.student", object_id=student.pk).filter(
            action=AuditAction.VIEW_SENSITIVE).exists()


def test_a_staff_members_history_tab_does_not_show_who_viewed_the_id_number(world, client):
    from tests.staff_support import staff_row

    staff = staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1), today=TODAY)
    staff_services.reveal_identifiers(actor=world.user("clerk_a1"), staff=staff)
    client.force_login(world.user("principal_a1"))
    body = client.get(reverse("staff:detail", args=[staff.pk])).content.decode()
    assert "change-history" in body and "查看敏感信息" not in body


def test_the_security_auditor_sees_every_view_of_personal_data(world, client):
    student = student_viewed_by_clerk(world)
    assert history_of(world.user("auditor"), object_type="students.student", object_id=student.pk).filter(
        action=AuditAction.VIEW_SENSITIVE, actor_id=world.users["clerk_a1"].pk).exists()
    client.force_login(world.user("auditor"))
    body = client.get(reverse("accounts:audit_log"), {"action": AuditAction.VIEW_SENSITIVE}).content.decode()
    assert "查看敏感信息" in body and "clerk_a1" in body

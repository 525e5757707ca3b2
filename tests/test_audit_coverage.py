"""What the audit log must cover (issue 17): logins and failures, views of unmasked personal data,
changes with their fields before and after, every export and download, approvals, role and
API-client changes. Most writers were audited already (and tested in their apps' tests); these
tests hold the list together, and cover the downloads that were not audited before."""

from __future__ import annotations

import pytest

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.exchange import clients
from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.students import services as students
from tests.api_clients_support import install_test_resource, register
from tests.students_support import student_row
from tests.test_students import TODAY
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db


def exports_of(user) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.EXPORT, actor_id=user.pk).order_by("id"))


@pytest.mark.parametrize(("who", "url", "filename"), [
    ("county_a_stat", "/orgs/schools/?status=all&format=xlsx", ".xlsx"),  # the school list
    ("auditor", "/accounts/audit/?format=xlsx", "审计日志.xlsx"),  # the auditor's own export
    ("clerk_a1", "/quality/rules/?format=xlsx", "数据质量规则.xlsx"),
])
def test_every_download_is_audited_with_its_file_and_query(client, world, who, url, filename):
    user = world.user(who)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    [entry] = exports_of(user)
    assert entry.object_label.endswith(filename) and entry.note == f"下载 {url}"
    assert entry.region_path == user.organization.region_path  # found by the auditor of that region


def test_an_export_its_service_audits_is_not_audited_twice_and_pages_are_not_downloads(client, world):
    clerk = world.user("clerk_a1")
    students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1), today=TODAY)
    client.force_login(clerk)
    assert client.get("/students/").status_code == 200
    assert exports_of(clerk) == []
    # A pupil list is personal data: without a stated purpose the answer is the form asking for one
    # (a page, not a download); with it, the file and the view's own entry.
    assert client.get("/students/?format=xlsx").status_code == 200
    assert exports_of(clerk) == []
    answer = client.get("/students/?format=xlsx&purpose=核对在读名单")
    assert answer["Content-Disposition"].startswith("attachment")
    [entry] = exports_of(clerk)
    assert entry.object_type == "students.student"  # the view's own, more specific entry
    assert "核对在读名单" in entry.note


def test_logins_failures_sensitive_views_changes_roles_and_clients_are_audited(client, world, monkeypatch):
    # logins and failures
    client.post("/accounts/login/", {"username": "clerk_a1", "password": "wrong-Password1"})
    client.post("/accounts/login/", {"username": "clerk_a1", "password": PASSWORD})
    clerk = world.user("clerk_a1")
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, object_label="clerk_a1").exists()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor_id=clerk.pk).exists()
    # a change with every field before and after, then the unmasked view of the ID number
    student = students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1), today=TODAY).student
    created = AuditEntry.objects.get(action=AuditAction.CREATE, object_type="students.student",
                                     object_id=str(student.pk))
    assert created.changes["name"]["after"] == student.name and "before" in created.changes["name"]
    students.reveal_identifiers(actor=clerk, student=student)
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_SENSITIVE, actor_id=clerk.pk,
                                     object_id=str(student.pk)).exists()
    # roles
    secadmin, target = world.user("secadmin"), world.user("county_a_stat")
    accounts.grant_role(actor=secadmin, user=target, role=Role.REVIEWER)
    accounts.revoke_role(actor=secadmin, user=target, role=Role.REVIEWER)
    assert {a for a in AuditEntry.objects.filter(object_id=str(target.pk), actor_id=secadmin.pk)
            .values_list("action", flat=True)} >= {AuditAction.GRANT_ROLE, AuditAction.REVOKE_ROLE}
    # API clients: registered, rights changed, suspended, resumed, secret rotated
    resource = install_test_resource(monkeypatch)
    api_client, _ = register(world)
    admin = world.user("secadmin")
    clients.update_client(actor=admin, client=api_client, grants={resource.key: clients.GrantSpec(read=True, write=True)},
                          may_see_personal=False, rate_limit=100)
    clients.suspend_client(actor=admin, client=api_client, reason="停用测试")
    clients.resume_client(actor=admin, client=api_client)
    clients.rotate_secret(actor=admin, client=api_client)
    actions = list(AuditEntry.objects.filter(object_type="api_client", object_id=str(api_client.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.CREATE, AuditAction.UPDATE, AuditAction.CLOSE, AuditAction.REOPEN, AuditAction.UPDATE]

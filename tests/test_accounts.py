"""Accounts: 三员分立, the password policy, lockout, idle timeout and the auditor's log."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from eduplatform.accounts import services
from eduplatform.accounts.middleware import LAST_SEEN_KEY
from eduplatform.accounts.models import RoleAssignment
from eduplatform.accounts.passwords import ComplexityPasswordValidator
from eduplatform.accounts.roles import SECURITY_DUTY_GROUP, Role
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditEntry
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("second", [Role.SECURITY_ADMIN, Role.SECURITY_AUDITOR])
def test_a_system_administrator_cannot_also_hold_another_security_duty(world, second):
    with pytest.raises(RecordInvalid) as caught:
        services.grant_role(actor=world.user("secadmin"), user=world.user("sysadmin"), role=second)
    assert caught.value.problems[0].code == "role.separation_of_duties"
    assert "三员分立" in caught.value.problems[0].message
    assert set(world.user("sysadmin").role_assignments.values_list("role", flat=True)) == {Role.SYSTEM_ADMIN}


def test_the_database_itself_refuses_a_second_security_duty(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=world.user("auditor"), role=Role.SYSTEM_ADMIN, duty_group=SECURITY_DUTY_GROUP)


def test_only_the_security_administrator_grants_roles_and_never_to_themself(world):
    with pytest.raises(NotPermitted):
        services.grant_role(actor=world.user("sysadmin"), user=world.user("province"), role=Role.REVIEWER)
    with pytest.raises(NotPermitted):
        services.grant_role(actor=world.user("secadmin"), user=world.user("secadmin"), role=Role.PROVINCE_OFFICER)


def test_a_role_must_suit_the_users_organization(world):
    with pytest.raises(RecordInvalid) as caught:
        services.grant_role(actor=world.user("secadmin"), user=world.user("clerk_a1"), role=Role.STATISTICIAN)
    assert caught.value.problems[0].code == "role.org_kind"


def test_granting_a_role_is_audited(world):
    services.grant_role(actor=world.user("secadmin"), user=world.user("county_a_stat"), role=Role.REVIEWER)
    entry = AuditEntry.objects.filter(action="grant_role").latest("id")
    assert entry.actor_name.startswith("secadmin") and entry.changes["roles"]["after"] == "统计员、审核员"


@pytest.mark.parametrize(
    ("password", "ok"),
    [("Short1!", False), ("alllowercase12", False), ("ALLUPPER1234", False), ("abcdefghijK!", True),
     ("Abcdefgh1234", True), ("abcdefgh1234!", True), ("Abcdefghijkl", False)],
)
def test_password_policy_needs_ten_characters_from_three_classes(password, ok):
    validator = ComplexityPasswordValidator()
    if ok:
        validator.validate(password)
    else:
        with pytest.raises(Exception, match="密码"):
            validator.validate(password)


def test_a_weak_password_is_refused_with_a_chinese_reason_and_nothing_changes(world):
    user = world.user("county_a_stat")
    with pytest.raises(RecordInvalid) as caught:
        services.change_password(user=user, old_password=PASSWORD, new_password="abc")
    messages = " ".join(p.message for p in caught.value.problems)
    assert "至少 10 位" in messages and "至少3类" in messages
    assert world.user("county_a_stat").check_password(PASSWORD)


def test_production_passwords_are_hashed_with_argon2():
    from config import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_an_account_locks_after_repeated_failures(client, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "county_a_stat", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "county_a_stat", "password": PASSWORD})
    assert response.status_code == 429
    assert "锁定" in response.content.decode()
    assert AuditEntry.objects.filter(action="login_failed", object_label="county_a_stat").count() >= settings.AXES_FAILURE_LIMIT


def test_a_successful_login_is_audited(client, world):
    response = client.post("/accounts/login/", {"username": "county_a_stat", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="login", actor_id=world.users["county_a_stat"].pk).exists()


def test_an_idle_session_is_logged_out(client, world, settings):
    client.force_login(world.user("county_a_stat"))
    assert client.get("/").status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_the_auditor_reads_the_audit_log(client, world):
    for key in ("sysadmin", "secadmin", "province", "county_a_stat"):
        client.force_login(world.user(key))
        assert client.get("/accounts/audit/").status_code == 403, key
    client.force_login(world.user("auditor"))
    response = client.get("/accounts/audit/?action=create")
    assert response.status_code == 200 and "天河测试小学" in response.content.decode()


def test_the_audit_log_filters_by_actor_and_action(client, world):
    services.grant_role(actor=world.user("secadmin"), user=world.user("county_a_stat"), role=Role.REVIEWER)
    client.force_login(world.user("auditor"))
    body = client.get("/accounts/audit/?action=grant_role&actor_name=secadmin").content.decode()
    assert "county_a_stat" in body and "天河测试小学" not in body


def test_a_system_administrator_creates_accounts_only_in_their_jurisdiction(world):

    county_admin = services.create_user(actor=None, username="a_admin", password=PASSWORD, organization=world.county_a)
    services.grant_role(actor=None, user=county_admin, role=Role.SYSTEM_ADMIN)
    with pytest.raises(OutOfScope):
        services.create_user(actor=county_admin, username="intruder", password=PASSWORD, organization=world.county_b)
    user = services.create_user(actor=county_admin, username="new_clerk", password=PASSWORD, organization=world.school_a1)
    assert user.organization == world.school_a1


def test_the_role_page_explains_a_separation_of_duties_refusal(client, world):
    client.force_login(world.user("secadmin"))
    target = world.users["auditor"]
    response = client.post(f"/accounts/users/{target.pk}/", {"role": Role.SYSTEM_ADMIN})
    body = response.content.decode()
    assert response.status_code == 200 and "三员分立" in body and 'data-field="role"' in body
    assert list(world.user("auditor").role_assignments.values_list("role", flat=True)) == [Role.SECURITY_AUDITOR]


def test_a_system_administrator_creates_an_account_through_the_page(client, world):
    client.force_login(world.user("sysadmin"))
    weak = client.post("/accounts/users/new/", {"username": "newbie", "display_name": "新人",
                                                 "organization": world.county_a.pk, "password": "short"})
    assert "密码长度至少 10 位" in weak.content.decode()
    ok = client.post("/accounts/users/new/", {"username": "newbie", "display_name": "新人",
                                               "organization": world.county_a.pk, "password": PASSWORD})
    assert ok.status_code == 302
    assert AuditEntry.objects.filter(action="create", object_type="accounts.user", object_label__startswith="新人").exists()

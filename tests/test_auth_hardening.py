"""Issue 17, authentication and 三员分立: second factor, imposed password change, password policy,
lockout per (account, source), dormant-account sealing, sessions, separation of duties."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from eduplatform.accounts import services
from eduplatform.accounts.models import RoleAssignment, UserSession
from eduplatform.accounts.roles import BUSINESS_ROLES, CAPABILITIES, SECURITY_DUTIES, Role
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.history.models import AuditEntry
from tests.conftest import totp_code, totp_device
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db

CODE_PAGE = "/accounts/login/code/"
SETUP_PAGE = "/accounts/two-factor/"


def password_login(client: Client, username: str, password: str = PASSWORD, ip: str = "127.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- 1. second factor ---------------------------------------------------------------------------


def test_a_province_user_needs_the_code_after_the_password(client, world):
    device = totp_device(world.user("province"))
    response = password_login(client, "province")
    assert response.status_code == 302
    # Signed in by password only: every page leads to the code step.
    for path in ("/", "/students/", "/accounts/security/"):
        page = client.get(path)
        assert page.status_code == 302 and page["Location"].startswith(CODE_PAGE), path
    wrong = client.post(CODE_PAGE, {"token": "000000" if totp_code(device) != "000000" else "111111"})
    assert "动态验证码不正确" in wrong.content.decode()
    assert AuditEntry.objects.filter(action="login_failed", note="动态验证码错误").exists()
    device.throttle_reset()
    ok = client.post(CODE_PAGE, {"token": totp_code(device), "next": "/students/"})
    assert ok.status_code == 302 and ok["Location"] == "/students/"
    assert client.get("/").status_code == 200


def test_a_code_is_accepted_only_once(client, world):
    device = totp_device(world.user("province"))
    code = totp_code(device)
    password_login(client, "province")
    assert client.post(CODE_PAGE, {"token": code}).status_code == 302
    other = Client()
    password_login(other, "province")
    replay = other.post(CODE_PAGE, {"token": code})
    assert replay.status_code == 200 and other.get("/").status_code == 302


def test_the_gate_answers_fragments_with_403_and_ignores_a_foreign_next(client, world):
    device = totp_device(world.user("province"))
    password_login(client, "province")
    # The header's 待办 badge (htmx) must not get the code page swapped into it.
    assert client.get("/inbox/badge/", HTTP_HX_REQUEST="true").status_code == 403
    for target in ("-1", "https://evil.example/", "//evil.example/"):
        client.get(CODE_PAGE, {"next": target})
    ok = client.post(CODE_PAGE, {"token": totp_code(device), "next": "https://evil.example/"})
    assert ok.status_code == 302 and ok["Location"] == "/"


@pytest.mark.parametrize("key", ["sysadmin", "secadmin", "auditor", "k12_officer"])
def test_3yuan_and_province_users_must_enrol_before_anything_else(client, world, key):
    password_login(client, key)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    setup = client.get(CODE_PAGE, follow=True)
    body = setup.content.decode()
    assert setup.redirect_chain[-1][0].startswith(SETUP_PAGE)
    assert 'src="data:image/svg+xml;base64,' in body and "须使用双因素认证" in body
    device = TOTPDevice.objects.get(user=world.users[key], confirmed=False)
    assert client.post(SETUP_PAGE, {"token": "12345"}).status_code == 200  # a wrong code confirms nothing
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()  # django-otp waits a second after a wrong code
    assert client.post(SETUP_PAGE, {"token": totp_code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed and client.get("/accounts/security/").status_code == 200


def test_a_division_member_needs_two_factor_even_without_a_province_role(world):
    from eduplatform.accounts.twofactor import requires_two_factor

    assert requires_two_factor(world.user("k12_officer"))
    assert not requires_two_factor(world.user("county_a_stat"))
    plain = services.create_user(actor=None, username="division_clerk", password=PASSWORD,
                                 organization=world.k12_division)
    assert requires_two_factor(plain)


def test_two_factor_is_optional_for_a_county_user_but_used_once_enrolled(client, world):
    password_login(client, "county_a_stat")
    assert client.get("/").status_code == 200  # no code asked
    client.get(SETUP_PAGE)
    device = TOTPDevice.objects.get(user=world.users["county_a_stat"], confirmed=False)
    assert client.post(SETUP_PAGE, {"token": totp_code(device)}).status_code == 302
    fresh = Client()
    password_login(fresh, "county_a_stat")
    assert fresh.get("/")["Location"].startswith(CODE_PAGE)
    # A password alone cannot enrol another phone over the existing one.
    assert fresh.get(SETUP_PAGE)["Location"].startswith(CODE_PAGE)


def test_the_security_administrator_resets_a_lost_device(client, world):
    province = world.user("province")
    totp_device(province)
    other = Client()
    other.force_login(province)
    assert other.get("/").status_code == 200
    with pytest.raises(NotPermitted):
        services.reset_two_factor(actor=world.user("sysadmin"), user=province)
    client.force_login(world.user("secadmin"))
    response = client.post(f"/accounts/users/{province.pk}/security/", {"action": "reset_two_factor"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=province).exists()
    assert other.get("/")["Location"].startswith("/accounts/login/")  # its sessions ended
    assert AuditEntry.objects.filter(object_id=str(province.pk), changes__two_factor__after="已重置（须重新绑定）").exists()


# --- 2. imposed password change -----------------------------------------------------------------


def test_an_account_made_by_an_administrator_changes_its_password_first(client, world):
    user = services.create_user(actor=world.user("sysadmin"), username="new_clerk", password=PASSWORD,
                                organization=world.school_a1)
    assert user.must_change_password
    password_login(client, "new_clerk")
    response = client.get("/orgs/schools/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password/")
    assert "请先设置自己的新密码" in client.get("/accounts/password/").content.decode()
    done = client.post("/accounts/password/", {"old_password": PASSWORD, "password": "Lychee#2027Tea"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get("/").status_code == 200
    # The listed session followed the key that the password change cycled.
    assert UserSession.objects.filter(user=user, session_key=client.session.session_key).exists()


def test_a_reset_by_the_system_administrator_forces_a_change(client, world):
    target = world.user("county_a_stat")
    client.force_login(world.user("sysadmin"))
    weak = client.post(f"/accounts/users/{target.pk}/reset-password/", {"password": "Qwerty123!"})
    assert "密码过于常见" in weak.content.decode()
    ok = client.post(f"/accounts/users/{target.pk}/reset-password/", {"password": "Banyan#2027Wind"})
    assert ok.status_code == 302
    target.refresh_from_db()
    assert target.must_change_password and target.check_password("Banyan#2027Wind")
    own = Client()
    password_login(own, "county_a_stat", "Banyan#2027Wind")
    assert own.get("/")["Location"].startswith("/accounts/password/")


# --- 3. password policy -------------------------------------------------------------------------


@pytest.mark.parametrize("password,message", [
    ("Qwerty123!", "密码过于常见"),
    ("P@ssw0rd12", "密码过于常见"),
    ("Abcd1234!!", "连续字符"),
    ("1qaz@WSX3edc", "键盘相邻按键"),
    ("Woaini1314!", "密码过于常见"),
])
def test_common_and_sequence_passwords_are_refused(world, password, message):
    with pytest.raises(RecordInvalid) as err:
        services.change_password(user=world.user("county_a_stat"), old_password=PASSWORD, new_password=password)
    assert message in " ".join(p.message for p in err.value.problems)


def test_a_strong_password_passes(world):
    services.change_password(user=world.user("county_a_stat"), old_password=PASSWORD, new_password="Lychee#2027Tea")
    assert world.user("county_a_stat").check_password("Lychee#2027Tea")


# --- 4. lockout per (account, source) ---------------------------------------------------------------


def test_a_stranger_locks_only_their_own_address_out(client, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_login(client, "county_a_stat", "wrong", ip="203.0.113.9")
    assert password_login(client, "county_a_stat", ip="203.0.113.9").status_code == 429
    owner = Client()
    assert password_login(owner, "county_a_stat", ip="10.1.2.3").status_code == 302
    assert owner.get("/").status_code == 200


def test_the_security_administrator_unlocks_a_locked_pair(client, world):
    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_login(stranger, "county_a_stat", "wrong", ip="203.0.113.9")
    client.force_login(world.user("sysadmin"))
    assert client.get("/accounts/lockouts/").status_code == 403
    client.force_login(world.user("secadmin"))
    page = client.get("/accounts/lockouts/").content.decode()
    assert "county_a_stat" in page and "203.0.113.9" in page
    client.post("/accounts/lockouts/", {"username": "county_a_stat", "ip_address": "203.0.113.9"})
    assert "203.0.113.9" not in client.get("/accounts/lockouts/").content.decode()
    assert password_login(stranger, "county_a_stat", ip="203.0.113.9").status_code == 302
    assert AuditEntry.objects.filter(changes__lockout__after="已解除", object_label__contains="county_a_stat").exists()


# --- 5. dormant accounts ------------------------------------------------------------------------


def test_dormant_accounts_are_sealed_and_unsealed_by_the_security_administrator(client, world):
    long_ago = timezone.now() - dt.timedelta(days=settings.ACCOUNT_DORMANT_DAYS + 1)
    type(world.users["county_a_stat"]).objects.update(date_joined=long_ago, last_login=long_ago)
    type(world.users["county_a_stat"]).objects.filter(username="county_b_stat").update(last_login=timezone.now())
    call_command("seal_dormant_accounts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    sealed = set(type(world.users["county_a_stat"]).objects.filter(sealed_at__isnull=False)
                 .values_list("username", flat=True))
    assert "county_a_stat" in sealed and "county_b_stat" not in sealed
    assert "secadmin" not in sealed  # the only security administrator is never sealed
    refused = password_login(Client(), "county_a_stat")
    assert "已被封存" in refused.content.decode() and "安全管理员" in refused.content.decode()
    target = world.user("county_a_stat")
    client.force_login(world.user("secadmin"))
    page = client.get(f"/accounts/users/{target.pk}/").content.decode()
    assert "已封存" in page
    client.post(f"/accounts/users/{target.pk}/security/", {"action": "unseal"})
    assert password_login(Client(), "county_a_stat").status_code == 302
    assert not services.dormant_accounts(days=settings.ACCOUNT_DORMANT_DAYS).filter(pk=target.pk).exists()
    assert AuditEntry.objects.filter(object_id=str(target.pk), changes__sealed__after="已封存").exists()


# --- 6. sessions --------------------------------------------------------------------------------


def test_a_user_lists_and_ends_their_own_sessions(world):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop"), Client(HTTP_USER_AGENT="Phone")
    password_login(laptop, "county_a_stat", ip="10.0.0.1")
    password_login(phone, "county_a_stat", ip="10.0.0.2")
    page = laptop.get("/accounts/security/").content.decode()
    assert "10.0.0.1" in page and "10.0.0.2" in page and "当前会话" in page
    other = UserSession.objects.get(user=world.users["county_a_stat"], ip_address="10.0.0.2")
    assert laptop.post(f"/accounts/sessions/{other.pk}/end/").status_code == 302
    assert phone.get("/")["Location"].startswith("/accounts/login/")
    assert laptop.get("/").status_code == 200
    # Nobody ends a stranger's session by guessing its number.
    password_login(phone, "county_b_stat")
    theirs = UserSession.objects.get(user=world.users["county_b_stat"])
    assert laptop.post(f"/accounts/sessions/{theirs.pk}/end/").status_code == 404


def test_the_current_session_is_ended_by_logging_out_not_from_the_list(world):
    c = Client()
    password_login(c, "county_a_stat")
    mine = UserSession.objects.get(user=world.users["county_a_stat"])
    assert c.post(f"/accounts/sessions/{mine.pk}/end/")["Location"] == "/accounts/security/"
    assert c.get("/").status_code == 200


def test_the_security_administrator_ends_a_users_sessions(client, world):
    user_client = Client()
    password_login(user_client, "county_a_stat")
    client.force_login(world.user("secadmin"))
    target = world.users["county_a_stat"]
    client.post(f"/accounts/users/{target.pk}/security/", {"action": "end_sessions"})
    assert user_client.get("/")["Location"].startswith("/accounts/login/")
    assert not Session.objects.filter(session_key__in=UserSession.objects.filter(user=target)
                                      .values("session_key")).exists()


def test_logout_removes_the_listed_session(world):
    c = Client()
    password_login(c, "county_a_stat")
    assert UserSession.objects.filter(user=world.users["county_a_stat"]).count() == 1
    c.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=world.users["county_a_stat"]).exists()


# --- 7. 三员分立 --------------------------------------------------------------------------------


def test_security_duties_hold_no_record_reading_capability():
    from eduplatform.accounts.roles import VIEW_SENSITIVE
    from eduplatform.orgs import capabilities as orgcap

    business = {orgcap.VIEW_RECORDS, VIEW_SENSITIVE, orgcap.EDIT_STUDENTS, orgcap.EDIT_STAFF}
    for duty in SECURITY_DUTIES:
        assert not CAPABILITIES[duty] & business, duty


@pytest.mark.parametrize("duty", ["sysadmin", "secadmin", "auditor"])
def test_no_business_role_for_a_security_duty(world, duty):
    with pytest.raises(RecordInvalid) as err:
        services.grant_role(actor=None, user=world.user(duty), role=Role.PROVINCE_OFFICER)
    assert "三员分立" in str(err.value.problems[0].message) and "业务角色" in str(err.value.problems[0].message)


def test_no_security_duty_for_a_business_user(world):
    with pytest.raises(RecordInvalid) as err:
        services.grant_role(actor=world.user("secadmin"), user=world.user("province"), role=Role.SECURITY_AUDITOR)
    assert "持有业务角色" in err.value.problems[0].message


def test_the_database_refuses_a_business_role_for_a_security_duty(world):
    for user_key, role in (("auditor", Role.PROVINCE_OFFICER), ("province", Role.SYSTEM_ADMIN)):
        with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
            RoleAssignment.objects.create(user=world.users[user_key], role=role)
    assert set(world.user("auditor").role_set) == {Role.SECURITY_AUDITOR}
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        RoleAssignment.objects.filter(user=world.users["auditor"]).update(role=Role.PROVINCE_OFFICER)
        RoleAssignment.objects.create(user=world.users["auditor"], role=Role.SECURITY_AUDITOR)
    # Two business roles stay fine.
    RoleAssignment.objects.create(user=world.users["county_a_stat"], role=Role.REVIEWER)
    assert world.user("county_a_stat").role_set <= BUSINESS_ROLES


def test_the_system_administrator_reads_no_business_records_but_manages_users(client, world):
    client.force_login(world.user("sysadmin"))
    for path in ("/students/", "/orgs/schools/", "/staff/"):
        assert client.get(path).status_code == 403, path
    assert client.get("/accounts/users/").status_code == 200
    created = client.post("/accounts/users/new/", {"username": "clerk_new", "display_name": "新人",
                                                    "organization": world.school_a1.pk, "password": PASSWORD})
    assert created.status_code == 302


def test_nobody_revokes_their_own_security_role(world):
    secadmin = world.user("secadmin")
    second = services.create_user(actor=None, username="secadmin2", password=PASSWORD, organization=world.department)
    services.grant_role(actor=None, user=second, role=Role.SECURITY_ADMIN)
    with pytest.raises(NotPermitted, match="不能撤销自己"):
        services.revoke_role(actor=secadmin, user=secadmin, role=Role.SECURITY_ADMIN)
    assert Role.SECURITY_ADMIN in world.user("secadmin").role_set


def test_the_last_active_security_administrator_stays(world):
    secadmin = world.user("secadmin")
    second = services.create_user(actor=None, username="secadmin2", password=PASSWORD, organization=world.department)
    services.grant_role(actor=None, user=second, role=Role.SECURITY_ADMIN)
    services.revoke_role(actor=secadmin, user=second, role=Role.SECURITY_ADMIN)  # another remains: allowed
    # A sealed security administrator does not count as one the platform still has.
    sealed = services.create_user(actor=None, username="secadmin3", password=PASSWORD, organization=world.department)
    services.grant_role(actor=None, user=sealed, role=Role.SECURITY_ADMIN)
    type(sealed).objects.filter(pk=sealed.pk).update(sealed_at=timezone.now())
    with pytest.raises(NotPermitted, match="至少保留一名"):
        services.revoke_role(actor=sealed, user=secadmin, role=Role.SECURITY_ADMIN)
    assert Role.SECURITY_ADMIN in world.user("secadmin").role_set


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_gives_a_working_totp_secret_to_accounts_that_need_one():
    import base64

    from django_otp.oath import TOTP

    from eduplatform.accounts.models import User
    from eduplatform.demo import province

    _, accounts = province.generate(scale=0.002, seed=7)
    by_name = {a.username: a for a in accounts}
    assert all(by_name[k].totp_secret for k in ("sysadmin", "secadmin", "auditor", "province", "k12"))
    assert not by_name["th_stat"].totp_secret
    assert not User.objects.filter(username__in=by_name, must_change_password=True).exists()
    # The printed secret is what an authenticator app would be given: its code logs in.
    code = f"{TOTP(base64.b32decode(by_name['province'].totp_secret)).token():06d}"
    client = Client()
    password_login(client, "province", province.DEMO_PASSWORD)
    assert client.post(CODE_PAGE, {"token": code}).status_code == 302
    assert client.get("/").status_code == 200

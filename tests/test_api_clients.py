"""Registering and governing external systems: the security administrator's services and pages,
the auditor's read-only view, service accounts, audit entries and jurisdiction."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.exchange import clients as services
from eduplatform.exchange.clients import GrantSpec
from eduplatform.exchange.models import ApiCallLog, ApiClient, ClientStatus
from eduplatform.history.models import AuditEntry
from tests.api_clients_support import (
    bearer,
    county_security_admin,
    install_test_resource,
    obtain_token,
    register,
)
from tests.world import LEAK_MARKER_B, PASSWORD


@pytest.fixture
def resource(monkeypatch):
    return install_test_resource(monkeypatch)


# --------------------------------------------------------------------------------------------
# Services


def test_register_binds_a_service_account_to_the_unit_and_audits(world, resource):
    api_client, secret = register(world, write=True)
    assert len(secret) >= 40
    account = api_client.user
    assert account.organization_id == world.county_a.pk and not account.has_usable_password()
    assert api_client.application.authorization_grant_type == "client-credentials"
    assert api_client.application.client_type == "confidential" and api_client.application.user_id == account.pk
    assert api_client.region_path == world.county_a.region_path
    assert services.grants_of(api_client) == {resource.key: GrantSpec(read=True, write=True)}
    entry = AuditEntry.objects.get(object_type="api_client", object_id=str(api_client.pk), action="create")
    assert entry.actor_id == world.user("secadmin").pk and "学校（测试）：读写" in str(entry.changes)


def test_audit_entries_of_a_client_name_the_client(world, resource):
    from eduplatform.history.models import AuditAction
    from eduplatform.history.services import record_change

    api_client, _ = register(world)
    record_change(actor=api_client.user, action=AuditAction.UPDATE, object_type="school", object_id=1,
                  object_label="某校")
    entry = AuditEntry.objects.filter(object_type="school").latest("id")
    assert entry.actor_name == "接口客户端：天河区学籍系统" and entry.actor_org_name == world.county_a.name


def test_only_the_security_administrator_registers_clients(world, resource):
    for who in ("sysadmin", "auditor", "province", "county_a_stat"):
        with pytest.raises(NotPermitted):
            register(world, actor=world.user(who))


def test_a_county_security_administrator_binds_clients_only_in_its_county(world, resource):
    admin_a = county_security_admin(world, "a")
    api_client, _ = register(world, actor=admin_a, organization=world.school_a1)
    assert api_client.organization_id == world.school_a1.pk
    with pytest.raises(OutOfScope):
        register(world, actor=admin_a, organization=world.school_b1)
    foreign, _ = register(world, name=f"{LEAK_MARKER_B}学籍系统", organization=world.county_b)
    with pytest.raises(OutOfScope):
        services.suspend_client(actor=admin_a, client=foreign, reason="不是我的")
    with pytest.raises(OutOfScope):
        services.rotate_secret(actor=admin_a, client=foreign)
    assert set(services.clients_in_scope(admin_a)) == {api_client}


def test_register_checks_every_field_at_once(world, resource):
    with pytest.raises(RecordInvalid) as refused:
        services.register_client(actor=world.user("secadmin"), name=" ", organization=world.county_a,
                                 grants={"no_such": GrantSpec(), resource.key: GrantSpec(write=True)}, rate_limit=0)
    fields = {p.field for p in refused.value.problems}
    assert fields == {"name", "rate_limit_per_minute", "grants"}
    assert not ApiClient.objects.exists()


def test_a_read_only_resource_cannot_be_granted_for_writing(world, monkeypatch):
    from eduplatform.exchange import resources

    read_only = resources.ApiResource(key="test_codes", label="代码表（测试）", description="", natural_key=("code",),
                                      fields=(), read_capability="")
    monkeypatch.setitem(resources._RESOURCES, read_only.key, read_only)
    with pytest.raises(RecordInvalid, match="只读资源"):
        services.register_client(
            actor=world.user("secadmin"), name="系统", organization=world.county_a,
            grants={read_only.key: GrantSpec(write=True)})


def test_suspend_needs_a_reason_and_is_audited(world, resource):
    api_client, _ = register(world)
    with pytest.raises(RecordInvalid):
        services.suspend_client(actor=world.user("secadmin"), client=api_client, reason="  ")
    services.suspend_client(actor=world.user("secadmin"), client=api_client, reason="数据质量问题")
    api_client.refresh_from_db()
    assert api_client.status == ClientStatus.SUSPENDED and api_client.status_reason == "数据质量问题"
    assert AuditEntry.objects.filter(object_type="api_client", action="close", object_id=str(api_client.pk)).exists()
    assert not api_client.user.__class__.objects.get(pk=api_client.user_id).can(resource.read_capability)


def test_a_service_account_cannot_sign_in_to_pages(client, world, resource):
    api_client, _ = register(world)
    account = api_client.user
    account.set_password(PASSWORD)  # even with a password somebody set by hand
    account.save()
    response = client.post("/accounts/login/", {"username": account.username, "password": PASSWORD})
    assert response.status_code == 200 and "服务账号" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --------------------------------------------------------------------------------------------
# Pages


def test_the_security_administrator_registers_a_client_and_sees_the_secret_once(client, world, resource):
    client.force_login(world.user("secadmin"))
    form = client.get("/exchange/clients/new/")
    assert form.status_code == 200 and "学校（测试）" in form.content.decode()
    response = client.post("/exchange/clients/new/", {
        "name": "越秀区招生系统", "vendor": "某公司", "contact": "王工", "organization": str(world.county_b.pk),
        "rate_limit_per_minute": "120", f"read_{resource.key}": "on", f"write_{resource.key}": "on",
    })
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    api_client = ApiClient.objects.get(name="越秀区招生系统")
    secret = body.split('data-testid="client-secret" class="text-break">')[1].split("<")[0]
    assert api_client.application.client_id in body and "只显示这一次" in body
    assert obtain_token(client, api_client, secret)
    assert services.grants_of(api_client) == {resource.key: GrantSpec(read=True, write=True)}
    assert api_client.rate_limit_per_minute == 120 and api_client.organization_id == world.county_b.pk
    detail = client.get(f"/exchange/clients/{api_client.pk}/").content.decode()
    assert secret not in detail and "越秀区招生系统" in detail


def test_pages_govern_grants_suspension_and_rotation(client, world, resource):
    api_client, old_secret = register(world)
    client.force_login(world.user("secadmin"))
    url = f"/exchange/clients/{api_client.pk}/"
    saved = client.post(url, {"rate_limit_per_minute": "30", f"write_{resource.key}": "on", "vendor": "新公司"})
    assert saved.status_code == 302
    api_client.refresh_from_db()
    assert api_client.rate_limit_per_minute == 30 and services.grants_of(api_client)[resource.key].write
    client.post(f"{url}suspend/", {"reason": "安全检查"})
    api_client.refresh_from_db()
    assert api_client.status == ClientStatus.SUSPENDED
    assert "安全检查" in client.get(url).content.decode()
    client.post(f"{url}resume/")
    api_client.refresh_from_db()
    assert api_client.is_active
    rotated = client.post(f"{url}rotate/")
    assert rotated.status_code == 200 and "旧密钥" in rotated.content.decode()
    from tests.api_clients_support import token_response

    assert token_response(client, api_client.application.client_id, old_secret).status_code == 401


def test_the_auditor_reads_clients_and_traffic_but_changes_nothing(client, world, resource):
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    for _ in range(3):
        client.get("/api/v1/schools", **bearer(token))
    client.get(f"/api/v1/schools/{world.school_b1.school_code}", **bearer(token))
    client.force_login(world.user("auditor"))
    assert "天河区学籍系统" in client.get("/exchange/clients/").content.decode()
    assert client.get("/exchange/clients/new/").status_code == 403
    assert client.post(f"/exchange/clients/{api_client.pk}/suspend/", {"reason": "x"}).status_code == 403
    assert client.post(f"/exchange/clients/{api_client.pk}/", {"rate_limit_per_minute": "1"}).status_code == 403
    api_client.refresh_from_db()
    assert api_client.is_active and api_client.rate_limit_per_minute == 600
    traffic = client.get(f"/exchange/clients/{api_client.pk}/traffic/")
    body = traffic.content.decode()
    assert traffic.status_code == 200 and "scope.outside" in body and "/api/v1/schools/{school_code}" in body
    assert "p50" in body and "p95" in body


def test_traffic_figures(world, resource):
    from eduplatform.exchange import traffic

    api_client, _ = register(world)
    ApiCallLog.objects.bulk_create([
        ApiCallLog(client=api_client, method="GET", route="/api/v1/x", path="/api/v1/x", latency_ms=ms,
                   status=200 if ms <= 90 else 422, problem_code="" if ms <= 90 else "record.invalid", records=2)
        for ms in range(1, 101)
    ])
    latency = traffic.latency(api_client)
    assert (latency.calls, latency.p50, latency.p95, latency.slowest) == (100, 50, 95, 100)
    (day,) = traffic.per_day(api_client)
    assert (day.calls, day.ok, day.client_errors, day.records) == (100, 90, 10, 200)
    assert [(e["problem_code"], e["calls"]) for e in traffic.errors_by_code(api_client)] == [("record.invalid", 10)]


def test_recent_calls_are_keyset_paged(client, world, resource, settings):
    api_client, _ = register(world)
    ApiCallLog.objects.bulk_create([
        ApiCallLog(client=api_client, method="GET", route=f"/api/v1/r{i:03d}", path="/", latency_ms=1, status=200)
        for i in range(60)
    ])
    client.force_login(world.user("secadmin"))
    first = client.get(f"/exchange/clients/{api_client.pk}/traffic/").content.decode()
    assert "/api/v1/r059" in first and 'data-testid="page-next"' in first
    next_link = first.split('data-testid="page-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/exchange/clients/{api_client.pk}/traffic/{next_link}").content.decode()
    assert "/api/v1/r059" not in second and "/api/v1/r000" in second


def test_client_list_is_scoped_and_exports(client, world, resource):
    register(world, name="天河区学籍系统")
    register(world, name=f"{LEAK_MARKER_B}系统", organization=world.county_b)
    client.force_login(county_security_admin(world, "a"))
    body = client.get("/exchange/clients/").content.decode()
    assert "天河区学籍系统" in body and LEAK_MARKER_B not in body
    export = client.get("/exchange/clients/?format=xlsx")
    book = CalamineWorkbook.from_filelike(io.BytesIO(export.content))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0][0] == "系统名称" and [r[0] for r in rows[1:]] == ["天河区学籍系统"]
    foreign = ApiClient.objects.get(organization=world.county_b)
    for suffix in ("", "traffic/"):
        assert client.get(f"/exchange/clients/{foreign.pk}/{suffix}").status_code == 404
    for suffix in ("suspend/", "rotate/", "resume/"):
        assert client.post(f"/exchange/clients/{foreign.pk}/{suffix}", {"reason": "x"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active
    new_form = client.get("/exchange/clients/new/").content.decode()
    assert 'data-picker="unit"' in new_form and world.school_b1.name not in new_form
    # The 所属单位 picker searches the administrator's jurisdiction only.
    units = [r["text"] for r in client.get("/orgs/pick/units/", {"q": "测试"}).json()["results"]]
    assert any(world.school_a1.name in u for u in units) and not any(world.school_b1.name in u for u in units)
    by_code = {"name": "某校系统", "rate_limit_per_minute": "60"}
    refused = client.post("/exchange/clients/new/", {**by_code, "school_code": world.school_b1.school_code})
    assert refused.status_code == 200 and "本辖区" in refused.content.decode()
    assert not ApiClient.objects.filter(name="某校系统").exists()
    client.post("/exchange/clients/new/", {**by_code, "school_code": world.school_a1.school_code})
    assert ApiClient.objects.get(name="某校系统").organization_id == world.school_a1.pk


def test_record_readers_do_not_see_the_client_pages(client, world):
    for who in ("county_a_stat", "clerk_a1", "province"):
        client.force_login(world.user(who))
        assert client.get("/exchange/clients/").status_code == 403
    client.force_login(world.user("secadmin"))
    assert "接口客户端" in client.get("/").content.decode()


def test_the_oauth_mount_offers_only_the_token_endpoints(client, world):
    client.force_login(world.user("county_a_stat"))
    assert client.get("/oauth/applications/").status_code == 404
    assert client.get("/oauth/applications/register/").status_code == 404

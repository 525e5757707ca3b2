"""External systems on the API: OAuth2 client credentials over the real /oauth/token/ endpoint,
Bearer tokens, the problems that say why a call is refused, the call log and the rate limit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider.models import AccessToken

from eduplatform.exchange import clients as services
from eduplatform.exchange.models import ApiCallLog
from eduplatform.exchange.rights import RightMissing, require_right
from tests.api_clients_support import (
    bearer,
    install_test_resource,
    obtain_token,
    register,
    token_response,
)


@pytest.fixture
def resource(monkeypatch):
    return install_test_resource(monkeypatch)


def problem_of(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", response.content
    return json.loads(response.content)


def test_a_client_obtains_a_token_and_reads_its_jurisdiction(client, world, resource):
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    response = client.get("/api/v1/schools", **bearer(token))
    assert response.status_code == 200, response.content
    codes = {s["school_code"] for s in response.json()["items"]}
    assert world.school_a1.school_code in codes and world.school_b1.school_code not in codes


def test_a_wrong_secret_gets_no_token(client, world, resource):
    api_client, secret = register(world)
    response = token_response(client, api_client.application.client_id, secret + "x")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.filter(application=api_client.application).exists()


def test_the_secret_is_stored_hashed(world, resource):
    api_client, secret = register(world)
    api_client.application.refresh_from_db()
    assert api_client.application.client_secret != secret and secret not in api_client.application.client_secret


def test_rotating_the_secret_refuses_the_old_secret_and_its_tokens_at_once(client, world, resource):
    api_client, old_secret = register(world)
    old_token = obtain_token(client, api_client, old_secret)
    new_secret = services.rotate_secret(actor=world.user("secadmin"), client=api_client)
    assert new_secret != old_secret
    assert token_response(client, api_client.application.client_id, old_secret).status_code == 401
    refused = client.get("/api/v1/schools", **bearer(old_token))
    assert refused.status_code == 401 and problem_of(refused)["code"] == "token.invalid"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    new_token = obtain_token(client, api_client, new_secret)
    assert client.get("/api/v1/schools", **bearer(new_token)).status_code == 200


def test_an_unknown_or_expired_token_is_a_401_token_invalid(client, world, resource):
    response = client.get("/api/v1/schools", **bearer("not-a-token"))
    assert response.status_code == 401 and problem_of(response)["code"] == "token.invalid"
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    AccessToken.objects.filter(application=api_client.application).update(expires=timezone.now() - dt.timedelta(seconds=1))
    expired = client.get("/api/v1/schools", **bearer(token))
    assert expired.status_code == 401 and "过期" in problem_of(expired)["detail"]


def test_a_suspended_client_is_refused_with_the_reason(client, world, resource):
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    services.suspend_client(actor=world.user("secadmin"), client=api_client, reason="合同到期，待续签")
    response = client.get("/api/v1/schools", **bearer(token))
    body = problem_of(response)
    assert response.status_code == 403 and body["code"] == "client.suspended"
    assert "合同到期，待续签" in body["detail"] and api_client.name in body["detail"]
    services.resume_client(actor=world.user("secadmin"), client=api_client)
    assert client.get("/api/v1/schools", **bearer(token)).status_code == 200


def test_a_client_without_a_grant_holds_no_capability(client, world, resource):
    """No grant: the service account holds no right (it has no roles); the route refuses it."""
    api_client, secret = register(world, name="无授权系统", read=False)
    token = obtain_token(client, api_client, secret)
    assert not api_client.user.can("records.view")
    response = client.get("/api/v1/schools", **bearer(token))
    assert response.status_code == 403 and problem_of(response)["status"] == 403


def test_a_missing_grant_is_a_403_naming_the_right(world, resource):
    """``require_right`` (every record route calls it) and the API's answer: client.right_missing
    with ``missing: "<resource>:<action>"`` and a Chinese detail naming the client and the resource."""
    from config.api import api

    api_client, _ = register(world, read=True, write=False)
    request = RequestFactory().post("/api/v1/test_schools")
    request.api_client, request.user = api_client, api_client.user
    require_right(request, resource, "read")  # granted: no error
    with pytest.raises(RightMissing) as refused:
        require_right(request, resource, "write")
    response = api.on_exception(request, refused.value)
    body = problem_of(response)
    assert response.status_code == 403 and body["code"] == "client.right_missing"
    assert body["missing"] == "test_schools:write"
    assert api_client.name in body["detail"] and "写入" in body["detail"] and resource.label in body["detail"]


def test_grants_are_the_service_accounts_capabilities(world, resource):
    api_client, _ = register(world, read=True, write=True, may_see_personal=True)
    account = api_client.user
    assert account.can(resource.read_capability) and account.can(resource.write_capability)
    assert account.can("records.view_sensitive")
    assert not account.can("accounts.assign_roles") and not account.can("students.edit")
    services.update_client(actor=world.user("secadmin"), client=api_client, grants={}, may_see_personal=False,
                           rate_limit=600)
    account.refresh_from_db()
    fresh = type(account).objects.get(pk=account.pk)
    assert not fresh.can(resource.read_capability) and not fresh.can("records.view_sensitive")


def test_a_foreign_school_is_a_403_naming_the_callers_jurisdiction(client, world, resource):
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    response = client.get(f"/api/v1/schools/{world.school_b1.school_code}", **bearer(token))
    body = problem_of(response)
    assert response.status_code == 403 and body["code"] == "scope.outside"
    assert world.county_a.name in body["detail"] and body["jurisdiction"] == world.county_a.name
    assert world.school_b1.name not in response.content.decode()
    own = client.get(f"/api/v1/schools/{world.school_a1.school_code}", **bearer(token))
    assert own.status_code == 200


def test_session_authentication_still_works_for_the_browser(client, world):
    client.force_login(world.user("county_a_stat"))
    assert client.get("/api/v1/schools").status_code == 200
    client.logout()
    response = client.get("/api/v1/schools")
    assert response.status_code == 401 and problem_of(response)["code"] == "unauthenticated"


def test_every_call_is_logged_with_route_status_latency_and_problem(client, world, resource):
    api_client, secret = register(world)
    token = obtain_token(client, api_client, secret)
    client.get("/api/v1/schools", **bearer(token))
    client.get(f"/api/v1/schools/{world.school_b1.school_code}", **bearer(token))
    client.get("/api/v1/schools", **bearer("nonsense"))
    client.force_login(world.user("county_a_stat"))
    client.get(f"/api/v1/schools/{world.school_a1.school_code}")
    rows = list(ApiCallLog.objects.order_by("id"))
    assert [(r.client_id, r.route, r.status, r.problem_code) for r in rows] == [
        (api_client.pk, "/api/v1/schools", 200, ""),
        (api_client.pk, "/api/v1/schools/{school_code}", 403, "scope.outside"),
        (None, "/api/v1/schools", 401, "token.invalid"),
        (None, "/api/v1/schools/{school_code}", 200, ""),
    ]
    assert rows[0].method == "GET" and rows[0].region_path == api_client.region_path
    assert all(r.latency_ms >= 0 for r in rows) and rows[1].path.endswith(world.school_b1.school_code)
    assert rows[3].user_id == world.user("county_a_stat").pk


def test_a_failing_call_log_never_fails_the_call(client, world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("log table unavailable")

    monkeypatch.setattr(ApiCallLog, "save", broken)
    client.force_login(world.user("county_a_stat"))
    assert client.get("/api/v1/schools").status_code == 200
    monkeypatch.undo()
    assert client.get("/api/v1/no-such-route/a\x00b").status_code == 400  # refused by the input guard, still logged
    (row,) = ApiCallLog.objects.filter(path__startswith="/api/v1/no-such-route/")
    assert row.status == 400 and "\x00" not in row.path


def test_the_rate_limit_answers_429_with_retry_after(client, world, resource):
    api_client, secret = register(world, rate_limit=3)
    token = obtain_token(client, api_client, secret)
    statuses = [client.get("/api/v1/schools", **bearer(token)).status_code for _ in range(3)]
    refused = client.get("/api/v1/schools", **bearer(token))
    if refused.status_code != 429:  # the minute turned between the calls: a fresh window
        statuses += [refused.status_code] + [client.get("/api/v1/schools", **bearer(token)).status_code for _ in range(2)]
        refused = client.get("/api/v1/schools", **bearer(token))
    assert set(statuses) == {200}
    body = problem_of(refused)
    assert refused.status_code == 429 and body["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60 and body["retry_after"] == int(refused["Retry-After"])
    assert ApiCallLog.objects.filter(client=api_client, status=429, problem_code="rate_limited").exists()
    other, other_secret = register(world, name="另一系统", rate_limit=3)
    assert client.get("/api/v1/schools", **bearer(obtain_token(client, other, other_secret))).status_code == 200


def test_the_rate_window_is_per_minute(db):
    from eduplatform.exchange.ratelimit import RateLimited, check_rate

    start = 1_800_000_000.0 - 1_800_000_000.0 % 60  # the first second of a minute
    for _ in range(2):
        check_rate(987654, 2, now=start + 10)
    with pytest.raises(RateLimited) as refused:
        check_rate(987654, 2, now=start + 15)
    assert refused.value.retry_after == 45
    check_rate(987654, 2, now=start + 61)  # the next minute counts afresh


def test_record_routes_name_the_missing_grant_and_the_foreign_school(client, world):
    """The record resources (exchange.record_resources) through a real token: no grant → 403
    client.right_missing naming "students:read"; read-only grant → writing names "students:write";
    a school of county B → 403 scope.outside naming the client's jurisdiction."""
    from eduplatform.exchange.clients import GrantSpec

    api_client, secret = services.register_client(
        actor=world.user("secadmin"), name="天河区学籍系统", organization=world.county_a,
        grants={"staff": GrantSpec(read=True)})
    token = obtain_token(client, api_client, secret)
    refused = client.get("/api/v1/students", **bearer(token))
    body = problem_of(refused)
    assert refused.status_code == 403 and body["code"] == "client.right_missing" and body["missing"] == "students:read"
    assert "学生" in body["detail"] and "天河区学籍系统" in body["detail"]

    services.update_client(actor=world.user("secadmin"), client=api_client, grants={"students": GrantSpec(read=True), "staff": GrantSpec(read=True)},
                           may_see_personal=False, rate_limit=600)
    assert client.get("/api/v1/students", **bearer(token)).status_code == 200
    write = client.post("/api/v1/students/batch", data=json.dumps({"records": [{"name": "测试"}]}), content_type="application/json",
                        **bearer(token))
    assert write.status_code == 403 and problem_of(write)["missing"] == "students:write"

    foreign = client.get(f"/api/v1/staff?school_code={world.school_b1.school_code}", **bearer(token))
    body = problem_of(foreign)
    assert foreign.status_code == 403 and body["code"] == "scope.outside"
    assert body["jurisdiction"] == world.county_a.name
    logged = list(ApiCallLog.objects.filter(client=api_client).order_by("id").values_list("route", "status", "problem_code"))
    assert logged == [("/api/v1/students", 403, "client.right_missing"), ("/api/v1/students", 200, ""),
                      ("/api/v1/students/batch", 403, "client.right_missing"), ("/api/v1/staff", 403, "scope.outside")]

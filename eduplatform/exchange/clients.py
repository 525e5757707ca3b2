"""Registering external systems and governing what they may do: the security administrator's
services for ``ApiClient`` (三员分立: registering a system is a security duty, like granting roles).

Each client gets a service account in its unit (so scope, audit and the change feed treat it as a
user of that unit) and a confidential OAuth2 application with the client-credentials grant. The
plain secret exists only in the return value of ``register_client`` and ``rotate_secret``: the
application stores it hashed, so it is shown once and can only be replaced, never read back.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from oauth2_provider.models import AccessToken, Application, RefreshToken

from eduplatform.accounts.models import SERVICE_ACCOUNT_PREFIX, User
from eduplatform.accounts.roles import VIEW_AUDIT, VIEW_SENSITIVE
from eduplatform.core.errors import NotPermitted, OutOfScope, ProblemCollector
from eduplatform.exchange import resources
from eduplatform.exchange.models import ApiClient, ApiGrant, ClientStatus
from eduplatform.history.models import AuditAction
from eduplatform.history.services import diff_fields, record_change
from eduplatform.orgs.capabilities import MANAGE_API_CLIENTS
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor, scoped, unit_in_reach

MAX_RATE_LIMIT = 100_000
CLIENT_LABELS = {
    "name": gettext_noop("系统名称"),
    "vendor": gettext_noop("开发单位"),
    "contact": gettext_noop("联系人及电话"),
    "organization": gettext_noop("所属单位"),
    "may_see_personal": gettext_noop("可读取未脱敏个人信息"),
    "rate_limit_per_minute": gettext_noop("每分钟请求上限"),
    "grants": gettext_noop("接口授权"),
    "status": gettext_noop("状态"),
    "status_reason": gettext_noop("停用原因"),
}


@dataclass(frozen=True)
class GrantSpec:
    """One row of the grants matrix: may the client read, write this resource."""

    read: bool = True
    write: bool = False


Grants = Mapping[str, GrantSpec]


# --------------------------------------------------------------------------------------------
# What a client may do


def client_capabilities(client: ApiClient) -> set[str]:
    """The capabilities a client's service account holds: those its grants imply, nothing else (a
    suspended client holds none). ``User.can`` asks this for a service account."""
    cached = getattr(client, "_capabilities", None)
    if cached is not None:
        return cached
    caps: set[str] = set()
    if client.is_active:
        for grant in client.grants.all():
            try:
                resource = resources.get(grant.resource)
            except KeyError:
                continue  # a grant for a resource no longer offered gives nothing
            if (grant.can_read or grant.can_write) and resource.read_capability:
                caps.add(resource.read_capability)
            if grant.can_write and resource.write_capability:
                caps.add(resource.write_capability)
        if client.may_see_personal:
            caps.add(VIEW_SENSITIVE)
    client._capabilities = caps
    return caps


def grants_of(client: ApiClient) -> dict[str, GrantSpec]:
    return {g.resource: GrantSpec(read=g.can_read or g.can_write, write=g.can_write) for g in client.grants.all()}


def describe_grants(grants: Grants) -> str:
    """“学生：读写；学校：只读” for audit entries."""
    parts = []
    for key in sorted(grants):
        spec = grants[key]
        if not (spec.read or spec.write):
            continue
        try:
            label = resources.get(key).label
        except KeyError:
            label = key
        parts.append(f"{label}：{'读写' if spec.write else '只读'}")
    return "；".join(parts) or "无"


# --------------------------------------------------------------------------------------------
# Who may govern clients


def _require_manager(actor: Actor) -> None:
    if not actor.can(MANAGE_API_CLIENTS):
        raise NotPermitted(gettext("只有安全管理员可以登记和管理接口客户端"))


def _require_reach(actor: Actor, organization: Organization) -> None:
    if not unit_in_reach(actor, organization):
        raise OutOfScope(gettext("只能为本辖区内的单位登记和管理接口客户端"))


def may_view_clients(actor: Actor) -> bool:
    """The security administrator governs clients; the security auditor reads them and their traffic."""
    return actor.can(MANAGE_API_CLIENTS) or actor.can(VIEW_AUDIT)


def clients_in_scope(actor: Actor) -> QuerySet[ApiClient]:
    if not may_view_clients(actor):
        raise NotPermitted(gettext("只有安全管理员和安全审计员可以查看接口客户端"))
    return scoped(ApiClient.objects.select_related("organization", "application"), actor, with_focus=False)


CLIENT_LIST_ORDER = ("region_path", "name", "pk")


def client_for(actor: Actor, client_id: int) -> ApiClient:
    client = clients_in_scope(actor).filter(pk=client_id).prefetch_related("grants").first()
    if client is None:
        raise Http404(gettext("接口客户端不存在或不在您的管辖范围内"))
    return client


# --------------------------------------------------------------------------------------------
# Checks


def _check_fields(problems: ProblemCollector, *, name: str, rate_limit: int) -> None:
    if not name.strip():
        problems.add("name", "required", gettext("请填写系统名称"), gettext(CLIENT_LABELS["name"]))
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        problems.add("rate_limit_per_minute", "range",
                     gettext("每分钟请求上限应在 1 至 %(max)s 之间，而不是 %(value)s") % {"max": MAX_RATE_LIMIT, "value": rate_limit},
                     gettext(CLIENT_LABELS["rate_limit_per_minute"]))


def _check_grants(problems: ProblemCollector, grants: Grants) -> None:
    for key, spec in grants.items():
        try:
            resource = resources.get(key)
        except KeyError:
            problems.add("grants", "grant.unknown_resource", gettext("没有名为“%(key)s”的接口资源") % {"key": key},
                         gettext(CLIENT_LABELS["grants"]))
            continue
        if spec.write and not resource.writable:
            problems.add("grants", "grant.read_only",
                         gettext("“%(resource)s”为只读资源，只能授予读取权限") % {"resource": gettext(str(resource.label))},
                         gettext(CLIENT_LABELS["grants"]))


def _save_grants(client: ApiClient, grants: Grants) -> None:
    ApiGrant.objects.filter(client=client).delete()
    ApiGrant.objects.bulk_create([
        ApiGrant(client=client, resource=key, can_read=spec.read or spec.write, can_write=spec.write)
        for key, spec in sorted(grants.items()) if spec.read or spec.write
    ])
    client.__dict__.pop("_prefetched_objects_cache", None)
    client._grant_cache = None
    client._capabilities = None


def _new_secret() -> str:
    return secrets.token_urlsafe(36)


def _audit(actor: Actor | None, client: ApiClient, action: AuditAction, changes=None, note: str = "") -> None:
    record_change(actor=actor, action=action, object_type="api_client", object_id=client.pk,
                  object_label=f"接口客户端「{client.name}」", changes=changes, region_path=client.region_path,
                  note=note)


# --------------------------------------------------------------------------------------------
# Services


@transaction.atomic
def register_client(
    *,
    actor: Actor,
    name: str,
    organization: Organization,
    grants: Grants,
    vendor: str = "",
    contact: str = "",
    may_see_personal: bool = False,
    rate_limit: int = 600,
) -> tuple[ApiClient, str]:
    """A new external system bound to ``organization`` (its jurisdiction): its service account, its
    OAuth2 application and its grants. Returns the client and its plain secret, shown only once."""
    _require_manager(actor)
    _require_reach(actor, organization)
    problems = ProblemCollector(gettext("接口客户端「%(name)s」") % {"name": name})
    _check_fields(problems, name=name, rate_limit=rate_limit)
    _check_grants(problems, grants)
    if not organization.is_open:
        problems.add("organization", "organization.closed", gettext("“%(organization)s”已撤销，不能绑定接口客户端") % {"organization": organization.name},
                     gettext(CLIENT_LABELS["organization"]))
    problems.raise_if_any()

    account = User(username=f"{SERVICE_ACCOUNT_PREFIX}{secrets.token_hex(6)}", display_name=name.strip()[:50],
                   organization=organization)
    account.set_unusable_password()  # never signs in to pages: tokens only (accounts.forms.LoginForm)
    account.save()
    secret = _new_secret()
    application = Application.objects.create(
        name=name.strip()[:255], user=account, client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS, client_secret=secret, hash_client_secret=True,
        redirect_uris="", skip_authorization=True,
    )
    client = ApiClient.objects.create(
        name=name.strip(), vendor=vendor.strip(), contact=contact.strip(), organization=organization,
        region_path=organization.region_path, user=account, application=application,
        may_see_personal=may_see_personal, rate_limit_per_minute=rate_limit,
        created_by=actor if isinstance(actor, User) else None, secret_rotated_at=timezone.now(),
    )
    _save_grants(client, grants)
    _audit(actor, client, AuditAction.CREATE, changes={
        "organization": {"label": CLIENT_LABELS["organization"], "before": None, "after": organization.name},
        "grants": {"label": CLIENT_LABELS["grants"], "before": None, "after": describe_grants(grants)},
        "may_see_personal": {"label": CLIENT_LABELS["may_see_personal"], "before": None, "after": may_see_personal},
        "rate_limit_per_minute": {"label": CLIENT_LABELS["rate_limit_per_minute"], "before": None,
                                  "after": rate_limit},
    }, note=f"client_id {application.client_id}")
    return client, secret


@transaction.atomic
def update_client(
    *,
    actor: Actor,
    client: ApiClient,
    grants: Grants,
    may_see_personal: bool,
    rate_limit: int,
    vendor: str | None = None,
    contact: str | None = None,
) -> ApiClient:
    """Change what a client may do (grants, personal data, rate limit) and its contact details.
    Takes effect on its next call: the token stays, its rights are read on every request."""
    _require_manager(actor)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    _require_reach(actor, client.organization)
    problems = ProblemCollector(gettext("接口客户端「%(name)s」") % {"name": client.name})
    _check_fields(problems, name=client.name, rate_limit=rate_limit)
    _check_grants(problems, grants)
    problems.raise_if_any()
    before = {"grants": describe_grants(grants_of(client)), "may_see_personal": client.may_see_personal,
              "rate_limit_per_minute": client.rate_limit_per_minute, "vendor": client.vendor, "contact": client.contact}
    client.may_see_personal = may_see_personal
    client.rate_limit_per_minute = rate_limit
    if vendor is not None:
        client.vendor = vendor.strip()
    if contact is not None:
        client.contact = contact.strip()
    client.save(update_fields=["may_see_personal", "rate_limit_per_minute", "vendor", "contact"])
    _save_grants(client, grants)
    after = {"grants": describe_grants(grants), "may_see_personal": client.may_see_personal,
             "rate_limit_per_minute": client.rate_limit_per_minute, "vendor": client.vendor, "contact": client.contact}
    changes = diff_fields(before, after, CLIENT_LABELS)
    if changes:
        _audit(actor, client, AuditAction.UPDATE, changes=changes)
    return client


@transaction.atomic
def suspend_client(*, actor: Actor, client: ApiClient, reason: str) -> ApiClient:
    """Refuse every call of the client from now on (403 ``client.suspended`` with the reason)."""
    _require_manager(actor)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    _require_reach(actor, client.organization)
    problems = ProblemCollector(gettext("接口客户端「%(name)s」") % {"name": client.name})
    if not reason.strip():
        problems.add("reason", "required", gettext("请填写停用原因（对方系统调用时会看到）"), gettext("停用原因"))
    problems.raise_if_any()
    before = {"status": client.get_status_display(), "status_reason": client.status_reason}
    client.status = ClientStatus.SUSPENDED
    client.status_reason = reason.strip()[:200]
    client.save(update_fields=["status", "status_reason"])
    _audit(actor, client, AuditAction.CLOSE,
           changes=diff_fields(before, {"status": client.get_status_display(), "status_reason": client.status_reason},
                               CLIENT_LABELS))
    return client


@transaction.atomic
def resume_client(*, actor: Actor, client: ApiClient) -> ApiClient:
    _require_manager(actor)
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    _require_reach(actor, client.organization)
    before = {"status": client.get_status_display(), "status_reason": client.status_reason}
    client.status = ClientStatus.ACTIVE
    client.status_reason = ""
    client.save(update_fields=["status", "status_reason"])
    _audit(actor, client, AuditAction.REOPEN,
           changes=diff_fields(before, {"status": client.get_status_display(), "status_reason": ""}, CLIENT_LABELS))
    return client


@transaction.atomic
def rotate_secret(*, actor: Actor, client: ApiClient) -> str:
    """A new secret, returned once. The old one stops working at once and every token issued with
    it is revoked, so a leaked secret or token is useless from this moment."""
    _require_manager(actor)
    client = ApiClient.objects.select_for_update(of=("self",)).select_related("application").get(pk=client.pk)
    _require_reach(actor, client.organization)
    secret = _new_secret()
    application = client.application
    if application is None:
        raise NotPermitted(gettext("该接口客户端没有凭据，无法更新密钥"))
    application.client_secret = secret
    application.hash_client_secret = True
    application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
    revoked = AccessToken.objects.filter(application=application).count()
    RefreshToken.objects.filter(application=application).delete()
    AccessToken.objects.filter(application=application).delete()
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_rotated_at"])
    _audit(actor, client, AuditAction.UPDATE, note=f"更新密钥，作废访问令牌 {revoked} 个")
    return secret

"""External systems that use the open API, what each may do, and what each did.

An ``ApiClient`` is a school or city system (学籍系统, 招生系统 …) registered by the security
administrator. It holds OAuth2 client credentials (a django-oauth-toolkit ``Application``), is bound
to one organization unit — its jurisdiction, exactly as a user's — and acts through a service
account (``user``) of that unit, so that every selector and service treats it like a user of that
unit: scope, audit and change feed need nothing special. What the client may do on top of that is
granted per resource (``ApiGrant``: read, write), and whether it sees personal data unmasked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class ClientStatus(models.TextChoices):
    ACTIVE = "active", _("启用")
    SUSPENDED = "suspended", _("已停用")


class ApiClient(models.Model):
    name = models.CharField(_("系统名称"), max_length=100)
    vendor = models.CharField(_("开发单位"), max_length=100, blank=True)
    contact = models.CharField(_("联系人及电话"), max_length=100, blank=True)
    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="api_clients",
                                     verbose_name=_("所属单位（管辖范围）"))
    region_path = models.CharField(max_length=64)  # the organization's, for scoped lists of clients
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client",
                                verbose_name=_("服务账号"))
    application = models.OneToOneField("oauth2_provider.Application", on_delete=models.PROTECT,
                                       related_name="api_client", null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=ClientStatus.choices, default=ClientStatus.ACTIVE)
    status_reason = models.CharField(_("停用原因"), max_length=200, blank=True)
    may_see_personal = models.BooleanField(_("可读取未脱敏个人信息"), default=False)
    rate_limit_per_minute = models.PositiveIntegerField(_("每分钟请求上限"), default=600)
    secret_rotated_at = models.DateTimeField(_("密钥更新时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="organization_id")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("接口客户端")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="apiclient_region")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == ClientStatus.ACTIVE

    def allows(self, resource: str, action: str) -> bool:
        """Whether a grant lets this client ``action`` ("read" or "write") ``resource`` (an ApiResource key)."""
        grants = getattr(self, "_grant_cache", None)
        if grants is None:
            grants = {g.resource: g for g in self.grants.all()}
            self._grant_cache = grants
        grant = grants.get(resource)
        if grant is None:
            return False
        return grant.can_write if action == "write" else (grant.can_read or grant.can_write)


class ApiGrant(models.Model):
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="grants")
    resource = models.CharField(_("资源"), max_length=32)  # ApiResource.key
    can_read = models.BooleanField(_("读取"), default=True)
    can_write = models.BooleanField(_("写入"), default=False)

    class Meta:
        verbose_name = _("接口授权")
        constraints = [models.UniqueConstraint(fields=["client", "resource"], name="apigrant_unique")]


class ApiCallLog(models.Model):
    """One API call of a client (or of a signed-in user trying the API): the client's traffic page."""

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, null=True, blank=True, related_name="calls")
    user_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    route = models.CharField(max_length=200)  # the route's pattern, e.g. /api/v1/students/{student_number}
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    latency_ms = models.PositiveIntegerField()
    records = models.PositiveIntegerField(default=0)  # records read or written
    problem_code = models.CharField(max_length=64, blank=True)  # the RFC 9457 problem's code, if any
    region_path = models.CharField(max_length=64, blank=True)

    SCOPE = ScopeFields(path="region_path", school="client__organization_id")

    class Meta:
        verbose_name = _("接口调用记录")
        indexes = [models.Index(fields=["client", "id"], name="apicall_client_id")]


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("处理中")
    DONE = "done", _("已完成")


class IdempotencyRecord(models.Model):
    """The stored answer to a write sent with an ``Idempotency-Key``: a retry gets the same answer and
    changes nothing. The unique (client, key) is what makes two simultaneous retries safe."""

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)  # a session user without a client
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)  # sha256 of method, path and body
    state = models.CharField(max_length=12, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("幂等记录")
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key"),
            models.UniqueConstraint(fields=["user_id", "key"], condition=models.Q(client__isnull=True),
                                    name="idempotency_user_key"),
        ]

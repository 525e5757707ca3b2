"""Users: each belongs to one organization, whose subtree is the user's data scope."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.accounts.roles import SECURITY_DUTY_GROUP, Role, capabilities_of
from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.stages import describe

# Usernames of the service accounts through which external systems act (exchange.ApiClient.user).
SERVICE_ACCOUNT_PREFIX = "api-client-"


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    organization = models.ForeignKey(
        "orgs.Organization", verbose_name=_("所属单位"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    # Province officers may be limited to some stages (bit mask of orgs.stages.Stage); null = all.
    stage_mask = models.PositiveSmallIntegerField(_("学段范围"), null=True, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # Set when an administrator chose the password (a new account, a reset): the owner must replace
    # it before doing anything else (accounts.middleware.AccountGateMiddleware).
    must_change_password = models.BooleanField(_("须修改密码"), default=False)
    # 长期未使用账号封存: set by `seal_dormant_accounts`; a sealed account cannot log in until the
    # security administrator unseals it. unsealed_at restarts the dormancy clock.
    sealed_at = models.DateTimeField(_("封存时间"), null=True, blank=True)
    unsealed_at = models.DateTimeField(null=True, blank=True)

    SCOPE = ScopeFields(path="organization__region_path", school="organization_id")

    class Meta:
        verbose_name = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    # The actor interface used by services and selectors (orgs.scope.Actor).
    @cached_property
    def role_set(self) -> set[str]:
        return set(self.role_assignments.values_list("role", flat=True))

    def can(self, capability: str) -> bool:
        if not self.is_active:
            return False
        client = self.service_client
        if client is not None:
            # An external system's service account holds no roles: its grants are its capabilities.
            from eduplatform.exchange.clients import client_capabilities

            return capability in client_capabilities(client)
        return capability in capabilities_of(self.role_set)

    @cached_property
    def service_client(self):
        """The ``exchange.ApiClient`` this account acts for, or None for a person. Service accounts
        are named ``SERVICE_ACCOUNT_PREFIX…``, so a person's account costs no query here."""
        if not self.username.startswith(SERVICE_ACCOUNT_PREFIX) or self.pk is None:
            return None
        from eduplatform.exchange.models import ApiClient

        return ApiClient.objects.filter(user_id=self.pk).first()

    def audit_name(self) -> str:
        client = self.service_client
        if client is not None:
            return f"接口客户端：{client.name}"
        return f"{self.display_name}（{self.username}）" if self.display_name else self.username

    def audit_org(self) -> tuple[int | None, str]:
        return self.organization_id, (self.organization.name if self.organization_id else "")

    @property
    def role_labels(self) -> list[str]:
        return [str(r.label) for r in Role if r in self.role_set]

    @property
    def stage_description(self) -> str:
        return describe(self.stage_mask) if self.stage_mask else str(_("全部学段"))


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    # Set only for the three security duties, so the partial unique constraint below allows
    # at most one of them per user, on SQLite and PostgreSQL alike.
    duty_group = models.CharField(max_length=20, null=True, blank=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("角色授予")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="role_once_per_user"),
            models.UniqueConstraint(
                fields=["user", "duty_group"],
                condition=Q(duty_group=SECURITY_DUTY_GROUP),
                name="one_security_duty_per_user",
            ),
        ]


class UserSession(models.Model):
    """One signed-in browser session of a user, so the user and the security administrator can list
    and end sessions. Django's session table has no user column; this row maps its key to a user.
    Last activity is read from the session's own idle-clock stamp, so listing writes nothing."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    ip_address = models.CharField(_("IP"), max_length=64, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("登录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("登录会话")
        ordering = ["-created_at"]

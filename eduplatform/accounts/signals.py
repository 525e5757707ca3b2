"""Logins, failed logins and logouts go to the audit log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event


def _path(user) -> str:
    return user.organization.region_path if getattr(user, "organization_id", None) else ""


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    record_event(actor=user, action=AuditAction.LOGIN, object_type="accounts.user", object_id=user.pk,
                 object_label=user.audit_name(), region_path=_path(user))


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_event(actor=user, action=AuditAction.LOGOUT, object_type="accounts.user", object_id=user.pk,
                     object_label=user.audit_name(), region_path=_path(user))


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from eduplatform.accounts.models import User

    username = str(credentials.get("username", ""))[:150]
    user = User.objects.filter(username=username).select_related("organization").first()
    record_event(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=user.pk if user else "",
        object_label=username,
        region_path=_path(user) if user else "",
        note="用户名或密码错误",
    )

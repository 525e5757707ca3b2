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


@receiver(user_logged_in)
def open_session(sender, request, user, **kwargs) -> None:
    """Decide once whether this login needs the code step, and list the session (UserSession)."""
    from eduplatform.accounts import twofactor
    from eduplatform.accounts.models import UserSession
    from eduplatform.core.request_context import client_ip_of

    if request is None or not hasattr(request, "session"):
        return
    request.session[twofactor.SESSION_REQUIRED_KEY] = twofactor.needs_code_step(user)
    key = request.session.session_key
    if key:
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={"user": user, "ip_address": client_ip_of(request) or "",
                      "user_agent": request.headers.get("user-agent", "")[:300]},
        )


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if request is not None and getattr(request, "session", None) is not None and request.session.session_key:
        from eduplatform.accounts.models import UserSession

        UserSession.objects.filter(session_key=request.session.session_key).delete()
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

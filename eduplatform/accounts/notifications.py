"""Optional notices by e-mail and text message to the users of an organization, both off by default.

``NOTIFY_EMAIL`` sends through Django's mail (``EMAIL_*`` settings); ``NOTIFY_SMS`` calls the function
named by ``NOTIFY_SMS_SENDER`` (``"module.function"``, called with ``phone=`` and ``text=``). The inbox
(web/inbox.py) and the report reminders (reporting/services.py) both send through here, so there is
one place that decides who is told and how.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(getattr(settings, "NOTIFY_EMAIL", False) or getattr(settings, "NOTIFY_SMS", False))


def _send_sms(phone: str, text: str) -> bool:
    sender = getattr(settings, "NOTIFY_SMS_SENDER", "")
    if not sender:
        log.info("notification: NOTIFY_SMS is on but NOTIFY_SMS_SENDER names no function")
        return False
    import_string(sender)(phone=phone, text=text)
    return True


def notify_users(users: Iterable, *, subject: str, message: str) -> int:
    """Mail (and text) each user with an address; returns how many were told. Nothing when both are off."""
    if not enabled():
        log.info("notification not sent (NOTIFY_EMAIL/NOTIFY_SMS off): %s", subject)
        return 0
    told = 0
    for user in users:
        sent = False
        if getattr(settings, "NOTIFY_EMAIL", False) and user.email:
            sent = bool(send_mail(subject, message, None, [user.email], fail_silently=True)) or sent
        if getattr(settings, "NOTIFY_SMS", False) and user.phone:
            sent = _send_sms(user.phone, f"{subject}：{message}"[:300]) or sent
        told += sent
    return told


def notify_organizations(organization_ids: Iterable[int], *, subject: str, message: str, role: str | None = None) -> int:
    """Tell the active users of these organizations (optionally only those holding ``role``)."""
    if not enabled():
        log.info("notification not sent (NOTIFY_EMAIL/NOTIFY_SMS off): %s", subject)
        return 0
    from eduplatform.accounts.models import User

    users = User.objects.filter(organization_id__in=list(organization_ids), is_active=True)
    if role:
        users = users.filter(role_assignments__role=role).distinct()
    return notify_users(users, subject=subject, message=message)

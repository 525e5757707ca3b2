"""Mail (or text) every user a summary of their 待办 inbox: for a daily scheduler, with NOTIFY_EMAIL or
NOTIFY_SMS on (otherwise it says so and sends nothing)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from eduplatform.accounts.models import User
from eduplatform.web import inbox


class Command(BaseCommand):
    help = gettext_lazy("按用户发送待办事项摘要（需开启 NOTIFY_EMAIL 或 NOTIFY_SMS）")

    def handle(self, *args, **options) -> None:
        if not (settings.NOTIFY_EMAIL or settings.NOTIFY_SMS):
            self.stdout.write(gettext("NOTIFY_EMAIL 与 NOTIFY_SMS 均未开启，未发送任何提醒"))
            return
        reachable = Q(email__gt="") if settings.NOTIFY_EMAIL else Q(pk__in=[])
        if settings.NOTIFY_SMS:
            reachable |= Q(phone__gt="")
        sent = 0
        for user in User.objects.filter(reachable, is_active=True, organization__isnull=False).select_related("organization"):
            sent += inbox.send_digest(user)
        self.stdout.write(gettext("已向 %(sent)s 位用户发送待办摘要") % {"sent": sent})

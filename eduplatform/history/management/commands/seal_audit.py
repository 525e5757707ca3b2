"""Chain the committed audit entries not yet chained (cron every minute, or the ``seal_audit`` task)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.history.audit_chain import seal_entries


class Command(BaseCommand):
    help = gettext_lazy("封存审计日志：按事务顺序为已提交、尚未入链的条目计算哈希链")

    def handle(self, *args, **options) -> None:
        start = time.perf_counter()
        sealed = seal_entries()
        seconds = time.perf_counter() - start
        self.stdout.write(gettext("已封存 %(sealed)s 条审计日志，用时 %(seconds)s 秒") % {"sealed": sealed, "seconds": format(seconds, ".2f")})

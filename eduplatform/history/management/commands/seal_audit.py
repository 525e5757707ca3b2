"""Chain the committed audit entries not yet chained (cron every minute, or the ``seal_audit`` task)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from eduplatform.history.audit_chain import seal_entries


class Command(BaseCommand):
    help = "封存审计日志：按事务顺序为已提交、尚未入链的条目计算哈希链"

    def handle(self, *args, **options) -> None:
        start = time.perf_counter()
        sealed = seal_entries()
        seconds = time.perf_counter() - start
        self.stdout.write(f"已封存 {sealed} 条审计日志，用时 {seconds:.2f} 秒")

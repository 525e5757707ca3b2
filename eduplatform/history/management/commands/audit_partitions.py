"""Audit log maintenance, as the tables' owner (daily, cron): create the monthly partitions ahead and
archive the months past the retention (``AUDIT_RETENTION_MONTHS``, at least 6) to
``AUDIT_ARCHIVE_DIR``. PostgreSQL only; SQLite keeps a plain table."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.history.partitions import (
    archive_expired,
    ensure_partitions,
    partitioned,
    retention_months,
)


class Command(BaseCommand):
    help = gettext_lazy("审计日志分区维护：预建月分区，归档超过保留期的月份（导出文件后移除分区）")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-archive", action="store_true", help=gettext("只预建分区，不归档"))

    def handle(self, *args, **options) -> None:
        if not partitioned():
            self.stdout.write(gettext("审计日志未分区（SQLite 演示库）：无需维护"))
            return
        created = ensure_partitions()
        self.stdout.write(gettext("新建分区 %(count)s 个") % {"count": len(created)} + (f"：{', '.join(created)}" if created else ""))
        if options["no_archive"]:
            return
        for archive in archive_expired():
            self.stdout.write(gettext("已归档 %(month)s：%(rows)s 条 → %(file)s（sha256 %(sha256)s）") % {"month": format(archive.month, "%Y-%m"), "rows": archive.rows, "file": archive.file, "sha256": archive.sha256})
        self.stdout.write(gettext("保留期 %(retention_months)s 个月") % {"retention_months": retention_months()})

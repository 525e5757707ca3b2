"""Drop expired uploaded files and fail interrupted imports; for the scheduler (e.g. hourly cron).
The worker does the same before each job, so this only matters when no import runs for a while."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import exports
from eduplatform.imports import runner


class Command(BaseCommand):
    help = gettext_lazy("删除超过保留期限（UPLOAD_RETENTION_HOURS）的上传与导出文件，并把处理进程已中断的任务标记为失败")

    def handle(self, *args, **options):
        failed = runner.fail_interrupted_jobs() + exports.fail_interrupted_exports()
        purged = runner.purge_uploads()
        exported = exports.purge_exports()
        self.stdout.write(gettext("已删除过期上传文件 %(purged)s 个、过期导出文件 %(exported)s 个；标记为中断失败的任务 %(failed)s 个") % {"purged": purged, "exported": exported, "failed": failed})

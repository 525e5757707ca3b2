"""Deadline reminders of the collection tasks; for a daily scheduler (e.g. cron at 08:00).

Each open task is reminded once, ``remind_days`` before its deadline; running the command twice the
same day (or on two machines) reminds nobody twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.reporting import services
from eduplatform.reporting.tasks import remind_due_tasks_job


class Command(BaseCommand):
    help = gettext_lazy("提醒即将截止的填报任务（每个任务只提醒一次）")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--enqueue", action="store_true", help=gettext("交给后台任务进程执行"))

    def handle(self, *args, enqueue: bool = False, **options) -> None:
        if enqueue:
            remind_due_tasks_job.enqueue()
            self.stdout.write(gettext("已加入后台任务队列"))
            return
        reminded = services.remind_due_tasks()
        self.stdout.write(gettext("已提醒 %(count)s 个填报任务") % {"count": len(reminded)})

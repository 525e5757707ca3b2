from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.stats.basetables import stored
from eduplatform.stats.models import BaseTableRun, Snapshot


class Command(BaseCommand):
    help = gettext_lazy("生成并保存统计快照的全部基表（全省、各市、县、镇街及每所学校，各系列），之后打开或导出基表只需读取。"
            "新快照由后台任务自动生成；本命令用于此前的快照或重新生成。默认处理所有尚未生成的快照。")

    def add_arguments(self, parser):
        parser.add_argument("--snapshot", type=int, action="append", help=gettext("快照编号（可重复）；默认所有尚未生成的快照"))

    def handle(self, *args, snapshot: list[int] | None = None, **options):
        if snapshot:
            chosen = list(Snapshot.objects.filter(pk__in=snapshot))
            if len(chosen) != len(set(snapshot)):
                raise CommandError(gettext("快照不存在：") + "、".join(str(i) for i in set(snapshot) - {s.pk for s in chosen}))
        else:
            done = BaseTableRun.objects.filter(status=BaseTableRun.DONE).values_list("snapshot_id", flat=True)
            chosen = list(Snapshot.objects.exclude(pk__in=done).order_by("pk"))
        for one in chosen:
            started = time.monotonic()
            self.stdout.write(f"{one}：")
            run = stored.store(one, report=lambda line: self.stdout.write(f"  {line}"))
            self.stdout.write(gettext("  完成：%(subjects)s 份基表，用时 %(value)s 秒") % {"subjects": format(run.subjects, ","), "value": format(time.monotonic() - started, ".1f")})
        if not chosen:
            self.stdout.write(gettext("没有需要生成基表的快照"))

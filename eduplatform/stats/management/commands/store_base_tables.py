from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from eduplatform.stats.basetables import stored
from eduplatform.stats.models import BaseTableRun, Snapshot


class Command(BaseCommand):
    help = ("生成并保存统计快照的全部基表（全省、各市、县、镇街及每所学校，各系列），之后打开或导出基表只需读取。"
            "新快照由后台任务自动生成；本命令用于此前的快照或重新生成。默认处理所有尚未生成的快照。")

    def add_arguments(self, parser):
        parser.add_argument("--snapshot", type=int, action="append", help="快照编号（可重复）；默认所有尚未生成的快照")

    def handle(self, *args, snapshot: list[int] | None = None, **options):
        if snapshot:
            chosen = list(Snapshot.objects.filter(pk__in=snapshot))
            if len(chosen) != len(set(snapshot)):
                raise CommandError("快照不存在：" + "、".join(str(i) for i in set(snapshot) - {s.pk for s in chosen}))
        else:
            done = BaseTableRun.objects.filter(status=BaseTableRun.DONE).values_list("snapshot_id", flat=True)
            chosen = list(Snapshot.objects.exclude(pk__in=done).order_by("pk"))
        for one in chosen:
            started = time.monotonic()
            self.stdout.write(f"{one}：")
            run = stored.store(one, report=lambda line: self.stdout.write(f"  {line}"))
            self.stdout.write(f"  完成：{run.subjects:,} 份基表，用时 {time.monotonic() - started:.1f} 秒")
        if not chosen:
            self.stdout.write("没有需要生成基表的快照")

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.stats.rollup import rebuild_all, refresh_stale_years


class Command(BaseCommand):
    help = gettext_lazy("从原始记录重建全部统计汇总表（与增量刷新结果应完全一致）；--stale 只重算仍按上一学年汇总的学校")

    def add_arguments(self, parser):
        parser.add_argument("--stale", action="store_true",
                            help=gettext("只重算汇总仍属上一学年（或上一统计年度）的学校，适合每日定时任务"))

    def handle(self, *args, **options):
        started = time.perf_counter()
        if options["stale"]:
            count = refresh_stale_years()
            self.stdout.write(gettext("已重算 %(count)s 所学校的统计汇总，用时 %(value)s 秒") % {"count": count, "value": format(time.perf_counter() - started, ".1f")})
            return
        rebuild_all()
        self.stdout.write(gettext("统计汇总表已重建，用时 %(value)s 秒") % {"value": format(time.perf_counter() - started, ".1f")})

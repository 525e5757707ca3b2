import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.quality.scores import compute_scores


class Command(BaseCommand):
    help = gettext_lazy("计算当日（或 --day 指定日期）各学校、各级区划各基础库的数据质量得分；同一日期重复运行会替换当日结果")

    def add_arguments(self, parser):
        parser.add_argument("--day", help=gettext("日期 YYYY-MM-DD，默认今天"))

    def handle(self, *args, **options):
        day = None
        if options.get("day"):
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError(gettext("日期格式应为 YYYY-MM-DD")) from exc
        started = time.perf_counter()
        rows = compute_scores(day)
        self.stdout.write(gettext("已写入 %(rows)s 条质量得分，用时 %(value)s 秒") % {"rows": format(rows, ","), "value": format(time.perf_counter() - started, ".1f")})

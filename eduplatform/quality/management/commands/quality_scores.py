import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from eduplatform.quality.scores import compute_scores


class Command(BaseCommand):
    help = "计算当日（或 --day 指定日期）各学校、各级区划各基础库的数据质量得分；同一日期重复运行会替换当日结果"

    def add_arguments(self, parser):
        parser.add_argument("--day", help="日期 YYYY-MM-DD，默认今天")

    def handle(self, *args, **options):
        day = None
        if options.get("day"):
            try:
                day = dt.date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError("日期格式应为 YYYY-MM-DD") from exc
        started = time.perf_counter()
        rows = compute_scores(day)
        self.stdout.write(f"已写入 {rows:,} 条质量得分，用时 {time.perf_counter() - started:.1f} 秒")

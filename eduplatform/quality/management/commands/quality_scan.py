"""Run a data-quality scan of a region now (operators, cron): ``quality_scan --region 440106000000``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from eduplatform.orgs.models import Region
from eduplatform.quality import scans


class Command(BaseCommand):
    help = "扫描一个区域的数据质量规则（在本进程中运行，可中断后再次运行以续扫）"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码，如 440106000000（天河区）或 440000000000（全省）")
        parser.add_argument("--rules", nargs="*", default=[], help="只扫描这些规则代码（默认全部）")
        parser.add_argument("--queue", action="store_true", help="只排队，由后台任务执行")

    def handle(self, *args, region: str, rules: list[str], queue: bool, **options):
        place = Region.objects.filter(code=region).first()
        if place is None:
            raise CommandError(f"区划代码 {region} 不存在")
        try:
            scan = scans.start_scan(actor=None, region_path=place.path, codes=rules, enqueue=queue)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        if queue:
            self.stdout.write(f"已排队：扫描 #{scan.pk}（{place.name}）")
            return
        scan = scans.run_scan(scan.pk)
        self.stdout.write(f"扫描 #{scan.pk}（{place.name}）{scan.get_status_display()}：学校 {scan.done}/{scan.total}，"
                          f"检出 {scan.found}，新增问题 {scan.opened}，消除问题 {scan.closed}")

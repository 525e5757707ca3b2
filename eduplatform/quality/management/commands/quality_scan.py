"""Run a data-quality scan of a region now (operators, cron): ``quality_scan --region 440106000000``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Region
from eduplatform.quality import scans


class Command(BaseCommand):
    help = gettext_lazy("扫描一个区域的数据质量规则（在本进程中运行，可中断后再次运行以续扫）")

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help=gettext("区划代码，如 440106000000（天河区）或 440000000000（全省）"))
        parser.add_argument("--rules", nargs="*", default=[], help=gettext("只扫描这些规则代码（默认全部）"))
        parser.add_argument("--queue", action="store_true", help=gettext("只排队，由后台任务执行"))

    def handle(self, *args, region: str, rules: list[str], queue: bool, **options):
        place = Region.objects.filter(code=region).first()
        if place is None:
            raise CommandError(gettext("区划代码 %(region)s 不存在") % {"region": region})
        try:
            scan = scans.start_scan(actor=None, region_path=place.path, codes=rules, enqueue=queue)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        if queue:
            self.stdout.write(gettext("已排队：扫描 #%(pk)s（%(name)s）") % {"pk": scan.pk, "name": place.name})
            return
        scan = scans.run_scan(scan.pk)
        self.stdout.write(gettext("扫描 #%(pk)s（%(name)s）%(get_status_display)s：学校 %(done)s/%(total)s，检出 %(found)s，新增问题 %(opened)s，消除问题 %(closed)s") % {"pk": scan.pk, "name": place.name, "get_status_display": scan.get_status_display(), "done": scan.done, "total": scan.total, "found": scan.found, "opened": scan.opened, "closed": scan.closed})

"""At the province: one publication per city with row filters (idempotent; run again after a release)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext, gettext_lazy

from eduplatform.nodes import services
from eduplatform.orgs.models import Region


class Command(BaseCommand):
    help = gettext_lazy("在省级库为市级节点创建或更新发布（按区划过滤的逻辑复制）")

    def add_arguments(self, parser):
        parser.add_argument("--city", action="append", default=[], help=gettext("市级区划代码，如 4401；可重复"))
        parser.add_argument("--all-cities", action="store_true", help=gettext("为全部市级区划建立发布"))

    def handle(self, *args, city, all_cities, **options):
        codes = list(city)
        if all_cities:
            codes += [r.code for r in Region.objects.filter(level="city", abolished_on__isnull=True).order_by("code")]
        if not codes:
            raise CommandError(gettext("请指定 --city 4401（可重复）或 --all-cities"))
        if connection.vendor == "postgresql" and services.wal_level() != "logical":
            self.stderr.write(gettext("注意：本库 wal_level 不是 logical，发布已建立，但订阅要在省级库改为 wal_level=logical 并重启后才能连接（见 docs/nodes.md）"))
        try:
            if connection.vendor == "postgresql" and (repaired := services.ensure_replica_identity()):
                self.stdout.write(gettext("已恢复复制标识（含区划列）：%(items)s") % {"items": '、'.join(repaired)})
            for code in dict.fromkeys(codes):
                node = services.publish_city(city_code=code)
                self.stdout.write(gettext("发布 %(publication)s：%(city_name)s（%(region_path)s），%(tables)s 张表") % {"publication": node.publication, "city_name": node.city_name, "region_path": node.region_path, "tables": node.tables})
        except services.NodeSetupError as exc:
            raise CommandError(str(exc)) from exc

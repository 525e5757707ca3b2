"""At the province: one publication per city with row filters (idempotent; run again after a release)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from eduplatform.nodes import services
from eduplatform.orgs.models import Region


class Command(BaseCommand):
    help = "在省级库为市级节点创建或更新发布（按区划过滤的逻辑复制）"

    def add_arguments(self, parser):
        parser.add_argument("--city", action="append", default=[], help="市级区划代码，如 4401；可重复")
        parser.add_argument("--all-cities", action="store_true", help="为全部市级区划建立发布")

    def handle(self, *args, city, all_cities, **options):
        codes = list(city)
        if all_cities:
            codes += [r.code for r in Region.objects.filter(level="city", abolished_on__isnull=True).order_by("code")]
        if not codes:
            raise CommandError("请指定 --city 4401（可重复）或 --all-cities")
        if connection.vendor == "postgresql" and services.wal_level() != "logical":
            self.stderr.write("注意：本库 wal_level 不是 logical，发布已建立，但订阅要在省级库改为 "
                              "wal_level=logical 并重启后才能连接（见 docs/nodes.md）")
        try:
            if connection.vendor == "postgresql" and (repaired := services.ensure_replica_identity()):
                self.stdout.write(f"已恢复复制标识（含区划列）：{'、'.join(repaired)}")
            for code in dict.fromkeys(codes):
                node = services.publish_city(city_code=code)
                self.stdout.write(f"发布 {node.publication}：{node.city_name}（{node.region_path}），{node.tables} 张表")
        except services.NodeSetupError as exc:
            raise CommandError(str(exc)) from exc

"""On a city node: migrate, then subscribe to the city's publication at the province (idempotent)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.nodes import services


class Command(BaseCommand):
    help = gettext_lazy("在市级节点上迁移数据库结构并订阅省级发布")

    def add_arguments(self, parser):
        parser.add_argument("--province-dsn", required=True,
                            help=gettext("省级库连接串（libpq 格式），口令放 .pgpass 或 PGPASSWORD 更好"))
        parser.add_argument("--city", required=True, help=gettext("市级区划代码，如 4401"))
        parser.add_argument("--slot-name", default="", help=gettext("省级复制槽名，默认与发布同名（city_4401）"))
        parser.add_argument("--no-migrate", action="store_true", help=gettext("跳过 migrate（结构已就绪时）"))
        parser.add_argument("--no-copy-data", action="store_true", help=gettext("不做初始全量复制（已从备份恢复时）"))
        parser.add_argument("--resync", action="store_true",
                            help=gettext("长时间中断、复制槽已失效时：删除订阅、清空复制表，再全量重新订阅"))

    def handle(self, *args, province_dsn, city, slot_name, no_migrate, no_copy_data, resync, **options):
        try:
            if resync:
                services.drop_subscription(city_code=city)
                services.empty_replicated_tables()
            node = services.subscribe_to_province(
                province_dsn=province_dsn, city_code=city, slot_name=slot_name, migrate=not no_migrate,
                copy_data=not no_copy_data)
        except services.NodeSetupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(gettext("订阅 %(subscription)s：%(city_name)s（%(region_path)s），%(tables)s 张表；初始复制在后台进行，用 node_status 查看进度") % {"subscription": node.subscription, "city_name": node.city_name, "region_path": node.region_path, "tables": node.tables})

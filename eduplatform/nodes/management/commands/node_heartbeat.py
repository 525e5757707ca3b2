"""At the province: rewrite each published city's heartbeat row, once or every few seconds."""

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.nodes import services


class Command(BaseCommand):
    help = gettext_lazy("在省级库写入复制心跳（节点据此计算以秒计的滞后）")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help=gettext("每隔多少秒写一次；0 = 只写一次"))
        parser.add_argument("--count", type=int, default=0, help=gettext("写多少次后退出；0 = 不限"))

    def handle(self, *args, every, count, **options):
        done = 0
        while True:
            services.record_heartbeat()
            done += 1
            if not every or (count and done >= count):
                break
            time.sleep(every)

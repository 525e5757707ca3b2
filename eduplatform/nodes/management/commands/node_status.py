"""Replication state and lag of the city nodes this database publishes or subscribes."""

import dataclasses
import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.nodes import status


def _fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return str(value)


class Command(BaseCommand):
    help = gettext_lazy("显示市级节点的复制状态与滞后（省级端与节点端）")

    def add_arguments(self, parser):
        parser.add_argument("--city", default=None, help=gettext("只看一个市，如 4401"))
        parser.add_argument("--json", action="store_true", dest="as_json", help=gettext("输出 JSON"))

    def handle(self, *args, city, as_json, **options):
        published, subscribed = status.all_states(city_code=city[:4] if city else None)
        if as_json:
            payload = {"published": [dataclasses.asdict(s) for _, s in published],
                       "subscribed": [dataclasses.asdict(s) for _, s in subscribed]}
            self.stdout.write(json.dumps(payload, default=str, ensure_ascii=False, indent=2))
            return
        if not published and not subscribed:
            self.stdout.write(gettext("本库既未发布也未订阅任何市级节点"))
        for node, s in published:
            self.stdout.write(
                gettext("[省级] %(city_code)s %(city_name)s 槽 %(slot_name)s：%(connection)s %(state)s 滞后 %(lag)s，回放滞后 %(replay_lag)s，最近心跳 %(last_beat)s") % {"city_code": node.city_code, "city_name": node.city_name, "slot_name": s.slot_name, "connection": gettext("已连接") if s.connected else (gettext("未连接") if s.slot_exists else gettext("无复制槽（节点未订阅）")), "state": s.state, "lag": _fmt(s.lag_bytes, gettext(" 字节")), "replay_lag": _fmt(s.replay_lag_s, gettext(" 秒")), "last_beat": _fmt(s.last_beat)})
        for node, s in subscribed:
            self.stdout.write(
                gettext("[节点] %(city_code)s %(city_name)s 订阅 %(subscription)s：%(worker)s，表 %(tables_ready)s/%(tables_total)s 就绪，心跳滞后 %(beat_lag)s（心跳年龄 %(beat_age)s），字节滞后 %(lag)s %(notes)s") % {"city_code": node.city_code, "city_name": node.city_name, "subscription": s.subscription, "worker": gettext("运行中") if s.worker_running else gettext("未运行"), "tables_ready": s.tables_ready, "tables_total": s.tables_total, "beat_lag": _fmt(s.heartbeat_lag_s, gettext(" 秒")), "beat_age": _fmt(s.heartbeat_age_s, gettext(" 秒")), "lag": _fmt(s.lag_bytes, gettext(" 字节")), "notes": '；'.join(s.notes)})


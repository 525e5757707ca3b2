"""Replication state and lag of the city nodes this database publishes or subscribes."""

import dataclasses
import json

from django.core.management.base import BaseCommand

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
    help = "显示市级节点的复制状态与滞后（省级端与节点端）"

    def add_arguments(self, parser):
        parser.add_argument("--city", default=None, help="只看一个市，如 4401")
        parser.add_argument("--json", action="store_true", dest="as_json", help="输出 JSON")

    def handle(self, *args, city, as_json, **options):
        published, subscribed = status.all_states(city_code=city[:4] if city else None)
        if as_json:
            payload = {"published": [dataclasses.asdict(s) for _, s in published],
                       "subscribed": [dataclasses.asdict(s) for _, s in subscribed]}
            self.stdout.write(json.dumps(payload, default=str, ensure_ascii=False, indent=2))
            return
        if not published and not subscribed:
            self.stdout.write("本库既未发布也未订阅任何市级节点")
        for node, s in published:
            self.stdout.write(
                f"[省级] {node.city_code} {node.city_name} 槽 {s.slot_name}："
                f"{'已连接' if s.connected else ('未连接' if s.slot_exists else '无复制槽（节点未订阅）')} {s.state} "
                f"滞后 {_fmt(s.lag_bytes, ' 字节')}，回放滞后 {_fmt(s.replay_lag_s, ' 秒')}，最近心跳 {_fmt(s.last_beat)}")
        for node, s in subscribed:
            self.stdout.write(
                f"[节点] {node.city_code} {node.city_name} 订阅 {s.subscription}："
                f"{'运行中' if s.worker_running else '未运行'}，表 {s.tables_ready}/{s.tables_total} 就绪，"
                f"心跳滞后 {_fmt(s.heartbeat_lag_s, ' 秒')}（心跳年龄 {_fmt(s.heartbeat_age_s, ' 秒')}），"
                f"字节滞后 {_fmt(s.lag_bytes, ' 字节')} {'；'.join(s.notes)}")


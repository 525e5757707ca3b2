"""The platform's scheduler: ``manage.py run_scheduler`` (one instance per installation).

See eduplatform/ops/schedule.py for what runs when. On PostgreSQL a second scheduler started by
mistake (two hosts, two units) waits on an advisory lock instead of running every job twice.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.ops.schedule import Entry, entries

log = logging.getLogger("eduplatform.scheduler")
LOCK_KEY = 0x6564755F73636864  # "edu_schd": one scheduler per database


class Command(BaseCommand):
    help = gettext_lazy("定时任务进程：心跳、清理、数据质量扫描、质量得分、统计时点快照（每套系统只运行一个）")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=gettext("只检查一次到期的任务并运行后退出（测试、cron）"))
        parser.add_argument("--tick", type=float, default=5.0, help=gettext("检查间隔（秒）"))

    def handle(self, *args, once: bool, tick: float, **options):
        self.stopping = threading.Event()
        if not once:  # a one-off tick (tests, cron) leaves the caller's signal handling alone
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stopping.set())
        self.state_path = Path(settings.OPS_SCHEDULER_STATE)
        self.state = self._load_state()
        self.running: dict[str, threading.Thread] = {}
        if not once:
            self._take_lock()
        log.info("scheduler started", extra={"event": "scheduler_started", "entries": len(entries())})
        while not self.stopping.is_set():
            self.run_due()
            if once:
                break
            self.stopping.wait(tick)
        for thread in list(self.running.values()):
            thread.join()
        log.info("scheduler stopped", extra={"event": "scheduler_stopped"})

    # --- single instance -------------------------------------------------------------------

    def _take_lock(self) -> None:
        if connection.vendor != "postgresql":
            return
        while not self.stopping.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                if cursor.fetchone()[0]:
                    return
            log.warning("another scheduler holds the lock; waiting", extra={"event": "scheduler_standby"})
            self.stopping.wait(30)

    # --- state ----------------------------------------------------------------------------

    def _load_state(self) -> dict[str, str]:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    def _last(self, entry: Entry):
        value = self.state.get(entry.name)
        return timezone.datetime.fromisoformat(value) if value else None

    # --- running ---------------------------------------------------------------------------

    def run_due(self) -> None:
        now = timezone.localtime()
        for entry in entries():
            if entry.name in self.running and self.running[entry.name].is_alive():
                continue  # still running from its last slot: never two at once
            last = self._last(entry)
            if last is None and entry.daily_at is not None:
                self.state[entry.name] = now.isoformat()  # counted from now: see Entry.due
                self._save_state()
                continue
            if not entry.due(now, last):
                continue
            if "nodes" in entry.tags and not _publishes_nodes():
                continue
            self.state[entry.name] = now.isoformat()
            self._save_state()
            if entry.inline == "heartbeat":
                self._heartbeat()
                continue
            thread = threading.Thread(target=self._run, args=(entry,), name=entry.name, daemon=True)
            self.running[entry.name] = thread
            thread.start()

    def _heartbeat(self) -> None:
        from django_tasks_db.models import DBTaskResult

        from eduplatform.ops.tasks import HEARTBEAT_TASK_PATH, heartbeat

        # One beat waiting is enough: a stopped worker must not come back to a pile of them.
        if not DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH, status="READY").exists():
            heartbeat.enqueue()

    def _run(self, entry: Entry) -> None:
        started = time.monotonic()
        log.info("job started: %s", entry.name, extra={"event": "scheduled_started", "job": entry.name})
        process = subprocess.run(  # noqa: S603 — our own manage.py with arguments from schedule.py
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *entry.command],
            capture_output=True, text=True, check=False)
        extra = {"event": "scheduled_finished", "job": entry.name, "exit_code": process.returncode,
                 "duration_ms": round((time.monotonic() - started) * 1000, 1)}
        if process.returncode:
            extra["stderr"] = process.stderr[-2000:]
            log.error("job failed: %s", entry.name, extra=extra)
        else:
            extra["output"] = process.stdout.strip()[-500:]
            log.info("job finished: %s", entry.name, extra=extra)


def _publishes_nodes() -> bool:
    from eduplatform.nodes.models import CityNode, NodeRole

    return connection.vendor == "postgresql" and CityNode.objects.filter(role=NodeRole.PUBLISHER).exists()

"""What the scheduler (``manage.py run_scheduler``) runs, and when.

Each entry is a management command run in a process of its own (a crash or a leak in one job
cannot take the scheduler down), one run at a time per entry; its start, end, duration and exit
status are logged (``eduplatform.scheduler``). Long work is handed to the worker where the command
can (``quality_scan --queue``): the scheduler only starts it. The last run of every entry is kept
in ``OPS_SCHEDULER_STATE`` so a restart neither repeats a daily job nor skips one that fell due
while it was down (it runs once on start, then on schedule); an entry that never ran starts at its
next slot.

Times are local (``TIME_ZONE``, Asia/Shanghai). Set ``SNAPSHOT_USER`` to the province statistician
whose name the census snapshot is taken under; without it the snapshot entry is left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext


@dataclass(frozen=True)
class Entry:
    name: str
    command: list[str]
    every: dt.timedelta | None = None  # every so often …
    daily_at: dt.time | None = None  # … or once a day at this local time …
    on_dates: tuple[str, ...] = ()  # … only on these MM-DD dates (the census date)
    note: str = ""
    # Not a subprocess: queue the worker's heartbeat job (cheap, every 30 s).
    inline: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def due(self, now: dt.datetime, last: dt.datetime | None) -> bool:
        """Whether the entry should run at local time ``now`` given its last run."""
        if self.every is not None:
            return last is None or now - last >= self.every
        assert self.daily_at is not None
        if self.on_dates and now.strftime("%m-%d") not in self.on_dates:
            return False
        slot = dt.datetime.combine(now.date(), self.daily_at, tzinfo=now.tzinfo)
        if now < slot:
            return False
        # Never run before (a new installation, a new entry): from the next slot on, not at once —
        # a fresh server must not start a province-wide scan in the middle of the day.
        return last is not None and last < slot


def entries() -> list[Entry]:
    minutes = dt.timedelta(minutes=1)
    found = [
        Entry("worker-heartbeat", [], every=dt.timedelta(seconds=settings.OPS_HEARTBEAT_SECONDS),
              inline="heartbeat", note=gettext("后台任务进程心跳（/readyz 据此判断）")),
        Entry("purge-uploads", ["purge_uploads"], every=60 * minutes,
              note=gettext("清除过期的上传与导出文件，标记中断的任务")),
        Entry("quality-scan", ["quality_scan", "--region", settings.OPS_QUALITY_SCAN_REGION, "--queue"],
              daily_at=dt.time(1, 0), note=gettext("全省数据质量扫描（排队由后台任务逐校执行）")),
        Entry("quality-scores", ["quality_scores"], daily_at=dt.time(4, 30), note=gettext("每日质量得分")),
        Entry("report-reminders", ["remind_report_deadlines"], daily_at=dt.time(8, 0), note=gettext("填报截止提醒")),
        Entry("inbox-digests", ["send_inbox_digests"], daily_at=dt.time(8, 15), note=gettext("待办摘要通知")),
        # The audit chain: entries are tamper-evident from their sealing (docs/audit.md), so seal often;
        # partitions ahead and the archive of months past AUDIT_RETENTION_MONTHS once a day.
        Entry("audit-seal", ["seal_audit"], every=minutes, note=gettext("审计日志封链（哈希链）")),
        Entry("audit-partitions", ["audit_partitions"], daily_at=dt.time(3, 0), note=gettext("审计日志按月分区与过期月份归档")),
        Entry("dormant-accounts", ["seal_dormant_accounts"], daily_at=dt.time(2, 30),
              note=gettext("封存长期未使用的账号（ACCOUNT_DORMANT_DAYS）")),
        Entry("node-heartbeat", ["node_heartbeat"], every=minutes,
              note=gettext("市级节点复制心跳（仅当本库发布了城市节点）"), tags=("nodes",)),
    ]
    if settings.SNAPSHOT_USER:
        found.append(Entry("census-snapshot", ["take_snapshot", "--user", settings.SNAPSHOT_USER],
                           daily_at=settings.OPS_SNAPSHOT_TIME, on_dates=tuple(settings.CENSUS_DATES),
                           note=gettext("统计时点当天生成统计快照（同一时点只生成一次）")))
    return found

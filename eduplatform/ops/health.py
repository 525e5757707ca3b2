"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: database reachable, every
migration applied, a background worker alive). Neither reveals anything about records or users:
the answer is the same for everyone, signed in or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext

# Once every migration was found applied, this process does not look again: migrations are not
# unapplied under a running server, and a deployment with new ones restarts every process.
_migrations_applied = False


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready", never a 500
        return Check("database", False, gettext("数据库不可达：%(error)s") % {"error": type(exc).__name__})
    return Check("database", True, "ok")


def migrations() -> Check:
    global _migrations_applied
    if _migrations_applied:
        return Check("migrations", True, "ok")
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return Check("migrations", False, gettext("无法读取迁移状态：%(error)s") % {"error": type(exc).__name__})
    if pending:
        return Check("migrations", False, gettext("有 %(count)s 个数据库迁移尚未执行（manage.py migrate）") % {"count": len(pending)})
    _migrations_applied = True
    return Check("migrations", True, "ok")


def uses_worker() -> bool:
    return "ImmediateBackend" not in settings.TASKS["default"]["BACKEND"]


def worker_heartbeat_age() -> float | None:
    """Seconds since the last heartbeat job finished, or None if none ever did."""
    from django_tasks_db.models import DBTaskResult

    from eduplatform.ops.tasks import HEARTBEAT_TASK_PATH

    last = (DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH, status="SUCCESSFUL")
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    return None if last is None else max(0.0, (timezone.now() - last).total_seconds())


def worker() -> Check:
    if not uses_worker():
        return Check("worker", True, "jobs run inline (TASKS_BACKEND=immediate)")
    try:
        age = worker_heartbeat_age()
    except Exception as exc:
        return Check("worker", False, gettext("无法读取任务队列：%(error)s") % {"error": type(exc).__name__})
    limit = settings.OPS_WORKER_STALE_SECONDS
    if age is None or age > limit:
        seen = gettext("从未完成过心跳任务") if age is None else gettext("最近一次心跳在 %(age)s 秒前") % {"age": f"{age:.0f}"}
        return Check("worker", False, gettext("后台任务进程无响应：%(seen)s（超过 %(limit)s 秒）；"
                                              "请检查 db_worker 与定时任务进程 run_scheduler 是否在运行")
                     % {"seen": seen, "limit": limit})
    return Check("worker", True, f"ok ({age:.0f} s)")


def readiness() -> list[Check]:
    first = database()
    if not first.ok:
        skipped = gettext("未检查（数据库不可达）")
        return [first, Check("migrations", False, skipped), Check("worker", False, skipped)]
    return [first, migrations(), worker()]

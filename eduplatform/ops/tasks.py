"""The worker's heartbeat: a tiny job the scheduler queues every ``OPS_HEARTBEAT_SECONDS``.

Its finishing proves the whole background path works — the queue is reachable, a worker is running
and takes jobs — which is what ``/readyz`` asks (``health.worker_heartbeat_age``). Each beat
deletes the beats older than an hour, so the job table does not grow by one row every 30 s.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

HEARTBEAT_TASK_PATH = "eduplatform.ops.tasks.heartbeat"


@task()
def heartbeat() -> str:
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK_PATH, status="SUCCESSFUL",
                                finished_at__lt=now - dt.timedelta(hours=1)).delete()
    return now.isoformat()

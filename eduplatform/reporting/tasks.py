"""Background jobs of the reporting app (django-tasks; ``manage.py db_worker`` runs them)."""

from __future__ import annotations

from django_tasks import task

from eduplatform.reporting import services


@task()
def prefill_task_submissions(task_id: int) -> int:
    """The prefilled cells of a big task's submissions, computed after it was opened."""
    return services.prefill_submissions(task_id=task_id)


@task()
def remind_due_tasks_job() -> int:
    """Deadline reminders of every open task within its ``remind_days`` (queued daily by
    ``manage.py remind_report_deadlines --enqueue``, or run there directly)."""
    return len(services.remind_due_tasks())

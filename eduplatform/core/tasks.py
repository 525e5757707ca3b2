"""Background jobs of the shared machinery: large list exports."""

from __future__ import annotations

from django_tasks import task

from eduplatform.core.exports import run_export


@task()
def run_export_job(job_id: int) -> None:
    run_export(job_id)

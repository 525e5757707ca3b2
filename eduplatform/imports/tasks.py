"""The background job of every import kind except students (which has its own, tuned for size)."""

from __future__ import annotations

from django_tasks import task

from eduplatform.imports.runner import run_import


@task()
def run_import_job(job_id: int) -> None:
    run_import(job_id)

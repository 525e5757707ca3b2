"""The background job of every import kind except students (which has its own, tuned for size)."""

from __future__ import annotations

from django.utils import translation
from django_tasks import task

from eduplatform.imports.runner import run_import


@task()
def run_import_job(job_id: int, language: str | None = None) -> None:
    """``language``: the submitting page's, so the job's phases and report read as that page does."""
    if language:
        with translation.override(language):
            run_import(job_id)
    else:
        run_import(job_id)

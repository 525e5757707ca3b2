"""Background jobs of the shared machinery: large list exports."""

from __future__ import annotations

from django.utils import translation
from django_tasks import task

from eduplatform.core.exports import run_export


@task()
def run_export_job(job_id: int, language: str | None = None) -> None:
    """``language``: the asking page's; the replayed request is answered in it."""
    if language:
        with translation.override(language):
            run_export(job_id)
    else:
        run_export(job_id)

"""Background jobs of the student register: thin wrappers the django-tasks worker runs."""

from __future__ import annotations

from django_tasks import task

from eduplatform.students.importing import run_student_import


@task()
def run_import_job(job_id: int) -> None:
    run_student_import(job_id)

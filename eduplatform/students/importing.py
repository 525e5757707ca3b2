"""Student spreadsheet import: the template, submitting a file, and the background job that reads,
checks and writes it while the page shows its progress.

The job reads the whole file first and checks every row (its own fields, then against the whole
province), so the error report lists every problem at once. Then, by the mode the user chose:
a dry run stops there; *all or nothing* writes only when no row has a problem; *accept valid rows*
writes exactly the rows without problems and reports the others.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.utils import timezone

from eduplatform.accounts.models import User
from eduplatform.core.errors import BatchInvalid
from eduplatform.core.imports import ImportFileError, problems_xlsx, read_table, template_xlsx
from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor
from eduplatform.standards.validators import mask_id_number
from eduplatform.students.schema import STUDENT_COLUMNS, RowChecker, template_columns
from eduplatform.students.services import register_students, require_school_writer

KIND = "students"
MAX_FILE_BYTES = 40 * 1024 * 1024
PROGRESS_EVERY = 500  # rows between looks at the clock
PROGRESS_SECONDS = 0.25  # at most this often a progress write (each is a commit the page polls for)

INSTRUCTIONS = (
    "每行填写一名学生；带 * 的列为必填。",
    "代码列可填写代码、名称或“代码-名称”（如 01、汉族 或 01-汉族），下拉框中可直接选择。",
    "日期可写作 2015-09-01、2015/9/1、20150901 或 2015.9.1；入学年月可写作 202509 或 2025-09。",
    "身份证件号请以文本格式填写，避免 Excel 把后几位变成 0；小写 x 会自动转为大写。",
    "也可直接上传全国中小学生学籍信息管理系统导出的“学生基本信息”表，无需调整列名。",
    "同一学生在全省只能有一个有效学籍：已在其他学校在籍的学生请走转学申请。",
)


def student_template() -> bytes:
    return template_xlsx(template_columns(), title="学生信息导入模板", instructions=INSTRUCTIONS,
                         example_rows=[[c.example for c in STUDENT_COLUMNS]])


@transaction.atomic
def submit_import(*, actor: Actor, school: Organization, file_name: str, content: bytes, mode: str) -> ImportJob:
    """Store the file as a job and queue it for the worker (after this transaction commits)."""
    from eduplatform.students.tasks import run_import_job

    require_school_writer(actor, school)
    if mode not in ImportMode.values:
        raise ValueError(mode)
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError("文件超过 40 MB，请分成几个文件上传")
    job = ImportJob.objects.create(
        kind=KIND, file_name=file_name[:200], content=content, mode=mode, school_id=school.pk,
        region_path=school.region_path, target_label=f"{school.name}（{school.school_code}）",
        requested_by_id=actor.pk, requested_by=actor.audit_name(), phase="排队等待处理",
    )
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def run_student_import(job_id: int) -> ImportJob:
    """The worker's side: read → check every row → write (by mode) → report. Never raises for bad data."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return job
    job.status, job.started_at, job.phase = JobStatus.RUNNING, timezone.now(), "读取文件"
    job.save(update_fields=["status", "started_at", "phase"])
    try:
        _run(job)
    except ImportFileError as exc:
        _finish(job, JobStatus.FAILED, failure=exc.message)
    except Exception as exc:  # a defect, not bad data: keep the job honest and visible
        _finish(job, JobStatus.FAILED, failure=f"处理时发生内部错误：{exc.__class__.__name__}，请联系管理员")
        raise
    return job


def _run(job: ImportJob) -> None:
    school = Organization.objects.get(pk=job.school_id)
    actor = User.objects.select_related("organization").get(pk=job.requested_by_id)
    table = read_table(bytes(job.content), job.file_name, STUDENT_COLUMNS)
    job.total_rows, job.phase = len(table.rows), "逐行校验"
    job.save(update_fields=["total_rows", "phase"])
    today = timezone.localdate()
    checked = []
    checker = RowChecker(table.column_index, stage_mask=school.stage_mask, today=today)
    saved_at = time.monotonic()
    for i, (row_number, cells) in enumerate(table.rows, start=1):
        checked.append((row_number, checker.check(cells)))
        if i % PROGRESS_EVERY == 0 and time.monotonic() - saved_at >= PROGRESS_SECONDS:
            job.processed_rows = i
            job.save(update_fields=["processed_rows"])
            saved_at = time.monotonic()
    job.processed_rows, job.phase = len(checked), "与全省学籍比对" if job.mode == ImportMode.DRY_RUN else "比对并写入"
    job.save(update_fields=["processed_rows", "phase"])
    source = f"表格导入：{job.file_name}"
    try:
        result = register_students(
            actor=actor, school=school, rows=checked, accept_valid=job.mode in (ImportMode.ACCEPT_VALID, ImportMode.DRY_RUN),
            dry_run=job.mode == ImportMode.DRY_RUN, source=source, today=today,
        )
    except BatchInvalid as exc:
        _finish(job, JobStatus.REJECTED, problems=[p.as_dict() for p in exc.problems])
        return
    job.written_rows = len(result.enrolment_ids)
    _finish(job, JobStatus.DONE, problems=[p.as_dict() for p in result.rejected])
    if job.written_rows:
        record_event(actor=actor, action=AuditAction.CREATE, object_type="core.import", object_id=job.pk,
                     object_label=source[:255], region_path=school.region_path,
                     note=f"导入 {job.written_rows} 名学生（新建 {result.created}，原有学籍号 {result.re_enrolled}）")


def _finish(job: ImportJob, status: str, *, problems: list | None = None, failure: str = "") -> None:
    job.status, job.finished_at, job.failure = status, timezone.now(), failure
    job.phase = JobStatus(status).label
    if problems is not None:
        # A mistyped ID number is usually one digit off a real person's: the report shows it masked
        # (the row number says where to look).
        for p in problems:
            if p.get("field") == "id_number" and p.get("value"):
                p["value"] = mask_id_number(str(p["value"]))
        job.problems = problems
        job.error_rows = len({p["row"] for p in problems})
    if job.mode != ImportMode.DRY_RUN or status != JobStatus.DONE:
        # Keep the uploaded file (full ID numbers) only while it may still be committed: a clean dry run.
        job.content = b""
    job.save()


def problems_report(job: ImportJob) -> bytes:
    return problems_xlsx(job.problems, title=f"{job.file_name} 错误报告")

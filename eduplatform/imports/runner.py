"""The shared life of an import job: submit a file → (worker) read, check every row, write by the
chosen mode → report. The record kind supplies the schema, the row checks and the writing service.

The whole file is read and checked before anything is written, so the error report lists every
problem at once. By mode: a dry run stops after checking (and keeps the file so a clean run can be
committed); *all or nothing* writes only when no row has a problem; *accept valid rows* writes
exactly the rows without problems and reports the others.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from eduplatform.accounts.models import User
from eduplatform.core.crypto import open_file, seal_file
from eduplatform.core.errors import BatchInvalid, NotPermitted
from eduplatform.core.imports import ImportFileError, problems_xlsx, read_table, template_xlsx
from eduplatform.core.models import ImportJob, ImportMode, JobStatus, WritePolicy
from eduplatform.core.uploads import UploadRefused, check_spreadsheet
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event
from eduplatform.imports.registry import ImportContext, ImportKind, ImportOutcome, RowAction, get
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor
from eduplatform.standards.validators import mask_id_number, redact_identifiers

MAX_FILE_BYTES = 40 * 1024 * 1024
PROGRESS_EVERY = 500  # rows between looks at the clock
PROGRESS_SECONDS = 0.25  # at most this often a progress write (each is a commit the page polls for)
# Stored as the job's failure in the language the worker ran in; ``is_interrupted`` knows every language's.
INTERRUPTED = gettext_noop("处理进程中断，请重试")


def is_interrupted(failure: str) -> bool:
    texts = {INTERRUPTED}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts.add(gettext(INTERRUPTED))
    return failure in texts


def template(kind: ImportKind) -> bytes:
    """The import template, in Chinese whatever the page's language: its headers are what imports match,
    and its instructions sheet goes with them (docs/i18n.md)."""
    columns = kind.schema.template_columns()
    with translation.override(settings.LANGUAGE_CODE):
        return template_xlsx(columns, title=kind.template_name, instructions=[str(line) for line in kind.instructions],
                             example_rows=[[c.example for c in columns]])


def unit_label(unit: Organization) -> str:
    return f"{unit.name}（{unit.school_code}）" if unit.school_code else unit.name


@transaction.atomic
def submit_import(*, kind: ImportKind, actor: Actor, unit: Organization, file_name: str, content: bytes,
                  mode: str, write_policy: str = WritePolicy.CREATE_ONLY) -> ImportJob:
    """Store the file as a job and queue it for the worker (after this transaction commits).

    ``write_policy``: whether rows may create records, change existing ones, or both; only new
    records unless the user chose otherwise (an overwrite is never what happens by default)."""
    from eduplatform.imports.tasks import run_import_job

    if not actor.can(kind.capability) or unit.kind not in kind.unit_kinds or not kind.can_write(actor, unit):
        raise NotPermitted(gettext("您无权向%(unit)s导入%(kind)s") % {"unit": unit.name, "kind": kind.label})
    if mode not in ImportMode.values:
        raise ValueError(mode)
    if write_policy not in WritePolicy.values:
        raise ValueError(write_policy)
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(gettext("文件超过 40 MB，请分成几个文件上传"))
    try:  # what the file really is (HTML saved as .xls, a zip bomb …), refused before a job exists
        check_spreadsheet(content, file_name)
    except UploadRefused as refused:
        raise ImportFileError(refused.message) from None
    job = ImportJob.objects.create(
        kind=kind.key, file_name=file_name[:200], content=seal_file(content), mode=mode, write_policy=write_policy,
        school_id=unit.pk,
        region_path=unit.region_path, target_label=unit_label(unit)[:200],
        requested_by_id=actor.pk, requested_by=actor.audit_name(), phase=gettext("排队等待处理"),
    )
    # The worker writes the job's phases and report in the language of the page that submitted it.
    language = translation.get_language()
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk, language))
    return job


def retry_import(*, job: ImportJob, actor: Actor) -> ImportJob:
    """A job whose worker died, submitted again from its kept file (the dead run wrote nothing: its
    writing is one transaction, rolled back with the connection)."""
    kind = get(job.kind)
    if kind is None or job.status != JobStatus.FAILED or not is_interrupted(job.failure) or not job.file_kept:
        raise ImportFileError(gettext("只有因处理进程中断而失败、且文件仍保留的导入可以重试，请重新上传文件"))
    unit = Organization.objects.get(pk=job.school_id)
    content = open_file(ImportJob.objects.values_list("content", flat=True).get(pk=job.pk))
    new_job = submit_import(kind=kind, actor=actor, unit=unit, file_name=job.file_name, content=content,
                            mode=job.mode, write_policy=job.write_policy)
    ImportJob.objects.filter(pk=job.pk).update(content=b"", file_kept=False)
    return new_job


def fail_interrupted_jobs(*, now: dt.datetime | None = None) -> int:
    """Mark failed every running job whose worker stopped beating (killed, out of memory, machine
    restarted): the page says so and offers a retry instead of showing "处理中" for ever. The file is
    kept for the retry until ``purge_uploads`` drops it."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    return ImportJob.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale), status=JobStatus.RUNNING,
    ).update(status=JobStatus.FAILED, failure=gettext(INTERRUPTED), phase=JobStatus.FAILED.label, finished_at=now)


def purge_uploads(*, now: dt.datetime | None = None) -> int:
    """Drop the uploaded files of jobs that ended more than ``UPLOAD_RETENTION_HOURS`` ago: a clean
    dry run's file (kept so it can be committed with one click) and an interrupted job's (kept for
    a retry) do not live for ever. The number of files dropped."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.UPLOAD_RETENTION_HOURS)
    return ImportJob.objects.filter(file_kept=True, finished_at__lt=cutoff).update(content=b"", file_kept=False)


def housekeeping() -> None:
    """The worker's rounds before each job: interrupted jobs failed, expired uploads dropped."""
    fail_interrupted_jobs()
    purge_uploads()


def _beat(job: ImportJob, *fields: str) -> None:
    job.heartbeat_at = timezone.now()
    job.save(update_fields=[*fields, "heartbeat_at"])


def run_import(job_id: int) -> ImportJob:
    """The worker's side. Never raises for bad data; a defect marks the job failed and re-raises."""
    housekeeping()
    job = ImportJob.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return job
    kind = get(job.kind)
    if kind is None:
        _finish(job, JobStatus.FAILED, failure=gettext("未知的导入内容：%(kind)s") % {"kind": job.kind})
        return job
    job.status, job.started_at, job.phase = JobStatus.RUNNING, timezone.now(), gettext("读取文件")
    _beat(job, "status", "started_at", "phase")
    try:
        with _cycle_collection_paused():
            _run(kind, job)
    except ImportFileError as exc:
        if exc.mapping:  # the header was found: show what was read of the file beside the reason
            job.mapping = exc.mapping
        _finish(job, JobStatus.FAILED, failure=exc.message)
    except NotPermitted as exc:  # the user lost the right between upload and run
        _finish(job, JobStatus.FAILED, failure=exc.message)
    except Exception as exc:  # a defect, not bad data: keep the job honest and visible
        _finish(job, JobStatus.FAILED, failure=gettext("处理时发生内部错误：%(error)s，请联系管理员") % {"error": exc.__class__.__name__})
        raise
    return job


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector stays off while a job runs. A file of 50,000 rows becomes millions of
    cells, values and row tuples, all alive until the job ends; each full collection walks them all,
    which cost a quarter of the time spent reading and checking. Reference counting still frees
    everything that is not a cycle, and the collector runs again once the job is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(kind: ImportKind, job: ImportJob) -> None:
    unit = Organization.objects.get(pk=job.school_id)
    actor = User.objects.select_related("organization").get(pk=job.requested_by_id)
    table = read_table(open_file(job.content), job.file_name, kind.schema.columns)
    job.total_rows, job.phase, job.mapping = len(table.rows), gettext("逐行校验"), table.mapping
    _beat(job, "total_rows", "phase", "mapping")
    today = timezone.localdate()
    context = ImportContext(unit=unit, today=today)
    if kind.file_checker is not None:
        check = kind.file_checker(table.column_index, context)
    else:
        positions = list(table.column_index.items())

        def check(cells):
            return kind.check_row({f: cells[pos] for f, pos in positions if pos < len(cells)}, context)
    checked = []
    saved_at = time.monotonic()
    for i, (row_number, cells) in enumerate(table.rows, start=1):
        checked.append((row_number, check(cells)))
        if i % PROGRESS_EVERY == 0 and time.monotonic() - saved_at >= PROGRESS_SECONDS:
            job.processed_rows = i
            _beat(job, "processed_rows")
            saved_at = time.monotonic()
    job.processed_rows = len(checked)
    job.phase = gettext("与已有数据比对") if job.mode == ImportMode.DRY_RUN else gettext("比对并写入")
    _beat(job, "processed_rows", "phase")
    source = f"表格导入：{job.file_name}"  # audit label: stored as data, Chinese (docs/i18n.md)
    try:
        with transaction.atomic():
            # A dry run is checked as "accept valid rows" so that every row's effect is reported.
            outcome = kind.write(actor=actor, unit=unit, rows=checked,
                                 accept_valid=job.mode in (ImportMode.ACCEPT_VALID, ImportMode.DRY_RUN),
                                 dry_run=job.mode == ImportMode.DRY_RUN, source=source, today=today,
                                 policy=job.write_policy)
    except BatchInvalid as exc:
        # Nothing was written; the report still says what each row would have done.
        _record_actions(job, getattr(exc, "outcome", None), exc.problems)
        job.written_rows = 0
        _finish(job, JobStatus.REJECTED, problems=[p.as_dict() for p in exc.problems])
        return
    _record_actions(job, outcome, outcome.rejected)
    job.written_rows = 0 if job.mode == ImportMode.DRY_RUN else job.created_rows + job.updated_rows
    _finish(job, JobStatus.DONE, problems=[p.as_dict() for p in outcome.rejected])
    if job.written_rows:
        with translation.override(settings.LANGUAGE_CODE):  # the audit note is stored: in the platform's language
            note = f"导入{kind.label}：{action_summary(job)}" + (f"（{outcome.summary}）" if outcome.summary else "")
        record_event(actor=actor, action=AuditAction.CREATE, object_type="core.import", object_id=job.pk,
                     object_label=source[:255], region_path=unit.region_path, note=note)
        if unit.is_school:
            # The rows were not rechecked one by one (that would slow the import down): the school's
            # data-quality scan runs next, in the background.
            from eduplatform.quality.scans import scan_school_after_import

            scan_school_after_import(unit)


def _record_actions(job: ImportJob, outcome: ImportOutcome | None, problems: list) -> None:
    """The per-row 操作 of the report and the job's counts. Counted are the rows written (or, in a
    dry run and a rejected batch, the rows that would be): a row with a problem is counted among
    the problems only, though its planned effect stays in the report."""
    bad = {p.row for p in problems}
    created: list[int] = []
    unchanged: list[int] = []
    updates: list[dict] = []
    counted = {RowAction.CREATE: 0, RowAction.UPDATE: 0, RowAction.UNCHANGED: 0}
    for row in (outcome.rows if outcome is not None else []):
        if row.row not in bad:
            counted[row.action] += 1
        if row.action == RowAction.CREATE:
            created.append(row.row)
        elif row.action == RowAction.UNCHANGED:
            unchanged.append(row.row)
        else:
            updates.append({"row": row.row, "record": row.record,
                            "changes": [[c["label"], c["before"], c["after"]] for c in row.changes.values()]})
    job.created_rows, job.updated_rows = counted[RowAction.CREATE], counted[RowAction.UPDATE]
    job.unchanged_rows = counted[RowAction.UNCHANGED]
    job.row_actions = {"create": created, "unchanged": unchanged, "update": updates}


def action_summary(job: ImportJob) -> str:
    """「新增 3 条、修改 1 条、无变化 12 条、有问题 0 条」 (a dry run's: what it would do)."""
    return gettext("新增 %(created)s 条、修改 %(updated)s 条、无变化 %(unchanged)s 条、有问题 %(errors)s 条") % {
        "created": f"{job.created_rows:,}", "updated": f"{job.updated_rows:,}", "unchanged": f"{job.unchanged_rows:,}",
        "errors": f"{job.error_rows:,}"}


def _finish(job: ImportJob, status: str, *, problems: list | None = None, failure: str = "") -> None:
    job.status, job.finished_at, job.failure = status, timezone.now(), failure
    job.phase = JobStatus(status).label
    if problems is not None:
        problems.sort(key=lambda p: p["row"])
        # A mistyped ID number is usually one digit off a real person's: the report shows it masked.
        for p in problems:
            if p.get("field") == "id_number" and p.get("value"):
                p["value"] = mask_id_number(str(p["value"]))
        job.problems = problems
        job.error_rows = len({p["row"] for p in problems})
    if job.mode != ImportMode.DRY_RUN or status != JobStatus.DONE:
        # Keep the uploaded file (it may hold full ID numbers) only while it may still be committed.
        job.content, job.file_kept = b"", False
    job.save()


def problems_report(job: ImportJob) -> bytes:
    """The job's report as Excel: the problems (first sheet, as before), the mapping report, and with
    each row's effect a sheet 逐行结果 — 行号, 操作 (新增 / 修改 / 无变化), 记录, 变更字段 (old → new) and
    the row's problems."""
    headers = (gettext("行号"), gettext("操作"), gettext("记录"), gettext("变更字段"), gettext("问题说明"))
    return problems_xlsx(job.problems, title=gettext("%(file)s 错误报告") % {"file": job.file_name}, mapping=job.mapping,
                         extra_sheets=[(gettext("逐行结果"), headers, row_results(job))] if job.row_actions else ())


def row_results(job: ImportJob) -> list[tuple[object, ...]]:
    """The 逐行结果 lines: every row with an effect or a problem, in file order."""
    messages: dict[int, list[str]] = {}
    for p in job.problems or []:
        messages.setdefault(p["row"], []).append(f"{p.get('column') or ''}：{p['message']}" if p.get("column")
                                                 else p["message"])
    lines: dict[int, tuple[str, str, str]] = {}
    for row in job.row_actions.get("create", []):
        lines[row] = (str(RowAction.LABELS[RowAction.CREATE]), "", "")
    for row in job.row_actions.get("unchanged", []):
        lines[row] = (str(RowAction.LABELS[RowAction.UNCHANGED]), "", "")
    for item in job.row_actions.get("update", []):
        lines[item["row"]] = (str(RowAction.LABELS[RowAction.UPDATE]), item.get("record", ""), changed_fields_text(item))
    rows = []
    for row in sorted(set(lines) | set(messages)):
        action, record, changed = lines.get(row, ("", "", ""))
        if row in messages and action:
            action += gettext("（未执行）")
        rows.append((row, action or "—", redact_identifiers(record), redact_identifiers(changed),
                     redact_identifiers("\n".join(messages.get(row, [])))))
    return rows


def changed_fields_text(item: dict) -> str:
    """An update's 变更字段 from the stored [label, old, new] triples."""
    def shown(value: object) -> str:
        return gettext("（空）") if value in (None, "") else str(value)
    return "；".join(f"{gettext(str(label))}：{shown(old)} → {shown(new)}" for label, old, new in item.get("changes", []))

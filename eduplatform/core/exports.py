"""List exports too large for a request, built by the worker.

Every list page exports through ``spreadsheets.xlsx_response``. It reads up to
``EXPORT_BACKGROUND_ROWS`` rows; a list that ends before that is written at once (the usual case). A
longer one becomes an ``ExportJob``: the request, its filters, its user and the region focus are
stored, the worker replays the very same view with them (so scope, filters, masking and columns are
exactly the page's), and the user watches the job page until the download link appears. The
workbook is sealed with the field keys, readable only by its requester, and dropped after
``UPLOAD_RETENTION_HOURS`` like uploaded files.

Exports of personal data (lists whose rows are identified pupils, staff or administrators — see
docs/personal-data.md) go through ``personal_data_export``: the user states a purpose (refused
without one), the purpose is audited with the export, and the workbook carries a watermark naming
the user, their organization, the time and the purpose.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.messages.storage import default_storage
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop

from eduplatform.core import spreadsheets
from eduplatform.core.crypto import seal_file
from eduplatform.core.models import ExportJob, JobStatus
from eduplatform.core.request_context import current_request

INTERRUPTED = gettext_noop("处理进程中断，请重新导出")  # stored in the worker's language
# Set while the worker replays a request: the export is written whatever its size.
_in_worker: ContextVar[dict[str, Any] | None] = ContextVar("export_in_worker", default=None)


PURPOSE_PARAM = "purpose"
PURPOSE_MIN, PURPOSE_MAX = 4, 200


@dataclass(frozen=True)
class PersonalDataExport:
    purpose: str
    watermark: spreadsheets.Watermark

    def audit_note(self, note: str) -> str:
        """The export's audit note with its purpose (the auditor reads why, not only what)."""
        return f"{note}；导出用途：{self.purpose}"  # stored audit note: Chinese (docs/i18n.md)


def personal_data_export(request: HttpRequest, *, what: str) -> PersonalDataExport | HttpResponse:
    """The stated purpose of an export of personal data, or the page that asks for it.

    Without a purpose (the export link) the user gets a form that repeats the list's filters; a
    blank or too short purpose is refused with status 400. The purpose travels in the query, so an
    export built by the worker (a replay of the same request) carries it too.
    """
    purpose = " ".join(request.GET.get(PURPOSE_PARAM, "").split())[:PURPOSE_MAX]
    if len(purpose) >= PURPOSE_MIN:
        user = request.user
        org = getattr(user, "organization", None)
        return PersonalDataExport(purpose, spreadsheets.Watermark(
            user=user.audit_name() if hasattr(user, "audit_name") else str(user),
            organization=org.name if org is not None else "", at=timezone.localtime(), purpose=purpose))
    asked = PURPOSE_PARAM in request.GET
    keep = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != PURPOSE_PARAM]
    response = render(request, "core/export_purpose.html", {
        "what": what, "keep": keep, "purpose": purpose, "min": PURPOSE_MIN, "max": PURPOSE_MAX,
        "error": gettext("导出含个人信息的%(what)s须填写导出用途（至少 %(min)s 个字），未填写用途的导出已被拒绝。")
        % {"what": what, "min": PURPOSE_MIN} if asked else "",
        "nav_active": "", "back": request.path + "?" + urlencode([(k, v) for k, v in keep if k != "format"]),
    }, status=400 if asked else 200)
    response["Cache-Control"] = "no-store"
    return response


def respond(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str,
            watermark: spreadsheets.Watermark | None = None) -> HttpResponse:
    worker = _in_worker.get()
    if worker is not None:
        worker["file_name"] = filename
        return spreadsheets.attachment(spreadsheets.xlsx_bytes(headers, rows, sheet=sheet, watermark=watermark),
                                       filename)
    limit = settings.EXPORT_BACKGROUND_ROWS
    rows = iter(rows)
    head = list(itertools.islice(rows, limit + 1))
    request = current_request()
    if len(head) > limit and request is not None and request.user.is_authenticated:
        job = submit_export(request=request, label=sheet, file_name=filename)
        return redirect(reverse("exports:job", kwargs={"job_id": job.pk}))
    return spreadsheets.attachment(
        spreadsheets.xlsx_bytes(headers, itertools.chain(head, rows), sheet=sheet, watermark=watermark), filename)


@transaction.atomic
def submit_export(*, request: HttpRequest, label: str, file_name: str) -> ExportJob:
    from eduplatform.core.tasks import run_export_job

    user = request.user
    org = user.organization
    job = ExportJob.objects.create(
        label=label[:200], file_name=file_name[:200], path=request.path[:500], query=request.GET.urlencode(),
        focus_path=getattr(user, "focus_path", None) or "",
        region_path=org.region_path if org is not None else "", school_id=org.pk if org and org.school_code else None,
        requested_by_id=user.pk, requested_by=user.audit_name(),
    )
    # The worker replays the request in the language of the page that asked (titles, headers, messages).
    language = translation.get_language()
    transaction.on_commit(lambda: run_export_job.enqueue(job.pk, language))
    return job


def fail_interrupted_exports(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    return ExportJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale).update(
        status=JobStatus.FAILED, failure=gettext(INTERRUPTED), finished_at=now)


def purge_exports(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.UPLOAD_RETENTION_HOURS)
    return ExportJob.objects.filter(file_kept=True, finished_at__lt=cutoff).update(content=b"", file_kept=False)


def run_export(job_id: int) -> ExportJob:
    """The worker's side: replay the list page's request as its user and keep the workbook."""
    from eduplatform.accounts.models import User

    fail_interrupted_exports()
    purge_exports()
    job = ExportJob.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return job
    job.status, job.started_at, job.heartbeat_at = JobStatus.RUNNING, timezone.now(), timezone.now()
    job.save(update_fields=["status", "started_at", "heartbeat_at"])

    def progress(written: int, sheets: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(written_rows=written, sheets=sheets, heartbeat_at=timezone.now())

    state: dict[str, Any] = {}
    worker_token, progress_token = _in_worker.set(state), spreadsheets.progress_callback.set(progress)
    try:
        user = User.objects.select_related("organization").get(pk=job.requested_by_id, is_active=True)
        user.focus_path = job.focus_path or None
        request = RequestFactory().get(job.path, data=None, QUERY_STRING=job.query)
        request.user = user
        from django.contrib.sessions.backends.db import SessionStore

        request.session = SessionStore()
        request._messages = default_storage(request)
        match = resolve(job.path)
        response = match.func(request, *match.args, **match.kwargs)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith(spreadsheets.XLSX_TYPE):
            raise PermissionError(f"status {response.status_code}")
    except Exception as exc:  # noqa: BLE001 — the job says it failed; a defect is re-raised below
        job.refresh_from_db()
        job.status, job.finished_at = JobStatus.FAILED, timezone.now()
        job.failure = (gettext("导出失败：您已无权导出该名单，或筛选条件已失效")
                       if isinstance(exc, (PermissionError, User.DoesNotExist))
                       else gettext("导出时发生内部错误：%(error)s，请联系管理员") % {"error": exc.__class__.__name__})
        job.save()
        if not isinstance(exc, (PermissionError, User.DoesNotExist)):
            raise
        return job
    finally:
        spreadsheets.progress_callback.reset(progress_token)
        _in_worker.reset(worker_token)
    job.refresh_from_db()
    job.content, job.file_kept = seal_file(response.content), True
    job.file_name = state.get("file_name", job.file_name)[:200]
    job.status, job.finished_at = JobStatus.DONE, timezone.now()
    job.save()
    return job

"""The page of a large export: progress while the worker writes it, then the download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext

from eduplatform.core import exports, spreadsheets
from eduplatform.core.crypto import open_file
from eduplatform.core.models import ExportJob, JobStatus
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event


def _own_job(request: HttpRequest, job_id: int) -> ExportJob:
    # An export is its requester's alone (it was made with their scope and focus).
    job = ExportJob.objects.defer("content").filter(pk=job_id, requested_by_id=request.user.pk).first()
    if job is None:
        raise Http404(gettext("导出任务不存在"))
    return job


@login_required
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    exports.fail_interrupted_exports()
    job = _own_job(request, job_id)
    template = "core/_export_progress.html" if request.headers.get("HX-Request") else "core/export_job.html"
    response = render(request, template, {"job": job, "nav_active": ""})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own_job(request, job_id)
    if job.status != JobStatus.DONE or not job.file_kept:
        raise Http404(gettext("导出文件尚未生成或已超过保留期限被删除"))
    content = open_file(ExportJob.objects.values_list("content", flat=True).get(pk=job.pk))
    # The export itself was audited when the worker built it; each download is a further copy.
    record_event(actor=request.user, action=AuditAction.EXPORT, object_type="core.exportjob", object_id=job.pk,
                 object_label=job.label, region_path=job.region_path, note=f"下载后台导出文件「{job.file_name}」")
    return spreadsheets.attachment(content, job.file_name or gettext("导出.xlsx"))


app_name = "exports"
urlpatterns = [
    path("<int:job_id>/", job_page, name="job"),
    path("<int:job_id>/download/", download, name="download"),
]

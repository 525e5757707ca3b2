"""The page of a large export: progress while the worker writes it, then the download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from eduplatform.core import exports, spreadsheets
from eduplatform.core.crypto import open_file
from eduplatform.core.models import ExportJob, JobStatus


def _own_job(request: HttpRequest, job_id: int) -> ExportJob:
    # An export is its requester's alone (it was made with their scope and focus).
    job = ExportJob.objects.defer("content").filter(pk=job_id, requested_by_id=request.user.pk).first()
    if job is None:
        raise Http404("导出任务不存在")
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
        raise Http404("导出文件尚未生成或已超过保留期限被删除")
    content = open_file(ExportJob.objects.values_list("content", flat=True).get(pk=job.pk))
    return spreadsheets.attachment(content, job.file_name or "导出.xlsx")


app_name = "exports"
urlpatterns = [
    path("<int:job_id>/", job_page, name="job"),
    path("<int:job_id>/download/", download, name="download"),
]

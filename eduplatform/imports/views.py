"""The shared import pages: upload with the mode choice, template download, the job page with its
htmx progress bar and error report, the report as Excel, and committing a clean dry run."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eduplatform.core.errors import NotPermitted
from eduplatform.core.imports import ImportFileError
from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.core.spreadsheets import XLSX_TYPE
from eduplatform.core.views import require_capability
from eduplatform.imports import registry, runner, selectors
from eduplatform.imports.forms import UploadForm
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization

RECENT_JOBS = 20
PROBLEMS_SHOWN = 500


def _kind(key: str) -> registry.ImportKind:
    kind = registry.get(key)
    if kind is None:
        raise Http404("没有这种导入内容")
    return kind


def _own_unit(user, kind: registry.ImportKind) -> Organization | None:
    org = user.organization
    return org if org is not None and org.kind in kind.unit_kinds else None


def _context(kind: registry.ImportKind, **extra) -> dict[str, object]:
    return {"kind": kind, "nav_active": kind.nav_slug, **extra}


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def template_download(request: HttpRequest, import_kind: str) -> HttpResponse:
    kind = _kind(import_kind)
    response = HttpResponse(runner.template(kind), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(kind.label + '导入模板.xlsx')}"
    return response


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def upload(request: HttpRequest, import_kind: str) -> HttpResponse:
    kind = _kind(import_kind)
    user = request.user
    if not user.can(kind.capability):
        raise NotPermitted(f"您的角色无权导入{kind.label}")
    own = _own_unit(user, kind)
    ask_school = own is None and kind.for_schools
    form = UploadForm(request.POST or None, request.FILES or None, ask_school=ask_school)
    if request.method == "POST" and form.is_valid():
        unit = own
        if ask_school:
            code = form.cleaned_data["school_code"]
            unit = selectors.school_by_code(user, code)
            if unit is None:
                form.add_error("school_code", f"学校标识码「{code}」不存在、已撤销或不在您的管辖范围内")
        elif unit is None:
            form.add_error(None, f"{kind.label}只能导入到本单位，您所在的单位不适用")
        upload_file = form.cleaned_data.get("file")
        if unit is not None and not kind.can_write(user, unit):
            form.add_error(None, f"您无权向{unit.name}导入{kind.label}")
        elif unit is not None and upload_file is not None and upload_file.size > runner.MAX_FILE_BYTES:
            # Checked before reading, so an oversized upload is never loaded into memory.
            form.add_error("file", "文件超过 40 MB，请分成几个文件上传")
        elif unit is not None and not form.errors:
            try:
                job = runner.submit_import(kind=kind, actor=user, unit=unit, file_name=upload_file.name,
                                           content=upload_file.read(), mode=form.cleaned_data["mode"])
            except ImportFileError as err:
                form.add_error("file", err.message)
            else:
                return redirect("imports:job", job_id=job.pk)
    return render(request, "imports/upload.html", _context(
        kind, form=form, unit=own, jobs=selectors.import_jobs(user, kind.key)[:RECENT_JOBS]))


def _job_context(request: HttpRequest, job: ImportJob) -> dict[str, object]:
    user = request.user
    kind = _kind(job.kind)
    problems = (job.problems or []) if job.is_finished else []
    unit = selectors.unit_for(user, job.school_id)
    can_commit = (
        job.mode == ImportMode.DRY_RUN and job.status == JobStatus.DONE and not job.error_rows and job.total_rows > 0
        and unit is not None and user.can(kind.capability) and kind.can_write(user, unit)
    )
    return _context(kind, job=job, problems=problems[:PROBLEMS_SHOWN], problem_count=len(problems),
                    problems_cut=len(problems) > PROBLEMS_SHOWN, shown=PROBLEMS_SHOWN, can_commit=can_commit)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_for(request.user, job_id)
    return render(request, "imports/job.html", _job_context(request, job))


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The fragment htmx polls every second; once the job is finished it renders without a trigger."""
    job = selectors.import_job_for(request.user, job_id)
    response = render(request, "imports/_progress.html", _job_context(request, job))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def job_problems(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_for(request.user, job_id)
    if not job.is_finished:
        raise Http404("导入尚未完成，错误报告尚未生成")
    response = HttpResponse(runner.problems_report(job), content_type=XLSX_TYPE)
    stem = job.file_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stem + '_错误报告.xlsx')}"
    return response


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def job_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    """After a clean dry run: import the very same stored file for real, all or nothing."""
    user = request.user
    job = selectors.import_job_for(user, job_id)
    if not _job_context(request, job)["can_commit"]:
        messages.error(request, "只有校验通过（没有错误）的“仅校验”任务可以直接正式导入")
        return redirect("imports:job", job_id=job.pk)
    unit = selectors.unit_for(user, job.school_id)
    content = bytes(ImportJob.objects.values_list("content", flat=True).get(pk=job.pk))
    try:
        new_job = runner.submit_import(kind=_kind(job.kind), actor=user, unit=unit, file_name=job.file_name,
                                       content=content, mode=ImportMode.ALL_OR_NOTHING)
    except ImportFileError as err:
        messages.error(request, err.message)
        return redirect("imports:job", job_id=job.pk)
    return redirect("imports:job", job_id=new_job.pk)

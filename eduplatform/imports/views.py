"""The shared import pages: upload with the mode choice, template download, the job page with its
htmx progress bar and error report, the report as Excel, and committing a clean dry run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from eduplatform.core import once
from eduplatform.core.crypto import open_file
from eduplatform.core.errors import NotPermitted
from eduplatform.core.imports import ImportFileError
from eduplatform.core.models import ImportJob, ImportMode, JobStatus, Submission
from eduplatform.core.spreadsheets import XLSX_TYPE
from eduplatform.core.views import require_capability
from eduplatform.imports import registry, runner, selectors
from eduplatform.imports.forms import UploadForm
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.selectors import open_school_by_code

RECENT_JOBS = 20
PROBLEMS_SHOWN = 500


@dataclass(frozen=True)
class ImportPages:
    """Where a set of import pages lives: the shared ``/imports/`` routes, or an area's own (the
    student register keeps ``/students/import/`` inside its tabs). The views are the same."""

    upload: str  # URL names
    template: str
    job: str
    progress: str
    problems: str
    commit: str
    kind_in_url: bool = False  # upload and template URLs carry the kind
    only_kind: str | None = None  # the job pages show jobs of this kind only
    nav_template: str = ""  # tabs shown above the pages
    extra_context: Callable[[HttpRequest], dict] | None = None

    def kind_url(self, name: str, kind: registry.ImportKind) -> str:
        return reverse(name, kwargs={"import_kind": kind.key} if self.kind_in_url else {})

    def job_url(self, name: str, job_id: int) -> str:
        return reverse(name, kwargs={"job_id": job_id})

    def context(self, request: HttpRequest, kind: registry.ImportKind) -> dict[str, object]:
        return {"kind": kind, "nav_active": kind.nav_slug, "nav_template": self.nav_template,
                "upload_url": self.kind_url(self.upload, kind), "template_url": self.kind_url(self.template, kind),
                **(self.extra_context(request) if self.extra_context else {})}


SHARED_PAGES = ImportPages(upload="imports:upload", template="imports:template", job="imports:job",
                           progress="imports:progress", problems="imports:problems", commit="imports:commit",
                           kind_in_url=True)


def _kind(key: str) -> registry.ImportKind:
    kind = registry.get(key)
    if kind is None:
        raise Http404(gettext("没有这种导入内容"))
    return kind


def _own_unit(user, kind: registry.ImportKind) -> Organization | None:
    org = user.organization
    return org if org is not None and org.kind in kind.unit_kinds else None


def template_download(request: HttpRequest, import_kind: str) -> HttpResponse:
    kind = _kind(import_kind)
    response = HttpResponse(runner.template(kind), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(kind.template_name + '.xlsx')}"
    return response


def upload(request: HttpRequest, import_kind: str, pages: ImportPages = SHARED_PAGES) -> HttpResponse:
    kind = _kind(import_kind)
    user = request.user
    if not user.can(kind.capability):
        raise NotPermitted(gettext("您的角色无权导入%(label)s") % {"label": kind.label})
    own = _own_unit(user, kind)
    ask_school = own is None and kind.for_schools
    form = UploadForm(request.POST or None, request.FILES or None, ask_school=ask_school)
    if request.method == "POST" and form.is_valid():
        unit = own
        if ask_school:
            code = form.cleaned_data["school_code"]
            unit = open_school_by_code(user, code)
            if unit is None:
                form.add_error("school_code", gettext("学校标识码「%(code)s」不存在、已撤销或不在您的管辖范围内") % {"code": code})
        elif unit is None:
            form.add_error(None, gettext("%(label)s只能导入到本单位，您所在的单位不适用") % {"label": kind.label})
        upload_file = form.cleaned_data.get("file")
        if unit is not None and not kind.can_write(user, unit):
            form.add_error(None, gettext("您无权向%(name)s导入%(label)s") % {"name": unit.name, "label": kind.label})
        elif unit is not None and upload_file is not None and upload_file.size > runner.MAX_FILE_BYTES:
            # Checked before reading, so an oversized upload is never loaded into memory.
            form.add_error("file", gettext("文件超过 40 MB，请分成几个文件上传"))
        elif unit is not None and not form.errors:
            try:
                job = runner.submit_import(kind=kind, actor=user, unit=unit, file_name=upload_file.name,
                                           content=upload_file.read(), mode=form.cleaned_data["mode"],
                                           write_policy=form.cleaned_data["write_policy"])
            except ImportFileError as err:
                form.add_error("file", err.message)
            else:
                return redirect(pages.job_url(pages.job, job.pk))
    runner.fail_interrupted_jobs()
    jobs = selectors.import_jobs(user, kind.key)[:RECENT_JOBS]
    return render(request, "imports/upload.html", {
        **pages.context(request, kind), "form": form, "unit": own,
        "jobs": [(job, pages.job_url(pages.job, job.pk)) for job in jobs]})


def _job_context(request: HttpRequest, job: ImportJob, pages: ImportPages) -> dict[str, object]:
    user = request.user
    kind = _kind(job.kind)
    problems = (job.problems or []) if job.is_finished else []
    unit = selectors.unit_for(user, job.school_id)
    may_write = unit is not None and user.can(kind.capability) and kind.can_write(user, unit)
    can_commit = (
        job.mode == ImportMode.DRY_RUN and job.status == JobStatus.DONE and not job.error_rows and job.total_rows > 0
        and job.file_kept and may_write
        and not Submission.objects.filter(key=_commit_key(job)).exists()  # committed already: no second button
    )
    can_retry = job.status == JobStatus.FAILED and runner.is_interrupted(job.failure) and job.file_kept and may_write
    actions = (job.row_actions or {}) if job.is_finished else {}
    updates = actions.get("update", [])
    return {**pages.context(request, kind), "job": job, "problems": problems[:PROBLEMS_SHOWN],
            "summary": runner.action_summary(job) if job.is_finished else "",
            "updates": [{**u, "text": runner.changed_fields_text(u)} for u in updates[:PROBLEMS_SHOWN]],
            "update_count": len(updates), "updates_cut": len(updates) > PROBLEMS_SHOWN,
            "problem_count": len(problems), "problems_cut": len(problems) > PROBLEMS_SHOWN, "shown": PROBLEMS_SHOWN,
            "can_commit": can_commit, "can_retry": can_retry, "progress_url": pages.job_url(pages.progress, job.pk),
            "problems_url": pages.job_url(pages.problems, job.pk), "commit_url": pages.job_url(pages.commit, job.pk)}


def _commit_key(job: ImportJob) -> str:
    """The once-only key of committing a dry run: the dry run itself (see ``job_commit``)."""
    return f"import-commit:{job.pk}"


def job_page(request: HttpRequest, job_id: int, pages: ImportPages = SHARED_PAGES) -> HttpResponse:
    runner.fail_interrupted_jobs()  # a job whose worker died shows as failed, with a retry
    job = selectors.import_job_for(request.user, job_id, pages.only_kind)
    return render(request, "imports/job.html", _job_context(request, job, pages))


def job_progress(request: HttpRequest, job_id: int, pages: ImportPages = SHARED_PAGES) -> HttpResponse:
    """The fragment htmx polls every second; once the job is finished it renders without a trigger."""
    runner.fail_interrupted_jobs()
    job = selectors.import_job_for(request.user, job_id, pages.only_kind)
    response = render(request, "imports/_progress.html", _job_context(request, job, pages))
    response["Cache-Control"] = "no-store"
    return response


def job_problems(request: HttpRequest, job_id: int, pages: ImportPages = SHARED_PAGES) -> HttpResponse:
    job = selectors.import_job_for(request.user, job_id, pages.only_kind)
    if not job.is_finished:
        raise Http404(gettext("导入尚未完成，错误报告尚未生成"))
    response = HttpResponse(runner.problems_report(job), content_type=XLSX_TYPE)
    stem = job.file_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stem + gettext('_错误报告.xlsx'))}"
    return response


def job_commit(request: HttpRequest, job_id: int, pages: ImportPages = SHARED_PAGES) -> HttpResponse:
    """After a clean dry run: import the very same stored file for real, all or nothing. After a job
    whose worker died: run the same file again, in the same mode."""
    user = request.user
    job = selectors.import_job_for(user, job_id, pages.only_kind)
    earlier = Submission.objects.filter(key=_commit_key(job)).first()
    if earlier is not None:  # a click after the first commit finished (the claim below guards clicks at once)
        return _committed_already(request, once.AlreadySubmitted(earlier), job, pages)
    context = _job_context(request, job, pages)
    if context["can_retry"]:
        # An interrupted job is retried once, however many times 重试 is clicked.
        return _submit_once(request, job, pages, "imports.retry", lambda: runner.retry_import(job=job, actor=user))
    if not context["can_commit"]:
        earlier = Submission.objects.filter(key=_commit_key(job)).first()
        if earlier is not None:  # another click committed it between the check above and this one
            return _committed_already(request, once.AlreadySubmitted(earlier), job, pages)
        messages.error(request, gettext("只有校验通过（没有错误）且文件仍保留的“仅校验”任务可以直接正式导入"))
        return redirect(pages.job_url(pages.job, job.pk))
    unit = selectors.unit_for(user, job.school_id)
    content = open_file(ImportJob.objects.values_list("content", flat=True).get(pk=job.pk))
    # A checked file is committed once: the claim's key is the dry run itself, so two clicks (or two
    # people) queue one import, and the repeat is sent to it (core/once.py).
    return _submit_once(request, job, pages, "imports.commit", lambda: runner.submit_import(
        kind=_kind(job.kind), actor=user, unit=unit, file_name=job.file_name, content=content,
        mode=ImportMode.ALL_OR_NOTHING, write_policy=job.write_policy))


def _submit_once(request: HttpRequest, job: ImportJob, pages: ImportPages, action: str,
                 submit: Callable[[], ImportJob]) -> HttpResponse:
    """Queue ``submit()``'s new job once per ``job`` (its once-only key), and show it; a repeat is
    sent to the job the first submission queued, a refused file back to ``job`` with the reason."""
    try:
        with once.submitted_once(key=_commit_key(job), action=action,
                                 submitted_by=request.user.audit_name()) as submission:
            new_job = submit()
            once.record_result(submission, pages.job_url(pages.job, new_job.pk))
    except once.AlreadySubmitted as repeat:
        return _committed_already(request, repeat, job, pages)
    except ImportFileError as err:
        messages.error(request, err.message)
        return redirect(pages.job_url(pages.job, job.pk))
    return redirect(pages.job_url(pages.job, new_job.pk))


def _committed_already(request: HttpRequest, repeat: once.AlreadySubmitted, job: ImportJob,
                       pages: ImportPages) -> HttpResponse:
    messages.info(request, repeat.message.replace(gettext("该操作"), gettext("该文件的正式导入")))
    return redirect(repeat.result_url or pages.job_url(pages.job, job.pk))


def guarded(view: Callable[..., HttpResponse], *, post_only: bool = False, **bound) -> Callable[..., HttpResponse]:
    """A page view behind login and VIEW_RECORDS, with its pages (or kind) bound for an area's own routes."""
    def page(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return view(request, *args, **kwargs, **bound)

    page = require_capability(capabilities.VIEW_RECORDS)(page)
    if post_only:
        page = require_POST(page)
    return login_required(page)


# The shared routes.
template_page = guarded(template_download)
upload_page = guarded(upload)
job_view = guarded(job_page)
progress_view = guarded(job_progress)
problems_view = guarded(job_problems)
commit_view = guarded(job_commit, post_only=True)

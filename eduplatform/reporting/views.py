"""Pages of the collection cycle (报表与审核): the tasks a user sees, a task's progress down the region
tree, a new task, the school's entry page (auto-save, rule results beside each cell, 零上报, 上报),
the census confirmation, the reviewer's read-only submission with verdicts and per-cell return
reasons, region approval, the printable history, and the form as an .xlsx to download and upload.

Thin, as everywhere: reads through ``reporting.selectors``, writes through ``reporting.services``;
the rule results shown are the engine's (``reporting.evaluation``), computed for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from eduplatform.core import once, paging
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.spreadsheets import attachment, xlsx_response
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import style_fields
from eduplatform.orgs.models import Region
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import scope_root
from eduplatform.orgs.stages import STAGE_LABELS
from eduplatform.reporting import evaluation, grid, selectors, services, spreadsheet
from eduplatform.reporting.models import (
    CollectionTask,
    ReviewLevel,
    Submission,
    SubmissionStatus,
    TaskKind,
    TaskStatus,
)
from eduplatform.standards import codebook
from eduplatform.stats.models import Snapshot

NAV = "forms"
FILL = getattr(capabilities, "FILL_REPORTS", "reporting.fill")
MANAGE = getattr(capabilities, "MANAGE_REPORT_TASKS", "reporting.manage_tasks")
REVIEW = getattr(capabilities, "REVIEW_REPORTS", "reporting.review")
ZERO_KEY = "_zero"  # services.ZERO_REPORT_KEY: the 零上报 reason among the explanations
EDITABLE = (SubmissionStatus.NOT_STARTED, SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)
LEVEL_OF_REGION = {"province": ReviewLevel.PROVINCE, "city": ReviewLevel.CITY, "county": ReviewLevel.COUNTY,
                   "town": ReviewLevel.TOWN}


def _problems(err: RecordInvalid) -> str:
    return "；".join(p.message for p in err.problems) or str(err)


def _is_stale(err: RecordInvalid) -> bool:
    return any("stale" in p.code or p.field == "lock_version" for p in err.problems)


def _own_school_id(user) -> int | None:
    return scope_of(user).school_id


def _task(user, task_id: int) -> CollectionTask:
    try:
        return selectors.task_for(user, task_id)
    except CollectionTask.DoesNotExist:
        raise Http404(gettext("该任务不存在或不在您的范围内")) from None


def _submission(user, submission_id: int) -> Submission:
    try:
        return selectors.submission_for(user, submission_id)
    except Submission.DoesNotExist:
        raise Http404(gettext("该填报不存在或不在您的范围内")) from None


def _maybe_url(name: str, *args: Any) -> str:
    """A page of another helper's module, when it is mounted (the completeness page, the designer)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# --------------------------------------------------------------------------------------------
# Rule results for display


def _with_computed(task: CollectionTask, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return {**values, **evaluation.compute_values(selectors.form_spec(task.form_version),
                                                      {k: str(v) for k, v in values.items()})}
    except Exception:  # noqa: BLE001 — values the engine cannot compute from (text in a number) show as typed
        return dict(values)


def _check(submission: Submission, values: dict[str, Any]):
    task = submission.task
    return evaluation.check_values(selectors.form_spec(task.form_version), values, school=submission.school,
                                   snapshot=task.snapshot, other_forms=selectors.other_forms_of(submission))


def build_grid(submission: Submission, *, values: dict[str, Any] | None = None,
               explanations: dict[str, str] | None = None, checked: bool = True,
               extra_errors: dict[str, str] | None = None) -> grid.Grid:
    """The submission's form with its (or the posted) values, computed cells filled, and the rule
    results of those values when ``checked`` and the form holds anything."""
    task = submission.task
    stored = values is None
    values = _with_computed(task, dict(submission.values if stored else values))
    report = None
    if checked and stored and getattr(submission, "check_report", None) is not None:
        report = submission.check_report  # the save just checked these values
    elif checked and (any(str(v).strip() for v in values.values()) or submission.status != SubmissionStatus.NOT_STARTED):
        report = _check(submission, values)
    cell_errors = dict(report.cell_errors) if report is not None else {}
    cell_errors.update(extra_errors or {})
    return grid.build(
        task.form_version.definition, values=values, prefill=submission.prefill,
        explanations=submission.explanations if explanations is None else explanations,
        verdicts=submission.verdicts, return_cells=submission.return_cells,
        results=report.results if report is not None else None, cell_errors=cell_errors,
    )


# --------------------------------------------------------------------------------------------
# Tasks


TASK_EXPORT = [
    (gettext_lazy("任务名称"), lambda t: t.title), (gettext_lazy("类别"), lambda t: t.get_kind_display()),
    (gettext_lazy("报表"), lambda t: str(t.form_version) if t.form_version_id else ""), (gettext_lazy("统计期"), lambda t: t.period),
    (gettext_lazy("截止日期"), lambda t: t.deadline.isoformat()), (gettext_lazy("状态"), lambda t: t.get_status_display()),
    (gettext_lazy("审核层级"), lambda t: "、".join(str(ReviewLevel(x).label) for x in t.review_levels if x in ReviewLevel.values)),
    (gettext_lazy("创建人"), lambda t: t.created_by), (gettext_lazy("下发时间"), lambda t: timezone.localtime(t.opened_at).strftime("%Y-%m-%d %H:%M")
                                        if t.opened_at else ""),
]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def task_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    tasks = selectors.tasks_for(user).select_related("form_version__form", "snapshot")
    if request.GET.get("format") == "xlsx":
        rows = ([fn(t) for _, fn in TASK_EXPORT] for t in tasks.iterator(chunk_size=500))
        return xlsx_response(gettext("填报任务.xlsx"), [h for h, _ in TASK_EXPORT], rows, sheet=gettext("填报任务"))
    page = paging.keyset_page(request, tasks, keys=("-created_at", "-pk"), name="reporting-tasks")
    school_id = _own_school_id(user)
    own = ({s.task_id: s for s in selectors.submissions_for(user).filter(task_id__in=[t.pk for t in page])}
           if school_id is not None else {})
    for task in page:
        task.own_submission = own.get(task.pk)
    return render(request, "reporting/tasks.html", {
        "nav_active": NAV, "page": page, "query": paging.other_params(request.GET).urlencode(),
        "can_manage": user.can(MANAGE), "school_user": school_id is not None,
        "designer_url": _maybe_url("reporting:designer"),
    })


def _region_rows(user, task: CollectionTask, region: Region) -> list[Any]:
    """The children's rows, each with its region's code for the drill-down link."""
    rows = list(selectors.children_status(user, task, region.path))
    codes = dict(Region.objects.filter(path__in=[r.path for r in rows if r.level != "school"])
                 .values_list("path", "code"))
    for row in rows:
        row.code = codes.get(row.path, "")
        row.status_label = (SubmissionStatus(row.status).label if row.status in SubmissionStatus.values
                            else gettext("已审核通过") if row.approval else "")
    return rows


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = _task(user, task_id)
    school_id = _own_school_id(user)
    if school_id is not None:  # a school has one submission per task: its entry page
        try:
            own = selectors.submission_of_school(user, task, school_id)
        except Submission.DoesNotExist:
            raise Http404(gettext("本校不在该任务的填报范围内")) from None
        return redirect("reporting:entry", submission_id=own.pk)
    region = region_in_scope(request, from_post=True)
    root = scope_root(user)
    rows = _region_rows(user, task, region)
    if request.GET.get("format") == "xlsx":
        headers = [gettext("名称"), gettext("应报"), gettext("已上报"), gettext("已审核"), gettext("已退回"), gettext("零上报"), gettext("状态")]
        data = [[r.name, r.expected, r.submitted, r.approved, r.returned, r.zero, r.status_label] for r in rows]
        return xlsx_response(f"{task.title}_{region.name}.xlsx", headers, data, sheet=gettext("填报进度"))
    state = selectors.region_state(user, task, region.path)
    level = LEVEL_OF_REGION.get(region.level)
    schools, status = None, request.GET.get("status", "")
    if task.review_levels and level == task.review_levels[0]:
        # The first review level approves the schools themselves: list them here, whatever the depth.
        qs = selectors.submissions_for(user, task).filter(region_path__startswith=region.path)
        if status in SubmissionStatus.values:
            qs = qs.filter(status=status)
        schools = paging.keyset_page(request, qs, keys=("region_path", "school_id"), name="reporting-schools")
    return render(request, "reporting/task.html", {
        "nav_active": NAV, "task": task, "region": region, "trail": trail(region, root) if root else [region],
        "rows": rows, "schools": schools, "status": status, "statuses": SubmissionStatus.choices,
        "query": paging.other_params(request.GET).urlencode(), "state": state, "approval": state.approval, "region_is_level": state.is_review_node,
        "level_label": ReviewLevel(level).label if level else "",
        "can_manage": user.can(MANAGE) and task.owner_path and region.path.startswith(task.owner_path)
        and scope_of(user, with_focus=False).region_path == task.owner_path,
        "can_review": user.can(REVIEW), "completeness_url": _maybe_url("reporting:completeness", task.pk),
        "levels": [ReviewLevel(x).label for x in task.review_levels if x in ReviewLevel.values],
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def task_summary(request: HttpRequest, task_id: int) -> HttpResponse:
    """汇总: the form filled with the sums of the approved submissions under a region (``?region=``),
    computed cells worked out again from those sums (a share of sums, not a sum of shares); as a page,
    an .xlsx (``?format=xlsx``) or a PDF (``?format=pdf``)."""
    user = request.user
    task = _task(user, task_id)
    if task.form_version_id is None:
        raise Http404(gettext("统计时点数据确认任务没有报表汇总，请查看统计快照的基表"))
    region = region_in_scope(request, from_post=True)
    root = scope_root(user)
    totals = selectors.aggregated(user, task, region.path)
    counted = selectors.completeness_total(user, task, region.path)
    values = _with_computed(task, {key: format(value, "f") for key, value in totals.items()})
    g = grid.build(task.form_version.definition, values=values)
    for cell in g.all_cells():
        cell.prefilled = False  # a sum has no record value of its own to compare with
    if request.GET.get("format") == "xlsx":
        rows = ([t.code, t.title, row.code, row.label, c.key.rsplit(".", 1)[1], col.label, c.shown]
                for t in g.tables for row in t.rows for c, col in zip(row.cells, t.columns, strict=True) if c.numeric)
        return xlsx_response(gettext("%(title)s_%(name)s_汇总.xlsx") % {"title": task.title, "name": region.name},
                             [gettext("表号"), gettext("表名"), gettext("行代码"), gettext("行"), gettext("列代码"), gettext("列"), gettext("汇总值")], rows, sheet=gettext("汇总"))
    context = {"nav_active": NAV, "task": task, "region": region, "grid": g, "counted": counted,
               "trail": trail(region, root) if root else [region]}
    if request.GET.get("format") == "pdf":
        return _pdf_response("reporting/summary_pdf.html", {
            **context, **_printed(task, subject=gettext("%(name)s 汇总") % {"name": region.name}, region=region.name)},
            gettext("%(title)s_%(name)s_汇总.pdf") % {"title": task.title, "name": region.name},
            landscape=max((len(t.columns) for t in g.tables), default=0) > 6)
    return render(request, "reporting/summary.html", context)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def task_schools_export(request: HttpRequest, task_id: int) -> HttpResponse:
    """The schools of a region node (``?region=``, ``?status=``) with their submissions' status, as a workbook."""
    user = request.user
    task = _task(user, task_id)
    region = region_in_scope(request, from_post=True)
    qs = selectors.submissions_for(user, task).filter(region_path__startswith=region.path).order_by(
        "region_path", "school_id")
    status = request.GET.get("status", "")
    if status in SubmissionStatus.values:
        qs = qs.filter(status=status)

    def when(moment):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""

    headers = [gettext("学校标识码"), gettext("学校"), gettext("状态"), gettext("零上报"), gettext("上报人"), gettext("上报时间"), gettext("审核人"), gettext("审核时间"), gettext("退回原因")]
    rows = ([s.school.school_code or "", s.school.name, s.get_status_display(), gettext("是") if s.zero_report else "",
             s.submitted_by, when(s.submitted_at), s.reviewed_by, when(s.reviewed_at), s.return_reason]
            for s in qs.iterator(chunk_size=2000))
    return xlsx_response(gettext("%(title)s_%(name)s_学校.xlsx") % {"title": task.title, "name": region.name}, headers, rows, sheet=gettext("学校填报情况"))


class TaskForm(forms.Form):
    form_version = forms.TypedChoiceField(label=gettext_lazy("报表"), coerce=int, required=False)
    title = forms.CharField(label=gettext_lazy("任务名称"), max_length=150)
    period = forms.CharField(label=gettext_lazy("统计期"), max_length=20, help_text=gettext_lazy("如 2026、2026年秋季学期"))
    deadline = forms.DateField(label=gettext_lazy("截止日期"), widget=forms.DateInput(attrs={"type": "date"}))
    remind_days = forms.IntegerField(label=gettext_lazy("截止前提醒天数"), min_value=0, max_value=60, initial=3)
    regions = forms.MultipleChoiceField(label=gettext_lazy("填报地区"), required=False,
                                        help_text=gettext_lazy("不选即本辖区全部学校"))
    school_types = forms.MultipleChoiceField(label=gettext_lazy("办学类型"), required=False, help_text=gettext_lazy("不选即全部类型"))
    stages = forms.TypedMultipleChoiceField(label=gettext_lazy("学段"), coerce=int, required=False,
                                            choices=[(int(s), label) for s, label in STAGE_LABELS.items()],
                                            widget=forms.CheckboxSelectMultiple, help_text=gettext_lazy("不选即全部学段"))
    review_levels = forms.MultipleChoiceField(label=gettext_lazy("审核层级"), choices=ReviewLevel.choices,
                                              widget=forms.CheckboxSelectMultiple,
                                              initial=["county", "city", "province"])

    def __init__(self, *args, versions=(), regions=(), census: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["form_version"].choices = [("", gettext("—— 请选择 ——")), *[(v.pk, str(v) + " " + v.form.title)
                                                                        for v in versions]]
        self.fields["form_version"].required = not census
        self.fields["regions"].choices = [(r.path, f"{getattr(r, 'indent', '')}{r.name}") for r in regions]
        self.fields["school_types"].choices = list(codebook.codes_of("school_type").items())
        style_fields(self)
        for name in ("stages", "review_levels"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        self.fields["regions"].widget.attrs["size"] = "8"
        self.fields["school_types"].widget.attrs["size"] = "8"

    def clean_review_levels(self) -> list[str]:
        order = ["town", "county", "city", "province"]
        return sorted(self.cleaned_data["review_levels"], key=order.index)


def _default_levels(root: Region | None) -> list[str]:
    """County up to the creating unit's own level (the highest review level is the creator's)."""
    order = ["county", "city", "province"]
    level = root.level if root is not None else "province"
    return order[: order.index(level) + 1] if level in order else ["county"]


def _target_regions(root: Region | None) -> list[Region]:
    """Regions a task may target: the cities and counties under the user's region (a county: its
    towns), indented by depth."""
    if root is None:
        return []
    qs = Region.objects.filter(path__startswith=root.path, abolished_on__isnull=True).exclude(pk=root.pk)
    qs = qs.filter(level__in=["city", "county"]) if root.level == "province" else qs.filter(parent=root) \
        if root.level == "county" else qs.filter(level__in=["county", "town"], parent__path__startswith=root.path) \
        .exclude(level="town")
    regions = list(qs.order_by("path"))
    depth = root.path.count("/")
    for region in regions:
        region.indent = "\u3000" * (region.path.count("/") - depth - 1)
    return regions


@login_required
@require_capability(MANAGE)
def task_new(request: HttpRequest) -> HttpResponse:
    """A new collection task; ``?snapshot=<id>`` makes it the census sign-off of that snapshot."""
    user = request.user
    snapshot = None
    snapshot_id = request.GET.get("snapshot", "") or request.POST.get("snapshot", "")
    if snapshot_id:
        snapshot = Snapshot.objects.filter(pk=int(snapshot_id)).first() if snapshot_id.isdigit() else None
        if snapshot is None:
            raise Http404(gettext("该统计快照不存在"))
    root = scope_root(user)
    regions = _target_regions(root)
    versions = selectors.published_versions(request.user)
    form = TaskForm(request.POST or None, versions=versions, regions=regions,
                    census=snapshot is not None,
                    initial={"review_levels": _default_levels(root),
                             "title": gettext("%(title)s 数据确认") % {"title": snapshot.title} if snapshot else "",
                             "period": str(snapshot.census_date.year) if snapshot else str(dt.date.today().year)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        stage_mask = 0
        for bit in data["stages"]:
            stage_mask |= bit
        targets = {"regions": data["regions"], "school_types": data["school_types"], "stage_mask": stage_mask}
        version = None
        if snapshot is None:
            version = next((v for v in versions if v.pk == data["form_version"]), None)
        try:
            task = services.create_task(
                actor=user, form_version=version, snapshot=snapshot, title=data["title"], period=data["period"],
                deadline=data["deadline"], remind_days=data["remind_days"], targets=targets,
                review_levels=data["review_levels"], kind=TaskKind.CENSUS if snapshot else TaskKind.FORM)
        except RecordInvalid as err:
            for problem in err.problems:
                form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        else:
            messages.success(request, gettext("已创建任务「%(title)s」，请核对后下发") % {"title": task.title})
            return redirect("reporting:task", task_id=task.pk)
    return render(request, "reporting/task_new.html", {"nav_active": NAV, "form": form, "snapshot": snapshot})


def _task_action(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    user = request.user
    task = _task(user, task_id)
    done = {"open": gettext("已下发"), "close": gettext("已截止")}[action]
    try:
        with once.submitted_once(key=once.posted_token(request), action=f"reporting.task_{action}",
                                 submitted_by=user.audit_name()) as claim:
            getattr(services, f"{action}_task")(actor=user, task=task)
            once.record_result(claim, reverse("reporting:task", args=(task.pk,)))
    except once.AlreadySubmitted as err:
        messages.info(request, err.message)
    except RecordInvalid as err:
        messages.error(request, _problems(err))
    else:
        messages.success(request, gettext("任务「%(title)s」%(done)s") % {"title": task.title, "done": done})
    return redirect("reporting:task", task_id=task.pk)


@login_required
@require_POST
@require_capability(MANAGE)
def task_open(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_action(request, task_id, "open")


@login_required
@require_POST
@require_capability(MANAGE)
def task_close(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_action(request, task_id, "close")


@login_required
@require_POST
@require_capability(MANAGE)
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    """Reopen the task for one school (by its 学校标识码) with a reason."""
    user = request.user
    task = _task(user, task_id)
    code, reason = request.POST.get("school_code", "").strip(), request.POST.get("reason", "").strip()
    submission = (selectors.submissions_for(user, task).filter(school__school_code=code).first()
                  if code else None)
    if submission is None:
        messages.error(request, gettext("学校标识码「%(code)s」不在本任务的填报范围内，或不在您的管辖范围内") % {"code": code} if code
                       else gettext("请填写要重新开放的学校标识码"))
        return redirect("reporting:task", task_id=task.pk)
    try:
        services.reopen_for_school(actor=user, task=task, school=submission.school, reason=reason)
    except RecordInvalid as err:
        messages.error(request, _problems(err))
    else:
        messages.success(request, gettext("已为「%(name)s」重新开放填报") % {"name": submission.school.name})
    return redirect("reporting:task", task_id=task.pk)


# --------------------------------------------------------------------------------------------
# Region approval


def _region_redirect(task: CollectionTask, region: Region) -> HttpResponse:
    return redirect(reverse("reporting:task", args=(task.pk,)) + f"?region={region.code}")


@login_required
@require_POST
@require_capability(REVIEW)
def region_approve(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = _task(user, task_id)
    region = region_in_scope(request, from_post=True)
    try:
        with once.submitted_once(key=once.posted_token(request), action="reporting.approve_region",
                                 submitted_by=user.audit_name()) as claim:
            services.approve_region(actor=user, task=task, region_path=region.path)
            once.record_result(claim, reverse("reporting:task", args=(task.pk,)) + f"?region={region.code}")
    except once.AlreadySubmitted as err:
        messages.info(request, err.message)
    except RecordInvalid as err:
        messages.error(request, _problems(err))
    else:
        messages.success(request, gettext("%(name)s：审核通过") % {"name": region.name})
    return _region_redirect(task, region)


@login_required
@require_POST
@require_capability(REVIEW)
def region_unapprove(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = _task(user, task_id)
    region = region_in_scope(request, from_post=True)
    try:
        services.unapprove_region(actor=user, task=task, region_path=region.path,
                                  reason=request.POST.get("reason", "").strip())
    except RecordInvalid as err:
        messages.error(request, _problems(err))
    else:
        messages.success(request, gettext("%(name)s：已撤销审核") % {"name": region.name})
    back = request.POST.get("back", "")
    if back.isdigit():  # unapproved from the parent's page: back there
        parent = Region.objects.filter(code=back).first()
        if parent is not None:
            return _region_redirect(task, parent)
    return _region_redirect(task, region)


# --------------------------------------------------------------------------------------------
# The school's entry page


def _can_fill(user, submission: Submission) -> bool:
    task = submission.task
    return (user.can(FILL) and _own_school_id(user) == submission.school_id and submission.status in EDITABLE
            and (task.status == TaskStatus.OPEN or submission.reopened) and not submission.zero_report)


def _entry_context(request: HttpRequest, submission: Submission, g: grid.Grid, **extra: Any) -> dict[str, Any]:
    task = submission.task
    return {
        "nav_active": NAV, "task": task, "submission": submission, "grid": g,
        "editable": _can_fill(request.user, submission), "stale": False,
        "returned": submission.status == SubmissionStatus.RETURNED,
        "overdue": task.deadline < timezone.localdate() and submission.status in EDITABLE,
        "zero_reason": (submission.explanations or {}).get(ZERO_KEY, ""),
        "closed": task.status == TaskStatus.CLOSED and not submission.reopened,
        **extra,
    }


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def entry(request: HttpRequest, submission_id: int) -> HttpResponse:
    user = request.user
    submission = _submission(user, submission_id)
    if _own_school_id(user) != submission.school_id:
        return redirect("reporting:submission", submission_id=submission.pk)
    if submission.task.kind == TaskKind.CENSUS:
        return render(request, "reporting/census_entry.html", _census_context(request, submission))
    return render(request, "reporting/entry.html", _entry_context(request, submission, build_grid(submission)))


def _census_context(request: HttpRequest, submission: Submission) -> dict[str, Any]:
    """The school's figures as the snapshot froze them, as its 基表 with their checks."""
    from eduplatform.stats import basetables
    from eduplatform.stats import selectors as stats_selectors
    from eduplatform.stats.basetables import stored as stored_base_tables
    from eduplatform.stats.models import SchoolRollup

    user, task = request.user, submission.task
    snapshot = task.snapshot
    region = Region.objects.filter(path=submission.region_path).first() or scope_root(user)
    school = stats_selectors.snapshot_school(user, region, snapshot, submission.school.school_code or "")
    tables, findings = [], []
    if school is not None:
        mask = stats_selectors.figures(SchoolRollup, user, region, snapshot).filter(
            school_id=school["school_id"]).values_list("stage_mask", flat=True).first()
        series = basetables.series_of(basetables.series_of_school(mask or 0))
        kept = stored_base_tables.read(user, region, snapshot, school_id=school["school_id"], series=series.key)
        if kept is not None:
            tables, findings = kept
        else:
            tables = basetables.generate(user, region, snapshot, school_id=school["school_id"], series=series.key)
            findings = basetables.check(tables, user, region, snapshot, school_id=school["school_id"],
                                        series=series.key)
    return {
        "nav_active": NAV, "task": task, "submission": submission, "snapshot": snapshot, "school": school,
        "tables": tables, "findings": findings,
        "can_confirm": _can_fill(user, submission),
        "base_tables_url": reverse("stats:base_tables", args=(snapshot.pk,)) if school else "",
    }


def _saved_response(request: HttpRequest, submission: Submission, g: grid.Grid, *, status: str,
                    stale: bool = False, problems: list[str] | None = None) -> HttpResponse:
    """The htmx answer to an auto-save: the save status, and out-of-band the cells' rule results,
    the computed cells, the lock version and the submit checklist. Typed values are never swapped."""
    return render(request, "reporting/_saved.html", {
        **_entry_context(request, submission, g), "status": status, "stale": stale, "problems": problems or [],
        "saved_at": timezone.localtime(submission.saved_at) if submission.saved_at else None,
    })


@login_required
@require_POST
@require_capability(FILL)
def entry_save(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Auto-save (htmx, after every change) and the plain form post (save, or save and 上报)."""
    user = request.user
    submission = _submission(user, submission_id)
    htmx = request.headers.get("HX-Request") == "true"
    empty = build_grid(submission, checked=False)
    values = grid.posted_values(empty, request.POST)
    explanations = grid.posted_explanations(empty, request.POST)
    lock = request.POST.get("lock_version", "")
    action = request.POST.get("action", "save")
    try:
        submission = services.save_entry(actor=user, submission=submission, values=values,
                                         explanations=explanations,
                                         lock_version=int(lock) if lock.isdigit() else -1)
    except RecordInvalid as err:
        stale = _is_stale(err)
        cell_errors = {p.field: p.message for p in err.problems if p.field and "." in p.field}
        g = build_grid(submission, values=values, explanations=explanations, extra_errors=cell_errors)
        problems = [p.message for p in err.problems if p.field not in cell_errors]
        if htmx:
            return _saved_response(request, submission, g, status="stale" if stale else "error", stale=stale,
                                   problems=problems)
        for message in problems:
            messages.error(request, message)
        return render(request, "reporting/entry.html", _entry_context(request, submission, g, stale=stale),
                      status=409 if stale else 400)
    if htmx:
        return _saved_response(request, submission, build_grid(submission), status="saved")
    if action == "submit":
        return _submit(request, submission)
    messages.success(request, gettext("已保存"))
    return redirect("reporting:entry", submission_id=submission.pk)


def _school_step(request: HttpRequest, submission: Submission, *, action: str, step: Callable[[], object],
                 done: str, refused: Callable[[RecordInvalid], HttpResponse] | None = None) -> HttpResponse:
    """A school's once-only step on its submission (上报, 零上报, 确认): taken once however often it is
    posted, then back to the entry page; a refusal is shown there (or answered by ``refused``)."""
    try:
        with once.submitted_once(key=once.posted_token(request), action=action,
                                 submitted_by=request.user.audit_name()) as claim:
            step()
            once.record_result(claim, reverse("reporting:entry", args=(submission.pk,)))
    except once.AlreadySubmitted as err:
        messages.info(request, err.message)
    except RecordInvalid as err:
        if refused is not None:
            return refused(err)
        messages.error(request, _problems(err))
    else:
        messages.success(request, done)
    return redirect("reporting:entry", submission_id=submission.pk)


def _submit(request: HttpRequest, submission: Submission) -> HttpResponse:
    def refused(err: RecordInvalid) -> HttpResponse:
        submission.refresh_from_db()
        return render(request, "reporting/entry.html", _entry_context(
            request, submission, build_grid(submission), submit_problems=[p.message for p in err.problems]), status=400)

    return _school_step(request, submission, action="reporting.submit", done=gettext("已上报，等待审核"), refused=refused,
                        step=lambda: services.submit(actor=request.user, submission=submission))


@login_required
@require_POST
@require_capability(FILL)
def entry_zero(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = _submission(request.user, submission_id)
    reason = request.POST.get("reason", "").strip()
    return _school_step(request, submission, action="reporting.zero", done=gettext("已零上报，等待审核"),
                        step=lambda: services.report_zero(actor=request.user, submission=submission, reason=reason))


@login_required
@require_POST
@require_capability(FILL)
def census_confirm(request: HttpRequest, submission_id: int) -> HttpResponse:
    """A census task: the school confirms its figures (its "上报")."""
    submission = _submission(request.user, submission_id)
    return _school_step(request, submission, action="reporting.confirm", done=gettext("已确认本校统计时点数据，等待审核"),
                        step=lambda: services.submit(actor=request.user, submission=submission))


# --------------------------------------------------------------------------------------------
# Review


def _review_context(request: HttpRequest, submission: Submission, **extra: Any) -> dict[str, Any]:
    user, task = request.user, submission.task
    census = task.kind == TaskKind.CENSUS
    g = None if census else build_grid(submission)
    own_school = _own_school_id(user) == submission.school_id
    return {
        "nav_active": NAV, "task": task, "submission": submission, "grid": g, "census": census,
        "can_review": (user.can(REVIEW) and not own_school and submission.status == SubmissionStatus.SUBMITTED),
        # Only the first review level above the school approves it; a level higher up may only return it.
        "can_approve": selectors.review_node_of(task, submission.region_path)
        == scope_of(user, with_focus=False).region_path,
        "can_unapprove": user.can(REVIEW) and not own_school and submission.status == SubmissionStatus.APPROVED,
        "region": Region.objects.filter(path=submission.region_path).first(),
        "own_school": own_school, "zero_reason": (submission.explanations or {}).get(ZERO_KEY, ""), **extra,
    }


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    """A school's submission read-only, with its rule results and explanations; the reviewer's form."""
    submission = _submission(request.user, submission_id)
    context = _review_context(request, submission)
    if request.GET.get("format") == "pdf" and context["grid"] is not None:
        return _pdf_response("reporting/submission_pdf.html", {
            **context, **_printed(submission.task, subject=submission.school.name,
                                  region=context["region"].name if context["region"] else "")},
            f"{submission.task.title}_{submission.school.name}.pdf",
            landscape=max((len(t.columns) for t in context["grid"].tables), default=0) > 6)
    return render(request, "reporting/submission.html", context)


def _printed(task: CollectionTask, *, subject: str, region: str = "") -> dict[str, str]:
    """Title, region, period and version on every printed page (core/_print_header.html)."""
    version = task.form_version
    return {"print_title": f"{version.form.code} {version.form.title} · {subject}" if version else f"{task.title} · {subject}",
            "print_region": region or subject, "print_period": gettext("统计期 %(period)s") % {"period": task.period},
            "print_version": gettext("第 %(version)s 版") % {"version": version.version} if version else str(task.snapshot or "")}


def _pdf_response(template: str, context: dict[str, Any], filename: str, *, landscape: bool = False) -> HttpResponse:
    from eduplatform.core import pdf

    return attachment(pdf.render_pdf(template, context, landscape=landscape), filename, content_type="application/pdf")


def posted_verdicts(data) -> dict[str, dict[str, Any]]:
    verdicts: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if name.startswith("verdict:") and value in ("accept", "reject"):
            code = name.removeprefix("verdict:")
            verdicts[code] = {"accepted": value == "accept",
                              "reason": str(data.get(f"verdict_reason:{code}", "")).strip()}
    return verdicts


def posted_cell_reasons(data) -> dict[str, str]:
    return {name.removeprefix("cell_reason:"): str(value).strip() for name, value in data.items()
            if name.startswith("cell_reason:") and str(value).strip()}


@login_required
@require_POST
@require_capability(REVIEW)
def submission_review(request: HttpRequest, submission_id: int) -> HttpResponse:
    user = request.user
    submission = _submission(user, submission_id)
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "return"):
        messages.error(request, gettext("请选择审核通过或退回"))
        return redirect("reporting:submission", submission_id=submission.pk)
    reason = request.POST.get("reason", "").strip()
    try:
        with once.submitted_once(key=once.posted_token(request), action="reporting.review",
                                 submitted_by=user.audit_name()) as claim:
            services.review_submission(actor=user, submission=submission, decision=decision, reason=reason,
                                       cell_reasons=posted_cell_reasons(request.POST),
                                       verdicts=posted_verdicts(request.POST))
            once.record_result(claim, reverse("reporting:submission", args=(submission.pk,)))
    except once.AlreadySubmitted as err:
        messages.info(request, err.message)
    except RecordInvalid as err:
        return render(request, "reporting/submission.html", _review_context(
            request, submission, review_problems=[p.message for p in err.problems], posted=request.POST), status=400)
    else:
        messages.success(request, f"{submission.school.name}：{gettext('审核通过') if decision == 'approve' else gettext('已退回')}")
    return redirect("reporting:submission", submission_id=submission.pk)


@login_required
@require_POST
@require_capability(REVIEW)
def submission_unapprove(request: HttpRequest, submission_id: int) -> HttpResponse:
    user = request.user
    submission = _submission(user, submission_id)
    try:
        services.unapprove_submission(actor=user, submission=submission, reason=request.POST.get("reason", "").strip())
    except RecordInvalid as err:
        messages.error(request, _problems(err))
    else:
        messages.success(request, gettext("%(name)s：已撤销审核") % {"name": submission.school.name})
    return redirect("reporting:submission", submission_id=submission.pk)


# --------------------------------------------------------------------------------------------
# History (printable)

DETAIL_LABELS = {"cells": gettext_lazy("单元格"), "verdicts": gettext_lazy("核实说明审核"), "soft_explained": gettext_lazy("已说明的经验校验"),
                 "prefill_changed": gettext_lazy("修改了预填数据的单元格"), "decision_asked": None}


def _detail_lines(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """A ReviewAction's detail as lines a person reads: per-cell reasons, verdicts, changed cells."""
    lines: list[tuple[str, str]] = []
    for key, value in (detail or {}).items():
        label = DETAIL_LABELS.get(key, key)
        if label is None or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            for item, inner in value.items():
                if isinstance(inner, dict) and "accepted" in inner:
                    inner = (gettext("认可") if inner["accepted"] else gettext("不认可")) + (f"：{inner['reason']}" if inner.get("reason") else "")
                lines.append((f"{label} {item}", str(inner)))
        elif isinstance(value, list):
            lines.append((label, "、".join(str(v) for v in value)))
        else:
            lines.append((label, str(value)))
    return lines


def _with_details(actions) -> list[Any]:
    actions = list(actions)
    names = dict(Region.objects.filter(path__in={a.region_path for a in actions}).values_list("path", "name"))
    for action in actions:
        action.detail_lines = _detail_lines(action.detail)
        action.region_name = names.get(action.region_path, "")
    return actions


PDF_HISTORY_LIMIT = 2000  # lines of a printed history; the workbook holds all of it
HISTORY_EXPORT = [gettext_lazy("时间"), gettext_lazy("操作"), gettext_lazy("对象"), gettext_lazy("操作人"), gettext_lazy("操作单位"), gettext_lazy("原因"), gettext_lazy("详情")]


def _history(request: HttpRequest, actions, *, task: CollectionTask, subject: str, **extra: Any) -> HttpResponse:
    """A history, oldest first: paged by keyset (a province's history holds every school's steps),
    printable page by page, and the whole of it as a workbook."""
    if request.GET.get("format") == "xlsx":
        def chunks():
            batch = []
            for action in actions.iterator(chunk_size=2000):
                batch.append(action)
                if len(batch) == 2000:
                    yield _with_details(batch)
                    batch = []
            if batch:
                yield _with_details(batch)

        def rows():
            for chunk in chunks():
                for a in chunk:
                    yield [timezone.localtime(a.at).strftime("%Y-%m-%d %H:%M:%S"), a.get_action_display(),
                           a.submission.school.name if a.submission_id else (a.region_name or a.region_path),
                           a.by, a.organization_name, a.reason, "；".join(f"{k}：{v}" for k, v in a.detail_lines)]
        return xlsx_response(gettext("%(title)s_%(subject)s_审核记录.xlsx") % {"title": task.title, "subject": subject}, HISTORY_EXPORT, rows(), sheet=gettext("审核记录"))
    if request.GET.get("format") == "pdf":
        head = list(actions[:PDF_HISTORY_LIMIT + 1])
        return _pdf_response("reporting/history_pdf.html", {
            "actions": _with_details(head[:PDF_HISTORY_LIMIT]), "more": len(head) > PDF_HISTORY_LIMIT,
            "limit": PDF_HISTORY_LIMIT, **_printed(task, subject=gettext("审核记录 · %(subject)s") % {"subject": subject}, region=subject)},
            gettext("%(title)s_%(subject)s_审核记录.pdf") % {"title": task.title, "subject": subject}, landscape=True)
    page = paging.keyset_page(request, actions, keys=("at", "pk"), name="reporting-history")
    page.rows = _with_details(page.rows)
    return render(request, "reporting/history.html", {
        "nav_active": NAV, "task": task, "actions": page, "page": page, "subject": subject,
        "query": paging.other_params(request.GET).urlencode(), **extra,
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def submission_history(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = _submission(request.user, submission_id)
    actions = selectors.actions_of(request.user, submission.task, submission=submission).order_by("at", "pk")
    return _history(request, actions, task=submission.task, subject=submission.school.name, submission=submission)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def region_history(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = _task(user, task_id)
    region = region_in_scope(request, from_post=True)
    actions = selectors.actions_of(user, task, region_path=region.path).order_by("at", "pk")
    return _history(request, actions, task=task, subject=region.name, submission=None, region=region)


# --------------------------------------------------------------------------------------------
# The form as a workbook


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def submission_download(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The form in its printed layout with the submission's values."""
    return _download(request, submission_id, blank=False)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def submission_download_blank(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The blank form in its printed layout (the school's name and the prefilled records' values kept)."""
    return _download(request, submission_id, blank=True)


def _download(request: HttpRequest, submission_id: int, *, blank: bool) -> HttpResponse:
    submission = _submission(request.user, submission_id)
    task = submission.task
    if task.kind != TaskKind.FORM:
        raise Http404(gettext("统计时点数据确认任务没有报表文件"))
    g = build_grid(submission, values={} if blank else None, checked=False)
    content = spreadsheet.form_workbook(g, task=task, school=submission.school, blank=blank)
    name = f"{g.code}_{g.title}_{submission.school.name}{gettext('_空表') if blank else ''}.xlsx"
    return attachment(content, name)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def task_download(request: HttpRequest, task_id: int) -> HttpResponse:
    """The task's blank form (for a bureau to look at or pass on)."""
    task = _task(request.user, task_id)
    if task.kind != TaskKind.FORM:
        raise Http404(gettext("统计时点数据确认任务没有报表文件"))
    g = grid.build(task.form_version.definition)
    return attachment(spreadsheet.form_workbook(g, task=task, school=None, blank=True),
                      gettext("%(code)s_%(title)s_空表.xlsx") % {"code": g.code, "title": g.title})


@login_required
@require_POST
@require_capability(FILL)
def submission_upload(request: HttpRequest, submission_id: int) -> HttpResponse:
    """A filled workbook: read as the download lays it out, checked like entry, saved as one
    auto-save would. Any unreadable cell refuses the whole file, naming sheet, row and column."""
    user = request.user
    submission = _submission(user, submission_id)
    if not _can_fill(user, submission):
        raise NotPermitted(gettext("该报表当前不能由您填写"))
    upload = request.FILES.get("file")
    empty = build_grid(submission, checked=False)
    if upload is None:
        messages.error(request, gettext("请选择要上传的 Excel 文件"))
        return redirect("reporting:entry", submission_id=submission.pk)
    try:
        values = spreadsheet.read_form_workbook(empty, upload.read(), file_name=upload.name)
    except spreadsheet.WorkbookInvalid as err:
        return render(request, "reporting/entry.html", _entry_context(
            request, submission, build_grid(submission), upload_problems=err.problems, upload_name=upload.name),
            status=400)
    # Only the editable cells are taken; explanations already given stay.
    try:
        services.save_entry(actor=user, submission=submission, values={**submission.values, **values},
                            explanations=submission.explanations, lock_version=submission.lock_version)
    except RecordInvalid as err:
        return render(request, "reporting/entry.html", _entry_context(
            request, submission, build_grid(submission), upload_problems=[p.message for p in err.problems],
            upload_name=upload.name), status=400)
    messages.success(request, gettext("已读入「%(name)s」中的 %(count)s 个单元格并保存，请核对校验结果") % {"name": upload.name, "count": len(values)})
    return redirect("reporting:entry", submission_id=submission.pk)


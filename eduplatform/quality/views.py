"""Pages of data quality: the issue list (filters, counts by rule, export), an issue with its record,
evidence, history and the actions of the school and the county, the county's review queue, the
duplicate groups with both sides, and the scans with their progress."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from eduplatform.core import paging
from eduplatform.core.crypto import open_file
from eduplatform.core.errors import NotPermitted, OutOfScope, RecordInvalid
from eduplatform.core.spreadsheets import attachment, xlsx_response
from eduplatform.core.views import service_errors_to_pages
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import scope_of
from eduplatform.quality import forms, issues, scans, selectors
from eduplatform.quality.models import (
    COUNTY_STATUSES,
    Database,
    IssueStatus,
    QualityIssue,
    ScanStatus,
    Severity,
)
from eduplatform.quality.rules import RULES

NAV = {"nav_active": "quality"}


def _require_viewer(request: HttpRequest) -> None:
    user = request.user
    if not any(user.can(c) for c in (capabilities.RESOLVE_QUALITY, capabilities.REVIEW_QUALITY,
                                     capabilities.VIEW_RECORDS)):
        raise NotPermitted(gettext("您的角色无权查看数据质量问题"))


def _tabs(request: HttpRequest, active: str) -> dict[str, Any]:
    user = request.user
    return {**NAV, "tab": active, "can_review": user.can(capabilities.REVIEW_QUALITY),
            "can_scan": user.can(capabilities.REVIEW_QUALITY) and not user.stage_mask,
            "is_school": scope_of(user).school_id is not None}


def _rule_title(code: str) -> str:
    rule = RULES.get(code)
    return rule.title if rule else code


EXPORT_HEADERS = [gettext_lazy("规则"), gettext_lazy("规则名称"), gettext_lazy("严重程度"), gettext_lazy("基础库"), gettext_lazy("状态"), gettext_lazy("学校标识码"), gettext_lazy("学校"), gettext_lazy("记录"), gettext_lazy("问题说明"), gettext_lazy("发现时间"), gettext_lazy("最近检出")]


@login_required
@service_errors_to_pages
def issue_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    params = request.GET
    qs = selectors.issue_list(request.user, params)
    if params.get("format") == "xlsx":
        record_event(actor=request.user, action=AuditAction.EXPORT, object_type="quality.qualityissue",
                     object_label=gettext("数据质量问题清单"), region_path=scope_of(request.user).region_path or "",
                     note=gettext("导出数据质量问题清单"))
        rows = ([i.rule, _rule_title(i.rule), i.get_severity_display(), i.get_database_display(), i.get_status_display(),
                 i.school.school_code or "", i.school.name, i.object_label, i.message,
                 i.found_at.strftime("%Y-%m-%d %H:%M"), i.last_seen_at.strftime("%Y-%m-%d %H:%M")]
                for i in qs.order_by(*selectors.ISSUE_LIST_ORDER).iterator(chunk_size=2000))
        return xlsx_response(gettext("数据质量问题.xlsx"), EXPORT_HEADERS, rows, sheet=gettext("数据质量问题"))
    page = paging.keyset_page(request, qs, keys=selectors.ISSUE_LIST_ORDER, name="quality-issues")
    by_rule = [{**r, "title": _rule_title(r["rule"])} for r in selectors.counts_by_rule(qs)]
    return render(request, "quality/issue_list.html", {
        **_tabs(request, "list"), "page": page, "query": paging.other_params(params).urlencode(),
        "by_rule": by_rule, "rules": sorted((c, r.title) for c, r in RULES.items()),
        "severities": Severity.choices, "databases": Database.choices,
        "statuses": [("live", gettext("未消除（全部）")), ("review", gettext("待县级确认")), *IssueStatus.choices],
        "status": params.get("status") or "live", "rule_title": _rule_title,
    })


@login_required
@service_errors_to_pages
def review_queue(request: HttpRequest) -> HttpResponse:
    if not request.user.can(capabilities.REVIEW_QUALITY):
        raise NotPermitted(gettext("您的角色无权审核数据质量问题"))
    page = paging.keyset_page(request, selectors.review_queue(request.user), keys=("status_changed_at", "pk"),
                              name="quality-review")
    return render(request, "quality/issue_review.html", {**_tabs(request, "review"), "page": page})


@login_required
@service_errors_to_pages
def duplicate_groups(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    return render(request, "quality/issue_groups.html", {
        **_tabs(request, "groups"), "groups": selectors.duplicate_groups(request.user)})


def _record_url(issue: QualityIssue) -> str:
    """The page of the record the issue concerns (empty when there is none)."""
    try:
        if issue.object_type == "students.student" and issue.object_id:
            from eduplatform.students.models import Student

            ref = Student.objects.filter(pk=issue.object_id).values_list("public_id", flat=True).first()
            return reverse("students:detail", args=[ref]) if ref else ""
        simple = {"staff.staffmember": "staff:detail", "facilities.building": "facilities:detail",
                  "facilities.landparcel": "facilities:parcel", "assets.equipment": "assets:detail"}
        if issue.object_type in simple and issue.object_id:
            return reverse(simple[issue.object_type], args=[issue.object_id])
        if issue.school.school_code:
            return reverse("orgs:school", args=[issue.school.school_code])
    except NoReverseMatch:
        return ""
    return ""


def _detail(request: HttpRequest, issue: QualityIssue, forms_: dict[str, Any] | None = None,
            status: int = 200) -> HttpResponse:
    user = request.user
    scope = scope_of(user, with_focus=False)
    is_own_school = scope.school_id == issue.school_id
    can_resolve = user.can(capabilities.RESOLVE_QUALITY) and is_own_school and issue.status == IssueStatus.OPEN
    can_review = user.can(capabilities.REVIEW_QUALITY) and scope.school_id is None
    sides = selectors.group_sides(issue)
    visible = set(selectors.issues(user).filter(pk__in=[s.pk for s in sides]).values_list("pk", flat=True))
    rule = RULES.get(issue.rule)
    return render(request, "quality/issue_detail.html", {
        **_tabs(request, "list"), "issue": issue, "rule": rule, "record_url": _record_url(issue),
        "history": selectors.history(issue), "sides": sides, "visible_sides": visible,
        "can_resolve": can_resolve,
        "can_confirm": can_review and issue.status in COUNTY_STATUSES,
        "can_reopen": can_review and issue.status in (*COUNTY_STATUSES, IssueStatus.CONFIRMED),
        "can_keep": can_review and len(sides) > 1 and issue.status in (IssueStatus.OPEN, *COUNTY_STATUSES),
        "explain_form": (forms_ or {}).get("explain") or forms.ExplainForm(),
        "note_form": (forms_ or {}).get("note") or forms.NoteForm(),
        "reopen_form": (forms_ or {}).get("reopen") or forms.ReopenForm(),
        "evidence": sorted((issue.evidence or {}).items()),
        "action_errors": [e for f in (forms_ or {}).values() for errs in f.errors.values() for e in errs],
    }, status=status)


def _issue_or_404(request: HttpRequest, issue_id: int) -> QualityIssue:
    issue = selectors.issue_for(request.user, issue_id)
    if issue is None:
        raise OutOfScope(gettext("该问题不存在或不在您的管辖范围内"))
    return issue


@login_required
@service_errors_to_pages
def issue_detail(request: HttpRequest, issue_id: int) -> HttpResponse:
    _require_viewer(request)
    return _detail(request, _issue_or_404(request, issue_id))


@login_required
@service_errors_to_pages
def issue_attachment(request: HttpRequest, issue_id: int) -> HttpResponse:
    _require_viewer(request)
    issue = _issue_or_404(request, issue_id)
    if not issue.attachment:
        raise Http404(gettext("没有佐证材料"))
    with issue.attachment.open("rb") as stored:
        content = open_file(stored.read())  # sealed at upload (issues.explain)
    name = issue.attachment.name.rsplit("/", 1)[-1]
    return attachment(content, name, mimetypes.guess_type(name)[0] or "application/octet-stream")


ACTIONS: dict[str, tuple[str, str]] = {
    # action: (form key, done message)
    "explain": ("explain", gettext_lazy("已提交情况说明，等待县级确认")),
    "correct": ("note", gettext_lazy("复核通过，已标记为已修正，等待县级确认")),
    "confirm": ("note", gettext_lazy("已确认")),
    "reopen": ("reopen", gettext_lazy("已退回学校重新整改")),
    "keep": ("note", gettext_lazy("已确认保留该校记录，其他学校须核销重复记录")),
}


@login_required
@require_POST
@service_errors_to_pages
def issue_action(request: HttpRequest, issue_id: int, action: str) -> HttpResponse:
    _require_viewer(request)
    if action not in ACTIONS:
        raise Http404(gettext("未知的操作"))
    issue = _issue_or_404(request, issue_id)
    user = request.user
    key, done = ACTIONS[action]
    form_class = {"explain": forms.ExplainForm, "note": forms.NoteForm, "reopen": forms.ReopenForm}[key]
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        return _detail(request, issue, {key: form}, status=400)
    data = form.cleaned_data
    run: dict[str, Callable[[], Any]] = {
        "explain": lambda: issues.explain(actor=user, issue=issue, explanation=data["explanation"],
                                          attachment=data.get("attachment")),
        "correct": lambda: issues.mark_corrected(actor=user, issue=issue, note=data.get("note", "")),
        "confirm": lambda: issues.confirm(actor=user, issue=issue, note=data.get("note", "")),
        "reopen": lambda: issues.reopen(actor=user, issue=issue, note=data["note"]),
        "keep": lambda: issues.keep_person(actor=user, issue_group=issue.group_key, keep_issue=issue,
                                           note=data.get("note", "")),
    }
    try:
        run[action]()
    except RecordInvalid as exc:
        for field, problems in exc.by_field().items():
            for message in problems:
                form.add_error(field if field in form.fields else None, message)
        return _detail(request, issue, {key: form}, status=400)
    messages.success(request, done)
    return redirect("quality:issue", issue_id=issue.pk)


# --------------------------------------------------------------------------------------------
# Scans


def _require_scanner(request: HttpRequest) -> None:
    if not request.user.can(capabilities.REVIEW_QUALITY):
        raise NotPermitted(gettext("您的角色无权发起或查看质量扫描"))
    if request.user.stage_mask:
        # A scan covers every school of a region, whatever its stages: not for a stage-limited account.
        raise NotPermitted(gettext("按学段限定的账号不能发起或查看全区质量扫描"))


@login_required
@service_errors_to_pages
def scan_list(request: HttpRequest) -> HttpResponse:
    _require_scanner(request)
    user = request.user
    scope = scope_of(user)
    if request.method == "POST":
        codes = [c for c in request.POST.getlist("rules") if c]
        try:
            scan = scans.start_scan(actor=user, region_path=scope.region_path or "", codes=codes)
        except RecordInvalid as exc:
            messages.error(request, str(exc))
            return redirect("quality:scans")
        messages.success(request, gettext("扫描已开始，可在本页查看进度"))
        return redirect("quality:scan", scan_id=scan.pk)
    region = Region.objects.filter(path=scope.region_path).first()
    return render(request, "quality/scan_list.html", {
        **_tabs(request, "scans"), "scans": selectors.scans(user).select_related("requested_by")[:50],
        "region": region, "rules": sorted((c, r.title) for c, r in RULES.items()),
    })


@login_required
@service_errors_to_pages
def scan_detail(request: HttpRequest, scan_id: int) -> HttpResponse:
    _require_scanner(request)
    scan = selectors.scan_for(request.user, scan_id)
    if scan is None:
        raise OutOfScope(gettext("该扫描不存在或不在您的管辖范围内"))
    region = Region.objects.filter(path=scan.region_path).first()
    context = {**_tabs(request, "scans"), "scan": scan, "region": region,
               "percent": int(100 * scan.done / scan.total) if scan.total else (100 if scan.status == ScanStatus.DONE else 0),
               "running": scan.status in (ScanStatus.QUEUED, ScanStatus.RUNNING)}
    if request.headers.get("HX-Request"):
        return render(request, "quality/scan_progress.html", context)
    return render(request, "quality/scan_detail.html", context)


KIND_LABELS = {"identity": gettext_lazy("身份与重复"), "plausibility": gettext_lazy("合理性"), "consistency": gettext_lazy("跨记录一致性"),
               "completeness": gettext_lazy("完整性")}


@login_required
@service_errors_to_pages
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule with what it checks, so a clerk can read why a record was flagged (Excel export too)."""
    _require_viewer(request)
    rules = sorted(RULES.values(), key=lambda r: (list(KIND_LABELS).index(r.kind) if r.kind in KIND_LABELS else 9,
                                                  r.database, r.code))
    rows = [{"rule": r, "kind": KIND_LABELS.get(r.kind, r.kind), "severity": Severity(r.severity).label,
             "database": Database(r.database).label, "at_write": r.record is not None} for r in rules]
    if request.GET.get("format") == "xlsx":
        return xlsx_response(gettext("数据质量规则.xlsx"), [gettext("规则代码"), gettext("规则名称"), gettext("类别"), gettext("严重程度"), gettext("基础库"), gettext("涉及字段"), gettext("写入时即检查"), gettext("说明")],
                             ([x["rule"].code, x["rule"].title, x["kind"], x["severity"], x["database"],
                               "、".join(x["rule"].fields), gettext("是") if x["at_write"] else gettext("否"), x["rule"].description]
                              for x in rows), sheet=gettext("规则"))
    return render(request, "quality/rule_list.html", {**_tabs(request, "rules"), "rows": rows})


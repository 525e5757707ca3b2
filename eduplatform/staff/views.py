"""Pages of the staff (教职工) and administrators (教育管理人员) databases: lists with filters and
Excel export, a person's record with posts, events and the audit trail, hiring, title promotion,
leaving, and transfers with their review inbox. Imports use the shared pages (/imports/staff/,
/imports/administrators/).

Every read goes through ``staff.selectors`` (scoped); every write through the services.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from eduplatform.core import exports, paging, search
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.identity import staff_number_for
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import decide_open_step, require_capability
from eduplatform.history.models import AuditAction
from eduplatform.history.selectors import history_of
from eduplatform.history.services import record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import DecisionForm
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import open_school_by_code
from eduplatform.staff import codes, selectors, services, transfers
from eduplatform.staff.forms import EndPostForm, StaffForm, TitleForm, TransferForm
from eduplatform.staff.models import StaffMember, StaffStatus, TransferStatus
from eduplatform.staff.schema import ADMINISTRATOR_SCHEMA, STAFF_SCHEMA
from eduplatform.standards.validators import normalize_identifier, redact_identifiers
from eduplatform.stats.links import figure_filter, param_value, region_from_param

STATUS_OPTIONS = [("active", gettext_lazy("在岗")), ("all", gettext_lazy("全部")), *StaffStatus.choices]


def _gender(code: str) -> str:
    return {"1": gettext("男"), "2": gettext("女")}.get(code, code)


def _code(field: str, code: str) -> str:
    schema = STAFF_SCHEMA if field in STAFF_SCHEMA.by_field else ADMINISTRATOR_SCHEMA
    return schema.code_name(field, code)


def _masked_query(text: str) -> str:
    """An ID number typed as the search is never logged in full."""
    return redact_identifiers(normalize_identifier(text)) if search.looks_like_identifier(text) else text.strip()


def _own_unit(user) -> Organization | None:
    return user.organization


def _can_edit(user) -> bool:
    return user.can(capabilities.EDIT_STAFF) or user.can(capabilities.EDIT_ADMINISTRATORS)


STAFF_EXPORT = [
    (gettext_lazy("教职工号"), lambda s: s.staff_number), (gettext_lazy("姓名"), lambda s: s.name), (gettext_lazy("性别"), lambda s: _gender(s.gender)),
    (gettext_lazy("出生日期"), lambda s: s.birth_date.isoformat()), (gettext_lazy("身份证件号"), lambda s: s.id_number_masked),
    (gettext_lazy("学校标识码"), lambda s: s.unit.school_code or ""), (gettext_lazy("单位"), lambda s: s.unit.name),
    (gettext_lazy("岗位类别"), lambda s: _code("post_category", s.post_category)),
    (gettext_lazy("编制情况"), lambda s: _code("establishment", s.establishment)),
    (gettext_lazy("最高学历"), lambda s: _code("education_level", s.education_level)),
    (gettext_lazy("专业技术职务"), lambda s: _code("title", s.title)), (gettext_lazy("职称等级"), lambda s: s.title_grade),
    (gettext_lazy("任教学科"), lambda s: s.subjects), (gettext_lazy("教师资格种类"), lambda s: _code("qualification_type", s.qualification_type)),
    (gettext_lazy("骨干教师"), lambda s: _code("backbone_level", s.backbone_level)),
    (gettext_lazy("班主任"), lambda s: gettext("是") if s.is_head_teacher else gettext("否")), (gettext_lazy("当前状态"), lambda s: s.get_status_display()),
]
ADMIN_EXPORT = [
    (gettext_lazy("教职工号"), lambda s: s.staff_number), (gettext_lazy("姓名"), lambda s: s.name), (gettext_lazy("性别"), lambda s: _gender(s.gender)),
    (gettext_lazy("出生日期"), lambda s: s.birth_date.isoformat()), (gettext_lazy("身份证件号"), lambda s: s.id_number_masked),
    (gettext_lazy("单位"), lambda s: s.unit.name), (gettext_lazy("所在部门"), lambda s: s.department), (gettext_lazy("职务"), lambda s: s.position),
    (gettext_lazy("职级"), lambda s: _code("rank", s.rank)), (gettext_lazy("分管工作"), lambda s: s.duties),
    (gettext_lazy("最高学历"), lambda s: _code("education_level", s.education_level)), (gettext_lazy("当前状态"), lambda s: s.get_status_display()),
]


def _figure_value(params, name: str) -> str | None:
    """A figure link's dimension value: None when absent, "" for the "not recorded" marker."""
    value = params.get(name, "")
    return param_value(value) if value else None


def _year(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _list(request: HttpRequest, *, administrators: bool) -> HttpResponse:
    if request.method == "POST":  # the search form: an ID number must not end up in the URL
        return search.redirect_search(request, reverse("staff:administrators" if administrators else "staff:list"))
    user, params = request.user, request.GET
    text = search.search_text(request)
    region = region_from_param(user, params.get("region", ""))
    staff = selectors.staff_in_scope(
        user, administrators=administrators, text=text, status=params.get("status", "active"),
        post_category=params.get("post_category", ""), title=params.get("title", ""),
        gender=params.get("gender", ""), education_level=params.get("education_level", ""),
        backbone_level=params.get("backbone_level", ""), unit_code=params.get("unit", ""),
        rank=params.get("rank", ""),
        region_path=region.path if region else "",
        **{name: _figure_value(params, name) for name in ("establishment", "teaching_stage", "title_grade", "subject")},
        born_from=_year(params.get("born_from")), born_to=_year(params.get("born_to")),
        flags=[f for f in params.getlist("flag") if f in selectors.FLAGS],
    )
    what = gettext("教育管理人员名单") if administrators else gettext("教职工名单")
    if params.get("format") == "xlsx":
        filters = {k: v for k, v in params.items() if k not in ("format", "q", "find") and v}
        if text:
            filters["q"] = _masked_query(text)
        export = exports.personal_data_export(request, what=what)
        if isinstance(export, HttpResponse):  # no stated purpose: the form that asks for it
            return export
        filters.pop(exports.PURPOSE_PARAM, None)
        record_event(actor=user, action=AuditAction.EXPORT, object_type=services.OBJECT_TYPE, object_label=what,
                     region_path=scope_of(user).region_path or "",
                     note=export.audit_note(f"导出{what}（身份证件号已遮蔽）；筛选条件：{urlencode(filters, safe='*') or gettext('无')}"))
        columns = ADMIN_EXPORT if administrators else STAFF_EXPORT
        # The 教职工号 as this reader may see it (masked where a unit typed ID numbers as 工号).
        columns = [(gettext("教职工号"), lambda s: staff_number_for(user, s.staff_number)), *columns[1:]]
        rows = ([fn(s) for _, fn in columns] for s in staff.iterator(chunk_size=2000))
        return xlsx_response(f"{what}.xlsx", [h for h, _ in columns], rows, sheet=what, watermark=export.watermark)
    page = paging.keyset_page(request, staff, keys=selectors.STAFF_LIST_ORDER, seek=2,
                              name="administrators" if administrators else "staff")
    query = paging.other_params(params)
    for s in page:
        s.title_label = _code("title", s.title)
        s.post_label = _code("post_category", s.post_category)
        s.rank_label = _code("rank", s.rank)
    can_review = user.can(capabilities.REVIEW_STAFF_CHANGES) or _can_edit(user)
    own = _own_unit(user)
    search_value, search_hint = search.shown_search(request)
    if search.search_expired(request):
        messages.warning(request, gettext("按证件号查询的条件已过期，请重新输入"))
    return render(request, "staff/list.html", {
        "search_value": search_value, "search_hint": search_hint,
        "nav_active": "administrators" if administrators else "staff",
        "administrators": administrators, "page": page, "query": query.urlencode(), "statuses": STATUS_OPTIONS,
        "status": params.get("status", "active"), "genders": [("1", gettext("男")), ("2", gettext("女"))],
        "post_categories": STAFF_SCHEMA.choices_of("post_category"), "titles": codes.TITLES,
        "education_levels": STAFF_SCHEMA.choices_of("education_level"), "backbones": codes.BACKBONE,
        "ranks": codes.RANKS, "is_school_user": own is not None and own.is_school,
        "can_hire": user.can(capabilities.EDIT_ADMINISTRATORS if administrators else capabilities.EDIT_STAFF)
        and (not administrators or (own is not None and not own.is_school)),
        "can_review": can_review, "inbox_count": selectors.inbox(user).count() if can_review else 0,
        "figure_filter": figure_filter(params, region, selectors.FLAG_LABELS, {}, {
            "establishment": dict(codes.ESTABLISHMENT), "teaching_stage": dict(STAFF_SCHEMA.choices_of("teaching_stage")),
            "education_level": dict(STAFF_SCHEMA.choices_of("education_level")),
            "subject": dict(codes.TEACHING_SUBJECTS)}),
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def staff_list(request: HttpRequest) -> HttpResponse:
    return _list(request, administrators=False)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def administrator_list(request: HttpRequest) -> HttpResponse:
    return _list(request, administrators=True)


# --------------------------------------------------------------------------------------------
# Hiring


def _hire(request: HttpRequest, *, administrators: bool) -> HttpResponse:
    user = request.user
    own = _own_unit(user)
    ask_school = not administrators and (own is None or not own.is_school)
    if administrators and (own is None or own.is_school):
        raise NotPermitted(gettext("教育管理人员只能由所在教育行政部门录入；学校领导请在教职工信息中登记"))
    schema = ADMINISTRATOR_SCHEMA if administrators else STAFF_SCHEMA
    form = StaffForm(request.POST or None, schema=schema, ask_school=ask_school)
    if request.method == "POST" and form.is_valid():
        unit = own
        if ask_school:
            code = form.cleaned_data["school_code"]
            unit = open_school_by_code(user, code)
            if unit is None:
                form.add_error("school_code", gettext("学校标识码「%(code)s」不存在、已撤销或不在您的管辖范围内") % {"code": code})
        if unit is not None:
            try:
                staff = services.hire(actor=user, unit=unit, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已录入 %(name)s（%(staff_number_for)s）") % {"name": staff.name, "staff_number_for": staff_number_for(request.user, staff.staff_number)})
                return redirect("staff:detail", staff_id=staff.pk)
    return render(request, "staff/form.html", {
        "nav_active": "administrators" if administrators else "staff", "form": form,
        "heading": gettext("新增教育管理人员") if administrators else gettext("新增教职工"),
        "back": "staff:administrators" if administrators else "staff:list", "unit": None if ask_school else own,
    })


@login_required
@require_capability(capabilities.EDIT_STAFF)
def staff_create(request: HttpRequest) -> HttpResponse:
    return _hire(request, administrators=False)


@login_required
@require_capability(capabilities.EDIT_ADMINISTRATORS)
def administrator_create(request: HttpRequest) -> HttpResponse:
    return _hire(request, administrators=True)


# --------------------------------------------------------------------------------------------
# A person's record


def _profile(staff: StaffMember, user) -> list[tuple[str, str]]:
    yes = {True: gettext("是"), False: gettext("否")}
    rows = [
        (gettext("教职工号"), staff_number_for(user, staff.staff_number)), (gettext("姓名"), staff.name), (gettext("性别"), _gender(staff.gender)),
        (gettext("出生日期"), staff.birth_date.isoformat()), (gettext("身份证件号"), staff.id_number_masked),
        (gettext("民族"), _code("ethnicity", staff.ethnicity)), (gettext("政治面貌"), _code("political_status", staff.political_status)),
        (gettext("联系电话"), staff.phone_masked), (gettext("最高学历"), _code("education_level", staff.education_level)),
        (gettext("最高学位"), _code("degree", staff.degree)), (gettext("毕业院校"), staff.graduated_from), (gettext("所学专业"), staff.major),
        (gettext("参加工作年月"), f"{staff.first_employed_on:%Y-%m}" if staff.first_employed_on else ""),
        (gettext("进本单位年月"), f"{staff.joined_on:%Y-%m}" if staff.joined_on else ""),
        (gettext("编制情况"), _code("establishment", staff.establishment)),
    ]
    if staff.unit_kind == OrgKind.SCHOOL:
        rows += [
            (gettext("岗位类别"), _code("post_category", staff.post_category)),
            (gettext("专业技术职务"), _code("title", staff.title)), (gettext("职称等级"), staff.title_grade),
            (gettext("职称取得年月"), f"{staff.title_obtained_on:%Y-%m}" if staff.title_obtained_on else ""),
            (gettext("任教学科"), staff.subjects), (gettext("任课学段"), _code("teaching_stage", staff.teaching_stage)),
            (gettext("教师资格种类"), _code("qualification_type", staff.qualification_type)),
            (gettext("教师资格证书号码"), staff.qualification_number),
            (gettext("骨干教师"), _code("backbone_level", staff.backbone_level)),
            (gettext("班主任"), yes[staff.is_head_teacher]), (gettext("双师型教师"), yes[staff.is_dual_qualified]),
            (gettext("校领导"), yes[staff.is_school_leader]),
        ]
    if staff.is_administrator:
        rows += [(gettext("职务"), staff.position), (gettext("职级"), _code("rank", staff.rank)),
                 (gettext("职务类别"), _code("duty_category", staff.duty_category)), (gettext("所在部门"), staff.department),
                 (gettext("分管工作"), staff.duties)]
    return rows


def _detail_context(request: HttpRequest, staff: StaffMember, **extra) -> dict[str, object]:
    user = request.user
    return {
        "nav_active": "staff" if staff.unit_kind == OrgKind.SCHOOL else "administrators",
        "staff": staff, "profile": _profile(staff, user), "posts": selectors.posts_of(staff),
        "events": selectors.events_of(staff), "transfers": selectors.transfers_of(staff),
        "history": history_of(user, object_type=services.OBJECT_TYPE, object_id=staff.pk),
        "can_write": staff.is_active and services.can_write_unit(user, staff.unit),
        "can_reveal": user.can(services.VIEW_SENSITIVE), **extra,
    }


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = selectors.staff_for(request.user, staff_id)
    return render(request, "staff/detail.html", _detail_context(request, staff))


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def staff_reveal(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = selectors.staff_for(request.user, staff_id)
    revealed = services.reveal_identifiers(actor=request.user, staff=staff)
    response = render(request, "staff/detail.html", _detail_context(request, staff, revealed=revealed))
    response["Cache-Control"] = "no-store"  # unmasked identifiers must not stay in a shared browser's cache
    return response


def _writable(request: HttpRequest, staff_id: int) -> StaffMember:
    staff = selectors.staff_for(request.user, staff_id)
    if not services.can_write_unit(request.user, staff.unit):
        raise NotPermitted(gettext("您无权修改该人员的信息"))
    return staff


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def staff_title(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = _writable(request, staff_id)
    form = TitleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.promote_title(actor=request.user, staff=staff, title=form.cleaned_data["title"],
                                   on=form.cleaned_data["on"], reason=form.cleaned_data["reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已办理职称晋升"))
            return redirect("staff:detail", staff_id=staff.pk)
    return render(request, "staff/event_form.html", {**_detail_context(request, staff), "form": form,
                                                     "heading": gettext("职称晋升")})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def staff_end(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = _writable(request, staff_id)
    form = EndPostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kind, _, status = form.cleaned_data["outcome"].partition(":")
        try:
            services.end_post(actor=request.user, staff=staff, kind=kind, status=status, on=form.cleaned_data["on"],
                              reason=form.cleaned_data["reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已办理离岗"))
            return redirect("staff:detail", staff_id=staff.pk)
    return render(request, "staff/event_form.html", {**_detail_context(request, staff), "form": form,
                                                     "heading": gettext("退休、离职")})


# --------------------------------------------------------------------------------------------
# Transfers


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def transfer_list(request: HttpRequest) -> HttpResponse:
    page = paging.keyset_page(request, selectors.transfers_visible_to(request.user),
                              keys=selectors.TRANSFER_LIST_ORDER, name="staff-transfers")
    return render(request, "staff/transfers.html", {"nav_active": "staff", "page": page, "query": "",
                                                    "inbox_mode": False})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def inbox(request: HttpRequest) -> HttpResponse:
    page = paging.keyset_page(request, selectors.inbox(request.user), keys=selectors.INBOX_ORDER, name="staff-inbox")
    return render(request, "staff/transfers.html", {"nav_active": "staff", "page": page, "query": "",
                                                    "inbox_mode": True})


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def transfer_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not _can_edit(user):
        raise NotPermitted(gettext("您的角色无权办理教职工调动"))
    own = _own_unit(user)
    ask_school = own is not None and not own.is_school and user.can(capabilities.EDIT_STAFF)
    form = TransferForm(request.POST or None, ask_school=ask_school)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        to_unit = own
        if ask_school and data.get("school_code"):
            to_unit = open_school_by_code(user, data["school_code"])
            if to_unit is None:
                form.add_error("school_code", gettext("学校标识码「%(school_code)s」不存在、已撤销或不在您的管辖范围内") % {"school_code": data['school_code']})
        if to_unit is not None and not form.errors:
            try:
                staff = transfers.find_transfer_candidate(actor=user, staff_number=data["staff_number"],
                                                          name=data["name"])
                transfer = transfers.apply_transfer(actor=user, to_unit=to_unit, staff=staff,
                                                    effective_on=data["effective_on"], reason=data["reason"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("已提交调动申请"))
                return redirect("staff:transfer", transfer_id=transfer.pk)
    return render(request, "staff/transfer_form.html", {"nav_active": "staff", "form": form})


def _transfer_context(request: HttpRequest, transfer, **extra) -> dict[str, object]:
    user = request.user
    steps = list(selectors.steps_of(transfer))
    return {"nav_active": "staff", "transfer": transfer, "steps": steps,
            "my_step": next((s for s in steps if transfers.can_decide(user, s)), None),
            "can_withdraw": transfer.status == TransferStatus.PENDING and services.can_write_unit(user, transfer.to_unit),
            "decision_form": extra.pop("decision_form", None) or DecisionForm(), **extra}


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def transfer_detail(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = selectors.transfer_for(request.user, transfer_id)
    return render(request, "staff/transfer_detail.html", _transfer_context(request, transfer))


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def transfer_decide(request: HttpRequest, transfer_id: int) -> HttpResponse:
    user = request.user
    transfer = selectors.transfer_for(user, transfer_id)
    steps = list(selectors.steps_of(transfer))
    return decide_open_step(
        request, step=next((s for s in steps if transfers.can_decide(user, s)), None),
        form=DecisionForm(request.POST), decide=transfers.decide, done_url=reverse("staff:transfer", args=(transfer.pk,)),
        rerender=lambda form: render(request, "staff/transfer_detail.html",
                                     _transfer_context(request, transfer, decision_form=form)),
        settled=transfers.settled_for(user, transfer, steps))


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def transfer_withdraw(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = selectors.transfer_for(request.user, transfer_id)
    try:
        transfers.withdraw(actor=request.user, transfer=transfer, reason=request.POST.get("reason", ""))
    except RecordInvalid as err:
        messages.error(request, "；".join(p.message for p in err.problems))
    else:
        messages.success(request, gettext("已撤回调动申请"))
    return redirect("staff:transfer", transfer_id=transfer.pk)

"""Pages of the student register (学生 / 电子学籍): list and search, a student's record and its
changes, classes, transfers and their review, year-end promotion and spreadsheet import.

Every read goes through ``students.selectors`` (scoped); every write through the services, whose
``RecordInvalid`` problems are shown next to the form fields they concern.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from eduplatform.core import exports, masking, once, paging, search
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.identity import student_number_for
from eduplatform.core.spreadsheets import xlsx_response
from eduplatform.core.views import decide_open_step, require_capability
from eduplatform.history.models import AuditAction
from eduplatform.history.selectors import history_of
from eduplatform.history.services import record_event
from eduplatform.imports import views as import_views
from eduplatform.imports.views import ImportPages
from eduplatform.orgs import capabilities
from eduplatform.orgs.forms import DecisionForm, own_school, school_from_form
from eduplatform.orgs.scope import scope_of
from eduplatform.orgs.selectors import open_school_by_code
from eduplatform.standards.validators import normalize_identifier, redact_identifiers
from eduplatform.stats.links import figure_filter, param_value, region_from_param, size_band_range
from eduplatform.stats.selectors import student_total
from eduplatform.students import approvals, importing, promotion, selectors, services
from eduplatform.students.forms import (
    EDITABLE_COLUMNS,
    ClassForm,
    DropoutForm,
    EventForm,
    IdCorrectionForm,
    PromotionForm,
    StudentForm,
    TransferApplyForm,
    TransferFindForm,
    WithdrawForm,
    columns_for_school,
)
from eduplatform.students.grades import GRADES, grade_name, grades_for_mask
from eduplatform.students.models import (
    ChangeRequest,
    EnrolmentStatus,
    RequestKind,
    RequestStatus,
    Student,
)
from eduplatform.students.schema import LEVELS, STUDENT_COLUMNS, choices_of

RECENT_BATCHES = 20
NAV = "students"

STATUS_OPTIONS = [("active", gettext_lazy("在籍（在读、休学）")), ("all", gettext_lazy("全部")), *EnrolmentStatus.choices]
FLAG_OPTIONS = [("migrant_child", gettext_lazy("随迁子女")), ("left_behind", gettext_lazy("留守儿童")), ("boarding", gettext_lazy("住宿生"))]
# Flags only a statistics figure sets (the list's own filter offers FLAG_OPTIONS).
FIGURE_FLAG_LABELS = {**dict(FLAG_OPTIONS), "minority": gettext_lazy("少数民族"), "disabled": gettext_lazy("残疾学生"),
                      "new_entrant": gettext_lazy("本学年入学"), "graduated": gettext_lazy("本学年毕业（结业）")}


# --------------------------------------------------------------------------------------------
# Helpers



def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _code_label(field: str, code: str | None) -> str:
    if not code:
        return ""
    return dict(choices_of(field)).get(code, code)


def _gender(code: str) -> str:
    return {"1": gettext("男"), "2": gettext("女")}.get(code) or _code_label("gender", code)



def _masked_query(text: str) -> str:
    """A search text for the audit note; an ID number typed as the search is never logged in full."""
    return redact_identifiers(normalize_identifier(text)) if search.looks_like_identifier(text) else text.strip()


def _nav(request: HttpRequest, tab: str) -> dict[str, object]:
    """The student area's tabs, shown only where the user may act."""
    user = request.user
    return {"nav_active": NAV, "tab": tab, "nav_can_edit": user.can(capabilities.EDIT_STUDENTS),
            "nav_can_promote": user.can(capabilities.PROMOTE_STUDENTS)}


def _no_store(response: HttpResponse) -> HttpResponse:
    # Pages with unmasked identifiers must not stay in a shared computer's browser cache.
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------------------------
# List, search and export


EXPORT_COLUMNS = [
    (gettext_lazy("学籍号"), lambda e: e.student.student_number),  # replaced per reader by _export_columns
    (gettext_lazy("姓名"), lambda e: e.student.name),
    (gettext_lazy("性别"), lambda e: _gender(e.student.gender)),
    (gettext_lazy("出生日期"), lambda e: e.student.birth_date.isoformat()),
    (gettext_lazy("身份证件号"), lambda e: e.student.id_number_masked),
    (gettext_lazy("民族"), lambda e: _code_label("ethnicity", e.student.ethnicity)),
    (gettext_lazy("学校标识码"), lambda e: e.school.school_code),
    (gettext_lazy("学校"), lambda e: e.school.name),
    (gettext_lazy("年级"), lambda e: grade_name(e.grade)),
    (gettext_lazy("班级"), lambda e: e.school_class.name if e.school_class_id else ""),
    (gettext_lazy("学籍状态"), lambda e: e.get_status_display()),
    (gettext_lazy("入学年月"), lambda e: e.entered_on.strftime("%Y-%m")),
]


def _export_columns(user) -> list[tuple[str, object]]:
    """The export's columns with the 学籍号 as this reader may see it (core.identity)."""
    return [(gettext("学籍号"), lambda e: student_number_for(user, e.student.student_number)), *EXPORT_COLUMNS[1:]]


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def student_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":  # the search form: an ID number must not end up in the URL
        return search.redirect_search(request, reverse("students:list"))
    user, params = request.user, request.GET
    text = search.search_text(request)
    flags = [f for f in params.getlist("flag") if f in selectors.FLAGS or f in selectors.YEAR_FLAGS]
    region = region_from_param(user, params.get("region", ""))
    enrolments = selectors.enrolments_in_scope(
        user,
        text=text,
        grade=params.get("grade", ""),
        status=params.get("status", "active"),
        gender=params.get("gender", ""),
        ethnicity=params.get("ethnicity", ""),
        flags=flags,
        school_code=params.get("school", ""),
        class_id=_int(params.get("class")),
        region_path=region.path if region else "",
        stage=_int(params.get("stage")),
        cohort=_int(params.get("cohort")),
        level=param_value(params["level"]) if params.get("level") else None,
    )
    if params.get("format") == "xlsx":
        filters = {k: v for k, v in params.items() if k not in ("format", "q", "find") and v}
        if text:
            filters["q"] = _masked_query(text)
        export = exports.personal_data_export(request, what=gettext("学生名单"))
        if isinstance(export, HttpResponse):  # no stated purpose: the form that asks for it
            return export
        filters.pop(exports.PURPOSE_PARAM, None)
        record_event(actor=user, action=AuditAction.EXPORT, object_type="students.student",
                     object_label=gettext("学生名单"), region_path=scope_of(user).region_path or "",
                     note=export.audit_note(
                         f"导出学生名单（身份证件号已遮蔽）；筛选条件：{urlencode(filters, safe='*') or gettext('无')}"))
        columns = _export_columns(user)
        rows = ([fn(e) for _, fn in columns] for e in enrolments.iterator(chunk_size=2000))
        return xlsx_response(gettext("学生名单.xlsx"), [h for h, _ in columns], rows, sheet=gettext("学生名单"),
                            watermark=export.watermark)
    unfiltered = not (text or flags or any(params.get(k) for k in (
        "grade", "gender", "ethnicity", "school", "class", "stage", "cohort", "level"))) and params.get(
        "status", "active") == "active"
    page = paging.keyset_page(
        request, enrolments, keys=selectors.ENROLMENT_LIST_ORDER, name="students", seek=2,
        # Active students in scope (and region) are what the roll-ups count: exact, and a sum
        # over the county roll-up instead of a count over millions of rows.
        known_total=(lambda: student_total(user, under=region.path if region else "")) if unfiltered else None,
        total_source=paging.SOURCE_ROLLUP)
    query = paging.other_params(params)
    can_review = user.can(capabilities.REVIEW_STUDENT_CHANGES) or user.can(capabilities.EDIT_STUDENTS)
    klass = None
    if _int(params.get("class")):
        klass = selectors.classes_in_scope(user, sized=False).filter(pk=_int(params.get("class"))).first()
    search_value, search_hint = search.shown_search(request)
    if search.search_expired(request):
        messages.warning(request, gettext("按证件号查询的条件已过期，请重新输入"))
    return render(request, "students/list.html", {
        **_nav(request, "list"),
        "search_value": search_value,
        "search_hint": search_hint,
        "page": page,
        "query": query.urlencode(),
        "grades": GRADES,
        "statuses": STATUS_OPTIONS,
        "status": params.get("status", "active"),
        "genders": [("1", gettext("男")), ("2", gettext("女"))],
        "ethnicities": choices_of("ethnicity"),
        "flag_options": FLAG_OPTIONS,
        "flags": flags,
        "figure_filter": figure_filter(params, region, FIGURE_FLAG_LABELS, dict(FLAG_OPTIONS),
                                       {"level": dict(LEVELS)}),
        "klass": klass,
        "is_school_user": own_school(user) is not None,
        "can_edit": user.can(capabilities.EDIT_STUDENTS),
        "can_promote": user.can(capabilities.PROMOTE_STUDENTS),
        "can_review": can_review,
        "inbox_count": selectors.inbox(user).count() if can_review else 0,
    })


# --------------------------------------------------------------------------------------------
# Registering a student


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def student_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_school(user)
    grades = grades_for_mask(own.stage_mask) if own else GRADES
    form = StudentForm(request.POST or None, grades=grades, ask_school=own is None, columns=columns_for_school(own),
                       initial={"id_type": "1", "nationality": "CHN", "hk_macao_taiwan": "00",
                                "health_status": "10", "left_behind": "0", "boarding_mode": "1"})
    if request.method == "POST" and form.is_valid():
        school = school_from_form(form, user)
        if school is not None:
            if not services.can_write_school(user, school):
                raise NotPermitted(gettext("您无权为该学校登记学生"))
            try:
                enrolment = services.enrol_student(actor=user, school=school, data=form.service_data())
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                student = enrolment.student
                messages.success(request, gettext("已为「%(name)s」登记学生「%(name2)s」，学籍号 %(student_number_for)s") % {"name": school.name, "name2": student.name, "student_number_for": student_number_for(user, student.student_number)})
                return redirect("students:detail", student_ref=student.public_id)
    return render(request, "students/student_form.html", {
        **_nav(request, "list"), "form": form, "creating": True, "school": own,
    })


# --------------------------------------------------------------------------------------------
# A student's record


PROFILE_FIELDS = ("former_name", "gender", "birth_date", "id_type", "ethnicity", "nationality", "hk_macao_taiwan",
                  "political_status", "health_status", "disability_type", "birthplace_code", "native_place",
                  "hukou_place_code", "hukou_nature", "migrant_child", "left_behind", "only_child", "boarding_mode",
                  "home_address", "mailing_address", "household_address")


ADDRESS_FIELDS = ("home_address", "mailing_address", "household_address")


def _profile(student: Student, user) -> list[tuple[str, str]]:
    """The person's fields as ``user`` reads them (codes named, identifiers masked)."""
    columns = {c.field: c for c in STUDENT_COLUMNS}
    rows: list[tuple[str, str]] = [(gettext("学籍号"), student_number_for(user, student.student_number)), (gettext("姓名"), student.name)]
    for name in PROFILE_FIELDS:
        col, value = columns[name], getattr(student, name)
        if name == "gender":
            shown = _gender(value)
        elif col.kind == "code":
            shown = _code_label(name, value)
        elif col.kind == "bool":
            shown = gettext("是") if value else gettext("否")
        elif isinstance(value, dt.date):
            shown = value.isoformat()
        elif name in ADDRESS_FIELDS:
            shown = masking.show_to(user, masking.PersonalField.ADDRESS, value or "")
        else:
            shown = value or ""
        rows.append((gettext(col.label), shown))
        if name == "id_type":
            rows.append((gettext("身份证件号"), student.id_number_masked))
    rows.append((gettext("联系电话"), student.phone_masked))
    return rows


def _detail_context(request: HttpRequest, student: Student, **extra) -> dict[str, object]:
    user = request.user
    active = selectors.active_enrolment(student)
    school = active.school if active else student.school
    can_write = services.can_write_school(user, school)
    classes = []
    if can_write and active is not None:
        # Sized afterwards, by the school's registrations: sizing in the query joins every
        # registration of the province (the enrolment table has no class index).
        classes = list(selectors.classes_in_scope(user, school=active.school, sized=False).filter(grade=active.grade)
                       .order_by("-school_year", "number"))
        selectors.size_classes(classes)
    return {
        **_nav(request, "list"),
        "student": student,
        "profile": _profile(student, user),
        "guardians": masking.guardians_to(user, student.guardians),
        "active": active,
        "enrolments": selectors.enrolments_of(user, student),
        "events": selectors.events_of(user, student),
        "promotions": selectors.promotions_of(user, student),
        "requests": selectors.requests_visible_to(user).filter(student=student),
        "history": history_of(user, object_type="students.student", object_id=student.pk),
        "can_write": can_write,
        "can_reveal": user.can(services.VIEW_SENSITIVE),
        "is_temporary": student.student_number.startswith("L"),
        "classes": classes,
        **extra,
    }


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def student_detail(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = selectors.student_for(request.user, student_ref)
    return render(request, "students/detail.html", _detail_context(request, student))


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def student_reveal(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    """Shows the full ID number and phones once, in this response only; the service audits it."""
    student = selectors.student_for(request.user, student_ref)
    revealed = services.reveal_identifiers(actor=request.user, student=student)
    response = render(request, "students/detail.html", _detail_context(request, student, revealed=revealed))
    return _no_store(response)


def _writable_student(request: HttpRequest, student_ref: uuid.UUID) -> Student:
    student = selectors.student_for(request.user, student_ref)
    active = selectors.active_enrolment(student)
    if not services.can_write_school(request.user, active.school if active else student.school):
        raise NotPermitted(gettext("您无权修改该学生的学籍信息"))
    return student


def _edit_initial(student: Student) -> dict[str, str]:
    initial: dict[str, str] = {}
    for col in EDITABLE_COLUMNS:
        if col.field == "phone":
            continue  # only the masked form is readable; a blank field keeps the stored number
        value = getattr(student, col.field)
        if col.kind == "bool":
            initial[col.field] = gettext("是") if value else gettext("否")
        elif isinstance(value, dt.date):
            initial[col.field] = value.isoformat()
        else:
            initial[col.field] = value or ""
    return initial


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def student_edit(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    form = StudentForm(request.POST or None, columns=EDITABLE_COLUMNS, initial=_edit_initial(student))
    if student.phone_masked:
        form.fields["phone"].help_text = gettext("当前为 %(phone_masked)s；留空则不修改") % {"phone_masked": student.phone_masked}
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if not data.get("phone"):
            data.pop("phone", None)
        try:
            services.update_student(actor=request.user, student=student, data=data)
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("已保存"))
            return redirect("students:detail", student_ref=student.public_id)
    return render(request, "students/student_form.html", {
        **_nav(request, "list"), "form": form, "creating": False, "student": student,
    })


def _active_or_error(student: Student, form) -> object:
    active = selectors.active_enrolment(student)
    if active is None:
        form.add_error(None, gettext("该学生当前没有有效学籍（在读或休学），不能办理"))
    return active


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def event_create(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    form = EventForm(request.POST or None, initial={"on": timezone.localdate()})
    needs_request = False
    if request.method == "POST" and form.is_valid():
        active = _active_or_error(student, form)
        if active is not None:
            data = form.cleaned_data
            try:
                event = services.apply_event(actor=request.user, enrolment=active, kind=data["kind"], on=data["on"],
                                             reason=data["reason"], attachments=data["attachments"])
            except RecordInvalid as err:
                form.add_service_errors(err)
                needs_request = any(p.code == "event.needs_approval" for p in err.problems)
            else:
                messages.success(request, gettext("已办理%(get_kind_display)s") % {"get_kind_display": event.get_kind_display()})
                return redirect("students:detail", student_ref=student.public_id)
    return render(request, "students/event_form.html", {
        **_nav(request, "list"), "form": form, "student": student, "needs_request": needs_request,
        "active": selectors.active_enrolment(student),
    })


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def dropout_create(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    form = DropoutForm(request.POST or None, initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        active = _active_or_error(student, form)
        if active is not None:
            data = form.cleaned_data
            try:
                change = approvals.apply_drop_out(actor=request.user, enrolment=active, on=data["on"],
                                                  reason=data["reason"], attachments=data["attachments"])
            except RecordInvalid as err:
                form.add_service_errors(err)
            else:
                messages.success(request, gettext("退学申请已提交，等待县级教育行政部门审批"))
                return redirect("students:request", request_id=change.pk)
    return render(request, "students/dropout_form.html", {**_nav(request, "list"), "form": form, "student": student})


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def id_number_correct(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    form = IdCorrectionForm(request.POST or None, initial={"id_type": student.id_type})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.correct_id_number(actor=request.user, student=student, id_type=data["id_type"],
                                       id_number=data["id_number"], reason=data["reason"])
        except RecordInvalid as err:
            form.add_service_errors(err)
        else:
            messages.success(request, gettext("身份证件号已更正，学籍号不变"))
            return redirect("students:detail", student_ref=student.public_id)
    return render(request, "students/id_number_form.html", {**_nav(request, "list"), "form": form, "student": student})


@login_required
@require_POST
@require_capability(capabilities.EDIT_STUDENTS)
def number_replace(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    try:
        student = services.replace_temporary_number(actor=request.user, student=student)
    except RecordInvalid as err:
        messages.error(request, "；".join(p.message for p in err.problems))
    else:
        messages.success(request, gettext("已换发正式学籍号 %(student_number_for)s，原临时学籍号不再使用") % {"student_number_for": student_number_for(request.user, student.student_number)})
    return redirect("students:detail", student_ref=student.public_id)


@login_required
@require_POST
@require_capability(capabilities.EDIT_STUDENTS)
def class_assign(request: HttpRequest, student_ref: uuid.UUID) -> HttpResponse:
    student = _writable_student(request, student_ref)
    active = selectors.active_enrolment(student)
    class_id = _int(request.POST.get("school_class"))
    klass = selectors.class_for(request.user, class_id) if class_id else None
    if active is None:
        messages.error(request, gettext("该学生当前没有有效学籍，不能分班"))
    else:
        try:
            services.assign_class(actor=request.user, enrolment=active, school_class=klass)
        except RecordInvalid as err:
            messages.error(request, "；".join(p.message for p in err.problems))
        else:
            messages.success(request, gettext("已分到%(name)s") % {"name": klass.name} if klass else gettext("已取消分班"))
    return redirect("students:detail", student_ref=student.public_id)


# --------------------------------------------------------------------------------------------
# Classes


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def class_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_school(user)
    this_year = services.current_school_year(timezone.localdate())
    year = _int(request.GET.get("year")) or this_year
    can_edit = user.can(capabilities.EDIT_STUDENTS)
    form = ClassForm(request.POST or None, grades=grades_for_mask(own.stage_mask) if own else GRADES,
                     ask_school=own is None, initial={"school_year": year})
    if request.method == "POST":
        if not can_edit:
            raise NotPermitted(gettext("您的角色无权新建班级"))
        if form.is_valid():
            school = school_from_form(form, user)
            if school is not None:
                data = form.cleaned_data
                try:
                    klass = services.create_class(actor=user, school=school, school_year=data["school_year"],
                                                  grade=data["grade"], number=data["number"],
                                                  head_teacher=data["head_teacher"])
                except RecordInvalid as err:
                    form.add_service_errors(err)
                else:
                    messages.success(request, gettext("已新建%(name)s %(school_year)s学年 %(name2)s") % {"name": school.name, "school_year": klass.school_year, "name2": klass.name})
                    return redirect(f"{reverse('students:classes')}?year={klass.school_year}")
    school = None
    if request.GET.get("school") and own is None:
        school = open_school_by_code(user, request.GET["school"])
    params = request.GET
    region = region_from_param(user, params.get("region", ""))
    stage = _int(params.get("stage"))
    grades = [params["grade"]] if params.get("grade") else [g.code for g in GRADES if stage and g.stage == stage]
    size_range = size_band_range(params.get("size_band", ""))
    classes = selectors.classes_in_scope(user, school=school, school_year=year,
                                         region_path=region.path if region else "", grades=grades,
                                         size_range=size_range, sized=False)
    if request.GET.get("school") and own is None and school is None:
        classes = classes.none()
    figure = figure_filter(params, region, {}, {}, {"grade": {g.code: g.name for g in GRADES}},
                           extra={"grade": gettext("年级"), "size_band": gettext("班额")})
    page = paging.keyset_page(request, classes, keys=selectors.CLASS_LIST_ORDER, name="classes", seek=3)
    if size_range is None:
        selectors.size_classes(page.rows)
    for klass in page:
        klass.flag = selectors.size_flag(klass.size)
    query = paging.other_params(request.GET)
    return render(request, "students/classes.html", {
        **_nav(request, "classes"), "page": page, "query": query.urlencode(), "form": form, "year": year,
        "years": range(this_year + 1, this_year - 6, -1), "can_edit": can_edit, "is_school_user": own is not None,
        "large": selectors.LARGE_CLASS, "huge": selectors.HUGE_CLASS, "figure_filter": figure,
        "students_in_classes": selectors.students_in(classes) if figure else None,
    })


# --------------------------------------------------------------------------------------------
# Transfers and other change requests


@login_required
@require_capability(capabilities.EDIT_STUDENTS)
def transfer_create(request: HttpRequest) -> HttpResponse:
    """The receiving school finds the student by 学籍号 and exact name, then applies."""
    user = request.user
    own = own_school(user)
    find = TransferFindForm(request.POST or None, ask_school=own is None)
    apply_form = None
    candidate = school = None
    if request.method == "POST" and find.is_valid():
        school = school_from_form(find, user)
        if school is not None and not services.can_write_school(user, school):
            raise NotPermitted(gettext("您无权为该学校办理转入"))
        if school is not None:
            try:
                # Looked up again on the apply step: the hidden fields are only a reminder of the
                # first step, the number and the exact name are what authorise seeing the student.
                candidate = approvals.find_transfer_candidate(
                    actor=user, student_number=find.cleaned_data["student_number"], name=find.cleaned_data["name"])
            except RecordInvalid as err:
                find.add_service_errors(err)
        if candidate is not None:
            applying = request.POST.get("step") == "apply"
            apply_form = TransferApplyForm(request.POST if applying else None, grades=grades_for_mask(school.stage_mask),
                                           initial={"effective_on": timezone.localdate(), "to_grade": candidate.grade})
            if applying and apply_form.is_valid():
                data = apply_form.cleaned_data
                try:
                    change = approvals.apply_transfer(
                        actor=user, to_school=school, enrolment=candidate, to_grade=data["to_grade"],
                        effective_on=data["effective_on"], reason=data["reason"], attachments=data["attachments"])
                except RecordInvalid as err:
                    apply_form.add_service_errors(err)
                else:
                    messages.success(request, gettext("转学申请已提交，可在本页查看审核进度"))
                    return redirect("students:request", request_id=change.pk)
    return render(request, "students/transfer_form.html", {
        **_nav(request, "transfer"), "find": find, "apply_form": apply_form, "candidate": candidate, "school": school,
        "candidate_gender": _gender(candidate.student.gender) if candidate else "",
    })


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    requests = selectors.requests_visible_to(request.user)
    if status in RequestStatus.values:
        requests = requests.filter(status=status)
    if kind in RequestKind.values:
        requests = requests.filter(kind=kind)
    page = paging.keyset_page(request, requests, keys=selectors.REQUEST_LIST_ORDER, name="student-requests")
    query = paging.other_params(request.GET)
    return render(request, "students/requests.html", {
        **_nav(request, "requests"), "page": page, "query": query.urlencode(), "statuses": RequestStatus.choices,
        "kinds": RequestKind.choices, "status": status, "kind": kind,
    })


def _request_context(request: HttpRequest, change: ChangeRequest, **extra) -> dict[str, object]:
    user = request.user
    steps = list(selectors.steps_of(change))
    mine = next((s for s in steps if approvals.can_decide(user, s)), None)
    applicant = change.to_school if change.kind == RequestKind.TRANSFER else change.from_school
    return {
        **_nav(request, "requests"),
        "change": change,
        "steps": steps,
        "my_step": mine,
        "decision_form": extra.pop("decision_form", None) or DecisionForm(),
        "withdraw_form": extra.pop("withdraw_form", None) or WithdrawForm(),
        "can_withdraw": change.status == RequestStatus.PENDING and services.can_write_school(user, applicant),
        "to_grade_name": grade_name(change.to_grade),
        "history": history_of(user, object_type="students.request", object_id=change.pk),
        **extra,
    }


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    change = selectors.request_for(request.user, request_id)
    return render(request, "students/request_detail.html", _request_context(request, change))


@login_required
@require_POST
@require_capability(capabilities.VIEW_RECORDS)
def request_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    change = selectors.request_for(user, request_id)
    steps = list(selectors.steps_of(change))
    return decide_open_step(
        request, step=next((s for s in steps if approvals.can_decide(user, s)), None),
        form=DecisionForm(request.POST), decide=approvals.decide, done_url=reverse("students:request", args=(change.pk,)),
        rerender=lambda form: render(request, "students/request_detail.html",
                                     _request_context(request, change, decision_form=form)),
        settled=approvals.settled_for(user, change, steps))


@login_required
@require_POST
@require_capability(capabilities.EDIT_STUDENTS)
def request_withdraw(request: HttpRequest, request_id: int) -> HttpResponse:
    change = selectors.request_for(request.user, request_id)
    form = WithdrawForm(request.POST)
    form.is_valid()
    try:
        approvals.withdraw(actor=request.user, request=change, reason=form.cleaned_data.get("reason", ""))
    except RecordInvalid as err:
        messages.error(request, "；".join(p.message for p in err.problems))
    else:
        messages.success(request, gettext("申请已撤回"))
    return redirect("students:request", request_id=change.pk)


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def inbox(request: HttpRequest) -> HttpResponse:
    page = paging.keyset_page(request, selectors.inbox(request.user), keys=selectors.INBOX_ORDER, name="student-inbox")
    return render(request, "students/inbox.html", {**_nav(request, "inbox"), "page": page, "query": ""})


# --------------------------------------------------------------------------------------------
# Year-end promotion


def _promotion_scope(request: HttpRequest, form: PromotionForm) -> promotion.PromotionScope | None:
    user = request.user
    own = own_school(user)
    if own is not None:
        return promotion.promotion_scope(user, school=own)
    if form.cleaned_data.get("school_code"):
        school = school_from_form(form, user)
        return promotion.promotion_scope(user, school=school) if school is not None else None
    # The region picker narrows a bureau's promotion the way it narrows every list.
    return promotion.promotion_scope(user, region_path=scope_of(user).region_path)


def _batches(user) -> list[dict[str, object]]:
    batches = list(selectors.promotion_batches(user)[:RECENT_BATCHES])
    return [{"batch": b, "blockers": promotion.undo_blockers(b)} for b in batches]


@login_required
@require_capability(capabilities.PROMOTE_STUDENTS)
def promotion_index(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    # Promotion closes the school year under way (run in July or August): its classes and grades are
    # the ones on record now.
    from_year = services.current_school_year(today)
    form = PromotionForm(initial={"from_year": from_year, "graduation_date": dt.date(from_year + 1, 7, 1)},
                         ask_school=own_school(request.user) is None)
    return render(request, "students/promotion.html", {
        **_nav(request, "promotion"), "form": form, "batches": _batches(request.user), "school": own_school(request.user),
    })


@login_required
@require_capability(capabilities.PROMOTE_STUDENTS)
def promotion_preview(request: HttpRequest) -> HttpResponse:
    own = own_school(request.user)
    form = PromotionForm(request.GET, ask_school=own is None)
    scope = _promotion_scope(request, form) if form.is_valid() else None
    if scope is None:
        return render(request, "students/promotion.html", {
            **_nav(request, "promotion"), "form": form, "batches": _batches(request.user), "school": own,
        })
    from_year = form.cleaned_data["from_year"]
    current = services.current_school_year(timezone.localdate())
    if from_year != current:
        # Grades and classes on record belong to the school year under way; promoting another year's
        # label would move today's students all the same, and their classes would not follow.
        messages.warning(request, gettext("所选学年 %(from_year)s 不是当前学年 %(current)s（%(current)s—%(value)s 学年），请确认") % {"from_year": from_year, "current": current, "value": current + 1})
    return render(request, "students/promotion_preview.html", {
        **_nav(request, "promotion"), "form": form, "scope": scope,
        "preview": promotion.preview_promotion(scope, from_year=from_year),
        "from_year": form.cleaned_data["from_year"], "graduation_date": form.cleaned_data["graduation_date"],
        "school_code": form.cleaned_data.get("school_code", ""),
    })


@login_required
@require_POST
@require_capability(capabilities.PROMOTE_STUDENTS)
def promotion_execute(request: HttpRequest) -> HttpResponse:
    own = own_school(request.user)
    form = PromotionForm(request.POST, ask_school=own is None)
    if not form.is_valid():
        messages.error(request, gettext("升级参数不完整，请重新预览"))
        return redirect("students:promotion")
    back = f"{reverse('students:promotion_preview')}?{urlencode({k: request.POST.get(k, '') for k in form.fields})}"
    if request.POST.get("confirm") != "yes":
        messages.error(request, gettext("请先勾选“我已核对预览结果”再执行"))
        return redirect(back)
    scope = _promotion_scope(request, form)
    if scope is None:
        return redirect(back)
    try:
        # The form's one-time token: a double click promotes once, the repeat is told so (core/once.py).
        with once.submitted_once(key=once.posted_token(request), action="students.promotion_execute",
                                 submitted_by=request.user.audit_name()) as submission:
            batch = promotion.execute_promotion(actor=request.user, scope=scope,
                                                from_year=form.cleaned_data["from_year"],
                                                graduation_date=form.cleaned_data["graduation_date"])
            once.record_result(submission, reverse("students:promotion"))
    except once.AlreadySubmitted as repeat:
        messages.info(request, repeat.message)
        return redirect(repeat.result_url or "students:promotion")
    except RecordInvalid as err:
        messages.error(request, "；".join(p.message for p in err.problems))
        return redirect(back)
    messages.success(request, gettext("%(scope_label)s %(from_year)s学年升级已完成：升级 %(promoted)s 人，毕业 %(graduated)s 人，留级 %(kept)s 人") % {"scope_label": batch.scope_label, "from_year": batch.from_year, "promoted": batch.promoted, "graduated": batch.graduated, "kept": batch.kept})
    return redirect("students:promotion")


@login_required
@require_POST
@require_capability(capabilities.PROMOTE_STUDENTS)
def promotion_undo(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.promotion_batch_for(request.user, batch_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, gettext("请先勾选“确认”再撤销"))
        return redirect("students:promotion")
    try:
        with once.submitted_once(key=once.posted_token(request), action="students.promotion_undo",
                                 submitted_by=request.user.audit_name()):
            promotion.undo_promotion(actor=request.user, batch=batch)
    except once.AlreadySubmitted as repeat:
        messages.info(request, repeat.message)
    except RecordInvalid as err:
        if any(p.code == "promotion.undone" for p in err.problems):  # undone by an earlier click
            messages.info(request, "；".join(p.message for p in err.problems))
        else:
            messages.error(request, gettext("无法撤销：") + "；".join(p.message for p in err.problems))
    else:
        messages.success(request, gettext("已撤销 %(scope_label)s %(from_year)s学年升级，学籍已恢复到升级前") % {"scope_label": batch.scope_label, "from_year": batch.from_year})
    return redirect("students:promotion")


# --------------------------------------------------------------------------------------------
# Spreadsheet import: the shared import pages, kept at /students/import/ inside the student tabs.

IMPORT_PAGES = ImportPages(
    upload="students:import", template="students:import_template", job="students:import_job",
    progress="students:import_progress", problems="students:import_problems", commit="students:import_commit",
    only_kind=importing.KIND, nav_template="students/_nav.html", extra_context=lambda request: _nav(request, "import"),
)
import_template = import_views.guarded(import_views.template_download, import_kind=importing.KIND)
import_index = import_views.guarded(import_views.upload, import_kind=importing.KIND, pages=IMPORT_PAGES)
import_job = import_views.guarded(import_views.job_page, pages=IMPORT_PAGES)
import_progress = import_views.guarded(import_views.job_progress, pages=IMPORT_PAGES)
import_problems = import_views.guarded(import_views.job_problems, pages=IMPORT_PAGES)
import_commit = import_views.guarded(import_views.job_commit, post_only=True, pages=IMPORT_PAGES)

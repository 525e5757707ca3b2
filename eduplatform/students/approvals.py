"""学籍异动 that need approval: transfers (转学) and dropouts of compulsory-school age (控辍保学).

Review chains follow the national register (DOMAIN.md §7a):

* same county — receiving school applies → sending school confirms → county approves;
* across counties — receiving school applies → receiving county → sending school → sending county;
* dropout of a compulsory-stage student under 16 — the school applies → its county approves.

Each step belongs to one organization; its reviewers see it in their inbox once the steps before it
are approved. Any step may approve or return with a reason; a return ends the request. Until the
last approval the student stays active at the sending school, and the approval moves the
registration in one transaction: at every moment the student is active in exactly one school.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from eduplatform.core import approval_steps
from eduplatform.core.errors import FieldProblem, NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditAction, AuditEntry
from eduplatform.history.services import record_change, record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor
from eduplatform.orgs.services import supervising_bureau
from eduplatform.students.grades import BY_CODE, grade_name
from eduplatform.students.models import (
    ACTIVE_STATUSES,
    ChangeRequest,
    ChangeRequestStep,
    Enrolment,
    EnrolmentStatus,
    EventKind,
    RequestKind,
    RequestStatus,
    StepDecision,
    Student,
    StudentEvent,
)
from eduplatform.students.services import apply_event, require_school_writer


def county_of(school: Organization) -> Organization:
    """The education bureau that approves a school's 学籍 changes: its supervising bureau."""
    bureau = school.parent if school.parent_id and school.parent.kind != OrgKind.SCHOOL else None
    bureau = bureau or supervising_bureau(school.region)
    if bureau is None:
        raise RecordInvalid(gettext("学校「%(name)s」") % {"name": school.name}, [FieldProblem(
            "school", "school.no_bureau", gettext("找不到该校的主管教育行政部门，无法办理审批"), gettext("学校"))])
    return bureau


def _step(request: ChangeRequest, order: int, title: str, org: Organization) -> ChangeRequestStep:
    return ChangeRequestStep(request=request, order=order, title=title, organization=org,
                             organization_path=org.region_path,
                             decision=StepDecision.PENDING if order == 1 else StepDecision.WAITING)


def find_transfer_candidate(*, actor: Actor, student_number: str, name: str) -> Enrolment:
    """The active registration a receiving school wants to take over.

    The student is outside the receiving school's jurisdiction, so the lookup needs both the
    学籍号 and the exact name (as on the paper transfer form) and is audited.
    """
    if not actor.can(capabilities.EDIT_STUDENTS):
        raise NotPermitted(gettext("您的角色无权办理转学"))
    number = student_number.strip().upper()
    enrolment = (Enrolment.objects.filter(student__student_number=number, is_active=True)
                 .select_related("student", "school").first())
    if enrolment is None or enrolment.student.name != name.strip():
        raise RecordInvalid(pgettext("record", "转学申请"), [FieldProblem(
            "student_number", "transfer.not_found", gettext("未找到学籍号与姓名都相符的在籍学生，请核对转学联系函"), gettext("学籍号"))])
    record_event(actor=actor, action=AuditAction.VIEW_SENSITIVE, object_type="students.student",
                 object_id=enrolment.student_id, object_label=f"{enrolment.student.name}（{number}）",
                 region_path=enrolment.region_path, note="转学申请查找学生")
    return enrolment


@transaction.atomic
def apply_transfer(
    *, actor: Actor, to_school: Organization, enrolment: Enrolment, to_grade: str, effective_on: dt.date,
    reason: str, attachments: str = "",
) -> ChangeRequest:
    """The receiving school applies to take over a student's registration."""
    require_school_writer(actor, to_school)
    enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("student", "school").get(pk=enrolment.pk)
    problems = []
    if not enrolment.is_active:
        problems.append(FieldProblem("student", "transfer.inactive", gettext("该学生当前没有有效学籍，应直接办理入学"), gettext("学生")))
    if enrolment.school_id == to_school.pk:
        problems.append(FieldProblem("to_school", "transfer.same_school", gettext("该学生已在本校在籍"), gettext("转入学校")))
    grade = BY_CODE.get(to_grade)
    if grade is None or not to_school.stage_mask & grade.stage:
        problems.append(FieldProblem("to_grade", "transfer.grade", gettext("转入年级不是本校所设年级"), gettext("转入年级")))
    _check_application(enrolment, reason, pgettext("request kind", "转学"), problems)
    request = ChangeRequest.objects.create(
        kind=RequestKind.TRANSFER, student=enrolment.student, enrolment=enrolment, from_school=enrolment.school,
        from_path=enrolment.region_path, to_school=to_school, to_path=to_school.region_path, to_grade=to_grade,
        effective_on=effective_on, reason=reason, attachments=attachments, requested_by=actor.audit_name(),
    )
    from_county, to_county = county_of(enrolment.school), county_of(to_school)
    if from_county.pk == to_county.pk:
        chain = [("转出学校确认", enrolment.school), ("县级教育行政部门审核", from_county)]
    else:
        chain = [("转入地县级教育行政部门审核", to_county), ("转出学校确认", enrolment.school),
                 ("转出地县级教育行政部门审核", from_county)]
    ChangeRequestStep.objects.bulk_create([_step(request, i + 1, t, o) for i, (t, o) in enumerate(chain)])
    _audit_request(actor, request, "提交转学申请", to_school)
    return request


@transaction.atomic
def apply_drop_out(*, actor: Actor, enrolment: Enrolment, on: dt.date, reason: str, attachments: str = ""
                   ) -> ChangeRequest:
    """A school asks its county to approve the dropout of a compulsory-school-age student."""
    require_school_writer(actor, enrolment.school)
    enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("student", "school").get(pk=enrolment.pk)
    problems = []
    if enrolment.status not in ACTIVE_STATUSES:
        problems.append(FieldProblem("student", "dropout.inactive", gettext("该学生当前没有有效学籍"), gettext("学生")))
    _check_application(enrolment, reason, pgettext("request kind", "退学"), problems)
    request = ChangeRequest.objects.create(
        kind=RequestKind.DROP_OUT, student=enrolment.student, enrolment=enrolment, from_school=enrolment.school,
        from_path=enrolment.region_path, effective_on=on, reason=reason, attachments=attachments,
        requested_by=actor.audit_name(),
    )
    _step(request, 1, "县级教育行政部门审批（控辍保学）", county_of(enrolment.school)).save()
    _audit_request(actor, request, "提交退学申请", enrolment.school)
    return request


def _check_application(enrolment: Enrolment, reason: str, what: str, problems: list[FieldProblem]) -> None:
    """What every application needs: a reason, and no other open request on the registration."""
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", gettext("请填写%(what)s原因") % {"what": what}, gettext("原因")))
    if ChangeRequest.objects.filter(enrolment=enrolment, status=RequestStatus.PENDING).exists():
        problems.append(FieldProblem("student", "request.open", gettext("该学生已有正在审核的异动申请"), gettext("学生")))
    if problems:
        raise RecordInvalid(gettext("学生「%(name)s」的%(what)s申请") % {"name": enrolment.student.name, "what": what}, problems)


def can_decide(actor: Actor, step: ChangeRequestStep) -> bool:
    if step.decision != StepDecision.PENDING or step.organization_id != actor.organization_id:
        return False
    needed = capabilities.EDIT_STUDENTS if step.organization.kind == OrgKind.SCHOOL else capabilities.REVIEW_STUDENT_CHANGES
    return actor.can(needed)


@transaction.atomic
def decide(*, actor: Actor, step: ChangeRequestStep, approve: bool, comment: str = "") -> ChangeRequest:
    """Approve a step (the next one opens, or the change takes effect) or return the request.

    The request's row is locked first, then the step's (the order ``withdraw`` follows too, so the two
    never wait for each other in a circle), and the step's state is read again inside the lock: of
    two identical decisions sent at once, the second waits, then finds the step decided."""
    request = ChangeRequest.objects.select_for_update(of=("self",)).select_related("student").get(pk=step.request_id)
    step = ChangeRequestStep.objects.select_for_update(of=("self",)).select_related("request", "organization").get(pk=step.pk)
    if step.organization_id != actor.organization_id:
        raise OutOfScope(gettext("该审核环节不属于您的单位"))
    if not can_decide(actor, step):
        if step.decision != StepDecision.PENDING or request.status != RequestStatus.PENDING:
            raise RecordInvalid(gettext("审核"), [FieldProblem("step", "step.closed", closed_step_message(request, step), gettext("环节"))])
        raise NotPermitted(gettext("您的角色无权处理该审核环节"))
    if not approve and not comment.strip():
        raise RecordInvalid(gettext("审核"), [FieldProblem("comment", "required", gettext("退回时须填写退回原因"), gettext("意见"))])
    step.decision = StepDecision.APPROVED if approve else StepDecision.RETURNED
    step.decided_by, step.decided_at, step.comment = actor.audit_name(), timezone.now(), comment
    step.save()
    if not approve:
        request.status, request.closed_at = RequestStatus.RETURNED, timezone.now()
        request.save()
        _audit_request(actor, request, f"{step.title}：退回（{comment}）", step.organization)
        return request
    following = request.steps.filter(order__gt=step.order).order_by("order").first()
    if following is not None:
        following.decision = StepDecision.PENDING
        following.save()
        _audit_request(actor, request, f"{step.title}：同意", step.organization)
        return request
    _complete(actor, request, step.organization)
    return request


def closed_step_message(request: ChangeRequest, step: ChangeRequestStep) -> str:
    """Why a step can no longer be decided — who settled it and when — for a second click."""
    return approval_steps.closed_step_message(gettext("该%(kind)s申请") % {"kind": request.get_kind_display()}, request, step)


def settled_for(actor: Actor, request: ChangeRequest, steps: list[ChangeRequestStep]) -> str:
    """What a repeated decision of ``actor``'s organization is told once its step is settled ("" if none)."""
    return approval_steps.settled_for(actor.organization_id, gettext("该%(kind)s申请") % {"kind": request.get_kind_display()}, request, steps)


@transaction.atomic
def withdraw(*, actor: Actor, request: ChangeRequest, reason: str) -> ChangeRequest:
    request = ChangeRequest.objects.select_for_update(of=("self",)).select_related("to_school", "from_school").get(pk=request.pk)
    applicant = request.to_school if request.kind == RequestKind.TRANSFER else request.from_school
    require_school_writer(actor, applicant)
    if request.status == RequestStatus.WITHDRAWN:
        raise RecordInvalid(gettext("撤回申请"), [FieldProblem(
            "status", "request.withdrawn",
            gettext("该申请已于 %(localtime)s 撤回，无需重复操作") % {"localtime": format(timezone.localtime(request.closed_at), '%Y-%m-%d %H:%M')}, gettext("状态"))])
    if request.status != RequestStatus.PENDING:
        raise RecordInvalid(gettext("撤回申请"), [FieldProblem(
            "status", "request.closed", gettext("该申请已%(status)s，只能撤回审核中的申请") % {"status": request.get_status_display()}, gettext("状态"))])
    request.status, request.closed_at = RequestStatus.WITHDRAWN, timezone.now()
    request.save()
    request.steps.filter(decision__in=[StepDecision.PENDING, StepDecision.WAITING]).update(decision=StepDecision.WAITING)
    _audit_request(actor, request, f"撤回申请：{reason}", applicant)
    return request


def _complete(actor: Actor, request: ChangeRequest, approver: Organization) -> None:
    enrolment = Enrolment.objects.select_for_update(of=("self",)).select_related("student", "school").get(pk=request.enrolment_id)
    if enrolment.status not in ACTIVE_STATUSES:
        raise RecordInvalid(gettext("审核"), [FieldProblem("student", "request.stale",
                                                  gettext("学生学籍状态已变为「%(status)s」，申请无法生效") % {"status": enrolment.get_status_display()}, gettext("学生"))])
    request.status, request.closed_at = RequestStatus.APPROVED, timezone.now()
    request.save()
    if request.kind == RequestKind.DROP_OUT:
        apply_event(actor=actor, enrolment=enrolment, kind=EventKind.DROP_OUT, on=request.effective_on,
                    reason=request.reason, attachments=request.attachments, request=request, _approved=True)
        return
    _move_registration(actor, request, enrolment)


def _move_registration(actor: Actor, request: ChangeRequest, enrolment: Enrolment) -> None:
    """Close the sending registration and open the receiving one, in this one transaction."""
    now, on = timezone.now(), request.effective_on
    to_school = request.to_school
    student = Student.objects.select_for_update().get(pk=enrolment.student_id)
    enrolment.status, enrolment.is_active, enrolment.left_on, enrolment.updated_at = (
        EnrolmentStatus.TRANSFERRED_OUT, False, on, now)
    enrolment.save()
    grade = BY_CODE[request.to_grade or enrolment.grade]
    incoming = Enrolment.objects.create(
        student=student, school=to_school, region_path=to_school.region_path, stage=int(grade.stage),
        grade=grade.code, status=EnrolmentStatus.STUDYING, is_active=True, entered_on=on, entry_mode="",
        major=enrolment.major, programme_length=enrolment.programme_length, level=enrolment.level,
    )
    student.school, student.region_path, student.updated_at = to_school, to_school.region_path, now
    student.save(update_fields=["school", "region_path", "updated_at"])
    common = {"student": student, "occurred_on": on, "reason": request.reason, "attachments": request.attachments,
              "request": request, "recorded_by": actor.audit_name()}
    StudentEvent.objects.create(enrolment=enrolment, kind=EventKind.TRANSFER_OUT, school=enrolment.school,
                                region_path=enrolment.region_path, detail={"to": to_school.name}, **common)
    StudentEvent.objects.create(enrolment=incoming, kind=EventKind.TRANSFER_IN, school=to_school,
                                region_path=to_school.region_path,
                                detail={"from": enrolment.school.name, "grade": grade.code}, **common)
    changes = {
        "school": {"label": "学校", "before": enrolment.school.name, "after": to_school.name},
        "grade": {"label": "年级", "before": grade_name(enrolment.grade), "after": grade.name},
    }
    label = f"{student.name}（{student.student_number}）"
    # One entry in each school's jurisdiction (each side's auditors and nodes see the move); each also
    # marks its school for recomputation.
    for school in (enrolment.school, to_school):
        record_change(actor=actor, action=AuditAction.UPDATE, object_type="students.student", object_id=student.pk,
                      object_label=label, changes=changes, region_path=school.region_path, school_id=school.pk,
                      feed_resource="student", feed_key=student.student_number, note=f"转学生效：{request.reason}")


def _audit_request(actor: Actor, request: ChangeRequest, note: str, org: Organization) -> AuditEntry:
    return record_change(
        actor=actor, action=AuditAction.UPDATE, object_type="students.request", object_id=request.pk,
        object_label=f"{request.get_kind_display()}申请 #{request.pk}（{request.student.name}）",
        changes={"status": {"label": "状态", "before": None, "after": request.get_status_display()}},
        region_path=org.region_path, note=note,
    )

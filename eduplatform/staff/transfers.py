"""Staff transfers (教职工调动), approved the way student transfers are (DOMAIN.md §7a):

* the receiving unit applies;
* the sending unit confirms;
* the education bureau approves — one bureau when both units answer to the same one, otherwise the
  receiving side's bureau and then the sending side's.

Each step belongs to one organization and shows in its reviewers' inbox once the steps before it are
approved; any step may return the request with a reason. Until the last approval the person stays
active at the sending unit; the approval closes that post and opens the new one in one
transaction, so at every moment the person is on exactly one unit's active staff list.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import approval_steps
from eduplatform.core.errors import FieldProblem, NotPermitted, OutOfScope, RecordInvalid
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_change, record_event
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.scope import Actor
from eduplatform.orgs.services import supervising_bureau
from eduplatform.staff.models import (
    StaffEvent,
    StaffEventKind,
    StaffMember,
    StaffStatus,
    StaffTransfer,
    StaffTransferStep,
    StepDecision,
    TransferStatus,
)
from eduplatform.staff.services import (
    FEED,
    OBJECT_TYPE,
    PERSON_FIELDS,
    can_write_unit,
    require_unit_writer,
)


def approving_bureau(unit: Organization) -> Organization:
    """Who approves a unit's staff changes: a school's supervising bureau; a bureau's parent."""
    if unit.kind == OrgKind.SCHOOL:
        bureau = unit.parent if unit.parent_id and unit.parent.kind != OrgKind.SCHOOL else None
        bureau = bureau or supervising_bureau(unit.region)
    else:
        bureau = unit.parent or unit
    if bureau is None:
        raise RecordInvalid(gettext("单位「%(name)s」") % {"name": unit.name}, [FieldProblem(
            "unit", "unit.no_bureau", gettext("找不到该单位的主管教育行政部门，无法办理审批"), gettext("单位"))])
    return bureau


def find_transfer_candidate(*, actor: Actor, staff_number: str, name: str) -> StaffMember:
    """The active post a receiving unit wants to take over.

    The person is outside the receiving unit's jurisdiction, so the look-up needs both the staff
    number and the exact name (as on the transfer letter) and is audited.
    """
    if not (actor.can(capabilities.EDIT_STAFF) or actor.can(capabilities.EDIT_ADMINISTRATORS)):
        raise NotPermitted(gettext("您的角色无权办理教职工调动"))
    staff = (StaffMember.objects.filter(staff_number=staff_number.strip(), is_active=True)
             .select_related("unit").first())
    if staff is None or staff.name != name.strip():
        raise RecordInvalid(gettext("调动申请"), [FieldProblem(
            "staff_number", "transfer.not_found", gettext("未找到教职工号与姓名都相符的在岗人员，请核对调动函"), gettext("教职工号"))])
    record_event(actor=actor, action=AuditAction.VIEW_SENSITIVE, object_type=OBJECT_TYPE, object_id=staff.pk,
                 object_label=staff.label, region_path=staff.region_path, note="调动申请查找人员")
    return staff


def _step(transfer: StaffTransfer, order: int, title: str, org: Organization, role: str) -> StaffTransferStep:
    return StaffTransferStep(transfer=transfer, order=order, role=role, title=title, organization=org,
                             organization_path=org.region_path,
                             decision=StepDecision.PENDING if order == 1 else StepDecision.WAITING)


@transaction.atomic
def apply_transfer(*, actor: Actor, to_unit: Organization, staff: StaffMember, effective_on: dt.date | None,
                   reason: str) -> StaffTransfer:
    """The receiving unit applies to take a person over from the unit where they are active."""
    require_unit_writer(actor, to_unit)
    staff = StaffMember.objects.select_for_update(of=("self",)).select_related("unit").get(pk=staff.pk)
    problems: list[FieldProblem] = []
    if not staff.is_active:
        problems.append(FieldProblem("staff", "transfer.inactive", gettext("该人员当前不在岗，应直接办理入职"), gettext("人员")))
    if staff.unit_id == to_unit.pk:
        problems.append(FieldProblem("to_unit", "transfer.same_unit", gettext("该人员已在本单位在岗"), gettext("调入单位")))
    if effective_on is None:
        problems.append(FieldProblem("effective_on", "required", gettext("请填写调动日期"), gettext("调动日期")))
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", gettext("请填写调动原因"), gettext("调动原因")))
    if StaffTransfer.objects.filter(staff=staff, status=TransferStatus.PENDING).exists():
        problems.append(FieldProblem("staff", "transfer.open", gettext("该人员已有正在审核的调动申请"), gettext("人员")))
    if problems:
        raise RecordInvalid(gettext("「%(label)s」的调动申请") % {"label": staff.label}, problems)
    transfer = StaffTransfer.objects.create(
        staff=staff, from_unit=staff.unit, from_path=staff.region_path, to_unit=to_unit, to_path=to_unit.region_path,
        effective_on=effective_on, reason=reason.strip(), requested_by=actor.audit_name(),
    )
    from_bureau, to_bureau = approving_bureau(staff.unit), approving_bureau(to_unit)
    chain = [("调出单位确认", staff.unit, StaffTransferStep.CONFIRM)]
    if from_bureau.pk == to_bureau.pk:
        chain.append(("教育行政部门审核", from_bureau, StaffTransferStep.REVIEW))
    else:
        chain += [("调入地教育行政部门审核", to_bureau, StaffTransferStep.REVIEW),
                  ("调出地教育行政部门审核", from_bureau, StaffTransferStep.REVIEW)]
    StaffTransferStep.objects.bulk_create([_step(transfer, i + 1, t, o, r) for i, (t, o, r) in enumerate(chain)])
    _audit_transfer(actor, transfer, "提交调动申请", to_unit)
    return transfer


def can_decide(actor: Actor, step: StaffTransferStep) -> bool:
    if step.decision != StepDecision.PENDING or step.organization_id != actor.organization_id:
        return False
    if step.role == StaffTransferStep.CONFIRM:
        needed = capabilities.EDIT_STAFF if step.organization.kind == OrgKind.SCHOOL else capabilities.EDIT_ADMINISTRATORS
        return actor.can(needed)
    return actor.can(capabilities.REVIEW_STAFF_CHANGES)


@transaction.atomic
def decide(*, actor: Actor, step: StaffTransferStep, approve: bool, comment: str = "") -> StaffTransfer:
    """Approve a step (the next one opens, or the transfer takes effect) or return the request.

    The transfer's row is locked first, then the step's (the order ``withdraw`` follows too), and the
    step's state is read again inside the lock: of two identical decisions sent at once, the second
    waits, then finds the step decided and is told by whom."""
    transfer = StaffTransfer.objects.select_for_update(of=("self",)).select_related("staff").get(pk=step.transfer_id)
    step = StaffTransferStep.objects.select_for_update(of=("self",)).select_related("organization").get(pk=step.pk)
    if step.organization_id != actor.organization_id:
        raise OutOfScope(gettext("该审核环节不属于您的单位"))
    if not can_decide(actor, step):
        if step.decision != StepDecision.PENDING or transfer.status != TransferStatus.PENDING:
            raise RecordInvalid(gettext("审核"), [FieldProblem("step", "step.closed", closed_step_message(transfer, step), gettext("环节"))])
        raise NotPermitted(gettext("您的角色无权处理该审核环节"))
    if not approve and not comment.strip():
        raise RecordInvalid(gettext("审核"), [FieldProblem("comment", "required", gettext("退回时须填写退回原因"), gettext("意见"))])
    step.decision = StepDecision.APPROVED if approve else StepDecision.RETURNED
    step.decided_by, step.decided_at, step.comment = actor.audit_name(), timezone.now(), comment.strip()
    step.save(update_fields=["decision", "decided_by", "decided_at", "comment"])
    if not approve:
        transfer.status, transfer.closed_at = TransferStatus.RETURNED, timezone.now()
        transfer.save(update_fields=["status", "closed_at"])
        _audit_transfer(actor, transfer, f"{step.title}：退回（{comment}）", step.organization)
        return transfer
    following = transfer.steps.filter(order__gt=step.order).order_by("order").first()
    if following is not None:
        following.decision = StepDecision.PENDING
        following.save(update_fields=["decision"])
        _audit_transfer(actor, transfer, f"{step.title}：同意", step.organization)
        return transfer
    _complete(actor, transfer)
    return transfer


def closed_step_message(transfer: StaffTransfer, step: StaffTransferStep) -> str:
    """Why a step can no longer be decided — who settled it and when — for a second click."""
    return approval_steps.closed_step_message(gettext("该调动申请"), transfer, step)


def settled_for(actor: Actor, transfer: StaffTransfer, steps: list[StaffTransferStep]) -> str:
    """What a repeated decision of ``actor``'s organization is told once its step is settled ("" if none)."""
    return approval_steps.settled_for(actor.organization_id, gettext("该调动申请"), transfer, steps)


@transaction.atomic
def withdraw(*, actor: Actor, transfer: StaffTransfer, reason: str) -> StaffTransfer:
    transfer = StaffTransfer.objects.select_for_update(of=("self",)).select_related("to_unit", "staff").get(pk=transfer.pk)
    if not can_write_unit(actor, transfer.to_unit):
        raise NotPermitted(gettext("只有申请单位可以撤回调动申请"))
    if transfer.status == TransferStatus.WITHDRAWN:
        raise RecordInvalid(gettext("撤回申请"), [FieldProblem(
            "status", "request.withdrawn",
            gettext("该调动申请已于 %(localtime)s 撤回，无需重复操作") % {"localtime": format(timezone.localtime(transfer.closed_at), '%Y-%m-%d %H:%M')}, gettext("状态"))])
    if transfer.status != TransferStatus.PENDING:
        raise RecordInvalid(gettext("撤回申请"), [FieldProblem(
            "status", "request.closed", gettext("该调动申请已%(status)s，只能撤回审核中的申请") % {"status": transfer.get_status_display()}, gettext("状态"))])
    transfer.status, transfer.closed_at = TransferStatus.WITHDRAWN, timezone.now()
    transfer.save(update_fields=["status", "closed_at"])
    transfer.steps.filter(decision=StepDecision.PENDING).update(decision=StepDecision.WAITING)
    _audit_transfer(actor, transfer, f"撤回申请：{reason}", transfer.to_unit)
    return transfer


def _complete(actor: Actor, transfer: StaffTransfer) -> None:
    """Close the sending post and open the receiving one, in this one transaction."""
    old = StaffMember.objects.select_for_update(of=("self",)).select_related("unit").get(pk=transfer.staff_id)
    if not old.is_active:
        raise RecordInvalid(gettext("审核"), [FieldProblem("staff", "request.stale",
                                                  gettext("该人员状态已变为「%(status)s」，调动无法生效") % {"status": old.get_status_display()}, gettext("人员"))])
    to_unit = Organization.objects.get(pk=transfer.to_unit_id)
    now, on = timezone.now(), transfer.effective_on
    # The old post leaves the active list first: the partial unique index sees one active post at a time.
    old.status, old.is_active, old.left_on, old.updated_at = StaffStatus.TRANSFERRED_OUT, False, on, now
    old.save(update_fields=["status", "is_active", "left_on", "updated_at"])
    is_school = to_unit.kind == OrgKind.SCHOOL
    person = {f: getattr(old, f) for f in PERSON_FIELDS}
    person |= {"joined_on": on, "is_school_leader": is_school and old.is_school_leader}
    new = StaffMember.objects.create(
        **person, title_grade=old.title_grade, is_administrator=not is_school or person["is_school_leader"],
        status=StaffStatus.SERVING, is_active=True, unit=to_unit, region_path=to_unit.region_path,
        unit_kind=to_unit.kind, stage_mask=to_unit.stage_mask, created_at=now, updated_at=now,
    )
    transfer.status, transfer.closed_at, transfer.new_post = TransferStatus.APPROVED, now, new
    transfer.save(update_fields=["status", "closed_at", "new_post"])
    common = {"occurred_on": on, "reason": transfer.reason[:200], "transfer": transfer,
              "recorded_by": actor.audit_name()}
    StaffEvent.objects.create(staff=old, kind=StaffEventKind.TRANSFER_OUT, unit_id=old.unit_id,
                              region_path=old.region_path, unit_kind=old.unit_kind, stage_mask=old.stage_mask,
                              detail={"to": to_unit.name}, **common)
    StaffEvent.objects.create(staff=new, kind=StaffEventKind.TRANSFER_IN, unit=to_unit, region_path=to_unit.region_path,
                              unit_kind=to_unit.kind, stage_mask=to_unit.stage_mask,
                              detail={"from": old.unit.name}, **common)
    changes = {"unit": {"label": "单位", "before": old.unit.name, "after": to_unit.name}}
    # One entry per side, each in its own jurisdiction, on the post it concerns.
    for post, unit in ((old, old.unit), (new, to_unit)):
        record_change(actor=actor, action=AuditAction.UPDATE, object_type=OBJECT_TYPE, object_id=post.pk,
                      object_label=post.label, changes=changes, region_path=unit.region_path,
                      school_id=unit.pk if unit.kind == OrgKind.SCHOOL else None, feed_resource=FEED,
                      feed_key=post.staff_number, note=f"调动生效：{transfer.reason}")


def _audit_transfer(actor: Actor, transfer: StaffTransfer, note: str, org: Organization) -> None:
    record_change(
        actor=actor, action=AuditAction.UPDATE, object_type="staff.transfer", object_id=transfer.pk,
        object_label=f"调动申请 #{transfer.pk}（{transfer.staff.name}）",
        changes={"status": {"label": "状态", "before": None, "after": str(transfer.get_status_display())}},
        region_path=org.region_path, note=note,
    )

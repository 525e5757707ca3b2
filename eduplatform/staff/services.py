"""Every write to staff and administrator records: hiring (one or a whole file), title promotions,
retirement and leaving, and revealing an ID number. Transfers, which need approval, are in
``transfers``.

Each function checks permission and data, changes, then audits, feeds and marks the school dirty in
one transaction. A person may hold one active post in the whole province: the services name the
unit holding the person, and a partial unique index backs them up against races.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core import crypto, locks
from eduplatform.core.bulk import select_in
from eduplatform.core.errors import (
    BatchInvalid,
    FieldProblem,
    NotPermitted,
    OutOfScope,
    RecordInvalid,
    RowProblem,
)
from eduplatform.core.identity import RESIDENT_ID_CARD, Sealer, id_index
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.core.models import WritePolicy
from eduplatform.core.rows import CleanRow
from eduplatform.history.models import AuditAction
from eduplatform.history.services import (
    audit_many,
    diff_fields,
    feed_many,
    record_change,
    record_event,
)
from eduplatform.imports.registry import (
    ImportOutcome,
    RowAction,
    RowOutcome,
    batch_rejected,
    policy_problem,
)
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind
from eduplatform.orgs.moves import hold_unit
from eduplatform.orgs.scope import Actor, unit_in_reach
from eduplatform.staff import codes
from eduplatform.staff.models import (
    StaffEvent,
    StaffEventKind,
    StaffMember,
    StaffStatus,
)
from eduplatform.staff.schema import (
    ADMINISTRATOR_SCHEMA,
    FIELD_LABELS,
    STAFF_SCHEMA,
    check_administrator_row,
    check_staff_row,
)
from eduplatform.standards.validators import mask_id_number

VIEW_SENSITIVE = "records.view_sensitive"
OBJECT_TYPE = "staff.staffmember"
FEED = "staff"

# Fields copied from a row onto a post (the identifiers are sealed separately).
RECORD_FIELDS = (
    "name", "gender", "birth_date", "id_type", "ethnicity", "political_status", "education_level", "degree",
    "graduated_from", "major", "first_employed_on", "joined_on", "establishment", "post_category", "title",
    "title_obtained_on", "subjects", "teaching_stage", "qualification_type", "qualification_number",
    "backbone_level", "is_head_teacher", "is_dual_qualified", "is_school_leader", "position", "duty_category",
    "rank", "department", "duties",
)
# What a person carries from one post to the next on a transfer.
PERSON_FIELDS = RECORD_FIELDS + ("id_number_cipher", "id_number_index", "id_number_masked", "phone_cipher",
                                 "phone_masked", "staff_number")
AUDIT_LABELS = {**FIELD_LABELS, "unit": "单位", "status": "当前状态", "title_grade": "职称等级"}
# How leaving a post is recorded: event kind → the statuses it may end in.
END_STATUSES: dict[str, tuple[str, ...]] = {
    StaffEventKind.RETIRE: (StaffStatus.RETIRED, StaffStatus.RETIRED_CADRE),
    StaffEventKind.LEAVE: (StaffStatus.RESIGNED, StaffStatus.LEFT, StaffStatus.DISMISSED, StaffStatus.DECEASED,
                           StaffStatus.OTHER),
}


# --------------------------------------------------------------------------------------------
# Permissions


def can_write_unit(actor: Actor, unit: Organization) -> bool:
    """Whether the actor may change the staff of ``unit``.

    A school's staff: its clerk, or its county's statistician (EDIT_STAFF, within reach). A bureau's
    or the department's administrators: only that organization's own users (EDIT_ADMINISTRATORS).
    """
    if unit.kind == OrgKind.SCHOOL:
        return actor.can(capabilities.EDIT_STAFF) and unit_in_reach(actor, unit)
    return actor.can(capabilities.EDIT_ADMINISTRATORS) and unit.pk == actor.organization_id


def require_unit_writer(actor: Actor, unit: Organization) -> None:
    needed = capabilities.EDIT_STAFF if unit.kind == OrgKind.SCHOOL else capabilities.EDIT_ADMINISTRATORS
    if not actor.can(needed):
        raise NotPermitted(gettext("您的角色无权修改该单位的教职工信息"))
    if not can_write_unit(actor, unit):
        raise OutOfScope(gettext("该单位不在您的管辖范围内，或不是您所在的单位"))


def schema_for(unit: Organization):
    return STAFF_SCHEMA if unit.kind == OrgKind.SCHOOL else ADMINISTRATOR_SCHEMA


def check_row_for(unit: Organization):
    return check_staff_row if unit.kind == OrgKind.SCHOOL else check_administrator_row


# --------------------------------------------------------------------------------------------
# Hiring


@dataclass
class _Holder:
    index: str
    staff_number: str
    is_active: bool
    unit_id: int
    unit_name: str


def _holders(indexes: Sequence[str]) -> dict[str, list[_Holder]]:
    rows = select_in(
        "SELECT s.id_number_index, s.staff_number, s.is_active, s.unit_id, o.name FROM staff_staffmember s"
        " JOIN orgs_organization o ON o.id = s.unit_id WHERE s.id_number_index IN %s",
        sorted(set(indexes)),
    )
    out: dict[str, list[_Holder]] = {}
    for index, number, active, unit_id, unit_name in rows:
        out.setdefault(index, []).append(_Holder(index, number, bool(active), unit_id, unit_name))
    return out


def holder_message(holder: _Holder, unit: Organization) -> str:
    if holder.unit_id == unit.pk:
        return gettext("该人员已在本单位在岗（教职工号 %(staff_number)s），不能重复录入") % {"staff_number": holder.staff_number}
    return (gettext("该人员已在「%(unit_name)s」在岗（教职工号 %(staff_number)s），同一人只能在一个单位在岗；如需调入本单位，请发起调动申请") % {"unit_name": holder.unit_name, "staff_number": holder.staff_number})


def _numbers_of_others(numbers: Sequence[str]) -> dict[str, str]:
    """staff number → the blind index of the person it belongs to."""
    rows = select_in("SELECT staff_number, id_number_index FROM staff_staffmember WHERE staff_number IN %s",
                     sorted(set(numbers)))
    return {number: index for number, index in rows}


def _issue_numbers(unit: Organization, count: int, today: dt.date) -> list[str]:
    """New 教职工号: the unit's county code, the year, a 5-digit sequence (never reused: a number
    stays with its person for life, so a leaver's number is never handed out again)."""
    if count == 0:
        return []
    prefix = f"{unit.region.code[:6]}{today.year}"
    # Two hires in one county at once would read the same last number: the second waits here until
    # the first commits, then reads the number the first took (the unique index stays the backstop).
    locks.hold(locks.STAFF_NUMBERS, prefix)
    last = (StaffMember.objects.filter(staff_number__startswith=prefix).order_by("-staff_number")
            .values_list("staff_number", flat=True).first())
    start = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    return [f"{prefix}{n:05d}" for n in range(start, start + count)]


def write_posts(
    *,
    actor: Actor,
    unit: Organization,
    rows: Sequence[tuple[int, CleanRow]],
    accept_valid: bool,
    dry_run: bool = False,
    source: str = "录入",
    today: dt.date | None = None,
    policy: str = WritePolicy.CREATE_ONLY,
) -> ImportOutcome:
    """Hire a batch of checked rows at ``unit``, or update the people already in post there: all or
    nothing unless ``accept_valid``; ``dry_run`` checks everything against the province's staff and
    writes nothing. ``policy`` says whether new posts, changes to posts at ``unit``, or both are
    allowed.

    A person active anywhere else is an error naming that unit; a person who left a post earlier
    (retired, resigned, transferred out) is hired again under their lifelong staff number. A person
    in post at ``unit`` is compared field by field (filled cells only: an empty cell keeps what is
    recorded) and reported as changed or unchanged.
    """
    require_unit_writer(actor, unit)
    today = today or timezone.localdate()
    schema = schema_for(unit)
    problems: list[RowProblem] = []
    for row, clean in rows:
        problems += schema.row_problems(row, clean)
    bad = {p.row for p in problems}

    def reject(row: int, field: str, value: str, message: str) -> None:
        problems.append(RowProblem(row, field, gettext(FIELD_LABELS.get(field, field)), value, message))
        bad.add(row)

    # The same person (or staff number) on several rows is reported on every one of them, whatever
    # else is wrong with those rows: the person must look at all of them.
    indexes: dict[int, str] = {}
    rows_of: dict[str, list[int]] = {}
    number_rows_of: dict[str, list[int]] = {}
    for row, clean in rows:
        v = clean.values
        if v.get("id_number") and not clean.failed("id_number") and not clean.failed("id_type"):
            indexes[row] = id_index(v.get("id_type") or RESIDENT_ID_CARD, v["id_number"])
            rows_of.setdefault(indexes[row], []).append(row)
        if v.get("staff_number") and not clean.failed("staff_number"):
            number_rows_of.setdefault(v["staff_number"], []).append(row)
    for row, clean in rows:
        where = rows_of.get(indexes.get(row, ""), [])
        if len(where) > 1:
            reject(row, "id_number", clean.values["id_number"],
                   gettext("身份证件号在本文件中出现了多次（另见第 %(items)s 行）") % {"items": '、'.join(str(r) for r in where if r != row)})
        where = number_rows_of.get(clean.values.get("staff_number") or "", [])
        if len(where) > 1:
            reject(row, "staff_number", clean.values["staff_number"],
                   gettext("教职工号在本文件中出现了多次（另见第 %(items)s 行）") % {"items": '、'.join(str(r) for r in where if r != row)})
    holders = _holders([indexes[row] for row, _c in rows if row not in bad])
    given = {row: c.values.get("staff_number") for row, c in rows if row not in bad and c.values.get("staff_number")}
    owners = _numbers_of_others(list(given.values()))
    lifelong: dict[int, str] = {}
    in_post_here: dict[int, _Holder] = {}
    for row, clean in rows:
        if row in bad:
            continue
        v, index = clean.values, indexes[row]
        posts = holders.get(index, [])
        active = next((h for h in posts if h.is_active), None)
        if active is not None and active.unit_id != unit.pk:
            reject(row, "id_number", v["id_number"], holder_message(active, unit))
            continue
        earlier = active.staff_number if active is not None else (posts[0].staff_number if posts else "")
        number = given.get(row, "")
        if number:
            if earlier and number != earlier:
                reject(row, "staff_number", number, gettext("该人员的教职工号为 %(earlier)s（终身不变），不能改为 %(number)s") % {"earlier": earlier, "number": number})
                continue
            if owners.get(number, index) != index:
                reject(row, "staff_number", number, gettext("教职工号 %(number)s 已属于其他人员，请核对或留空由平台生成") % {"number": number})
                continue
        if active is not None:
            in_post_here[row] = active
        lifelong[row] = number or earlier

    # Each row's effect: a new post, or the person in post here changed field by field, or unchanged.
    current = {s.id_number_index: s for s in StaffMember.objects.select_for_update().filter(
        unit=unit, is_active=True, id_number_index__in=[h.index for h in in_post_here.values()])}
    outcomes: list[RowOutcome] = []
    planned_updates: list[tuple[int, StaffMember, dict[str, Any]]] = []
    for row, clean in rows:
        if row in bad:
            continue
        v = clean.values
        holder = in_post_here.get(row)
        if holder is None:
            outcome = RowOutcome(row, RowAction.CREATE, f"{v.get('name') or ''}（{mask_id_number(v['id_number'])}）")
        else:
            staff = current[holder.index]
            after, changes = _post_changes(staff, v, schema)
            outcome = RowOutcome(row, RowAction.UPDATE if changes else RowAction.UNCHANGED,
                                 gettext("%(name)s（教职工号 %(staff_number)s）") % {"name": staff.name, "staff_number": staff.staff_number}, changes)
            if changes:
                planned_updates.append((row, after, changes))
        refused = policy_problem(policy, outcome, field_name="id_number", label=FIELD_LABELS.get("id_number", gettext("身份证件号")),
                                 value=mask_id_number(v["id_number"]))
        if refused is not None:
            problems.append(refused)
            bad.add(row)
        outcomes.append(outcome)

    rejected = sorted(problems, key=lambda p: p.row)
    if problems and not accept_valid:
        raise batch_rejected(rejected, outcomes)
    good = [(row, clean) for row, clean in rows if row not in bad and row not in in_post_here]
    updates = [(after, changes) for row, after, changes in planned_updates if row not in bad]
    if dry_run:
        return ImportOutcome(written=0, rejected=rejected, rows=outcomes)
    if updates:
        _write_updates(actor=actor, unit=unit, updates=updates, source=source)
    if not good:
        return ImportOutcome(written=len(updates), rejected=rejected, rows=outcomes, summary=f"更新 {len(updates)}")

    fresh = iter(_issue_numbers(unit, sum(1 for row, _ in good if not lifelong[row]), today))
    now = timezone.now()
    sealer = Sealer()  # keys looked up once for the batch
    posts: list[StaffMember] = []
    for row, clean in good:
        v = clean.values
        number = lifelong[row] or next(fresh)
        phone = sealer.phone(v.get("phone") or "")
        id_type = v.get("id_type") or RESIDENT_ID_CARD
        title = v.get("title") or ""
        is_school = unit.kind == OrgKind.SCHOOL
        posts.append(StaffMember(
            staff_number=number,
            **{f: v.get(f, _empty(f)) for f in RECORD_FIELDS},
            title_grade=codes.TITLE_GRADE.get(title, ""),
            id_number_cipher=sealer.id_number(id_type, v["id_number"], index=indexes[row]).cipher,
            id_number_index=indexes[row],
            id_number_masked=mask_id_number(v["id_number"]) if id_type == RESIDENT_ID_CARD else _mask_other(v["id_number"]),
            phone_cipher=phone.cipher, phone_masked=phone.masked,
            is_administrator=not is_school or bool(v.get("is_school_leader")),
            status=StaffStatus.SERVING, is_active=True, unit=unit, region_path=unit.region_path,
            unit_kind=unit.kind, stage_mask=unit.stage_mask, created_at=now, updated_at=now,
        ))
    try:
        with transaction.atomic():
            hold_unit(unit)  # a move of the unit waits for this commit, or happened before it
            for post in posts:
                post.region_path = unit.region_path
            StaffMember.objects.bulk_create(posts, batch_size=1000)
    except IntegrityError as exc:
        # Another upload or hire took the same person a moment ago: the index caught it.
        raise BatchInvalid([RowProblem(0, "id_number", gettext("身份证件号"), "",
                                       gettext("其他用户刚刚录入了本批中的人员，请重新导入以查看具体行"))]) from exc
    if posts[0].pk is None:  # backends that do not return keys: read them back by the unique index
        by_index = dict(StaffMember.objects.filter(is_active=True, id_number_index__in=[p.id_number_index for p in posts])
                        .values_list("id_number_index", "pk"))
        for p in posts:
            p.pk = by_index[p.id_number_index]
    recorded_by = actor.audit_name()
    StaffEvent.objects.bulk_create([
        StaffEvent(staff_id=p.pk, kind=StaffEventKind.HIRE, occurred_on=p.joined_on or today, reason=source[:200],
                   detail={"unit": unit.name}, unit=unit, region_path=unit.region_path, unit_kind=unit.kind,
                   stage_mask=unit.stage_mask, recorded_by=recorded_by)
        for p in posts
    ], batch_size=1000)
    school_id = unit.pk if unit.kind == OrgKind.SCHOOL else None
    audit_many(actor=actor, action=AuditAction.CREATE, object_type=OBJECT_TYPE, note=source, items=[
        (p.pk, p.label, {"unit": {"label": "单位", "before": None, "after": unit.name}}, unit.region_path, school_id)
        for p in posts
    ])
    feed_many(FEED, [(p.staff_number, unit.region_path, school_id) for p in posts])
    return ImportOutcome(written=len(posts) + len(updates), rejected=rejected, rows=outcomes,
                         summary=f"新入职 {len(posts)}，更新 {len(updates)}")


def _post_snapshot(staff: StaffMember, schema: Any) -> dict[str, Any]:
    """A post's fields as people read them in a report: codes with their names, phone masked."""
    out: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(staff, name)
        col = schema.by_field.get(name)
        if col is not None and col.kind == "code" and value:
            out[name] = f"{value} {schema.code_name(name, value)}".strip()
        elif isinstance(value, bool):
            out[name] = "是" if value else "否"
        else:
            out[name] = value
    out["phone"] = staff.phone_masked
    return out


def _post_changes(staff: StaffMember, values: Mapping[str, Any], schema: Any) -> tuple[StaffMember, dict[str, Any]]:
    """The post as the row would leave it (filled cells only) and the changes, field by field."""
    after = copy.copy(staff)
    for name in RECORD_FIELDS:
        if name in ("id_type",) or name not in values:
            continue
        value = values[name]
        if value in (None, "") or (isinstance(value, (list, tuple)) and not value):
            continue  # an empty cell keeps what is recorded
        setattr(after, name, value)
    after.title_grade = codes.TITLE_GRADE.get(after.title or "", "")
    phone = values.get("phone") or ""
    if phone and (not staff.phone_cipher or crypto.decrypt(staff.phone_cipher) != phone):
        sealed = Sealer().phone(phone)
        after.phone_cipher, after.phone_masked = sealed.cipher, sealed.masked
    changes = diff_fields(_post_snapshot(staff, schema), _post_snapshot(after, schema), AUDIT_LABELS)
    if after.phone_cipher != staff.phone_cipher and "phone" not in changes:
        # A new number that masks like the old one (same first and last digits) is still a change.
        changes["phone"] = {"label": AUDIT_LABELS.get("phone", "联系电话"), "before": staff.phone_masked,
                            "after": after.phone_masked}
    return after, changes


RECHECK_LIMIT = 200  # records rechecked by the quality rules right after an update (more: the import's scan)


def _write_updates(*, actor: Actor, unit: Organization, updates: Sequence[tuple[StaffMember, dict[str, Any]]],
                   source: str) -> None:
    now = timezone.now()
    for staff, _changes in updates:
        staff.updated_at = now
    StaffMember.objects.bulk_update([s for s, _c in updates], [*RECORD_FIELDS, "title_grade", "phone_cipher",
                                                                "phone_masked", "updated_at"], batch_size=1000)
    school_id = unit.pk if unit.kind == OrgKind.SCHOOL else None
    audit_many(actor=actor, action=AuditAction.UPDATE, object_type=OBJECT_TYPE, note=source, items=[
        (s.pk, s.label, changes, unit.region_path, school_id) for s, changes in updates])
    feed_many(FEED, [(s.staff_number, unit.region_path, school_id) for s, _c in updates])
    if len(updates) <= RECHECK_LIMIT:  # an edit or a small batch; a large import is followed by a school scan
        from eduplatform.quality.issues import schedule_recheck

        schedule_recheck("staff.staffmember", [s.pk for s, _c in updates])


def _empty(field_name: str) -> Any:
    if field_name in ("birth_date", "first_employed_on", "joined_on", "title_obtained_on"):
        return None
    if field_name in ("is_head_teacher", "is_dual_qualified", "is_school_leader"):
        return False
    return "0" if field_name == "backbone_level" else ""


def _mask_other(number: str) -> str:
    return number[:2] + "*" * max(0, len(number) - 4) + number[-2:] if len(number) > 4 else "*" * len(number)


class _Context:
    def __init__(self, today: dt.date) -> None:
        self.today, self.memo, self.unit = today, {}, None


@transaction.atomic
def hire(*, actor: Actor, unit: Organization, data: Mapping[str, Any], today: dt.date | None = None) -> StaffMember:
    """Hire one person at ``unit`` from a form's raw text; every problem is raised at once."""
    require_unit_writer(actor, unit)
    today = today or timezone.localdate()
    clean = check_row_for(unit)(data, _Context(today))
    label = gettext("教职工「%(value)s」") % {"value": data.get('name') or ''}
    if clean.values.get("id_number") and not clean.failed("id_number"):
        # A hire creates: a person already in post here is refused (an import may update them instead).
        here = StaffMember.objects.filter(
            unit=unit, is_active=True,
            id_number_index=id_index(clean.values.get("id_type") or RESIDENT_ID_CARD, clean.values["id_number"]),
        ).values_list("staff_number", flat=True).first()
        if here is not None:
            raise RecordInvalid(label, [FieldProblem("id_number", "invalid", gettext("该人员已在本单位在岗（教职工号 %(here)s），不能重复录入") % {"here": here},
                                                     FIELD_LABELS.get("id_number", gettext("身份证件号")))])
    try:
        # Two hires at once in one county can draw the same new 教职工号, or hire one person twice:
        # the unique index refuses the second, reported like the checks' own refusals.
        with unique_or_invalid(label, field="staff_number", label=gettext("教职工号"),
                               message=gettext("%(name)s：该教职工号或身份证件号刚被另一位用户同时提交的记录占用，请核对后重新提交") % {"name": unit.name}):
            write_posts(actor=actor, unit=unit, rows=[(1, clean)], accept_valid=False, source="录入", today=today)
    except BatchInvalid as err:
        raise RecordInvalid(label, [FieldProblem(p.field, "invalid", p.message, p.label) for p in err.problems]) from err
    index = id_index(clean.values.get("id_type") or RESIDENT_ID_CARD, clean.values["id_number"])
    return StaffMember.objects.get(id_number_index=index, is_active=True)


def import_staff(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                 dry_run: bool, source: str, today: dt.date, policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """The ``staff`` import kind's writer: school staff only."""
    if unit.kind != OrgKind.SCHOOL:
        raise NotPermitted(gettext("教职工只能导入到学校，教育行政部门人员请使用“教育管理人员”导入"))
    return write_posts(actor=actor, unit=unit, rows=rows, accept_valid=accept_valid, dry_run=dry_run,
                       source=source, today=today, policy=policy)


def import_administrators(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]],
                          accept_valid: bool, dry_run: bool, source: str, today: dt.date,
                          policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """The ``administrators`` import kind's writer: the staff of the user's own bureau or department."""
    if unit.kind == OrgKind.SCHOOL:
        raise NotPermitted(gettext("教育管理人员只能导入到本教育行政部门；学校教职工请使用“教职工”导入"))
    return write_posts(actor=actor, unit=unit, rows=rows, accept_valid=accept_valid, dry_run=dry_run,
                       source=source, today=today, policy=policy)


def can_import(actor: Actor, unit: Organization) -> bool:
    return can_write_unit(actor, unit)


# --------------------------------------------------------------------------------------------
# Events without approval: title promotion, retirement, leaving


def _lock(staff: StaffMember) -> StaffMember:
    return StaffMember.objects.select_for_update(of=("self",)).select_related("unit").get(pk=staff.pk)


def _audit(actor: Actor, staff: StaffMember, changes: Mapping[str, Any], note: str,
           action: AuditAction = AuditAction.UPDATE) -> None:
    school_id = staff.unit_id if staff.unit_kind == OrgKind.SCHOOL else None
    record_change(actor=actor, action=action, object_type=OBJECT_TYPE, object_id=staff.pk, object_label=staff.label,
                  changes=changes, region_path=staff.region_path, school_id=school_id, feed_resource=FEED,
                  feed_key=staff.staff_number, note=note)


def _event(actor: Actor, staff: StaffMember, kind: str, on: dt.date, reason: str, detail: dict,
           transfer: Any = None) -> StaffEvent:
    return StaffEvent.objects.create(staff=staff, kind=kind, occurred_on=on, reason=reason[:200], detail=detail,
                                     unit_id=staff.unit_id, region_path=staff.region_path, unit_kind=staff.unit_kind,
                                     stage_mask=staff.stage_mask, transfer=transfer, recorded_by=actor.audit_name())


def _check_date(on: dt.date | None, staff: StaffMember, problems: list[FieldProblem], today: dt.date) -> None:
    if on is None:
        problems.append(FieldProblem("on", "required", gettext("请填写日期"), gettext("日期")))
    elif on > today + dt.timedelta(days=31):
        problems.append(FieldProblem("on", "date.future", gettext("日期「%(isoformat)s」晚于一个月之后，请到时再办理") % {"isoformat": on.isoformat()}, gettext("日期")))
    elif staff.joined_on and on < staff.joined_on:
        problems.append(FieldProblem("on", "date.order",
                                     gettext("日期「%(isoformat)s」早于进本单位年月「%(joined_on)s」") % {"isoformat": on.isoformat(), "joined_on": format(staff.joined_on, '%Y-%m')}, gettext("日期")))


@transaction.atomic
def promote_title(*, actor: Actor, staff: StaffMember, title: str, on: dt.date | None, reason: str = "",
                  today: dt.date | None = None) -> StaffMember:
    """职称晋升: the new title must be higher in the same series (中小学 or 高校)."""
    staff = _lock(staff)
    require_unit_writer(actor, staff.unit)
    today = today or timezone.localdate()
    problems: list[FieldProblem] = []
    if not staff.is_active:
        problems.append(FieldProblem("staff", "staff.inactive", gettext("该人员已不在岗，不能办理职称晋升"), gettext("人员")))
    names = dict(codes.TITLES)
    if title not in names or title == "90":
        problems.append(FieldProblem("title", "code.unknown", gettext("请选择晋升后的专业技术职务"), gettext("专业技术职务")))
    elif staff.title and staff.title != "90":
        same_series = staff.title[0] == title[0]
        if not same_series or codes.TITLE_RANK[title] <= codes.TITLE_RANK[staff.title]:
            problems.append(FieldProblem("title", "title.not_higher",
                                         gettext("「%(value)s」不高于现任「%(get)s」，职称晋升须在同一系列内升高一级或以上") % {"value": names[title], "get": names.get(staff.title, staff.title)}, gettext("专业技术职务")))
    _check_date(on, staff, problems, today)
    if problems:
        raise RecordInvalid(gettext("「%(label)s」的职称晋升") % {"label": staff.label}, problems)
    before = {"title": names.get(staff.title, ""), "title_grade": staff.title_grade,
              "title_obtained_on": staff.title_obtained_on}
    staff.title, staff.title_grade, staff.title_obtained_on = title, codes.TITLE_GRADE[title], on
    staff.updated_at = timezone.now()
    staff.save(update_fields=["title", "title_grade", "title_obtained_on", "updated_at"])
    after = {"title": names[title], "title_grade": staff.title_grade, "title_obtained_on": on}
    _event(actor, staff, StaffEventKind.TITLE, on, reason, {"title": [before["title"], after["title"]]})
    _audit(actor, staff, diff_fields(before, after, AUDIT_LABELS), f"职称晋升：{reason}".rstrip("："))
    _recheck_quality("staff.staffmember", staff.pk)
    return staff


@transaction.atomic
def end_post(*, actor: Actor, staff: StaffMember, kind: str, status: str, on: dt.date | None, reason: str,
             today: dt.date | None = None) -> StaffMember:
    """Retirement (退休/离休) or leaving (辞职, 离职, 开除, 死亡 …): the post closes, with its date."""
    staff = _lock(staff)
    require_unit_writer(actor, staff.unit)
    today = today or timezone.localdate()
    problems: list[FieldProblem] = []
    if kind not in END_STATUSES:
        problems.append(FieldProblem("kind", "event.unknown", gettext("请选择事件类别"), gettext("事件")))
    elif status not in END_STATUSES[kind]:
        allowed = "、".join(str(StaffStatus(s).label) for s in END_STATUSES[kind])
        problems.append(FieldProblem("status", "status.unknown", gettext("请选择离岗后的状态（%(allowed)s）") % {"allowed": allowed}, gettext("状态")))
    if not staff.is_active:
        problems.append(FieldProblem("staff", "staff.inactive", gettext("该人员已是「%(status)s」状态") % {"status": staff.get_status_display()}, gettext("人员")))
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", gettext("请填写原因"), gettext("原因")))
    _check_date(on, staff, problems, today)
    if problems:
        raise RecordInvalid(gettext("「%(label)s」的离岗") % {"label": staff.label}, problems)
    before = {"status": str(staff.get_status_display())}
    staff.status, staff.is_active, staff.left_on, staff.updated_at = status, False, on, timezone.now()
    staff.save(update_fields=["status", "is_active", "left_on", "updated_at"])
    _event(actor, staff, kind, on, reason, {"status": str(StaffStatus(status).label)})
    _audit(actor, staff, diff_fields(before, {"status": str(staff.get_status_display())}, AUDIT_LABELS),
           f"{StaffEventKind(kind).label!s}：{reason}")
    _recheck_quality("staff.staffmember", staff.pk)
    return staff


# --------------------------------------------------------------------------------------------
# Personal data


@dataclass(frozen=True)
class Revealed:
    id_number: str
    phone: str


def reveal_identifiers(*, actor: Actor, staff: StaffMember) -> Revealed:
    """The full ID number and phone, for those allowed to see personal data; every view is audited."""
    if not actor.can(VIEW_SENSITIVE):
        raise NotPermitted(gettext("您的角色无权查看完整的身份证件号"))
    record_event(actor=actor, action=AuditAction.VIEW_SENSITIVE, object_type=OBJECT_TYPE, object_id=staff.pk,
                 object_label=staff.label, region_path=staff.region_path, note="查看完整身份证件号和联系电话")
    return Revealed(crypto.decrypt(staff.id_number_cipher), crypto.decrypt(staff.phone_cipher))


def _recheck_quality(object_type: str, pk: int) -> None:
    """After the commit, the record's quality rules run again: a fixed record closes its issue."""
    from eduplatform.quality.issues import schedule_recheck

    schedule_recheck(object_type, [pk])

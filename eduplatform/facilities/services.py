"""Every write to land parcels and buildings: record forms, demolition, and spreadsheet batches.

Each service checks the actor's right (``EDIT_FACILITIES`` in a unit within reach), validates with the
same schema and rules as the import (``facilities.schema``), writes, and leaves its trace — audit with
field-level before/after, change feed, dirty mark — in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from eduplatform.core.errors import (
    BatchInvalid,
    FieldProblem,
    NotPermitted,
    ProblemCollector,
    RecordInvalid,
    RowProblem,
)
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.core.rows import CleanRow, RowSchema
from eduplatform.facilities.models import Building, LandParcel
from eduplatform.facilities.schema import (
    BUILDING_COLUMNS,
    BUILDING_LABELS,
    BUILDING_SCHEMA,
    LAND_COLUMNS,
    LAND_LABELS,
    LAND_SCHEMA,
    area_text,
    check_building,
    check_land,
)
from eduplatform.history.models import AuditAction
from eduplatform.history.services import audit_many, diff_fields, feed_many, record_change
from eduplatform.imports.registry import ImportOutcome
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import Actor, require_unit_writer, unit_in_reach

BUILDING_TYPE, LAND_TYPE = "facilities.building", "facilities.parcel"
BUILDING_FEED, LAND_FEED = "building", "land_parcel"
WHAT = "土地与校舍信息"
BUILDING_FIELDS = tuple(c.field for c in BUILDING_COLUMNS)
LAND_FIELDS = tuple(c.field for c in LAND_COLUMNS)


# --------------------------------------------------------------------------------------------
# Permissions


def can_write_unit(actor: Actor, unit: Organization) -> bool:
    """Whether the actor may change the land and buildings of ``unit`` (a school in reach)."""
    return unit.is_school and actor.can(capabilities.EDIT_FACILITIES) and unit_in_reach(actor, unit)


def _require_writer(actor: Actor, school: Organization) -> None:
    require_unit_writer(actor, school, capabilities.EDIT_FACILITIES, WHAT)
    if not school.is_school:
        raise NotPermitted("土地与校舍只能登记在学校（机构）名下")


# --------------------------------------------------------------------------------------------
# Snapshots for the audit: values as people read them (codes named, yes/no)


def _snapshot(record: Any, schema: RowSchema, fields: Sequence[str], extra: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value, col = getattr(record, name), schema.by_field[name]
        if col.kind == "code":
            out[name] = f"{value} {schema.code_name(name, value)}" if value else ""
        elif col.kind == "bool":
            out[name] = "是" if value else "否"
        elif col.kind == "decimal":
            out[name] = area_text(value)
        else:
            out[name] = value
    for name in extra:
        out[name] = getattr(record, name)
    return out


def building_snapshot(building: Building) -> dict[str, Any]:
    return _snapshot(building, BUILDING_SCHEMA, BUILDING_FIELDS, ("demolished_on", "demolition_reason"))


def parcel_snapshot(parcel: LandParcel) -> dict[str, Any]:
    return _snapshot(parcel, LAND_SCHEMA, LAND_FIELDS, ("retired_on", "retired_reason"))


def _created(snapshot: dict[str, Any], labels: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """A new record's audit: only the fields it was given (no "before", no blank fields)."""
    return diff_fields({}, {k: v for k, v in snapshot.items() if v not in ("", None)}, labels)


def _building_label(building: Building, school: Organization) -> str:
    return f"{school.name} {building.name}（{building.number}）"


def _parcel_label(parcel: LandParcel, school: Organization) -> str:
    return f"{school.name} {parcel.name}"


def _building_key(school: Organization, number: str) -> str:
    return f"{school.school_code}:{number}"


def _invalid(record: str, clean: CleanRow, labels: Mapping[str, str]) -> RecordInvalid:
    return RecordInvalid(record, [FieldProblem(f, "facilities.invalid", m, labels.get(f, f)) for f, _v, m in clean.problems])


# --------------------------------------------------------------------------------------------
# Buildings, one at a time


def _number_taken(school: Organization, number: str, *, other_than: int | None = None) -> Building | None:
    qs = Building.objects.filter(school=school, number=number)
    if other_than is not None:
        qs = qs.exclude(pk=other_than)
    return qs.first()


@transaction.atomic
def create_building(*, actor: Actor, school: Organization, data: Mapping[str, Any],
                    today: dt.date | None = None) -> Building:
    """Register one building of ``school`` from raw field text (a form post)."""
    _require_writer(actor, school)
    clean = check_building(data, today=today or timezone.localdate())
    record = f"建筑物「{data.get('name') or data.get('number') or ''}」"
    if not clean.failed("number") and clean.values.get("number"):
        taken = _number_taken(school, clean.values["number"])
        if taken is not None:
            clean.add("number", clean.values["number"], f"本校已有建筑物编号「{taken.number}」（{taken.name}），请换一个编号")
    if not clean.ok:
        raise _invalid(record, clean, BUILDING_LABELS)
    building = Building(school=school, region_path=school.region_path, **clean.values)
    with unique_or_invalid(record, field="number", label=BUILDING_LABELS.get("number", "建筑物编号"),
                           message=f"建筑物编号「{building.number}」已存在于{school.name}（刚由另一位用户登记），请换一个编号"):
        building.save()
    record_change(actor=actor, action=AuditAction.CREATE, object_type=BUILDING_TYPE, object_id=building.pk,
                  object_label=_building_label(building, school),
                  changes=_created(building_snapshot(building), BUILDING_LABELS),
                  region_path=school.region_path, school_id=school.pk, feed_resource=BUILDING_FEED,
                  feed_key=_building_key(school, building.number))
    return building


@transaction.atomic
def update_building(*, actor: Actor, building: Building, data: Mapping[str, Any],
                    today: dt.date | None = None) -> Building:
    """Change a building's fields; every field is given (the record form posts them all)."""
    school = building.school
    _require_writer(actor, school)
    building = Building.objects.select_for_update().get(pk=building.pk)
    record = f"建筑物「{building.name}」"
    if building.demolished_on is not None:
        raise RecordInvalid(record, [FieldProblem("demolished_on", "building.demolished",
                                                  f"该建筑物已于 {building.demolished_on.isoformat()} 拆除，不能再修改")])
    clean = check_building(data, today=today or timezone.localdate())
    if not clean.failed("number") and clean.values.get("number"):
        taken = _number_taken(school, clean.values["number"], other_than=building.pk)
        if taken is not None:
            clean.add("number", clean.values["number"], f"本校已有建筑物编号「{taken.number}」（{taken.name}），请换一个编号")
    if not clean.ok:
        raise _invalid(record, clean, BUILDING_LABELS)
    before = building_snapshot(building)
    for name, value in clean.values.items():
        setattr(building, name, value)
    changes = diff_fields(before, building_snapshot(building), BUILDING_LABELS)
    if not changes:
        return building
    building.updated_at = timezone.now()
    with unique_or_invalid(record, field="number", label=BUILDING_LABELS.get("number", "建筑物编号"),
                           message=f"建筑物编号「{building.number}」已存在于{school.name}（刚由另一位用户登记），请换一个编号"):
        building.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type=BUILDING_TYPE, object_id=building.pk,
                  object_label=_building_label(building, school), changes=changes,
                  region_path=school.region_path, school_id=school.pk, feed_resource=BUILDING_FEED,
                  feed_key=_building_key(school, building.number))
    return building


@transaction.atomic
def demolish_building(*, actor: Actor, building: Building, on: dt.date | None, reason: str,
                      today: dt.date | None = None) -> Building:
    """拆除: the building leaves the totals; its record and history stay."""
    school = building.school
    _require_writer(actor, school)
    building = Building.objects.select_for_update().get(pk=building.pk)
    today = today or timezone.localdate()
    problems = ProblemCollector(f"建筑物「{building.name}」")
    if building.demolished_on is not None:
        problems.add("on", "building.demolished", f"该建筑物已于 {building.demolished_on.isoformat()} 拆除")
    if on is None:
        problems.add("on", "required", "请填写拆除日期", "拆除日期")
    elif on > today:
        problems.add("on", "date.future", f"拆除日期「{on.isoformat()}」晚于今天，请在拆除后登记", "拆除日期")
    elif on.year < building.built_year:
        problems.add("on", "date.before_built", f"拆除日期「{on.isoformat()}」早于建成年份 {building.built_year} 年", "拆除日期")
    reason = (reason or "").strip()
    if not reason:
        problems.add("reason", "required", "请填写拆除原因", "拆除原因")
    problems.raise_if_any()
    before = building_snapshot(building)
    building.demolished_on, building.demolition_reason, building.in_use = on, reason[:200], False
    building.updated_at = timezone.now()
    building.save(update_fields=["demolished_on", "demolition_reason", "in_use", "updated_at"])
    record_change(actor=actor, action=AuditAction.CLOSE, object_type=BUILDING_TYPE, object_id=building.pk,
                  object_label=_building_label(building, school),
                  changes=diff_fields(before, building_snapshot(building), BUILDING_LABELS),
                  region_path=school.region_path, school_id=school.pk, feed_resource=BUILDING_FEED,
                  feed_key=_building_key(school, building.number), note=f"拆除：{reason}"[:500])
    return building


# --------------------------------------------------------------------------------------------
# Land parcels, one at a time


def _certificate_taken(school: Organization, certificate: str, *, other_than: int | None = None) -> LandParcel | None:
    if not certificate:
        return None
    qs = LandParcel.objects.filter(school=school, certificate_number=certificate)
    if other_than is not None:
        qs = qs.exclude(pk=other_than)
    return qs.first()


@transaction.atomic
def create_parcel(*, actor: Actor, school: Organization, data: Mapping[str, Any],
                  today: dt.date | None = None) -> LandParcel:
    _require_writer(actor, school)
    clean = check_land(data, today=today or timezone.localdate())
    taken = _certificate_taken(school, clean.values.get("certificate_number") or "")
    if taken is not None:
        clean.add("certificate_number", taken.certificate_number, f"本校已登记土地证号「{taken.certificate_number}」的地块（{taken.name}）")
    if not clean.ok:
        raise _invalid(f"地块「{data.get('name') or ''}」", clean, LAND_LABELS)
    parcel = LandParcel(school=school, region_path=school.region_path, **clean.values)
    parcel.save()
    record_change(actor=actor, action=AuditAction.CREATE, object_type=LAND_TYPE, object_id=parcel.pk,
                  object_label=_parcel_label(parcel, school),
                  changes=_created(parcel_snapshot(parcel), LAND_LABELS), region_path=school.region_path,
                  school_id=school.pk, feed_resource=LAND_FEED, feed_key=str(parcel.pk))
    return parcel


@transaction.atomic
def update_parcel(*, actor: Actor, parcel: LandParcel, data: Mapping[str, Any],
                  today: dt.date | None = None) -> LandParcel:
    school = parcel.school
    _require_writer(actor, school)
    parcel = LandParcel.objects.select_for_update().get(pk=parcel.pk)
    if parcel.retired_on is not None:
        raise RecordInvalid(f"地块「{parcel.name}」", [FieldProblem("retired_on", "parcel.retired",
                                                              f"该地块已于 {parcel.retired_on.isoformat()} 注销，不能再修改")])
    clean = check_land(data, today=today or timezone.localdate())
    taken = _certificate_taken(school, clean.values.get("certificate_number") or "", other_than=parcel.pk)
    if taken is not None:
        clean.add("certificate_number", taken.certificate_number, f"本校已登记土地证号「{taken.certificate_number}」的地块（{taken.name}）")
    if not clean.ok:
        raise _invalid(f"地块「{parcel.name}」", clean, LAND_LABELS)
    before = parcel_snapshot(parcel)
    for name, value in clean.values.items():
        setattr(parcel, name, value)
    changes = diff_fields(before, parcel_snapshot(parcel), LAND_LABELS)
    if not changes:
        return parcel
    parcel.updated_at = timezone.now()
    parcel.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type=LAND_TYPE, object_id=parcel.pk,
                  object_label=_parcel_label(parcel, school), changes=changes, region_path=school.region_path,
                  school_id=school.pk, feed_resource=LAND_FEED, feed_key=str(parcel.pk))
    return parcel


@transaction.atomic
def retire_parcel(*, actor: Actor, parcel: LandParcel, on: dt.date | None, reason: str,
                  today: dt.date | None = None) -> LandParcel:
    """注销 (handed over, sold, taken for a road): out of the totals, kept with its history."""
    school = parcel.school
    _require_writer(actor, school)
    parcel = LandParcel.objects.select_for_update().get(pk=parcel.pk)
    today = today or timezone.localdate()
    problems = ProblemCollector(f"地块「{parcel.name}」")
    if parcel.retired_on is not None:
        problems.add("on", "parcel.retired", f"该地块已于 {parcel.retired_on.isoformat()} 注销")
    if on is None:
        problems.add("on", "required", "请填写注销日期", "注销日期")
    elif on > today:
        problems.add("on", "date.future", f"注销日期「{on.isoformat()}」晚于今天", "注销日期")
    reason = (reason or "").strip()
    if not reason:
        problems.add("reason", "required", "请填写注销原因", "注销原因")
    problems.raise_if_any()
    before = parcel_snapshot(parcel)
    parcel.retired_on, parcel.retired_reason, parcel.updated_at = on, reason[:200], timezone.now()
    parcel.save(update_fields=["retired_on", "retired_reason", "updated_at"])
    record_change(actor=actor, action=AuditAction.CLOSE, object_type=LAND_TYPE, object_id=parcel.pk,
                  object_label=_parcel_label(parcel, school),
                  changes=diff_fields(before, parcel_snapshot(parcel), LAND_LABELS), region_path=school.region_path,
                  school_id=school.pk, feed_resource=LAND_FEED, feed_key=str(parcel.pk), note=f"注销：{reason}"[:500])
    return parcel


# --------------------------------------------------------------------------------------------
# Spreadsheet batches (import kinds "buildings" and "land")


def _batch(
    *, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool, dry_run: bool,
    schema: RowSchema, model: type, key_field: str, key_label: str,
    conflict: Callable[[Any], str | None], label: Callable[[Any, Organization], str],
    snapshot: Callable[[Any], dict[str, Any]], labels: Mapping[str, str], object_type: str, feed: str,
    feed_key: Callable[[Any], str], source: str,
) -> ImportOutcome:
    """Check a batch against itself and the database, then create new records and update those whose
    key (建筑物编号, 土地证号) the school already has — all rows, or only the valid ones."""
    _require_writer(actor, unit)
    problems: dict[int, list[RowProblem]] = {}
    for row, clean in rows:
        if clean.problems:
            problems[row] = schema.row_problems(row, clean)
    keys = {clean.values[key_field] for row, clean in rows if row not in problems and clean.values.get(key_field)}
    existing = {getattr(r, key_field): r for r in model.objects.select_for_update().filter(
        school=unit, **{f"{key_field}__in": keys})}
    first_row: dict[str, int] = {}
    for row, clean in rows:
        key = clean.values.get(key_field)
        if row in problems or not key:
            continue
        if key in first_row:
            problems[row] = [RowProblem(row, key_field, key_label, key,
                                        f"{key_label}「{key}」与第 {first_row[key]} 行重复，同一文件中每个{key_label}只能出现一次")]
            continue
        first_row[key] = row
        message = conflict(existing[key]) if key in existing else None
        if message:
            problems[row] = [RowProblem(row, key_field, key_label, key, message)]
    rejected = [p for row in sorted(problems) for p in problems[row]]
    if rejected and not accept_valid:
        raise BatchInvalid(rejected)
    valid = [(row, clean) for row, clean in rows if row not in problems]
    if dry_run:
        return ImportOutcome(written=len(valid), rejected=rejected)
    now = timezone.now()
    created, updated, audits = [], [], []
    for _row, clean in valid:
        key = clean.values.get(key_field)
        record = existing.get(key) if key else None
        if record is None:
            created.append(model(school=unit, region_path=unit.region_path, created_at=now, updated_at=now,
                                 **clean.values))
            continue
        before = snapshot(record)
        for name, value in clean.values.items():
            setattr(record, name, value)
        changes = diff_fields(before, snapshot(record), labels)
        if changes:
            record.updated_at = now
            updated.append(record)
            audits.append((AuditAction.UPDATE, record, changes))
    model.objects.bulk_create(created, batch_size=1000)
    if updated:
        model.objects.bulk_update(updated, [*schema.by_field, "updated_at"], batch_size=1000)
    audits = [(AuditAction.CREATE, r, _created(snapshot(r), labels)) for r in created] + audits
    for action in (AuditAction.CREATE, AuditAction.UPDATE):
        items = [(r.pk, label(r, unit), ch, unit.region_path, unit.pk) for a, r, ch in audits if a == action]
        if items:
            audit_many(actor=actor, action=action, object_type=object_type, items=items, note=source)
    feed_many(feed, [(feed_key(r), unit.region_path, unit.pk) for _a, r, _c in audits])
    return ImportOutcome(written=len(valid), rejected=rejected,
                         summary=f"新增 {len(created)}，更新 {len(updated)}，无变化 {len(valid) - len(created) - len(updated)}")


def import_buildings(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                     dry_run: bool, source: str, today: dt.date) -> ImportOutcome:
    def conflict(building: Building) -> str | None:
        if building.demolished_on is not None:
            return (f"建筑物编号「{building.number}」属于已于 {building.demolished_on.isoformat()} 拆除的"
                    f"「{building.name}」，新建筑物请使用新的编号")
        return None

    return _batch(actor=actor, unit=unit, rows=rows, accept_valid=accept_valid, dry_run=dry_run,
                  schema=BUILDING_SCHEMA, model=Building, key_field="number", key_label="建筑物编号",
                  conflict=conflict, label=_building_label, snapshot=building_snapshot, labels=BUILDING_LABELS,
                  object_type=BUILDING_TYPE, feed=BUILDING_FEED, feed_key=lambda b: _building_key(unit, b.number),
                  source=source)


def import_parcels(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                   dry_run: bool, source: str, today: dt.date) -> ImportOutcome:
    def conflict(parcel: LandParcel) -> str | None:
        if parcel.retired_on is not None:
            return f"土地证号「{parcel.certificate_number}」的地块「{parcel.name}」已于 {parcel.retired_on.isoformat()} 注销"
        return None

    return _batch(actor=actor, unit=unit, rows=rows, accept_valid=accept_valid, dry_run=dry_run,
                  schema=LAND_SCHEMA, model=LandParcel, key_field="certificate_number", key_label="土地证号",
                  conflict=conflict, label=_parcel_label, snapshot=parcel_snapshot, labels=LAND_LABELS,
                  object_type=LAND_TYPE, feed=LAND_FEED, feed_key=lambda p: str(p.pk), source=source)

"""Every write to land parcels and buildings: record forms, demolition, and spreadsheet batches.

Each service checks the actor's right (``EDIT_FACILITIES`` in a unit within reach), validates with the
same schema and rules as the import (``facilities.schema``), writes, and leaves its trace — audit with
field-level before/after, change feed, dirty mark — in the same transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.errors import (
    FieldProblem,
    NotPermitted,
    ProblemCollector,
    RecordInvalid,
    RowProblem,
)
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.core.models import WritePolicy
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
from eduplatform.imports.registry import (
    ImportOutcome,
    RowAction,
    RowOutcome,
    batch_rejected,
    other_unit_name,
    policy_problem,
    report_duplicates,
)
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, lock_unit_writes
from eduplatform.orgs.moves import hold_unit
from eduplatform.orgs.scope import Actor, require_unit_writer, unit_in_reach

BUILDING_TYPE, LAND_TYPE = "facilities.building", "facilities.parcel"
BUILDING_FEED, LAND_FEED = "building", "land_parcel"
WHAT = gettext_lazy("土地与校舍信息")
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
        raise NotPermitted(gettext("土地与校舍只能登记在学校（机构）名下"))


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
    record = gettext("建筑物「%(value)s」") % {"value": data.get('name') or data.get('number') or ''}
    if not clean.failed("number") and clean.values.get("number"):
        taken = _number_taken(school, clean.values["number"])
        if taken is not None:
            clean.add("number", clean.values["number"], gettext("本校已有建筑物编号「%(number)s」（%(name)s），请换一个编号") % {"number": taken.number, "name": taken.name})
    if not clean.ok:
        raise _invalid(record, clean, BUILDING_LABELS)
    hold_unit(school)
    building = Building(school=school, region_path=school.region_path, **clean.values)
    with unique_or_invalid(record, field="number", label=BUILDING_LABELS.get("number", gettext("建筑物编号")),
                           message=gettext("建筑物编号「%(number)s」已存在于%(name)s（刚由另一位用户登记），请换一个编号") % {"number": building.number, "name": school.name}):
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
    record = gettext("建筑物「%(name)s」") % {"name": building.name}
    if building.demolished_on is not None:
        raise RecordInvalid(record, [FieldProblem("demolished_on", "building.demolished",
                                                  gettext("该建筑物已于 %(isoformat)s 拆除，不能再修改") % {"isoformat": building.demolished_on.isoformat()})])
    clean = check_building(data, today=today or timezone.localdate())
    if not clean.failed("number") and clean.values.get("number"):
        taken = _number_taken(school, clean.values["number"], other_than=building.pk)
        if taken is not None:
            clean.add("number", clean.values["number"], gettext("本校已有建筑物编号「%(number)s」（%(name)s），请换一个编号") % {"number": taken.number, "name": taken.name})
    if not clean.ok:
        raise _invalid(record, clean, BUILDING_LABELS)
    before = building_snapshot(building)
    old_number = building.number
    for name, value in clean.values.items():
        setattr(building, name, value)
    changes = diff_fields(before, building_snapshot(building), BUILDING_LABELS)
    if not changes:
        return building
    building.updated_at = timezone.now()
    with unique_or_invalid(record, field="number", label=BUILDING_LABELS.get("number", gettext("建筑物编号")),
                           message=gettext("建筑物编号「%(number)s」已存在于%(name)s（刚由另一位用户登记），请换一个编号") % {"number": building.number, "name": school.name}):
        building.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type=BUILDING_TYPE, object_id=building.pk,
                  object_label=_building_label(building, school), changes=changes,
                  region_path=school.region_path, school_id=school.pk, feed_resource=BUILDING_FEED,
                  feed_key=_building_key(school, building.number), feed_previous_key=_building_key(school, old_number))
    _recheck_quality("facilities.building", building.pk)
    return building


@transaction.atomic
def demolish_building(*, actor: Actor, building: Building, on: dt.date | None, reason: str,
                      today: dt.date | None = None) -> Building:
    """拆除: the building leaves the totals; its record and history stay."""
    school = building.school
    _require_writer(actor, school)
    building = Building.objects.select_for_update().get(pk=building.pk)
    today = today or timezone.localdate()
    problems = ProblemCollector(gettext("建筑物「%(name)s」") % {"name": building.name})
    if building.demolished_on is not None:
        problems.add("on", "building.demolished", gettext("该建筑物已于 %(isoformat)s 拆除") % {"isoformat": building.demolished_on.isoformat()})
    if on is None:
        problems.add("on", "required", gettext("请填写拆除日期"), gettext("拆除日期"))
    elif on > today:
        problems.add("on", "date.future", gettext("拆除日期「%(isoformat)s」晚于今天，请在拆除后登记") % {"isoformat": on.isoformat()}, gettext("拆除日期"))
    elif on.year < building.built_year:
        problems.add("on", "date.before_built", gettext("拆除日期「%(isoformat)s」早于建成年份 %(built_year)s 年") % {"isoformat": on.isoformat(), "built_year": building.built_year}, gettext("拆除日期"))
    reason = (reason or "").strip()
    if not reason:
        problems.add("reason", "required", gettext("请填写拆除原因"), gettext("拆除原因"))
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
    _recheck_quality("facilities.building", building.pk)
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


def _check_name_free(school: Organization, clean: CleanRow, *, other_than: int | None = None) -> None:
    """A parcel in use is known by its name (坐落) when it has no certificate: two parcels in use
    of one school may not share it (the natural key of imports, ``one_parcel_in_use_per_name``)."""
    name = clean.values.get("name")
    if not name or clean.failed("name"):
        return
    qs = LandParcel.objects.filter(school=school, name=name, retired_on__isnull=True)
    if other_than is not None:
        qs = qs.exclude(pk=other_than)
    if qs.exists():
        clean.add("name", name, gettext("本校已有名为「%(name)s」的在用地块，请在名称中加以区分（如「%(name)s东区」）") % {"name": name})


def _parcel_key_guard(parcel: LandParcel, school: Organization):
    return unique_or_invalid(gettext("地块「%(name)s」") % {"name": parcel.name}, field="name", label=LAND_LABELS.get("name", gettext("地块名称")),
                             message=gettext("%(name)s的地块名称「%(name2)s」或土地证号刚被另一位用户同时登记，请核对后重新提交") % {"name": school.name, "name2": parcel.name})


@transaction.atomic
def create_parcel(*, actor: Actor, school: Organization, data: Mapping[str, Any],
                  today: dt.date | None = None) -> LandParcel:
    _require_writer(actor, school)
    clean = check_land(data, today=today or timezone.localdate())
    taken = _certificate_taken(school, clean.values.get("certificate_number") or "")
    if taken is not None:
        clean.add("certificate_number", taken.certificate_number, gettext("本校已登记土地证号「%(certificate_number)s」的地块（%(name)s）") % {"certificate_number": taken.certificate_number, "name": taken.name})
    _check_name_free(school, clean)
    if not clean.ok:
        raise _invalid(gettext("地块「%(value)s」") % {"value": data.get('name') or ''}, clean, LAND_LABELS)
    hold_unit(school)
    parcel = LandParcel(school=school, region_path=school.region_path, **clean.values)
    with _parcel_key_guard(parcel, school):
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
        raise RecordInvalid(gettext("地块「%(name)s」") % {"name": parcel.name}, [FieldProblem("retired_on", "parcel.retired",
                                                              gettext("该地块已于 %(isoformat)s 注销，不能再修改") % {"isoformat": parcel.retired_on.isoformat()})])
    clean = check_land(data, today=today or timezone.localdate())
    taken = _certificate_taken(school, clean.values.get("certificate_number") or "", other_than=parcel.pk)
    if taken is not None:
        clean.add("certificate_number", taken.certificate_number, gettext("本校已登记土地证号「%(certificate_number)s」的地块（%(name)s）") % {"certificate_number": taken.certificate_number, "name": taken.name})
    _check_name_free(school, clean, other_than=parcel.pk)
    if not clean.ok:
        raise _invalid(gettext("地块「%(name)s」") % {"name": parcel.name}, clean, LAND_LABELS)
    before = parcel_snapshot(parcel)
    for name, value in clean.values.items():
        setattr(parcel, name, value)
    changes = diff_fields(before, parcel_snapshot(parcel), LAND_LABELS)
    if not changes:
        return parcel
    parcel.updated_at = timezone.now()
    with _parcel_key_guard(parcel, school):
        parcel.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type=LAND_TYPE, object_id=parcel.pk,
                  object_label=_parcel_label(parcel, school), changes=changes, region_path=school.region_path,
                  school_id=school.pk, feed_resource=LAND_FEED, feed_key=str(parcel.pk))
    _recheck_quality("facilities.landparcel", parcel.pk)
    return parcel


@transaction.atomic
def retire_parcel(*, actor: Actor, parcel: LandParcel, on: dt.date | None, reason: str,
                  today: dt.date | None = None) -> LandParcel:
    """注销 (handed over, sold, taken for a road): out of the totals, kept with its history."""
    school = parcel.school
    _require_writer(actor, school)
    parcel = LandParcel.objects.select_for_update().get(pk=parcel.pk)
    today = today or timezone.localdate()
    problems = ProblemCollector(gettext("地块「%(name)s」") % {"name": parcel.name})
    if parcel.retired_on is not None:
        problems.add("on", "parcel.retired", gettext("该地块已于 %(isoformat)s 注销") % {"isoformat": parcel.retired_on.isoformat()})
    if on is None:
        problems.add("on", "required", gettext("请填写注销日期"), gettext("注销日期"))
    elif on > today:
        problems.add("on", "date.future", gettext("注销日期「%(isoformat)s」晚于今天") % {"isoformat": on.isoformat()}, gettext("注销日期"))
    reason = (reason or "").strip()
    if not reason:
        problems.add("reason", "required", gettext("请填写注销原因"), gettext("注销原因"))
    problems.raise_if_any()
    before = parcel_snapshot(parcel)
    parcel.retired_on, parcel.retired_reason, parcel.updated_at = on, reason[:200], timezone.now()
    parcel.save(update_fields=["retired_on", "retired_reason", "updated_at"])
    record_change(actor=actor, action=AuditAction.CLOSE, object_type=LAND_TYPE, object_id=parcel.pk,
                  object_label=_parcel_label(parcel, school),
                  changes=diff_fields(before, parcel_snapshot(parcel), LAND_LABELS), region_path=school.region_path,
                  school_id=school.pk, feed_resource=LAND_FEED, feed_key=str(parcel.pk), note=f"注销：{reason}"[:500])
    _recheck_quality("facilities.landparcel", parcel.pk)
    return parcel


# --------------------------------------------------------------------------------------------
# Spreadsheet batches (import kinds "buildings" and "land")


@dataclass
class _Planned:
    """A checked row and what it does: ``record`` is the existing record (None: a new one), ``after``
    the record as it will be saved."""

    row: int
    clean: CleanRow
    record: Any | None
    after: Any
    outcome: RowOutcome


def _plan(unit: Organization, row: int, clean: CleanRow, record: Any | None, *, model: type,
          snapshot: Callable[[Any], dict[str, Any]], labels: Mapping[str, str],
          describe: Callable[[Any], str]) -> _Planned:
    if record is None:
        after = model(school=unit, region_path=unit.region_path, **clean.values)
        return _Planned(row, clean, None, after, RowOutcome(row, RowAction.CREATE, describe(after)))
    after = copy.copy(record)
    for name, value in clean.values.items():
        setattr(after, name, value)
    changes = diff_fields(snapshot(record), snapshot(after), labels)
    action = RowAction.UPDATE if changes else RowAction.UNCHANGED
    return _Planned(row, clean, record, after, RowOutcome(row, action, describe(record), changes))


def _write_planned(*, actor: Actor, unit: Organization, planned: Sequence[_Planned], model: type, schema: RowSchema,
                   label: Callable[[Any, Organization], str], snapshot: Callable[[Any], dict[str, Any]],
                   labels: Mapping[str, str], object_type: str, feed: str, feed_key: Callable[[Any], str],
                   source: str) -> tuple[int, int]:
    """Create and update the planned rows with their audit and change-feed entries (and so the
    roll-up marks); unchanged rows are not touched, so a re-imported file leaves no trace."""
    now = timezone.now()
    created = [p.after for p in planned if p.outcome.action == RowAction.CREATE]
    updated = [p for p in planned if p.outcome.action == RowAction.UPDATE]
    for record in created:
        record.created_at = record.updated_at = now
    for p in updated:
        p.after.updated_at = now
    model.objects.bulk_create(created, batch_size=1000)
    if created and created[0].pk is None:  # backends that do not return keys from bulk inserts
        raise RuntimeError("bulk_create did not return primary keys")
    if updated:
        model.objects.bulk_update([p.after for p in updated], [*schema.by_field, "updated_at"], batch_size=1000)
    if created:
        audit_many(actor=actor, action=AuditAction.CREATE, object_type=object_type, note=source, items=[
            (r.pk, label(r, unit), _created(snapshot(r), labels), unit.region_path, unit.pk) for r in created])
    if updated:
        audit_many(actor=actor, action=AuditAction.UPDATE, object_type=object_type, note=source, items=[
            (p.after.pk, label(p.after, unit), p.outcome.changes, unit.region_path, unit.pk) for p in updated])
    changed = [*created, *(p.after for p in updated)]
    if changed:
        feed_many(feed, [(feed_key(r), unit.region_path, unit.pk) for r in changed])
    return len(created), len(updated)


def _finish_batch(*, problems: dict[int, list[RowProblem]], planned: list[_Planned], accept_valid: bool, dry_run: bool,
                  policy: str, key_field: str, key_label: str, write: Callable[[list[_Planned]], tuple[int, int]]
                  ) -> ImportOutcome:
    """The steps every facilities batch shares once each row's effect is planned: the write policy,
    all-or-nothing, the dry run, the write."""
    for p in planned:
        refused = policy_problem(policy, p.outcome, field_name=key_field, label=key_label,
                                 value=str(p.clean.values.get(key_field) or ""))
        if refused is not None:
            problems.setdefault(p.row, []).append(refused)
    rejected = [problem for row in sorted(problems) for problem in problems[row]]
    outcomes = [p.outcome for p in planned]
    if rejected and not accept_valid:
        raise batch_rejected(rejected, outcomes)
    valid = [p for p in planned if p.row not in problems]
    if dry_run:
        return ImportOutcome(written=0, rejected=rejected, rows=outcomes)
    created, updated = write(valid)
    return ImportOutcome(written=created + updated, rejected=rejected, rows=outcomes,
                         summary=f"新增 {created}，更新 {updated}，无变化 {len(valid) - created - updated}")


def import_buildings(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                     dry_run: bool, source: str, today: dt.date,
                     policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """Buildings by 建筑物编号 (unique within the school): a new number creates a building, a known
    one updates it field by field — as far as ``policy`` allows — and an identical row changes nothing."""
    _require_writer(actor, unit)
    problems: dict[int, list[RowProblem]] = {}
    for row, clean in rows:
        if clean.problems:
            problems[row] = BUILDING_SCHEMA.row_problems(row, clean)

    def number_of(clean: CleanRow) -> str:
        return "" if clean.failed("number") else (clean.values.get("number") or "")

    report_duplicates(rows, number_of, "number", gettext("建筑物编号"), problems)
    lock_unit_writes(unit)  # the look-up below and the write stay one step for this school
    numbers = {number_of(c) for row, c in rows if row not in problems and number_of(c)}
    existing = {b.number: b for b in Building.objects.select_for_update().filter(school=unit, number__in=numbers)}
    planned = []
    for row, clean in rows:
        if row in problems:
            continue
        building = existing.get(clean.values["number"])
        if building is not None and building.demolished_on is not None:
            problems[row] = [RowProblem(row, "number", gettext("建筑物编号"), building.number,
                                        gettext("建筑物编号「%(number)s」属于已于 %(date)s 拆除的「%(name)s」，新建筑物请使用新的编号") % {"number": building.number, "date": building.demolished_on.isoformat(), "name": building.name})]
            continue
        planned.append(_plan(unit, row, clean, building, model=Building, snapshot=building_snapshot,
                             labels=BUILDING_LABELS, describe=lambda b: gettext("建筑物「%(name)s」（编号 %(number)s）") % {"name": b.name, "number": b.number}))

    def write(valid: list[_Planned]) -> tuple[int, int]:
        return _write_planned(actor=actor, unit=unit, planned=valid, model=Building, schema=BUILDING_SCHEMA,
                              label=_building_label, snapshot=building_snapshot, labels=BUILDING_LABELS,
                              object_type=BUILDING_TYPE, feed=BUILDING_FEED,
                              feed_key=lambda b: _building_key(unit, b.number), source=source)

    return _finish_batch(problems=problems, planned=planned,
                         accept_valid=accept_valid, dry_run=dry_run, policy=policy, key_field="number",
                         key_label=gettext("建筑物编号"), write=write)


def import_parcels(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]], accept_valid: bool,
                   dry_run: bool, source: str, today: dt.date, policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """Land parcels by their natural key (docs/facilities.md): the 土地证号 (不动产权证号) when the row
    has one, otherwise the parcel's name (坐落) among the school's parcels in use. A certificate is
    one parcel of one school: a number another school holds is refused."""
    _require_writer(actor, unit)
    problems: dict[int, list[RowProblem]] = {}
    for row, clean in rows:
        if clean.problems:
            problems[row] = LAND_SCHEMA.row_problems(row, clean)

    def certificate_of(clean: CleanRow) -> str:
        return "" if clean.failed("certificate_number") else (clean.values.get("certificate_number") or "")

    def name_of(clean: CleanRow) -> str:
        return "" if clean.failed("name") else (clean.values.get("name") or "")

    report_duplicates(rows, certificate_of, "certificate_number", gettext("土地证号"), problems)
    report_duplicates(rows, name_of, "name", LAND_LABELS["name"], problems)
    checked = [(row, c) for row, c in rows if row not in problems]
    lock_unit_writes(unit)  # the look-up below and the write stay one step for this school
    certificates = {certificate_of(c) for _row, c in checked} - {""}
    names = {name_of(c) for _row, c in checked}
    ours = list(LandParcel.objects.select_for_update().filter(
        Q(certificate_number__in=certificates) | Q(name__in=names, retired_on__isnull=True), school=unit))
    by_certificate = {p.certificate_number: p for p in ours if p.certificate_number}
    by_name = {p.name: p for p in ours if p.retired_on is None}
    elsewhere = {p.certificate_number: p for p in LandParcel.objects.filter(certificate_number__in=certificates)
                 .exclude(school=unit).select_related("school")}
    planned = []
    for row, clean in checked:
        certificate, name = certificate_of(clean), name_of(clean)
        holder = elsewhere.get(certificate) if certificate else None
        if holder is not None:
            owner = other_unit_name(actor, holder.school_id, holder.school.name, holder.region_path)
            problems[row] = [RowProblem(row, "certificate_number", gettext("土地证号"), certificate,
                                        gettext("土地证号「%(certificate)s」已登记在%(owner)s名下，一宗土地只能属于一个单位；请核对证号") % {"certificate": certificate, "owner": owner})]
            continue
        parcel = by_certificate.get(certificate) if certificate else None
        namesake = by_name.get(name)
        if parcel is None and namesake is not None and (not certificate or not namesake.certificate_number):
            parcel = namesake  # the parcel known by its name (坐落); the row may add its certificate
        if parcel is not None and parcel.retired_on is not None:
            problems[row] = [RowProblem(row, "certificate_number", gettext("土地证号"), certificate,
                                        gettext("土地证号「%(certificate)s」的地块「%(name)s」已于 %(date)s 注销") % {"certificate": certificate, "name": parcel.name, "date": parcel.retired_on.isoformat()})]
            continue
        if namesake is not None and namesake != parcel:
            problems[row] = [RowProblem(row, "name", gettext(LAND_LABELS["name"]), name,
                                        gettext("本校已有名为「%(name)s」的地块（土地证号「%(certificate)s」），"
                                                "与本行不是同一宗地；请在名称中加以区分（如「%(name)s东区」）")
                                        % {"name": name, "certificate": namesake.certificate_number or gettext("无")})]
            continue
        planned.append(_plan(unit, row, clean, parcel, model=LandParcel, snapshot=parcel_snapshot, labels=LAND_LABELS,
                             describe=lambda p: gettext("地块「%(name)s」") % {"name": p.name} + (
                                 gettext("（土地证号 %(number)s）") % {"number": p.certificate_number}
                                 if p.certificate_number else "")))

    def write(valid: list[_Planned]) -> tuple[int, int]:
        return _write_planned(actor=actor, unit=unit, planned=valid, model=LandParcel, schema=LAND_SCHEMA,
                              label=_parcel_label, snapshot=parcel_snapshot, labels=LAND_LABELS,
                              object_type=LAND_TYPE, feed=LAND_FEED, feed_key=lambda p: str(p.pk), source=source)

    return _finish_batch(problems=problems, planned=planned,
                         accept_valid=accept_valid, dry_run=dry_run, policy=policy, key_field="certificate_number",
                         key_label=gettext("土地证号"), write=write)


def _recheck_quality(object_type: str, pk: int) -> None:
    """After the commit, the record's quality rules run again: a fixed record closes its issue."""
    from eduplatform.quality.issues import schedule_recheck

    schedule_recheck(object_type, [pk])

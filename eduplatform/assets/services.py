"""Writing the equipment register and the summary holdings. Every write checks permission and the
record's rules, changes the rows, then leaves its trace (audit with field-level before/after, change
feed, dirty mark) in the same transaction — and, for a register school, re-derives its summary
holdings from the register so the two can never disagree.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from eduplatform.assets import codes
from eduplatform.assets.models import AssetHoldings, Equipment, HoldingsSource
from eduplatform.assets.schema import (
    EQUIPMENT_COLUMNS,
    EQUIPMENT_SCHEMA,
    HOLDINGS_COLUMNS,
    HOLDINGS_FIGURES,
    HOLDINGS_SCHEMA,
    check_equipment,
    check_holdings,
)
from eduplatform.assets.summary import keeps_register, register_figures
from eduplatform.core.errors import (
    NotPermitted,
    ProblemCollector,
    RecordInvalid,
    RowProblem,
)
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.core.models import WritePolicy
from eduplatform.core.rows import CleanRow
from eduplatform.history.models import AuditAction
from eduplatform.history.services import audit_many, diff_fields, feed_many, record_change
from eduplatform.imports.registry import (
    ImportOutcome,
    RowAction,
    RowOutcome,
    batch_rejected,
    policy_problem,
    report_duplicates,
)
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, lock_unit_writes
from eduplatform.orgs.scope import Actor, require_unit_writer, unit_in_reach

EQUIPMENT_TYPE = "assets.equipment"
HOLDINGS_TYPE = "assets.holdings"
EQUIPMENT_FIELDS = tuple(c.field for c in EQUIPMENT_COLUMNS)
LABELS = {c.field: c.label for c in EQUIPMENT_COLUMNS} | {"for_teaching": gettext_noop("计入教学仪器设备")}
HOLDINGS_LABELS = {c.field: c.label for c in HOLDINGS_COLUMNS} | {"source": gettext_noop("数据来源")}
CODE_FIELDS = ("category", "funding_source", "acquisition_mode", "use_direction", "status")


# --------------------------------------------------------------------------------------------
# Permission


def can_write_assets(actor: Actor, unit: Organization) -> bool:
    return actor.can(capabilities.EDIT_ASSETS) and unit_in_reach(actor, unit)


def require_asset_writer(actor: Actor, school: Organization) -> None:
    require_unit_writer(actor, school, capabilities.EDIT_ASSETS, gettext("仪器设备与资产"))
    if not school.is_school:
        raise NotPermitted(gettext("仪器设备台账只能登记在学校名下"))
    if not school.is_open:
        raise NotPermitted(gettext("%(name)s已撤销，不能再登记仪器设备") % {"name": school.name})


# --------------------------------------------------------------------------------------------
# Audit values


def _audit_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a person reads them in the history: codes with their names."""
    out = dict(values)
    for name in CODE_FIELDS:
        if out.get(name):
            out[name] = f"{out[name]}-{EQUIPMENT_SCHEMA.code_name(name, out[name])}"
    if "for_teaching" in out:
        out["for_teaching"] = "是" if out["for_teaching"] else "否"
    return out


def _snapshot(item: Equipment) -> dict[str, Any]:
    return {name: getattr(item, name) for name in (*EQUIPMENT_FIELDS, "for_teaching")}


def _created(item: Equipment) -> dict[str, Any]:
    """A new line's filled fields, for its first history entry."""
    return {k: v for k, v in _audit_values(_snapshot(item)).items() if v not in (None, "")}


def _label(item: Equipment) -> str:
    return f"{item.name}（{item.asset_number}）"


def _problems_to_record(record: str, clean: CleanRow) -> RecordInvalid:
    collector = ProblemCollector(record)
    for field_name, _value, message in clean.problems:
        label = EQUIPMENT_SCHEMA.by_field[field_name].label if field_name in EQUIPMENT_SCHEMA.by_field else ""
        collector.add(field_name, "value.invalid", message, label)
    return RecordInvalid(record, collector.problems)


def _apply(item: Equipment, values: Mapping[str, Any]) -> None:
    for name in EQUIPMENT_FIELDS:
        setattr(item, name, values[name])
    item.for_teaching = codes.is_teaching_equipment(item.category, item.use_direction)


# --------------------------------------------------------------------------------------------
# One register line


@transaction.atomic
def create_equipment(*, actor: Actor, school: Organization, data: Mapping[str, Any],
                     today: dt.date | None = None) -> Equipment:
    """Register one line (form entry). ``data`` is raw text by column, as a form posts it."""
    require_asset_writer(actor, school)
    today = today or timezone.localdate()
    clean = check_equipment(dict(data), today=today)
    if not clean.failed("asset_number") and Equipment.objects.filter(
            school=school, asset_number=clean.values.get("asset_number")).exists():
        clean.add("asset_number", clean.values["asset_number"],
                  gettext("资产编号「%(asset_number)s」在本校已登记，请换一个编号或修改原记录") % {"asset_number": clean.values['asset_number']})
    if not clean.ok:
        raise _problems_to_record(gettext("仪器设备「%(value)s」") % {"value": clean.values.get('name') or data.get('name') or ''}, clean)
    lock_unit_writes(school)
    item = Equipment(school=school, region_path=school.region_path)
    _apply(item, clean.values)
    with unique_or_invalid(gettext("仪器设备「%(name)s」") % {"name": item.name}, field="asset_number", label=gettext("资产编号"),
                           message=gettext("资产编号「%(asset_number)s」已存在于%(name)s（刚由另一位用户登记），请换一个编号或修改原记录") % {"asset_number": item.asset_number, "name": school.name}):
        item.save()
    record_change(actor=actor, action=AuditAction.CREATE, object_type=EQUIPMENT_TYPE, object_id=item.pk,
                  object_label=_label(item), changes=diff_fields({}, _created(item), LABELS),
                  region_path=item.region_path, school_id=school.pk, feed_resource="equipment",
                  feed_key=f"{school.school_code}/{item.asset_number}")
    refresh_register_holdings(actor=actor, school=school, today=today)
    return item


@transaction.atomic
def update_equipment(*, actor: Actor, equipment: Equipment, data: Mapping[str, Any],
                     today: dt.date | None = None) -> Equipment:
    """Correct a line: every column is re-checked; the history keeps each changed field's before/after."""
    school = equipment.school
    require_asset_writer(actor, school)
    today = today or timezone.localdate()
    clean = check_equipment(dict(data), today=today)
    number = clean.values.get("asset_number")
    if number and number != equipment.asset_number and Equipment.objects.filter(
            school=school, asset_number=number).exists():
        clean.add("asset_number", number, gettext("资产编号「%(number)s」在本校已登记给另一件设备") % {"number": number})
    if not clean.ok:
        raise _problems_to_record(gettext("仪器设备「%(name)s」") % {"name": equipment.name}, clean)
    lock_unit_writes(school)
    item = Equipment.objects.select_for_update().get(pk=equipment.pk)
    before = _snapshot(item)
    old_key = f"{school.school_code}/{item.asset_number}"
    _apply(item, clean.values)
    changes = diff_fields(_audit_values(before), _audit_values(_snapshot(item)), LABELS)
    if not changes:
        return item
    item.updated_at = timezone.now()
    item.save()
    record_change(actor=actor, action=AuditAction.UPDATE, object_type=EQUIPMENT_TYPE, object_id=item.pk,
                  object_label=_label(item), changes=changes, region_path=item.region_path, school_id=school.pk,
                  feed_resource="equipment", feed_key=f"{school.school_code}/{item.asset_number}",
                  feed_previous_key=old_key)
    refresh_register_holdings(actor=actor, school=school, today=today)
    _recheck_quality("assets.equipment", item.pk)
    return item


@transaction.atomic
def dispose_equipment(*, actor: Actor, equipment: Equipment, status: str, on: dt.date | None, reason: str = "",
                      today: dt.date | None = None) -> Equipment:
    """Take a line off the books: 丢失, 报废 or 调出 on a date; it stays in the register as history."""
    school = equipment.school
    require_asset_writer(actor, school)
    today = today or timezone.localdate()
    item = Equipment.objects.select_for_update().get(pk=equipment.pk)
    collector = ProblemCollector(gettext("仪器设备「%(name)s」") % {"name": item.name})
    if item.disposed_on is not None:
        collector.add("status", "equipment.disposed", gettext("该设备已于 %(disposed_on)s 处置，不能重复处置") % {"disposed_on": format(item.disposed_on, '%Y-%m-%d')}, gettext("仪器现状"))
    if status not in codes.GONE_STATUSES:
        allowed = "、".join(f"{c}-{EQUIPMENT_SCHEMA.code_name('status', c)}" for c in sorted(codes.GONE_STATUSES))
        collector.add("status", "code.unknown", gettext("处置方式应为 %(allowed)s") % {"allowed": allowed}, gettext("仪器现状"))
    if on is None:
        collector.add("disposed_on", "required", gettext("请填写处置日期"), gettext("处置日期"))
    elif on > today:
        collector.add("disposed_on", "date.future", gettext("处置日期「%(on)s」晚于今天") % {"on": format(on, '%Y-%m-%d')}, gettext("处置日期"))
    elif on < item.purchased_on:
        collector.add("disposed_on", "date.order",
                      gettext("处置日期「%(on)s」早于购置日期「%(purchased_on)s」") % {"on": format(on, '%Y-%m-%d'), "purchased_on": format(item.purchased_on, '%Y-%m-%d')}, gettext("处置日期"))
    if len(reason) > 200:
        collector.add("disposal_reason", "text.long", gettext("处置说明过长（最多 200 个字）"), gettext("处置说明"))
    collector.raise_if_any()
    lock_unit_writes(school)
    before = _snapshot(item)
    item.status, item.disposed_on, item.disposal_reason = status, on, reason.strip()
    item.updated_at = timezone.now()
    item.save(update_fields=["status", "disposed_on", "disposal_reason", "updated_at"])
    record_change(actor=actor, action=AuditAction.CLOSE, object_type=EQUIPMENT_TYPE, object_id=item.pk,
                  object_label=_label(item),
                  changes=diff_fields(_audit_values(before), _audit_values(_snapshot(item)), LABELS),
                  region_path=item.region_path, school_id=school.pk, feed_resource="equipment",
                  feed_key=f"{school.school_code}/{item.asset_number}", note="设备处置")
    refresh_register_holdings(actor=actor, school=school, today=today)
    _recheck_quality("assets.equipment", item.pk)
    return item


# --------------------------------------------------------------------------------------------
# Import of register lines (import kind "equipment")


def check_equipment_row(raw: dict[str, Any], context: Any) -> CleanRow:
    return check_equipment(raw, today=context.today, memo=context.memo)


@transaction.atomic
def write_equipment_rows(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]],
                         accept_valid: bool, dry_run: bool, source: str, today: dt.date,
                         policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """A file of register lines for one school, by 资产编号 (unique within the school): a new number
    adds a line, a known one changes it field by field — as far as ``policy`` allows — and an
    identical row changes nothing (no history, no change feed, no re-derived summary).

    All or nothing: any row with a problem rejects the file (``BatchInvalid``) and nothing is written.
    Accept valid: exactly the rows without problems are written; the others are reported.
    """
    require_asset_writer(actor, unit)
    problems: dict[int, list[RowProblem]] = {}
    report_duplicates(rows, lambda clean: "" if clean.failed("asset_number") else (clean.values.get("asset_number") or ""),
                      "asset_number", gettext("资产编号"), problems)
    for row_number, clean in rows:
        if not clean.ok:
            problems.setdefault(row_number, []).extend(EQUIPMENT_SCHEMA.row_problems(row_number, clean))
    lock_unit_writes(unit)
    checked = [(row, clean.values) for row, clean in rows if row not in problems]
    existing = {e.asset_number: e for e in Equipment.objects.select_for_update().filter(
        school=unit, asset_number__in=[v["asset_number"] for _, v in checked])}
    planned: list[tuple[RowOutcome, Equipment, dict[str, Any]]] = []
    for row, values in checked:
        found = existing.get(values["asset_number"])
        item = copy.copy(found) if found is not None else Equipment(school=unit, region_path=unit.region_path)
        _apply(item, values)
        if found is None:
            outcome = RowOutcome(row, RowAction.CREATE, f"仪器设备「{item.name}」（资产编号 {item.asset_number}）")
            changes: dict[str, Any] = {}
        else:
            changes = diff_fields(_audit_values(_snapshot(found)), _audit_values(_snapshot(item)), LABELS)
            outcome = RowOutcome(row, RowAction.UPDATE if changes else RowAction.UNCHANGED,
                                 f"仪器设备「{found.name}」（资产编号 {found.asset_number}）", changes)
        refused = policy_problem(policy, outcome, field_name="asset_number", label=gettext("资产编号"), value=item.asset_number)
        if refused is not None:
            problems.setdefault(row, []).append(refused)
        planned.append((outcome, item, changes))
    rejected = [p for row in sorted(problems) for p in problems[row]]
    outcomes = [o for o, _i, _c in planned]
    if rejected and not accept_valid:
        raise batch_rejected(rejected, outcomes)
    if dry_run:
        return ImportOutcome(written=0, rejected=rejected, rows=outcomes)

    now = timezone.now()
    created = [i for o, i, _c in planned if o.row not in problems and o.action == RowAction.CREATE]
    updated = [(i, c) for o, i, c in planned if o.row not in problems and o.action == RowAction.UPDATE]
    for item in created:
        item.created_at = item.updated_at = now
    for item, _changes in updated:
        item.updated_at = now
    Equipment.objects.bulk_create(created, batch_size=1000)
    if updated:
        Equipment.objects.bulk_update([i for i, _ in updated], [*EQUIPMENT_FIELDS, "for_teaching", "updated_at"],
                                      batch_size=1000)
    if len(created) and created[0].pk is None:  # backends that do not return keys from bulk inserts
        created = list(Equipment.objects.filter(school=unit, asset_number__in=[i.asset_number for i in created]))
    audit_many(actor=actor, action=AuditAction.CREATE, object_type=EQUIPMENT_TYPE, note=source, items=(
        (i.pk, _label(i), diff_fields({}, _created(i), LABELS), i.region_path, unit.pk)
        for i in created))
    audit_many(actor=actor, action=AuditAction.UPDATE, object_type=EQUIPMENT_TYPE, note=source, items=(
        (i.pk, _label(i), changes, i.region_path, unit.pk) for i, changes in updated))
    if created or updated:
        feed_many("equipment", ((f"{unit.school_code}/{i.asset_number}", i.region_path, unit.pk)
                                for i in [*created, *(i for i, _ in updated)]))
        refresh_register_holdings(actor=actor, school=unit, today=today)
    unchanged = sum(1 for o in outcomes if o.row not in problems and o.action == RowAction.UNCHANGED)
    return ImportOutcome(written=len(created) + len(updated), rejected=rejected, rows=outcomes,
                         summary=f"新增 {len(created)}，更新 {len(updated)}，无变化 {unchanged}")


# --------------------------------------------------------------------------------------------
# Summary holdings


def _holdings_snapshot(h: AssetHoldings) -> dict[str, Any]:
    return {name: getattr(h, name) for name in (*HOLDINGS_FIGURES, "other_fixed_assets_value")} | {
        "source": h.get_source_display()}


def refresh_register_holdings(*, actor: Actor | None, school: Organization, today: dt.date) -> list[AssetHoldings]:
    """Re-derive a register school's holdings: the current statistical year and every year already
    derived from the register. Typed years before the register began are left as typed.

    Called by every register write, in its transaction.
    """
    if not keeps_register(school.pk):
        return []
    current = codes.statistical_year(today)
    years = set(AssetHoldings.objects.filter(school=school, source=HoldingsSource.REGISTER)
                .values_list("year", flat=True)) | {current}
    existing = {h.year: h for h in AssetHoldings.objects.select_for_update().filter(school=school, year__in=years)}
    out = []
    for year in sorted(years):
        figures = register_figures(school.pk, as_of=codes.census_date(year))
        holdings = existing.get(year) or AssetHoldings(school=school, region_path=school.region_path, year=year,
                                                       source=HoldingsSource.REGISTER)
        is_new = holdings.pk is None
        before = {} if is_new else _holdings_snapshot(holdings)
        # A typed year of the register's first year becomes derived: the register replaces the typed
        # figures; only the value of fixed assets outside the register stays typed.
        holdings.source = HoldingsSource.REGISTER
        holdings.books_volumes = figures.books_volumes
        holdings.computers_for_teaching = figures.computers_for_teaching
        holdings.multimedia_classrooms = figures.multimedia_classrooms
        holdings.teaching_equipment_value = figures.teaching_equipment_value
        holdings.fixed_asset_value = figures.register_value + holdings.other_fixed_assets_value
        changes = diff_fields(before, _holdings_snapshot(holdings), HOLDINGS_LABELS)
        if changes:
            holdings.updated_at = timezone.now()
            holdings.save()
            record_change(actor=actor, action=AuditAction.CREATE if is_new else AuditAction.UPDATE,
                          object_type=HOLDINGS_TYPE, object_id=holdings.pk,
                          object_label=f"{school.name} {year} 年度资产汇总", changes=changes,
                          region_path=school.region_path, school_id=school.pk, feed_resource="asset_holdings",
                          feed_key=f"{school.school_code}/{year}", note="由仪器设备台账重新汇总")
        out.append(holdings)
    return out


def _typed_problems(school: Organization, values: Mapping[str, Any], today: dt.date,
                    existing: AssetHoldings | None) -> list[tuple[str, str]]:
    """(field, message) for figures a register school may not type: the register gives them."""
    derived = (existing is not None and existing.source == HoldingsSource.REGISTER) or (
        values.get("year") == codes.statistical_year(today) and keeps_register(school.pk))
    if not derived:
        return []
    out = []
    for name in HOLDINGS_FIGURES:
        typed = values.get(name)
        if typed not in (None, 0) and (existing is None or typed != getattr(existing, name)):
            label = HOLDINGS_SCHEMA.by_field[name].label
            out.append((name, gettext("%(school)s已建立仪器设备台账，%(label)s由台账汇总，不能手工填写；"
                                      "请修改台账，或只填写“台账外固定资产值”") % {"school": school.name, "label": gettext(label)}))
    return out


def _typed_after(*, school: Organization, values: Mapping[str, Any], existing: AssetHoldings | None) -> AssetHoldings:
    """The holdings as the typed ``values`` make them (not saved; ``existing`` is left untouched)."""
    holdings = copy.copy(existing) if existing is not None else AssetHoldings(
        school=school, region_path=school.region_path, year=values["year"], source=HoldingsSource.TYPED)
    other = decimal.Decimal(values.get("other_fixed_assets_value") or 0)
    if holdings.source == HoldingsSource.TYPED:
        for name in HOLDINGS_FIGURES:
            setattr(holdings, name, values.get(name) or 0)
    else:
        # The register's share of the total is already in it: only the typed part changes.
        holdings.fixed_asset_value = holdings.fixed_asset_value - holdings.other_fixed_assets_value + other
    holdings.other_fixed_assets_value = other
    return holdings


def _typed_changes(existing: AssetHoldings | None, holdings: AssetHoldings) -> dict[str, Any]:
    return diff_fields({} if existing is None else _holdings_snapshot(existing), _holdings_snapshot(holdings),
                       HOLDINGS_LABELS)


def _save_typed(*, actor: Actor, school: Organization, values: Mapping[str, Any], today: dt.date,
                existing: AssetHoldings | None, note: str = "") -> AssetHoldings:
    holdings = _typed_after(school=school, values=values, existing=existing)
    changes = _typed_changes(existing, holdings)
    if existing is not None and not changes:
        return existing  # the same figures typed again: nothing to write, no history
    holdings.updated_at = timezone.now()
    holdings.save()
    record_change(actor=actor, action=AuditAction.CREATE if existing is None else AuditAction.UPDATE,
                  object_type=HOLDINGS_TYPE, object_id=holdings.pk,
                  object_label=f"{school.name} {holdings.year} 年度资产汇总", changes=changes,
                  region_path=school.region_path, school_id=school.pk, feed_resource="asset_holdings",
                  feed_key=f"{school.school_code}/{holdings.year}", note=note)
    return holdings


@transaction.atomic
def type_holdings(*, actor: Actor, school: Organization, data: Mapping[str, Any],
                  today: dt.date | None = None) -> AssetHoldings:
    """A school's summary for one year, typed (form). A register school types only 台账外固定资产值."""
    require_asset_writer(actor, school)
    today = today or timezone.localdate()
    clean = check_holdings({**data, "school_code": ""}, today=today)
    existing = None
    if clean.values.get("year") is not None and not clean.failed("year"):
        existing = AssetHoldings.objects.select_for_update().filter(school=school, year=clean.values["year"]).first()
        for name, message in _typed_problems(school, clean.values, today, existing):
            clean.add(name, clean.values.get(name), message)
    if not clean.ok:
        collector = ProblemCollector(gettext("%(name)s资产汇总") % {"name": school.name})
        for field_name, _value, message in clean.problems:
            collector.add(field_name, "value.invalid", message, HOLDINGS_SCHEMA.by_field[field_name].label)
        collector.raise_if_any()
    lock_unit_writes(school)
    return _save_typed(actor=actor, school=school, values=clean.values, today=today, existing=existing)


def check_holdings_row(raw: dict[str, Any], context: Any) -> CleanRow:
    return check_holdings(raw, today=context.today, memo=context.memo)


def _schools_for(unit: Organization, codes_wanted: set[str]) -> dict[str, Organization]:
    if unit.is_school:
        return {unit.school_code: unit}
    return {s.school_code: s for s in Organization.objects.filter(
        kind=OrgKind.SCHOOL, school_code__in=codes_wanted, region_path__startswith=unit.region_path)}


@transaction.atomic
def write_holdings_rows(*, actor: Actor, unit: Organization, rows: Sequence[tuple[int, CleanRow]],
                        accept_valid: bool, dry_run: bool, source: str, today: dt.date,
                        policy: str = WritePolicy.CREATE_ONLY) -> ImportOutcome:
    """Typed summaries, one row per school and year: a school imports its own, a county bureau its
    schools'. A school and year already summarised is changed only as ``policy`` allows."""
    if not can_write_assets(actor, unit):
        raise NotPermitted(gettext("您无权向%(name)s导入资产汇总") % {"name": unit.name})
    schools = _schools_for(unit, {c.values.get("school_code") for _, c in rows if c.values.get("school_code")})
    existing = {(h.school_id, h.year): h for h in AssetHoldings.objects.select_for_update().filter(
        school__in=list(schools.values()))}
    keyed: dict[int, tuple[Organization, int]] = {}
    rows_of: dict[tuple[int, int], list[int]] = {}
    for row_number, clean in rows:
        code = clean.values.get("school_code") or (unit.school_code if unit.is_school else "")
        school = schools.get(code) if code else None
        if not code:
            clean.add("school_code", "", gettext("学校标识码为必填项（县区教育局导入时须指明学校）"))
        elif school is None:
            clean.add("school_code", code, gettext("学校标识码「%(code)s」不是%(name)s管辖的学校") % {"code": code, "name": unit.name})
        elif not school.is_open:
            clean.add("school_code", code, gettext("%(name)s已撤销，不能再填报资产汇总") % {"name": school.name})
        year = clean.values.get("year")
        if school is not None and year is not None and not clean.failed("year"):
            keyed[row_number] = (school, year)
            rows_of.setdefault((school.pk, year), []).append(row_number)
            for name, message in _typed_problems(school, clean.values, today, existing.get((school.pk, year))):
                clean.add(name, clean.values.get(name), message)
    for row_number, clean in rows:
        # A school and year on several rows is reported on each of them, whatever else is wrong.
        if row_number in keyed:
            school, year = keyed[row_number]
            where = rows_of[(school.pk, year)]
            if len(where) > 1:
                others = "、".join(str(r) for r in where if r != row_number)
                clean.add("year", year, gettext("%(name)s %(year)s 年度在本文件中出现了多次（另见第 %(others)s 行）") % {"name": school.name, "year": year, "others": others})
    problems: list[RowProblem] = []
    planned: list[tuple[RowOutcome, Organization, dict[str, Any], AssetHoldings | None]] = []
    for row_number, clean in rows:
        if not clean.ok:
            problems.extend(HOLDINGS_SCHEMA.row_problems(row_number, clean))
            continue
        school, year = keyed[row_number]
        found = existing.get((school.pk, year))
        record = gettext("%(school)s %(year)s 年度资产汇总") % {"school": school.name, "year": year}
        if found is None:
            outcome = RowOutcome(row_number, RowAction.CREATE, record)
        else:
            changes = _typed_changes(found, _typed_after(school=school, values=clean.values, existing=found))
            outcome = RowOutcome(row_number, RowAction.UPDATE if changes else RowAction.UNCHANGED, record, changes)
        refused = policy_problem(policy, outcome, field_name="year", label=gettext("统计年度"), value=str(year))
        if refused is not None:
            problems.append(refused)
        planned.append((outcome, school, clean.values, found))
    problems.sort(key=lambda p: p.row)
    outcomes = [o for o, *_ in planned]
    if problems and not accept_valid:
        raise batch_rejected(problems, outcomes)
    if dry_run:
        return ImportOutcome(written=0, rejected=problems, rows=outcomes)
    bad = {p.row for p in problems}
    written = 0
    for outcome, school, values, found in planned:
        if outcome.row not in bad and outcome.action != RowAction.UNCHANGED:
            _save_typed(actor=actor, school=school, values=values, today=today, existing=found, note=source)
            written += 1
    return ImportOutcome(written=written, rejected=problems, rows=outcomes)


def _recheck_quality(object_type: str, pk: int) -> None:
    """After the commit, the record's quality rules run again: a fixed record closes its issue."""
    from eduplatform.quality.issues import schedule_recheck

    schedule_recheck(object_type, [pk])

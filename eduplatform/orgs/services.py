"""Every write to regions and organizations: validate → change → audit → change feed → dirty mark.

Services take the acting user (or API client) as ``actor``, check its capability and jurisdiction,
collect every problem with the input before writing anything, and run in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from eduplatform.core.errors import NotPermitted, OutOfScope, ProblemCollector, RecordInvalid
from eduplatform.core.integrity import unique_or_invalid
from eduplatform.history.models import AuditAction
from eduplatform.history.services import audit_many, diff_fields, feed_many, record_change
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import (
    Organization,
    OrganizationVersion,
    OrgKind,
    Region,
    RegionLevel,
    RegionVersion,
)
from eduplatform.orgs.moves import move_unit_records
from eduplatform.orgs.scope import Actor, path_in_scope, scoped, unit_in_reach
from eduplatform.orgs.stages import mask_from_source
from eduplatform.standards import codebook
from eduplatform.standards.validators import IdentifierError, validate_school_code

# Field → Chinese label, in the order of 基础基111; forms, audit entries and templates use it (marked with
# gettext_noop: audit entries store the Chinese, what is shown is translated with gettext).
SCHOOL_FIELD_LABELS: dict[str, str] = {
    "school_code": gettext_noop("学校标识码"),
    "name": gettext_noop("学校名称"),
    "school_type_code": gettext_noop("办学类型"),
    "sponsor_code": gettext_noop("举办者"),
    "urban_rural_code": gettext_noop("城乡分类"),
    "town_code": gettext_noop("所在乡镇（街道）"),
    "address": gettext_noop("地址"),
    "longitude": gettext_noop("经度"),
    "latitude": gettext_noop("纬度"),
    "principal_name": gettext_noop("校长（负责人）"),
    "phone": gettext_noop("联系电话"),
    "website": gettext_noop("网址"),
    "founded_on": gettext_noop("建校日期"),
    "is_open": gettext_noop("办学状态"),
    "closed_on": gettext_noop("撤销日期"),
    "closed_reason": gettext_noop("撤销原因"),
}
# Facts whose change is dated (a school moving town, changing type): they open a new version.
VERSIONED_FIELDS = ("name", "region", "school_type_code", "sponsor_code", "urban_rural_code", "is_open")
CONTACT_FIELDS = ("address", "longitude", "latitude", "principal_name", "phone", "website")

# Guangdong's bounding box (from gd_cities.geojson, rounded outwards).
LONGITUDE_RANGE = (Decimal("109.6"), Decimal("117.4"))
LATITUDE_RANGE = (Decimal("20.2"), Decimal("25.6"))
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PHONE = re.compile(r"^[0-9\-+() ]{7,20}$")


def school_snapshot(school: Organization) -> dict[str, Any]:
    """The school's fields as the audit log shows them (codes with their names)."""
    return {
        "school_code": school.school_code,
        "name": school.name,
        "school_type_code": _coded("school_type", school.school_type_code),
        "sponsor_code": _coded("sponsor", school.sponsor_code),
        "urban_rural_code": _coded("urban_rural", school.urban_rural_code),
        "town_code": f"{school.region.code} {school.region.name}",
        "address": school.address,
        "longitude": school.longitude,
        "latitude": school.latitude,
        "principal_name": school.principal_name,
        "phone": school.phone,
        "website": school.website,
        "founded_on": school.founded_on,
        "is_open": "办学中" if school.is_open else "已撤销",
        "closed_on": school.closed_on,
        "closed_reason": school.closed_reason,
    }


def _coded(table: str, code: str) -> str:
    return f"{code} {codebook.code_name(table, code)}" if code else ""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _parse_decimal(
    problems: ProblemCollector, data: Mapping[str, Any], key: str, bounds: tuple[Decimal, Decimal]
) -> Decimal | None:
    raw = _text(data, key)
    if not raw:
        return None
    label = gettext(SCHOOL_FIELD_LABELS[key])
    try:
        value = Decimal(raw)
    except InvalidOperation:
        problems.add(key, "number.invalid", gettext("%(label)s「%(raw)s」不是数字") % {"label": label, "raw": raw}, label)
        return None
    if not bounds[0] <= value <= bounds[1]:
        problems.add(
            key,
            "number.range",
            gettext("%(label)s「%(raw)s」超出广东省范围，应在 %(value)s 至 %(value2)s 之间") % {"label": label, "raw": raw, "value": bounds[0], "value2": bounds[1]},
            label,
        )
        return None
    return value.quantize(Decimal("0.000001"))


def parse_date(problems: ProblemCollector, data: Mapping[str, Any], key: str, label: str) -> dt.date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        parsed = value
    else:
        raw = str(value).strip()
        try:
            parsed = dt.date.fromisoformat(raw.replace("/", "-").replace(".", "-"))
        except ValueError:
            problems.add(key, "date.invalid", gettext("%(label)s「%(raw)s」不是有效日期，应为 YYYY-MM-DD 格式") % {"label": label, "raw": raw}, label)
            return None
    if parsed > timezone.localdate():
        problems.add(key, "date.future", gettext("%(label)s「%(parsed)s」不能晚于今天") % {"label": label, "parsed": format(parsed, '%Y-%m-%d')}, label)
        return None
    return parsed


def _require_school_rights(actor: Actor, school: Organization | None, fields: set[str]) -> None:
    if actor.can(capabilities.MANAGE_SCHOOLS):
        return
    own = school is not None and actor.organization_id == school.pk
    if own and actor.can(capabilities.EDIT_OWN_SCHOOL) and fields <= set(CONTACT_FIELDS):
        return
    raise NotPermitted(gettext("您的角色无权修改学校的这些信息") if own else gettext("您的角色无权新增或修改学校"))


class SchoolLookups:
    """The database facts a school check needs, one query each; a bulk import preloads them."""

    def town(self, code: str) -> Region | None:
        return Region.objects.filter(code=code, level=RegionLevel.TOWN).first()

    def holder_of(self, school_code: str, except_pk: int | None) -> Organization | None:
        return Organization.objects.filter(school_code=school_code).exclude(pk=except_pk).first()


class PreloadedSchoolLookups(SchoolLookups):
    """All towns and every school code already taken, loaded once for thousands of rows."""

    def __init__(self) -> None:
        self.towns = {t.code: t for t in Region.objects.filter(level=RegionLevel.TOWN)}
        self.taken = {o.school_code: o for o in Organization.objects.filter(school_code__isnull=False).only(
            "school_code", "name", "kind", "region_path", "stage_mask")}

    def town(self, code: str) -> Region | None:
        return self.towns.get(code)

    def holder_of(self, school_code: str, except_pk: int | None) -> Organization | None:
        return self.taken.get(school_code)


def _clean_school(
    *,
    actor: Actor | None,
    data: Mapping[str, Any],
    problems: ProblemCollector,
    current: Organization | None,
    lookups: SchoolLookups | None = None,
) -> dict[str, Any]:
    """Check the given fields of a school; return model values for those that are valid."""
    lookups = lookups or SchoolLookups()
    clean: dict[str, Any] = {}
    given = set(data)

    if "school_code" in given:
        raw = _text(data, "school_code")
        try:
            code = validate_school_code(raw)
        except IdentifierError as err:
            problems.add("school_code", err.code, err.message, gettext("学校标识码"))
        else:
            holder = lookups.holder_of(code, getattr(current, "pk", None))
            if holder is not None:
                # A school outside the actor's jurisdiction is not named: its existence is all it learns.
                named = f"「{holder.name}」" if actor is None or unit_in_reach(actor, holder) else gettext("管辖范围外的学校")
                problems.add(
                    "school_code",
                    "school_code.duplicate",
                    gettext("学校标识码「%(code)s」已被%(named)s使用，标识码全国唯一、不可重复") % {"code": code, "named": named},
                    gettext("学校标识码"),
                )
            clean["school_code"] = code

    if "name" in given:
        name = _text(data, "name")
        if not name:
            problems.add("name", "required", gettext("学校名称不能为空"), gettext("学校名称"))
        elif len(name) > 200:
            problems.add("name", "too_long", gettext("学校名称不能超过200个字"), gettext("学校名称"))
        clean["name"] = name

    for key, table, leaf in (
        ("school_type_code", "school_type", True),
        ("sponsor_code", "sponsor", False),
        ("urban_rural_code", "urban_rural", True),
    ):
        if key in given:
            value = _text(data, key)
            codebook.check_code(
                problems, field=key, label=gettext(SCHOOL_FIELD_LABELS[key]), table_key=table, value=value, leaf_only=leaf
            )
            clean[key] = value
    if "sponsor_code" in clean and clean["sponsor_code"] in {"8/9", "1/2"}:
        problems.add("sponsor_code", "code.heading", gettext("举办者须选具体代码，不能选分组标题"), gettext("举办者"))

    if "town_code" in given:
        town_code = _text(data, "town_code")
        town = lookups.town(town_code) if town_code else None
        label = gettext(SCHOOL_FIELD_LABELS["town_code"])
        if not town_code:
            problems.add("town_code", "required", gettext("%(label)s不能为空") % {"label": label}, label)
        elif town is None:
            problems.add("town_code", "region.unknown", gettext("%(label)s「%(town_code)s」不存在，请填写12位乡镇（街道）区划代码") % {"label": label, "town_code": town_code}, label)
        elif not town.is_active:
            problems.add("town_code", "region.abolished", gettext("%(label)s「%(name)s」已于 %(abolished_on)s 撤销") % {"label": label, "name": town.name, "abolished_on": town.abolished_on}, label)
        elif actor is not None and not path_in_scope(actor, town.path):
            problems.add(
                "town_code",
                "scope.outside",
                gettext("%(label)s「%(name)s」不在您的管辖范围内，只能在本辖区内设置学校") % {"label": label, "name": town.name},
                label,
            )
        else:
            clean["region"] = town

    if "address" in given:
        address = _text(data, "address")
        if len(_CJK.findall(address)) < 6:
            problems.add("address", "address.too_short", gettext("地址至少应包含6个汉字（填到街道门牌）"), gettext("地址"))
        clean["address"] = address
    if "longitude" in given:
        clean["longitude"] = _parse_decimal(problems, data, "longitude", LONGITUDE_RANGE)
    if "latitude" in given:
        clean["latitude"] = _parse_decimal(problems, data, "latitude", LATITUDE_RANGE)
    for key, limit in (("principal_name", 50), ("website", 200)):
        if key in given:
            value = _text(data, key)
            if len(value) > limit:
                problems.add(key, "too_long", gettext("%(value)s不能超过%(limit)s个字符") % {"value": gettext(SCHOOL_FIELD_LABELS[key]), "limit": limit}, gettext(SCHOOL_FIELD_LABELS[key]))
            clean[key] = value
    if "phone" in given:
        phone = _text(data, "phone")
        if phone and not _PHONE.match(phone):
            problems.add("phone", "phone.invalid", gettext("联系电话「%(phone)s」格式不正确，只能包含数字和“-”") % {"phone": phone}, gettext("联系电话"))
        clean["phone"] = phone
    if "founded_on" in given:
        clean["founded_on"] = parse_date(problems, data, "founded_on", gettext("建校日期"))
    return clean


def _open_version(org: Organization, valid_from: dt.date | None, reason: str) -> None:
    OrganizationVersion.objects.create(
        organization=org,
        valid_from=valid_from,
        name=org.name,
        region=org.region,
        region_path=org.region_path,
        school_type_code=org.school_type_code,
        sponsor_code=org.sponsor_code,
        urban_rural_code=org.urban_rural_code,
        is_open=org.is_open,
        reason=reason,
    )


def _split_version(org: Organization, effective_on: dt.date, reason: str, problems: ProblemCollector) -> None:
    current = org.versions.filter(valid_to__isnull=True).first()
    if current is not None and current.valid_from and effective_on < current.valid_from:
        problems.add(
            "effective_on",
            "date.before_version",
            gettext("生效日期不能早于上一次变更的生效日期 %(valid_from)s") % {"valid_from": format(current.valid_from, '%Y-%m-%d')},
            gettext("生效日期"),
        )
        problems.raise_if_any()
    if current is not None:
        if current.valid_from == effective_on:
            current.delete()  # a second change on the same day replaces that day's version
        else:
            current.valid_to = effective_on
            current.save(update_fields=["valid_to"])
    _open_version(org, effective_on, reason)


@transaction.atomic
def create_school(*, actor: Actor, data: Mapping[str, Any], opened_on: dt.date | None = None) -> Organization:
    """Register a school (基础基111) in a town inside the actor's jurisdiction."""
    _require_school_rights(actor, None, set(data))
    problems = ProblemCollector(gettext("学校「%(value)s」") % {"value": _text(data, 'name') or _text(data, 'school_code')})
    full = {key: data.get(key) for key in SCHOOL_FIELD_LABELS if key not in {"is_open", "closed_on", "closed_reason"}}
    clean = _clean_school(actor=actor, data=full, problems=problems, current=None)
    problems.raise_if_any()
    town: Region = clean.pop("region")
    school = Organization(
        kind=OrgKind.SCHOOL,
        region=town,
        region_path=town.path,
        parent=supervising_bureau(town),
        stage_mask=mask_from_source(codebook.extras_of("school_type")[clean["school_type_code"]].get("stages", "")),
        **clean,
    )
    with unique_or_invalid(problems.record, field="school_code", label=gettext("学校标识码"),
                           message=gettext("学校标识码「%(school_code)s」已被另一所学校使用（刚由另一位用户登记）") % {"school_code": school.school_code}):
        school.save()
    _open_version(school, opened_on or school.founded_on, "新设")
    record_change(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="orgs.school",
        object_id=school.pk,
        object_label=f"{school.name}（{school.school_code}）",
        changes=diff_fields({}, school_snapshot(school), SCHOOL_FIELD_LABELS),
        region_path=school.region_path,
        school_id=school.pk,
        feed_resource="school",
        feed_key=school.school_code,
    )
    return school


@transaction.atomic
def update_school(
    *,
    actor: Actor,
    school: Organization,
    data: Mapping[str, Any],
    effective_on: dt.date | None = None,
    reason: str = "",
) -> Organization:
    """Change a school's fields; a change of name, town, type, sponsor or urban-rural class is dated."""
    _require_visible(actor, school)
    _require_school_rights(actor, school, set(data))
    school = Organization.objects.select_for_update().get(pk=school.pk)
    before = school_snapshot(school)
    problems = ProblemCollector(gettext("学校「%(name)s」") % {"name": school.name})
    clean = _clean_school(actor=actor, data=data, problems=problems, current=school)
    problems.raise_if_any()
    versioned_before = {f: getattr(school, f) for f in VERSIONED_FIELDS}
    before_path = school.region_path
    for key, value in clean.items():
        setattr(school, key, value)
    moved = "region" in clean and school.region.path != before_path
    if "region" in clean:
        school.region_path = school.region.path
        school.parent = supervising_bureau(school.region)
    if "school_type_code" in clean:
        school.school_type_code = clean["school_type_code"]
        school.stage_mask = mask_from_source(
            codebook.extras_of("school_type")[school.school_type_code].get("stages", "")
        )
    changes = diff_fields(before, school_snapshot(school), SCHOOL_FIELD_LABELS)
    if not changes:
        return school
    school.save()
    if moved:  # its students, staff, buildings … follow it into the new town (orgs/moves.py)
        move_unit_records([school.pk])
    if any(getattr(school, f) != versioned_before[f] for f in VERSIONED_FIELDS):
        _split_version(school, effective_on or timezone.localdate(), reason or "信息变更", problems)
    record_change(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="orgs.school",
        object_id=school.pk,
        object_label=f"{school.name}（{school.school_code}）",
        changes=changes,
        region_path=school.region_path,
        school_id=school.pk,
        feed_resource="school",
        feed_key=school.school_code,
        feed_previous_key=before.get("school_code"),
        note=reason,
    )
    return school


@transaction.atomic
def close_school(*, actor: Actor, school: Organization, closed_on: Any, reason: str) -> Organization:
    """Close (撤销) a school from a date; its records and history stay."""
    _require_visible(actor, school)
    if not actor.can(capabilities.MANAGE_SCHOOLS):
        raise NotPermitted(gettext("只有教育行政部门可以撤销学校"))
    problems = ProblemCollector(gettext("学校「%(name)s」") % {"name": school.name})
    day = parse_date(problems, {"closed_on": closed_on}, "closed_on", gettext("撤销日期"))
    if day is None and not problems.has("closed_on"):
        problems.add("closed_on", "required", gettext("撤销日期不能为空"), gettext("撤销日期"))
    if not (reason or "").strip():
        problems.add("closed_reason", "required", gettext("撤销原因不能为空"), gettext("撤销原因"))
    # Locked, then checked: of two closures sent at once the second waits, then finds the school closed.
    school = Organization.objects.select_for_update().get(pk=school.pk)
    if not school.is_open:
        problems.add("is_open", "already_closed", gettext("该学校已于 %(closed_on)s 撤销，无需重复操作") % {"closed_on": school.closed_on}, gettext("办学状态"))
    problems.raise_if_any()
    before = school_snapshot(school)
    school.is_open, school.closed_on, school.closed_reason = False, day, reason.strip()
    school.save()
    _split_version(school, day, reason.strip(), problems)
    record_change(
        actor=actor,
        action=AuditAction.CLOSE,
        object_type="orgs.school",
        object_id=school.pk,
        object_label=f"{school.name}（{school.school_code}）",
        changes=diff_fields(before, school_snapshot(school), SCHOOL_FIELD_LABELS),
        region_path=school.region_path,
        school_id=school.pk,
        feed_resource="school",
        feed_key=school.school_code,
        note=reason,
    )
    return school


def _require_visible(actor: Actor, org: Organization) -> None:
    """Writes use the same scope filter as reads: a record the actor cannot read, it cannot change."""
    if not scoped(Organization.objects.filter(pk=org.pk), actor, with_focus=False).exists():
        raise OutOfScope()


def supervising_bureau(region: Region) -> Organization | None:
    """The nearest education bureau (or the department) above a place: a school's 主管部门."""
    node: Region | None = region
    while node is not None:
        bureau = Organization.objects.filter(
            region=node, kind__in=[OrgKind.BUREAU, OrgKind.DEPARTMENT], is_open=True
        ).first()
        if bureau is not None:
            return bureau
        node = node.parent
    return None


@transaction.atomic
def create_authority(
    *, actor: Actor | None, kind: str, name: str, region: Region, parent: Organization | None = None
) -> Organization:
    """An education department, one of its divisions (处室), or a city/county bureau.

    Called by set-up commands (actor None = the system) and by system administrators.
    """
    if actor is not None and not actor.can(capabilities.MANAGE_REGIONS):
        raise NotPermitted()
    org = Organization.objects.create(kind=kind, name=name, region=region, region_path=region.path, parent=parent)
    _open_version(org, None, "设立")
    record_change(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="orgs.organization",
        object_id=org.pk,
        object_label=name,
        changes=diff_fields({}, {"name": name, "kind": org.get_kind_display(), "region": region.name}, {}),
        region_path=region.path,
    )
    return org


@transaction.atomic
def rename_region(*, actor: Actor, region: Region, new_name: str, effective_on: dt.date, reason: str) -> Region:
    """A division renamed from a date (e.g. a county becoming a district); history keeps the old name."""
    if not actor.can(capabilities.MANAGE_REGIONS):
        raise NotPermitted()
    problems = ProblemCollector(gettext("区划「%(name)s」") % {"name": region.name})
    if not new_name.strip():
        problems.add("name", "required", gettext("新名称不能为空"), gettext("名称"))
    problems.raise_if_any()
    old = region.name
    _close_region_version(region, effective_on)
    region.name = new_name.strip()
    region.save(update_fields=["name", "updated_at"])
    RegionVersion.objects.create(
        region=region, name=region.name, parent=region.parent, path=region.path, valid_from=effective_on, reason=reason
    )
    record_change(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="orgs.region",
        object_id=region.code,
        object_label=region.name,
        changes={"name": {"label": "名称", "before": old, "after": region.name}},
        region_path=region.path,
        feed_resource="region",
        feed_key=region.code,
        note=reason,
    )
    return region


@transaction.atomic
def merge_region(*, actor: Actor, source: Region, target: Region, effective_on: dt.date, reason: str) -> Region:
    """Merge ``source`` into ``target`` (same level): its towns and schools move, it is abolished."""
    if not actor.can(capabilities.MANAGE_REGIONS):
        raise NotPermitted()
    problems = ProblemCollector(gettext("区划「%(name)s」") % {"name": source.name})
    # Both regions locked (in key order), then checked: a merge sent twice moves the paths once — the
    # second waits, then finds the source abolished.
    locked = {r.pk: r for r in Region.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    source, target = locked.get(source.pk, source), locked.get(target.pk, target)
    if source.level != target.level or source.pk == target.pk:
        problems.add("target", "region.level", gettext("只能并入同级的另一个区划"), gettext("并入区划"))
    if not source.is_active or not target.is_active:
        problems.add("target", "region.abolished", gettext("已撤销的区划不能合并"), gettext("并入区划"))
    problems.raise_if_any()
    old_prefix, start = source.path, len(source.path) + 1
    children = list(source.children.all())
    # Every region and organization below the source gets the target's path in front.
    descendants = Region.objects.filter(path__startswith=old_prefix).exclude(pk=source.pk)
    moved_orgs = list(Organization.objects.filter(region_path__startswith=old_prefix).exclude(region=source))
    for child in children:
        _close_region_version(child, effective_on)
    descendants.update(path=Concat(Value(target.path), Substr("path", start, Length("path"))))
    Region.objects.filter(pk__in=[c.pk for c in children]).update(parent=target)
    Organization.objects.filter(pk__in=[o.pk for o in moved_orgs]).update(
        region_path=Concat(Value(target.path), Substr("region_path", start, Length("region_path")))
    )
    for child in Region.objects.filter(pk__in=[c.pk for c in children]):
        RegionVersion.objects.create(
            region=child, name=child.name, parent=target, path=child.path, valid_from=effective_on, reason=reason
        )
    moved = list(Organization.objects.filter(pk__in=[o.pk for o in moved_orgs]))
    move_unit_records([o.pk for o in moved])  # their records follow them (orgs/moves.py)
    for org in moved:
        _split_version(org, effective_on, reason, problems)
    feed_many("school", [(o.school_code, o.region_path, o.pk) for o in moved if o.is_school])
    # The source's own bureau closes with it.
    for bureau in Organization.objects.filter(region=source, is_open=True):
        bureau.is_open, bureau.closed_on, bureau.closed_reason = False, effective_on, reason
        bureau.save()
        _split_version(bureau, effective_on, reason, problems)
    _close_region_version(source, effective_on)
    source.abolished_on = effective_on
    source.save(update_fields=["abolished_on", "updated_at"])
    record_change(
        actor=actor,
        action=AuditAction.CLOSE,
        object_type="orgs.region",
        object_id=source.code,
        object_label=source.name,
        changes={"merged_into": {"label": "并入", "before": "", "after": f"{target.code} {target.name}"}},
        region_path=target.path,
        feed_resource="region",
        feed_key=source.code,
        note=f"{reason}（迁移下级区划 {len(children)} 个、机构 {len(moved_orgs)} 个）",
    )
    return target


def _close_region_version(region: Region, effective_on: dt.date) -> None:
    RegionVersion.objects.filter(region=region, valid_to__isnull=True).update(valid_to=effective_on)


@transaction.atomic
def register_schools(
    *, actor: Actor | None, rows: list[Mapping[str, Any]], opened_on: dt.date | None = None
) -> list[Organization]:
    """Register many schools at once, all or nothing, with the same checks as ``create_school``.

    Used by set-up and bulk loads (actor None = the system, e.g. the demo generator). Every row is
    checked first; if any fails, a RecordInvalid per row is raised together and nothing is written.
    """
    if actor is not None:
        _require_school_rights(actor, None, set(SCHOOL_FIELD_LABELS))
    lookups = PreloadedSchoolLookups()
    stages = {c: mask_from_source(e.get("stages", "")) for c, e in codebook.extras_of("school_type").items()}
    # The supervising bureau of every place, found in memory rather than one query per town.
    parents = dict(Region.objects.values_list("pk", "parent_id"))
    bureau_at = {
        o.region_id: o
        for o in Organization.objects.filter(kind__in=[OrgKind.BUREAU, OrgKind.DEPARTMENT], is_open=True).order_by("-pk")
    }

    def bureau_of(region_id: int | None) -> Organization | None:
        while region_id is not None and region_id not in bureau_at:
            region_id = parents.get(region_id)
        return bureau_at.get(region_id) if region_id is not None else None

    schools: list[Organization] = []
    failures: list[str] = []
    for number, row in enumerate(rows, start=1):
        problems = ProblemCollector(gettext("第%(number)s行 学校「%(text)s」") % {"number": number, "text": _text(row, 'name')})
        full = {key: row.get(key) for key in SCHOOL_FIELD_LABELS if key not in {"is_open", "closed_on", "closed_reason"}}
        clean = _clean_school(actor=actor, data=full, problems=problems, current=None, lookups=lookups)
        if problems.problems:
            failures.append(str(RecordInvalid(problems.record, problems.problems)))
            continue
        lookups.taken[clean["school_code"]] = clean["name"]  # a code repeated within the batch is a duplicate too
        town: Region = clean.pop("region")
        schools.append(
            Organization(
                kind=OrgKind.SCHOOL,
                region=town,
                region_path=town.path,
                parent=bureau_of(town.pk),
                stage_mask=stages.get(clean["school_type_code"], 0),
                **clean,
            )
        )
    if failures:
        problems = ProblemCollector(gettext("批量登记学校"))
        for failure in failures:
            problems.add("rows", "row.invalid", failure, gettext("数据行"))
        problems.raise_if_any()
    Organization.objects.bulk_create(schools, batch_size=2000)
    if any(s.pk is None for s in schools):  # backends that return no ids: read them back by code
        ids = dict(Organization.objects.filter(school_code__in=[s.school_code for s in schools]).values_list("school_code", "pk"))
        for s in schools:
            s.pk = ids[s.school_code]
    OrganizationVersion.objects.bulk_create(
        [
            OrganizationVersion(
                organization=s, valid_from=opened_on or s.founded_on, name=s.name, region=s.region,
                region_path=s.region_path, school_type_code=s.school_type_code, sponsor_code=s.sponsor_code,
                urban_rural_code=s.urban_rural_code, is_open=True, reason="新设",
            )
            for s in schools
        ],
        batch_size=2000,
    )
    record_bulk_creation(actor, schools)
    return schools


def record_bulk_creation(actor: Actor | None, schools: list[Organization]) -> None:
    audit_many(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="orgs.school",
        items=[
            (s.pk, f"{s.name}（{s.school_code}）", diff_fields({}, school_snapshot(s), SCHOOL_FIELD_LABELS),
             s.region_path, s.pk)
            for s in schools
        ],
    )
    feed_many("school", [(s.school_code, s.region_path, s.pk) for s in schools])

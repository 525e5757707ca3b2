"""The record resources of the API (students, staff, buildings …), registered from the import kinds.

Each writable resource takes its members from its spreadsheet import's columns (``ImportKind.schema``):
name, label, type, code table and whether required are written once, in the app's schema module.
What this module adds per resource is only what the spreadsheet does not say: the natural key, the
``school_code`` the records belong to, read-only members (a student's 学籍状态), and how a stored row
is read (``serializers.RecordSource``). ``ExchangeConfig.ready`` imports it after every app's
``ready`` has registered its import kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_noop

from eduplatform.core.imports import Column
from eduplatform.core.masking import PersonalField
from eduplatform.exchange.resources import ApiResource, ResourceField, register
from eduplatform.exchange.serializers import RecordSource, sealed, shown
from eduplatform.imports import registry as imports
from eduplatform.orgs import capabilities
from eduplatform.orgs.scope import scoped
from eduplatform.standards.validators import mask_student_number

_TYPES = {"text": "string", "code": "code", "date": "date", "month": "string", "bool": "boolean", "int": "integer",
          "decimal": "number", "id_number": "string", "phone": "string"}
PERSONAL_KINDS = frozenset({"id_number", "phone"})
ADDRESSES = frozenset({"home_address", "mailing_address", "household_address"})

SCHOOL_CODE = ResourceField("school_code", gettext_noop("学校标识码"), "string", required=True, example="2144000001",
                            help=gettext_noop("记录所属学校的10位学校标识码；须在接口客户端的管辖范围内"))


def fields_of_kind(kind_key: str, *, personal: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[ResourceField, ...]:
    """The members of an import kind's columns, in the template's order (the one field list)."""
    kind = imports.get(kind_key)
    if kind is None:
        raise LookupError(f"import kind {kind_key!r} is not registered (ExchangeConfig must come after its app)")
    schema = kind.schema
    personal, skip = set(personal), set(skip)

    def member(col: Column) -> ResourceField:
        table = schema.code_tables.get(col.field, "") if col.kind == "code" else ""
        if col.kind == "code" and not table:
            table = f"{kind_key}_{col.field}"  # a list of the schema's own (choices_of gives it)
        return ResourceField(
            name=col.field, label=col.label, type=_TYPES[col.kind], required=col.required, code_table=table,
            personal=col.kind in PERSONAL_KINDS or col.field in personal, help=col.help, example=col.example,
        )

    return tuple(member(c) for c in schema.columns if c.field not in skip)


def months_of_kind(kind_key: str) -> frozenset[str]:
    return frozenset(c.field for c in imports.get(kind_key).schema.columns if c.kind == "month")


def choices_of(resource: ApiResource, field_name: str) -> tuple[tuple[str, str], ...]:
    """A code member's allowed (code, name) pairs, from the import kind's schema (for the data standard)."""
    kind = imports.get(resource.import_kind) if resource.import_kind else None
    if kind is None or field_name not in kind.schema.by_field:
        return ()
    return kind.schema.choices_of(field_name)


def _school_code(row: Any, personal: bool) -> str:
    return row.school.school_code or ""


# --------------------------------------------------------------------------------------------
# Students: the person with their active enrolment


def _students(actor: Any):
    from eduplatform.students.models import Student

    return scoped(Student.objects.select_related("school"), actor, with_focus=False)


def _attach_enrolments(rows: list[Any]) -> None:
    from eduplatform.students.models import Enrolment

    active = {e.student_id: e for e in Enrolment.objects.filter(student_id__in=[r.pk for r in rows], is_active=True)
              .select_related("school_class")}
    for row in rows:
        row.api_enrolment = active.get(row.pk)


def _enrolment(name: str):
    def value(row: Any, personal: bool) -> Any:
        enrolment = getattr(row, "api_enrolment", None)
        if enrolment is None:
            return None
        if name == "class_number":
            return enrolment.school_class.number if enrolment.school_class_id else None
        return getattr(enrolment, name)
    return value


def _guardian(n: int, part: str):
    def value(row: Any, personal: bool) -> Any:
        guardians = row.guardians or []
        if len(guardians) < n:
            return ""
        g = guardians[n - 1]
        if part == "phone":
            return sealed(PersonalField.GUARDIAN_PHONE, g.get("phone_cipher", ""), g.get("phone_masked", ""), personal)
        if part == "name":
            return shown(PersonalField.GUARDIAN_NAME, g.get("name", ""), personal)
        return g.get(part, "")
    return value


def _student_keys_after_write(rows: list[tuple[int, Any]]) -> dict[int, str]:
    """The 学籍号 of students a batch sent without one (the platform issued it, or the person was
    already in the register): one query by the ID numbers' blind index."""
    from eduplatform.core.bulk import select_in
    from eduplatform.core.identity import Sealer

    sealer = Sealer()
    index_of = {row: sealer.id_index(v.get("id_type") or "1", v["id_number"])
                for row, v in rows if not v.get("student_number") and v.get("id_number")}
    found = dict(select_in("SELECT id_number_index, student_number FROM students_student"
                           " WHERE id_number_index <> '' AND id_number_index IN %s",
                           sorted({i for i in index_of.values() if i}))) if index_of else {}
    return {row: v.get("student_number") or found.get(index_of.get(row, ""), "") for row, v in rows}


STUDENT_SOURCE = RecordSource(
    queryset=_students,
    key_lookups={"student_number": "student_number"},
    values={
        "school_code": _school_code,
        "student_number": lambda r, personal: shown(PersonalField.STUDENT_NUMBER, r.student_number, personal),
        "id_number": lambda r, personal: sealed(PersonalField.ID_NUMBER, r.id_number_cipher, r.id_number_masked, personal),
        "phone": lambda r, personal: sealed(PersonalField.PHONE, r.phone_cipher, r.phone_masked, personal),
        **{name: _enrolment(name) for name in ("grade", "class_number", "entered_on", "entry_mode", "major",
                                               "programme_length", "level", "status")},
        **{f"guardian{n}_{part}": _guardian(n, part) for n in (1, 2) for part in ("name", "relation", "phone")},
    },
    prefetch=_attach_enrolments,
    months=frozenset({"entered_on"}),
    keys_after_write=_student_keys_after_write,
    school_lookup="school__school_code",
)


# --------------------------------------------------------------------------------------------
# Staff and administrators (one table, told apart by is_administrator)


def _staff_rows(administrators: bool):
    def rows(actor: Any):
        from eduplatform.staff.models import StaffMember

        return scoped(StaffMember.objects.filter(is_active=True, is_administrator=administrators)
                      .select_related("unit"), actor, with_focus=False)
    return rows


def _staff_source(administrators: bool) -> RecordSource:
    values = {
        "staff_number": lambda r, personal: shown(PersonalField.STAFF_NUMBER, r.staff_number, personal),
        "id_number": lambda r, personal: sealed(PersonalField.ID_NUMBER, r.id_number_cipher, r.id_number_masked, personal),
        "phone": lambda r, personal: sealed(PersonalField.PHONE, r.phone_cipher, r.phone_masked, personal),
    }
    if not administrators:
        values["school_code"] = lambda r, personal: r.unit.school_code or ""
    return RecordSource(
        queryset=_staff_rows(administrators),
        key_lookups={"staff_number": "staff_number"} if administrators
        else {"school_code": "unit__school_code", "staff_number": "staff_number"},
        values=values,
        months=months_of_kind("administrators" if administrators else "staff"),
        unit="own" if administrators else "school",
    )


# --------------------------------------------------------------------------------------------
# Buildings, land, equipment, holdings: a school's, keyed within the school


def _school_rows(model_path: str, **filters: Any):
    def rows(actor: Any):
        from django.apps import apps

        model = apps.get_model(model_path)
        return scoped(model.objects.filter(**filters).select_related("school"), actor, with_focus=False)
    return rows


def _school_source(model_path: str, key_member: str, kind_key: str, **filters: Any) -> RecordSource:
    return RecordSource(
        queryset=_school_rows(model_path, **filters),
        key_lookups={"school_code": "school__school_code", key_member: key_member},
        values={"school_code": _school_code},
        months=months_of_kind(kind_key),
    )


# --------------------------------------------------------------------------------------------
# Read-only: classes


def _classes(actor: Any):
    from eduplatform.students.models import SchoolClass

    return scoped(SchoolClass.objects.select_related("school"), actor, with_focus=False)


CLASS_FIELDS = (
    SCHOOL_CODE,
    ResourceField("school_year", gettext_noop("学年"), "integer", required=True, example="2026", help=gettext_noop("2026 表示 2026–2027 学年")),
    ResourceField("grade", gettext_noop("年级"), "code", required=True, code_table="grade", example="11"),
    ResourceField("number", gettext_noop("班号"), "integer", required=True, example="1"),
    ResourceField("name", gettext_noop("班级名称"), "string", example="一年级（1）班"),
    ResourceField("class_type", gettext_noop("班级类型"), "code", code_table="class_type_k12", example="10"),
    ResourceField("head_teacher", gettext_noop("班主任"), "string"),
)


# --------------------------------------------------------------------------------------------
# Read-only: student events (入学, 转出, 休学 … — written by the platform's processes only)


def _events(actor: Any):
    from eduplatform.students.models import StudentEvent

    return scoped(StudentEvent.objects.select_related("school", "student"), actor, with_focus=False)


EVENT_FIELDS = (
    ResourceField("id", gettext_noop("事件编号"), "integer", required=True, writable=False, help=gettext_noop("平台分配的事件编号")),
    ResourceField("student_number", gettext_noop("学籍号"), "string", required=True, personal=True, writable=False),
    SCHOOL_CODE,
    ResourceField("kind", gettext_noop("事件"), "code", required=True, code_table="student_event_kind", writable=False,
                  help=gettext_noop("enrol 入学、transfer_out 转出、transfer_in 转入、suspend 休学、resume 复学、drop_out 退学、"
                       "death 死亡、graduate 毕业、complete 结业、repeat 留级、skip 跳级、number_change 学籍号变更")),
    ResourceField("occurred_on", gettext_noop("日期"), "date", required=True, writable=False),
    ResourceField("reason", gettext_noop("原因"), "string", writable=False),
)


# --------------------------------------------------------------------------------------------
# Read-only: schools, served by the orgs router (/api/v1/schools); described here from its model

# The members' labels, marked (shown translated by the data standard's page); the described members'
# repeat the start of their description.
_SCHOOL_LABELS = {"school_code": gettext_noop("学校标识码"), "name": gettext_noop("学校名称"),
                  "school_type_code": gettext_noop("办学类型代码"), "sponsor_code": gettext_noop("举办者代码"),
                  "urban_rural_code": gettext_noop("城乡分类代码"), "town_code": gettext_noop("所在乡镇"),
                  "address": gettext_noop("地址"), "longitude": gettext_noop("经度"), "latitude": gettext_noop("纬度"), "principal_name": gettext_noop("校长姓名"),
                  "phone": gettext_noop("联系电话"), "founded_on": gettext_noop("建校年月"), "is_open": gettext_noop("是否在办"), "closed_on": gettext_noop("撤销日期")}
_SCHOOL_CODE_TABLES = {"school_type_code": "school_type", "sponsor_code": "sponsor", "urban_rural_code": "urban_rural"}
_PY_TYPES = {"str": "string", "Decimal": "number", "date": "date", "bool": "boolean", "int": "integer"}


def school_fields() -> tuple[ResourceField, ...]:
    """The members of ``orgs.schemas.SchoolOut`` (the route's own model), labelled from its descriptions."""
    from eduplatform.orgs.schemas import SchoolOut

    out = []
    for name, info in SchoolOut.model_fields.items():
        kind = info.annotation
        kind = next((a for a in getattr(kind, "__args__", ()) if a is not type(None)), kind)
        label = _SCHOOL_LABELS.get(name) or (info.description or "").split("（")[0] or name
        table = _SCHOOL_CODE_TABLES.get(name, "")
        out.append(ResourceField(name, label, "code" if table else _PY_TYPES.get(getattr(kind, "__name__", "str"), "string"),
                                 required=name in ("school_code", "name"), code_table=table,
                                 help=info.description or "", writable=False))
    return tuple(out)


def register_all() -> None:
    register(ApiResource(
        key="schools", label=gettext_noop("学校"), natural_key=("school_code",),
        description=gettext_noop("管辖范围内的学校（教育机构）：学校标识码为自然键。只读；学校的设立、变更与撤销在平台中办理。"),
        fields=school_fields(), feed_resources=("school",), read_capability=capabilities.VIEW_RECORDS,
        extra={"routes": "eduplatform.orgs.api"},  # no generated routes: the orgs router serves them
    ))
    register(ApiResource(
        key="students", label=gettext_noop("学生"), natural_key=("student_number",),
        description=gettext_noop("在校学生的个人信息及其当前有效学籍（学校、年级、班级、学籍状态）。学籍号为自然键；"
                    "同一学生在全省只能有一个有效学籍。"),
        fields=(*fields_of_kind("students", personal=ADDRESSES | {"student_number"}), SCHOOL_CODE,
                ResourceField("status", gettext_noop("学籍状态"), "code", code_table="enrolment_status", writable=False,
                              help=gettext_noop("01 在读等；学籍异动通过业务办理，不能通过接口直接修改"))),
        feed_resources=("student",), read_capability=capabilities.VIEW_RECORDS,
        write_capability=capabilities.EDIT_STUDENTS, import_kind="students",
        rules=(gettext_noop("身份证件号须通过校验码检查，且与出生日期、性别一致"),
               gettext_noop("已在其他学校在籍的学生不能注册，须走转学申请"), gettext_noop("学籍号终身不变")),
        extra={"source": STUDENT_SOURCE},
    ))
    register(ApiResource(
        key="staff", label=gettext_noop("教职工"), natural_key=("school_code", "staff_number"),
        description=gettext_noop("学校在岗教职工。教职工号在全省在岗人员中唯一，与学校标识码一起标识记录。"),
        fields=(*fields_of_kind("staff", personal={"staff_number"}), SCHOOL_CODE),
        feed_resources=("staff",), read_capability=capabilities.VIEW_RECORDS,
        write_capability=capabilities.EDIT_STAFF, import_kind="staff",
        rules=(gettext_noop("同一人在全省只能在一个单位在岗"), gettext_noop("调入须由调入单位发起调动申请")),
        extra={"source": _staff_source(administrators=False)},
    ))
    register(ApiResource(
        key="administrators", label=gettext_noop("教育管理人员"), natural_key=("staff_number",),
        description=gettext_noop("教育行政部门（教育厅、处室、教育局）的工作人员；写入接口客户端所属单位。"),
        fields=fields_of_kind("administrators", personal={"staff_number"}),
        # Their changes are feed entries of "staff" (one table): listed under the staff resource.
        feed_resources=(), read_capability=capabilities.VIEW_RECORDS,
        write_capability=capabilities.EDIT_ADMINISTRATORS, import_kind="administrators",
        extra={"source": _staff_source(administrators=True)},
    ))
    register(ApiResource(
        key="buildings", label=gettext_noop("校舍（建筑物）"), natural_key=("school_code", "number"),
        description=gettext_noop("学校的建筑物（校舍）：建筑物编号在本校内唯一。"),
        fields=(*fields_of_kind("buildings"), SCHOOL_CODE), feed_resources=("building",),
        read_capability=capabilities.VIEW_RECORDS, write_capability=capabilities.EDIT_FACILITIES,
        import_kind="buildings", rules=(gettext_noop("各用途面积之和不能超过建筑面积"),),
        extra={"source": _school_source("facilities.Building", "number", "buildings")},
    ))
    register(ApiResource(
        key="land", label=gettext_noop("土地"), natural_key=("school_code", "name"),
        description=gettext_noop("学校的土地（地块），按地块名称（坐落）在本校内标识。"),
        fields=(*fields_of_kind("land"), SCHOOL_CODE), feed_resources=("land_parcel",),
        read_capability=capabilities.VIEW_RECORDS, write_capability=capabilities.EDIT_FACILITIES,
        import_kind="land", rules=(gettext_noop("体育场地与绿化用地面积之和不能超过占地面积"),),
        extra={"source": _school_source("facilities.LandParcel", "name", "land", retired_on__isnull=True)},
    ))
    register(ApiResource(
        key="equipment", label=gettext_noop("仪器设备"), natural_key=("school_code", "asset_number"),
        description=gettext_noop("学校的仪器设备台账：资产编号在本校内唯一。"),
        fields=(*fields_of_kind("equipment"), SCHOOL_CODE), feed_resources=("equipment",),
        read_capability=capabilities.VIEW_RECORDS, write_capability=capabilities.EDIT_ASSETS,
        import_kind="equipment", rules=(gettext_noop("金额留空时按 数量×单价 计算"),),
        extra={"source": _school_source("assets.Equipment", "asset_number", "equipment")},
    ))
    holdings_fields = tuple(
        SCHOOL_CODE if f.name == "school_code" else f for f in fields_of_kind("holdings"))
    register(ApiResource(
        key="holdings", label=gettext_noop("资产汇总"), natural_key=("school_code", "year"),
        description=gettext_noop("学校每个统计年度的资产汇总（统计时点为该年9月1日）。"),
        fields=holdings_fields, feed_resources=("asset_holdings",),
        read_capability=capabilities.VIEW_RECORDS, write_capability=capabilities.EDIT_ASSETS,
        import_kind="holdings", rules=(gettext_noop("教学仪器设备资产值不能大于固定资产总值"),),
        extra={"source": _school_source("assets.AssetHoldings", "year", "holdings")},
    ))
    register(ApiResource(
        key="classes", label=gettext_noop("班级"), natural_key=("school_code", "school_year", "grade", "number"),
        description=gettext_noop("学校各学年的班级（只读：班级随学生注册自动建立，或在平台页面中维护）。"),
        fields=CLASS_FIELDS, feed_resources=("class",), read_capability=capabilities.VIEW_RECORDS,
        extra={"source": RecordSource(queryset=_classes, key_lookups={
            "school_code": "school__school_code", "school_year": "school_year", "grade": "grade", "number": "number"},
            values={"school_code": _school_code})},
    ))
    register(ApiResource(
        key="student_events", label=gettext_noop("学籍事件"), natural_key=("id",),
        description=gettext_noop("学生的学籍事件（入学、转学、休学、复学、毕业等），由平台业务办理产生，只读。"),
        fields=EVENT_FIELDS, read_capability=capabilities.VIEW_RECORDS,
        extra={"source": RecordSource(queryset=_events, key_lookups={"id": "pk", "school_code": "school__school_code"},
                                      values={"school_code": _school_code, "student_number": lambda r, personal:
                                              r.student.student_number if personal
                                              else mask_student_number(r.student.student_number)})},
    ))


register_all()

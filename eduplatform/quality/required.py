"""The required fields of each base database: the one definition of 必填项.

Two readers use it and must never disagree: the completeness figure of the progress pages
(``progress``: the share of records with every required field filled) and the completeness rules
(``checks.completeness``: one issue per school and missing field). Before this module each had its
own list — the progress page called a record complete when the quality check listed it as missing
its guardians — so one figure carried two definitions.

Each field says how a record lacks it twice, in the two languages the readers speak:

* ``missing`` — a ``Q`` on the database's records (``records(database)``: students are their active
  enrolments, so the person's fields go through ``student__``);
* ``sql`` — the same condition on the record's own table, the predicate of the partial index that
  holds only the incomplete records (migration ``quality/0003``), so counting them reads the few
  incomplete rows rather than the 27 million complete ones. ``tests/test_quality_progress.py``
  checks the index predicates are exactly these.

The lists follow the national standards' mandatory items (学籍信息, 教职工信息, 校舍信息, 仪器设备
信息) as far as our records hold them; name and sex cannot be left empty through any form or import
but stay listed, so a record written around the services is still counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from eduplatform.core.identity import RESIDENT_ID_CARD
from eduplatform.quality.models import Database
from eduplatform.stats.definitions import FULL_TIME_TEACHER


@dataclass(frozen=True)
class RequiredField:
    name: str  # the field's key in issues and pages
    label: str | Promise
    missing: Q  # on records(database)
    sql: str  # the same condition on the record's own table (partial-index predicate)


def _empty(name: str, label: str | Promise, prefix: str = "") -> RequiredField:
    return RequiredField(name, label, Q(**{f"{prefix}{name}": ""}), f"{name} = ''")


def _null(name: str, label: str | Promise) -> RequiredField:
    return RequiredField(name, label, Q(**{f"{name}__isnull": True}), f"{name} IS NULL")


_S = "student__"
REQUIRED: dict[str, tuple[RequiredField, ...]] = {
    Database.SCHOOLS: (
        _empty("name", _("名称")), _empty("school_type_code", _("办学类型")), _empty("sponsor_code", _("举办者")),
        _empty("urban_rural_code", _("城乡分类")), _empty("address", _("地址")),
        _empty("principal_name", _("校长（负责人）")), _empty("phone", _("联系电话")),
    ),
    Database.STUDENTS: (
        _empty("name", _("姓名"), _S), _empty("gender", _("性别"), _S), _empty("ethnicity", _("民族"), _S),
        _empty("nationality", _("国籍/地区"), _S),
        RequiredField("id_number", _("身份证件号（证件类型为居民身份证）"),
                      Q(student__id_type=RESIDENT_ID_CARD, student__id_number_cipher=""),
                      f"(id_type = '{RESIDENT_ID_CARD}' AND id_number_cipher = '')"),
        _empty("home_address", _("现住址"), _S),
        RequiredField("guardians", _("家庭成员或监护人"), Q(student__guardians=[]), "guardians = '[]'"),
    ),
    Database.STAFF: (
        _empty("name", _("姓名")), _empty("gender", _("性别")), _empty("ethnicity", _("民族")),
        _empty("education_level", _("最高学历")),
        _empty("establishment", _("编制情况")), _null("first_employed_on", _("参加工作年月")),
        RequiredField("subjects", _("任教学科（专任教师）"), Q(post_category=FULL_TIME_TEACHER, subjects=""),
                      f"(post_category = '{FULL_TIME_TEACHER}' AND subjects = '')"),
        RequiredField("teaching_stage", _("任课学段（专任教师）"), Q(post_category=FULL_TIME_TEACHER, teaching_stage=""),
                      f"(post_category = '{FULL_TIME_TEACHER}' AND teaching_stage = '')"),
    ),
    Database.FACILITIES: (
        _empty("number", _("建筑物编号")), _empty("name", _("建筑物名称")), _empty("use_code", _("建筑物用途")),
        _empty("structure", _("建筑结构")), _empty("property_right", _("产权")), _null("floors_above", _("地上层数")),
        _empty("safety_inspection", _("安全排查结论")), _empty("seismic_category", _("抗震设防类别")),
    ),
    Database.ASSETS: (
        _empty("asset_number", _("资产编号")), _empty("category", _("设备类别")), _empty("name", _("名称")),
        _empty("funding_source", _("经费来源")), _empty("acquisition_mode", _("取得方式")),
        _empty("use_direction", _("使用方向")), _empty("status", _("仪器现状")),
    ),
}

# The table each record database's partial index of incomplete records lies on, and its column.
INDEXED_TABLES: dict[str, tuple[str, str]] = {
    Database.STUDENTS: ("students_student", "school_id"),
    Database.STAFF: ("staff_staffmember", "unit_id"),
    Database.FACILITIES: ("facilities_building", "school_id"),
    Database.ASSETS: ("assets_equipment", "school_id"),
}


def missing(database: str) -> Q:
    """A record of ``database`` lacks a required field."""
    condition = Q()
    for field in REQUIRED[database]:
        condition |= field.missing
    return condition


def index_predicate(database: str) -> str:
    """The partial-index predicate equal to ``missing(database)`` on the record's own table."""
    return " OR ".join(field.sql for field in REQUIRED[database])


def records(database: str) -> QuerySet:
    """The records a database's figures and completeness rules count, unscoped (callers scope):
    students are the active enrolments, staff the active school staff in headcount posts (the
    教职工数 of the statistics — a post category is thus always there, so it is not listed as a
    required field), buildings those not demolished, equipment not disposed of."""
    from eduplatform.assets.models import Equipment
    from eduplatform.facilities.models import Building
    from eduplatform.orgs.models import OrgKind
    from eduplatform.staff.models import StaffMember
    from eduplatform.stats.definitions import HEADCOUNT_POSTS
    from eduplatform.students.models import Enrolment

    if database == Database.STUDENTS:
        return Enrolment.objects.filter(is_active=True)
    if database == Database.STAFF:
        return StaffMember.objects.filter(is_active=True, unit_kind=OrgKind.SCHOOL, post_category__in=HEADCOUNT_POSTS)
    if database == Database.FACILITIES:
        return Building.objects.filter(demolished_on__isnull=True)
    if database == Database.ASSETS:
        return Equipment.objects.filter(disposed_on__isnull=True)
    raise ValueError(database)


def school_field(database: str) -> str:
    """The records' column naming their school."""
    return "unit_id" if database == Database.STAFF else "school_id"


# The column of each record database's records that a stage-limited reader is narrowed by (as the
# records' own SCOPE does); the others (buildings, equipment) are narrowed by their school's stages.
STAGE_FIELD: dict[str, str] = {Database.STUDENTS: "stage", Database.STAFF: "stage_mask"}


def incomplete_counts(school_ids: list[int] | None) -> Iterator[tuple[int, str, int | None, int]]:
    """(school id, database, stage or None, records lacking a required field) for every record
    database, over these schools (all for ``None``) — what ``stats.IncompleteRollup`` keeps. One
    grouped count per database over the incomplete records only (the partial indexes)."""
    for database in INDEXED_TABLES:
        school, stage = school_field(database), STAGE_FIELD.get(database)
        qs = records(database).filter(missing(database))
        if school_ids is not None:
            qs = qs.filter(**{f"{school}__in": school_ids})
        columns = (school, stage) if stage else (school,)
        for row in qs.values(*columns).annotate(n=Count("*")).order_by():
            yield row[school], database, (row[stage] if stage else None), row["n"]

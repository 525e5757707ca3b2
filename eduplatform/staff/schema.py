"""The staff and administrator records' exchange schemas: one column list each, which builds the
import template, reads uploaded files and checks every row, and the same checks behind the forms.

The shared ``RowSchema`` parses each cell; ``check_staff_row`` / ``check_administrator_row`` add the
record's own rules (ID check digit and its agreement with birth date and sex — ``core.rows.
check_against_resident_id``, shared with the student register — age, dates in order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop

from eduplatform.core.identity import RESIDENT_ID_CARD
from eduplatform.core.imports import Column
from eduplatform.core.rows import CleanRow, RowSchema, check_against_resident_id, parse_resident_id
from eduplatform.staff import codes
from eduplatform.standards.validators import mask_id_number

MIN_AGE = 18  # 《劳动法》 allows work from 16; a teaching or administrative post needs 18 (a 教师资格 does)
MAX_AGE = 75
MIN_WORK_AGE = 16

# Column → code table (or the key of one of our own lists in ``codes``). Short and superseded
# names (中共党员, 中学高级教师 …) are in data/reference/code_synonyms.csv under the same key.
CODE_TABLES: dict[str, str] = {
    "gender": "gender_gbt2261_1",
    "id_type": "id_type",
    "ethnicity": "ethnicity",
    "political_status": "political_status",
    "education_level": "education_level",
    "degree": "degree",
    "post_category": "staff_category_k12",
    "teaching_stage": "teaching_stage",
    "duty_category": "duty_category",
    "title": "staff_title",
    "qualification_type": "staff_qualification",
    "backbone_level": "backbone_level",
    "establishment": "establishment",
    "rank": "administrative_rank",
}
EXTRA_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "title": codes.TITLES,
    "qualification_type": codes.QUALIFICATIONS,
    "backbone_level": codes.BACKBONE,
    "establishment": codes.ESTABLISHMENT,
    "rank": codes.RANKS,
}

C = Column
IDENTITY_COLUMNS: tuple[Column, ...] = (
    C("name", gettext_noop("姓名"), True, example="李老师"),
    C("gender", gettext_noop("性别"), True, "code", example="女"),
    C("birth_date", gettext_noop("出生日期"), True, "date", example="1988-03-15", help=gettext_noop("如 1988-03-15、1988/3/15 或 19880315")),
    C("id_type", gettext_noop("身份证件类型"), False, "code", aliases=("证件类型",), example="1-居民身份证", help=gettext_noop("不填视为居民身份证")),
    C("id_number", gettext_noop("身份证件号"), True, "id_number", aliases=("身份证号", "身份证件号码", "证件号码", "身份证号码"),
      width=22, example="440106198803150023", help=gettext_noop("居民身份证须通过校验码检查")),
    C("staff_number", gettext_noop("教职工号"), False, aliases=("工号", "教职工编号"), width=18,
      help=gettext_noop("已有教职工号的人员填写；新入职人员可不填，平台自动生成（终身不变）")),
    C("ethnicity", gettext_noop("民族"), True, "code", example="01-汉族"),
    C("political_status", gettext_noop("政治面貌"), False, "code", example="13-群众"),
    C("phone", gettext_noop("联系电话"), False, "phone", aliases=("手机号码", "手机号", "联系方式"), width=16),
    C("education_level", gettext_noop("最高学历"), True, "code", aliases=("学历",), example="21-大学本科毕业"),
    C("degree", gettext_noop("最高学位"), False, "code", aliases=("学位", "最高学位层次"), example="4-学士"),
    C("graduated_from", gettext_noop("毕业院校"), False, aliases=("毕业学校", "获得最高学历的院校或机构", "最高学历毕业院校"), width=20, example="华南师范大学"),
    C("major", gettext_noop("所学专业"), False, aliases=("专业", "最高学历所学专业"), example="汉语言文学"),
    C("first_employed_on", gettext_noop("参加工作年月"), False, "month", aliases=("参加工作时间",), example="2010-07"),
    C("joined_on", gettext_noop("进本单位年月"), False, "month", aliases=("进本校年月", "进本单位时间"), example="2015-08"),
    C("establishment", gettext_noop("编制情况"), True, "code", aliases=("是否在编",), example="1-在编"),
)
STAFF_COLUMNS: tuple[Column, ...] = IDENTITY_COLUMNS + (
    C("post_category", gettext_noop("岗位类别"), True, "code", aliases=("教职工类别", "编制类别"), example="1-专任教师",
      help=gettext_noop("代课教师、兼任教师不计入教职工数")),
    C("title", gettext_noop("专业技术职务"), False, "code", aliases=("职称", "现专业技术职务", "专业技术职务（职称）"), example="13-一级教师",
      help=gettext_noop("旧职称（如“小学高级教师”）按人社部发〔2015〕79号对应为新职称")),
    C("title_obtained_on", gettext_noop("职称取得年月"), False, "month", example="2018-12"),
    C("subjects", gettext_noop("任教学科"), False, aliases=("任教课程", "主要任教学科"), example="语文"),
    C("teaching_stage", gettext_noop("任课学段"), False, "code", aliases=("任教学段",), example="2-小学"),
    C("qualification_type", gettext_noop("教师资格种类"), False, "code", aliases=("教师资格", "教师资格证种类"), example="2-小学教师资格"),
    C("qualification_number", gettext_noop("教师资格证书号码"), False, aliases=("教师资格证号", "教师资格证号码", "教师资格证书号"), width=22),
    C("backbone_level", gettext_noop("骨干教师"), False, "code", example="0-否"),
    C("is_head_teacher", gettext_noop("是否班主任"), False, "bool", aliases=("班主任",), example="否"),
    C("is_dual_qualified", gettext_noop("是否双师型教师"), False, "bool", aliases=("双师型",), example="否", help=gettext_noop("中职学校填写")),
    C("is_school_leader", gettext_noop("是否校领导"), False, "bool", aliases=("校领导",), example="否"),
    C("position", gettext_noop("职务"), False, example="", help=gettext_noop("校领导填写，如 校长、副校长、党支部书记")),
    C("duty_category", gettext_noop("职务类别"), False, "code"),
)
ADMINISTRATOR_COLUMNS: tuple[Column, ...] = IDENTITY_COLUMNS + (
    C("position", gettext_noop("职务"), True, example="科长"),
    C("rank", gettext_noop("职级"), True, "code", example="31-乡科级正职"),
    C("duty_category", gettext_noop("职务类别"), False, "code", example="14-行政职能部门正职"),
    C("department", gettext_noop("所在部门"), False, aliases=("处室", "科室", "部门"), example="基础教育科"),
    C("duties", gettext_noop("分管工作"), False, aliases=("负责工作", "工作职责"), width=24, example="义务教育管理"),
)

DEFAULTS = {"id_type": RESIDENT_ID_CARD, "backbone_level": "0"}


def _schema(columns: tuple[Column, ...]) -> RowSchema:
    fields = {c.field for c in columns}
    return RowSchema(
        columns,
        # Our own lists are keyed here too: the schema reads a list's choices from extra_choices
        # first and its synonyms under the key code_tables gives.
        code_tables={k: v for k, v in CODE_TABLES.items() if k in fields},
        extra_choices={k: v for k, v in EXTRA_CHOICES.items() if k in fields},
        defaults={k: v for k, v in DEFAULTS.items() if k in fields},
        blank_codes={"degree": ("无", "否")},
        max_lengths={"name": 50, "staff_number": 20, "qualification_number": 30, "position": 50,
                     "graduated_from": 100, "major": 100, "subjects": 100, "department": 100},
    )


STAFF_SCHEMA = _schema(STAFF_COLUMNS)
ADMINISTRATOR_SCHEMA = _schema(ADMINISTRATOR_COLUMNS)

FIELD_LABELS: dict[str, str] = {c.field: c.label for c in STAFF_COLUMNS + ADMINISTRATOR_COLUMNS}


def _age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _check_person(clean: CleanRow, today: dt.date) -> None:
    """Rules across columns that every staff and administrator row obeys."""
    v = clean.values
    id_type, number = v.get("id_type") or RESIDENT_ID_CARD, v.get("id_number") or ""
    if number and id_type == RESIDENT_ID_CARD and not clean.failed("id_number"):
        try:
            number = v["id_number"] = parse_resident_id(number)
        except ValueError as exc:
            clean.add("id_number", number, gettext("身份证件号「%(id_number)s」%(exc)s") % {"id_number": mask_id_number(number), "exc": exc})
        else:
            check_against_resident_id(clean, number, check_birth=not clean.failed("birth_date"),
                                      check_gender=not clean.failed("gender"))
    birth = v.get("birth_date")
    if birth and not clean.failed("birth_date"):
        age = _age_on(birth, today)
        if birth > today:
            clean.add("birth_date", birth.isoformat(), gettext("出生日期「%(date)s」晚于今天") % {"date": birth.isoformat()})
        elif age < MIN_AGE:
            clean.add("birth_date", birth.isoformat(), gettext("出生日期「%(date)s」表明其未满%(min_age)s周岁（%(age)s岁），不能在岗") % {"date": birth.isoformat(), "min_age": MIN_AGE, "age": age})
        elif age > MAX_AGE:
            clean.add("birth_date", birth.isoformat(), gettext("出生日期「%(date)s」表明其已%(age)s岁，请核对") % {"date": birth.isoformat(), "age": age})
    first, joined = v.get("first_employed_on"), v.get("joined_on")
    for field_name, value in (("first_employed_on", first), ("joined_on", joined)):
        if value and value > today:
            clean.add(field_name, value.strftime("%Y-%m"), gettext("%(label)s「%(month)s」晚于今天") % {"label": gettext(FIELD_LABELS[field_name]), "month": format(value, "%Y-%m")})
    if first and birth and not clean.failed("birth_date") and _age_on(birth, first) < MIN_WORK_AGE:
        clean.add("first_employed_on", first.strftime("%Y-%m"),
                  gettext("参加工作年月「%(first)s」时未满%(min_age)s周岁，请核对出生日期或参加工作年月") % {"first": format(first, "%Y-%m"), "min_age": MIN_WORK_AGE})
    if first and joined and joined < first.replace(day=1):
        clean.add("joined_on", joined.strftime("%Y-%m"),
                  gettext("进本单位年月「%(joined)s」早于参加工作年月「%(first)s」") % {"joined": format(joined, "%Y-%m"), "first": format(first, "%Y-%m")})


def check_staff_row(raw: Mapping[str, Any], context: Any) -> CleanRow:
    """One staff row: typed values and every problem, each naming its column."""
    clean = STAFF_SCHEMA.clean(raw, memo=getattr(context, "memo", None))
    today = context.today
    _check_person(clean, today)
    v = clean.values
    if v.get("qualification_number") and not v.get("qualification_type") and not clean.failed("qualification_type"):
        clean.add("qualification_type", "", gettext("填写了教师资格证书号码，请同时填写教师资格种类"))
    if v.get("is_school_leader") and not v.get("position"):
        clean.add("position", "", gettext("校领导须填写职务（如 校长、副校长）"))
    obtained = v.get("title_obtained_on")
    if obtained and obtained > today:
        clean.add("title_obtained_on", obtained.strftime("%Y-%m"), gettext("职称取得年月「%(obtained)s」晚于今天") % {"obtained": format(obtained, "%Y-%m")})
    if obtained and not v.get("title") and not clean.failed("title"):
        clean.add("title", "", gettext("填写了职称取得年月，请同时填写专业技术职务"))
    return clean


def check_administrator_row(raw: Mapping[str, Any], context: Any) -> CleanRow:
    clean = ADMINISTRATOR_SCHEMA.clean(raw, memo=getattr(context, "memo", None))
    _check_person(clean, context.today)
    return clean

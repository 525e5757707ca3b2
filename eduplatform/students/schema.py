"""The student record's exchange schema: one list of columns that builds the import template,
reads uploaded files (ours and the national register's 学生基本信息 layout) and checks every row,
and the same checks behind the web form.

``clean_student`` turns raw text (a form post or a spreadsheet row) into typed values plus a list of
problems, each naming the column, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, gettext_noop

from eduplatform.core.identity import NO_DOCUMENT, RESIDENT_ID_CARD
from eduplatform.core.imports import Column
from eduplatform.core.normalize import clean_text, compact, parse_int
from eduplatform.core.rows import CleanRow, RowSchema, check_against_resident_id
from eduplatform.orgs.stages import Stage
from eduplatform.standards.validators import (
    IdentifierError,
    mask_id_number,
    validate_id_number,
    validate_student_number,
)
from eduplatform.students.grades import Grade, bare_year_grades, resolve_grade

# GB/T 2659 three-letter codes, the subset a Guangdong school meets; the national template writes
# 国籍/地区 as "CHN" or as the name.
NATIONALITIES: tuple[tuple[str, str], ...] = (
    ("CHN", "中国"), ("HKG", "中国香港"), ("MAC", "中国澳门"), ("TWN", "中国台湾"), ("USA", "美国"),
    ("CAN", "加拿大"), ("AUS", "澳大利亚"), ("GBR", "英国"), ("JPN", "日本"), ("KOR", "韩国"),
    ("SGP", "新加坡"), ("MYS", "马来西亚"), ("VNM", "越南"), ("THA", "泰国"), ("IDN", "印度尼西亚"),
    ("PHL", "菲律宾"), ("IND", "印度"), ("RUS", "俄罗斯"), ("DEU", "德国"), ("FRA", "法国"),
    ("NGA", "尼日利亚"), ("BRA", "巴西"), ("ZZZ", "其他"),
)
LEVELS: tuple[tuple[str, str], ...] = (("1", "专科"), ("2", "本科"), ("3", "硕士"), ("4", "博士"), ("5", "中职"))

# Column → code table. The other ways files write a code (short names, old names) are in
# data/reference/code_synonyms.csv under the same key; our own lists (nationality, level) have keys too.
CODE_TABLES: dict[str, str] = {
    "gender": "gender_gbt2261_1",
    "id_type": "id_type",
    "ethnicity": "ethnicity",
    "hk_macao_taiwan": "hk_macao_taiwan_overseas",
    "hukou_nature": "hukou_nature_cmis",
    # GB/T 4762 has no code for Young Pioneers; the national register records such pupils as 群众
    # (少先队员 → 13 among the synonyms).
    "political_status": "political_status",
    "health_status": "health_status_cmis",
    "disability_type": "disability_type_gbt2261_3",
    "left_behind": "left_behind_child_cmis",
    "boarding_mode": "boarding_mode",
    "entry_mode": "enrollment_mode_cmis",
    "nationality": "nationality",
    "level": "student_level",
}
EXTRA_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {"nationality": NATIONALITIES, "level": LEVELS}

C = Column
STUDENT_COLUMNS: tuple[Column, ...] = (
    C("name", gettext_noop("姓名"), True, example="张三", help=gettext_noop("与户口簿一致的姓名")),
    C("gender", gettext_noop("性别"), True, "code", aliases=("学生性别",), example="男"),
    C("birth_date", gettext_noop("出生日期"), True, "date", example="2019-05-12", help=gettext_noop("如 2019-05-12、2019/5/12 或 20190512")),
    C("id_type", gettext_noop("身份证件类型"), False, "code", aliases=("证件类型",), example="1-居民身份证",
      help=gettext_noop("不填视为居民身份证")),
    C("id_number", gettext_noop("身份证件号"), False, "id_number", aliases=("身份证号", "身份证件号码", "证件号码", "身份证号码"),
      width=22, example="440106201905120012", help=gettext_noop("证件类型为“其他”时可不填；居民身份证须通过校验码检查")),
    C("student_number", gettext_noop("学籍号"), False, aliases=("全国学籍号", "学籍号码", "个人标识码"), width=22,
      help=gettext_noop("已有全国学籍号的学生填写；新生可不填，平台按身份证件号生成")),
    C("former_name", gettext_noop("曾用名")),
    C("ethnicity", gettext_noop("民族"), True, "code", example="01-汉族"),
    C("nationality", gettext_noop("国籍/地区"), False, "code", aliases=("国籍",), example="CHN-中国"),
    C("hk_macao_taiwan", gettext_noop("港澳台侨外"), False, "code", example="00-否"),
    C("birthplace_code", gettext_noop("出生地"), False, aliases=("出生地行政区划代码", "出生地行政区划"), width=16,
      help=gettext_noop("行政区划代码（6位或12位数字）")),
    C("native_place", gettext_noop("籍贯"), False),
    C("hukou_place_code", gettext_noop("户口所在地"), False, aliases=("户口所在地行政区划", "户口所在地行政区划代码", "户口所在地区县"),
      width=16,
      help=gettext_noop("行政区划代码（6位或12位数字）")),
    C("hukou_nature", gettext_noop("户口性质"), False, "code"),
    C("political_status", gettext_noop("政治面貌"), False, "code"),
    C("health_status", gettext_noop("健康状况"), False, "code", example="10-健康或良好"),
    C("disability_type", gettext_noop("残疾类型"), False, "code"),
    C("migrant_child", gettext_noop("是否进城务工人员随迁子女"), False, "bool", aliases=("随迁子女", "是否随迁子女"), example="否"),
    C("left_behind", gettext_noop("是否留守儿童"), False, "code", aliases=("留守儿童",), example="0-非留守儿童"),
    C("only_child", gettext_noop("是否独生子女"), False, "bool", aliases=("独生子女",), example="否"),
    C("boarding_mode", gettext_noop("就读方式"), False, "code", aliases=("住宿情况",), example="1-走读"),
    C("home_address", gettext_noop("现住址"), False, aliases=("现居住地址", "现居住地", "居住地址", "现住地址"), width=30,
      help=gettext_noop("学生现在居住的地址")),
    C("mailing_address", gettext_noop("通信地址"), False, aliases=("通讯地址", "联系地址", "邮寄地址"), width=30,
      help=gettext_noop("能收到信件的地址")),
    C("household_address", gettext_noop("家庭地址"), False, aliases=("家庭住址", "户籍地址", "户口地址", "户口所在地地址",
                                                      "户口所在地详细地址"), width=30,
      help=gettext_noop("家庭（户籍）所在的详细地址")),
    C("phone", gettext_noop("联系电话"), False, "phone", aliases=("手机号码", "联系方式"), width=16),
    C("grade", gettext_noop("年级"), True, example="一年级",
      help=gettext_noop("如 一年级、初一、高二、小班、年级代码 11，或本校学段内的年级数字（如 1、4；九年一贯制学校 7 为初一）")),
    C("class_number", gettext_noop("班级"), False, example="1", help=gettext_noop("班号，如 1、(1)班、3班")),
    C("entered_on", gettext_noop("入学年月"), True, "month", aliases=("入学时间", "入学日期"), example="2025-09",
      help=gettext_noop("如 202509、2025-09 或 2025/9/1")),
    C("entry_mode", gettext_noop("入学方式"), False, "code", example="11-就近入学"),
    C("major", gettext_noop("专业"), False, aliases=("专业名称",), help=gettext_noop("中职、高校学生必填")),
    C("programme_length", gettext_noop("学制"), False, "int", aliases=("学制（年）",), help=gettext_noop("中职、高校学生必填，单位：年")),
    C("level", gettext_noop("培养层次"), False, "code", aliases=("层次",)),
    # A two-row header ("监护人1" over 姓名/关系/电话) reads as the group name plus the cell's.
    C("guardian1_name", gettext_noop("监护人1姓名"), False, aliases=("成员1姓名", "家庭成员1姓名", "家长姓名", "监护人姓名")),
    C("guardian1_relation", gettext_noop("监护人1关系"), False, aliases=("成员1关系", "家庭成员1关系", "监护人1与学生关系",
                                                        "成员1与学生关系")),
    C("guardian1_phone", gettext_noop("监护人1电话"), False, "phone", aliases=("成员1联系电话", "成员1电话", "监护人1联系电话",
                                                                "家庭成员1联系电话", "监护人1手机号码", "家长电话", "家长联系电话",
                                                                "监护人电话"), width=16),
    C("guardian2_name", gettext_noop("监护人2姓名"), False, aliases=("成员2姓名", "家庭成员2姓名")),
    C("guardian2_relation", gettext_noop("监护人2关系"), False, aliases=("成员2关系", "家庭成员2关系", "监护人2与学生关系",
                                                        "成员2与学生关系")),
    C("guardian2_phone", gettext_noop("监护人2电话"), False, "phone", aliases=("成员2联系电话", "成员2电话", "监护人2联系电话",
                                                                "家庭成员2联系电话", "监护人2手机号码"), width=16),
)
FIELD_LABELS: dict[str, str] = {c.field: c.label for c in STUDENT_COLUMNS}

DEFAULTS = {"id_type": RESIDENT_ID_CARD, "nationality": "CHN", "hk_macao_taiwan": "00", "health_status": "10",
            "left_behind": "0", "boarding_mode": "1"}

_REGION = re.compile(r"^\d{6}(\d{3}|\d{6})?$")
_CLASS_NUMBER = re.compile(r"(\d{1,3})\s*\)?\s*班?$")


@dataclass
class CleanStudent(CleanRow):
    grade: Grade | None = None


def _region_code(text: str) -> str:
    digits = compact(text)
    if not _REGION.match(digits):
        raise ValueError(gettext("应为6位、9位或12位行政区划代码"))
    return digits


def _student_number(text: str) -> str:
    try:
        return validate_student_number(text)
    except IdentifierError as exc:
        raise ValueError(gettext("无效：%(message)s") % {"message": exc.message}) from exc


SCHEMA = RowSchema(
    STUDENT_COLUMNS,
    code_tables=CODE_TABLES,
    extra_choices=EXTRA_CHOICES,
    defaults=DEFAULTS,
    # 学制 keeps its own range check (1–8 years) in _check_placement, so any whole number parses here.
    parsers={"birthplace_code": _region_code, "hukou_place_code": _region_code, "student_number": _student_number,
             "programme_length": parse_int},
    max_lengths={"name": 50, "former_name": 50},
    blank_codes={"disability_type": ("无", "否", "0", "无残疾")},
    row_type=CleanStudent,
)
choices_of = SCHEMA.choices_of
matcher = SCHEMA.matcher
template_columns = SCHEMA.template_columns


def clean_fields(raw: Mapping[str, Any], columns: Sequence[Column], memo: dict | None = None) -> CleanStudent:
    """Each column parsed on its own (an edit form checks just the fields it changes)."""
    return SCHEMA.clean(raw, memo=memo, only=[c.field for c in columns])


def clean_student(raw: Mapping[str, Any], *, stage_mask: int, today: dt.date,
                  memo: dict | None = None) -> CleanStudent:
    """Typed values and problems for one student, read in the school's stages (``stage_mask``).

    A batch passes one ``memo`` dict for all its rows: code, date, yes/no and number columns repeat
    the same few values thousands of times, and each is then parsed once.
    """
    out = SCHEMA.clean(raw, memo=memo)
    _check_identity(out, today)
    _check_placement(out, raw.get("grade"), raw.get("class_number"), stage_mask)
    return out


class RowChecker:
    """``clean_student`` for the rows of one file, with the same values and problems in the same order:
    the schema's per-file checker (``core.rows.FileChecker``), then identity and placement, with what
    each grade and class text resolved to remembered per file."""

    def __init__(self, column_index: Mapping[str, int], *, stage_mask: int, today: dt.date) -> None:
        self.stage_mask, self.today = stage_mask, today
        self.fields = SCHEMA.file_checker(column_index)
        self.grade_at = column_index.get("grade")
        self.class_at = column_index.get("class_number")
        self.placements: dict = {}

    def check(self, cells: Sequence[Any]) -> CleanStudent:
        out = self.fields.check(cells)
        _check_identity(out, self.today)
        _check_placement(out, self._cell(cells, self.grade_at), self._cell(cells, self.class_at), self.stage_mask,
                         self.placements)
        return out

    @staticmethod
    def _cell(cells: Sequence[Any], pos: int | None) -> Any:
        return cells[pos] if pos is not None and pos < len(cells) else None


_EARLIEST_BIRTH = dt.date(1950, 1, 1)
_NONE_FAILED: frozenset[str] = frozenset()


def _check_identity(out: CleanStudent, today: dt.date) -> None:
    v = out.values
    # The fields that already have a problem (usually none), looked up once rather than per rule.
    failed = {p[0] for p in out.problems} if out.problems else _NONE_FAILED
    if "id_type" in failed or "id_number" in failed:
        return
    id_type, number = v.get("id_type"), v.get("id_number") or ""
    if not number and id_type != NO_DOCUMENT:
        out.add("id_number", "", gettext("身份证件号为必填项（只有证件类型为“Z-其他”时可以不填）"))
        return
    birth = v.get("birth_date")
    birth_ok = birth is not None and "birth_date" not in failed
    if id_type == RESIDENT_ID_CARD and number:
        try:
            number = validate_id_number(number)
        except IdentifierError as exc:
            out.add("id_number", number, gettext("身份证件号「%(id_number)s」无效：%(message)s") % {"id_number": mask_id_number(number), "message": exc.message})
            return
        v["id_number"] = number
        birth_ok = check_against_resident_id(out, number, check_birth=birth_ok,
                                             check_gender="gender" not in failed) and birth_ok
    if birth_ok and not (_EARLIEST_BIRTH <= birth <= today):
        out.add("birth_date", birth.isoformat(), gettext("出生日期 %(birth)s 不合理（应在1950年之后且不晚于今天）") % {"birth": format(birth, "%Y-%m-%d")})


def check_edit_against_id(clean: CleanStudent, *, id_type: str, id_number: str) -> None:
    """An edit form's sex or birth date against the ID number the student already holds: the form
    sends only the fields it changes, so the row rules of ``clean_student`` never see the number."""
    if id_type != RESIDENT_ID_CARD or not id_number:
        return
    check_against_resident_id(clean, id_number,
                              check_birth="birth_date" in clean.values and not clean.failed("birth_date"),
                              check_gender="gender" in clean.values and not clean.failed("gender"))


def _grade_of(raw: Any, stage_mask: int) -> tuple[Grade | None, tuple[str, str] | None]:
    """(grade, None), (None, (text shown, problem)) or (None, None) for a blank cell."""
    grade_text = clean_text(raw)
    if not grade_text:
        return None, None
    grade = resolve_grade(grade_text, stage_mask)
    if grade is None:
        meanings = bare_year_grades(grade_text, stage_mask)
        if len(meanings) > 1:
            named = gettext("还是").join(g.name for g in meanings)
            return None, (grade_text, gettext("年级「%(grade_text)s」在本校不明确：是%(named)s？请写年级名称，如 %(name)s") % {"grade_text": grade_text, "named": named, "name": meanings[0].name})
        return None, (grade_text, gettext("年级「%(grade_text)s」无法识别，可填写 一年级、初一、高二、小班、年级代码，或本校学段内的年级数字") % {"grade_text": grade_text})
    if not stage_mask & grade.stage:
        return None, (grade_text, gettext("本校不设%(name)s所在学段") % {"name": grade.name})
    return grade, None


def _class_number_of(raw: Any) -> tuple[int | None, tuple[str, str] | None]:
    class_text = clean_text(raw)
    if not class_text:
        return None, None
    match = _CLASS_NUMBER.search(class_text.replace("（", "(").replace("）", ")"))
    if not match or int(match.group(1)) == 0:
        return None, (class_text, gettext("班级「%(class_text)s」无法识别，请填写班号，如 1 或 (1)班") % {"class_text": class_text})
    return int(match.group(1)), None


def _check_placement(out: CleanStudent, grade_raw: Any, class_raw: Any, stage_mask: int,
                     memo: dict | None = None) -> None:
    """Grade and class; ``memo`` (one per file) remembers what each cell text resolved to."""
    v = out.values
    if memo is None:
        grade, grade_problem = _grade_of(grade_raw, stage_mask)
        number, class_problem = _class_number_of(class_raw)
    else:
        key = ("grade", grade_raw) if type(grade_raw) is str else None
        found = memo.get(key) if key else None
        if found is None:
            found = _grade_of(grade_raw, stage_mask)
            if key:
                memo[key] = found
        grade, grade_problem = found
        key = ("class", class_raw) if type(class_raw) is str else None
        found = memo.get(key) if key else None
        if found is None:
            found = _class_number_of(class_raw)
            if key:
                memo[key] = found
        number, class_problem = found
    if grade_problem:
        out.add("grade", *grade_problem)
    elif grade is not None:
        out.grade = grade
        v["grade"] = grade.code
    if class_problem:
        out.add("class_number", *class_problem)
    else:
        v["class_number"] = number
    # "其他" has one code in compulsory education (12) and another above it (99).
    if out.grade and v.get("entry_mode") in ("12", "99"):
        v["entry_mode"] = "12" if out.grade.stage in (Stage.PRIMARY, Stage.JUNIOR) else "99"
    if out.grade and out.grade.stage in (Stage.VOCATIONAL, Stage.HIGHER):
        if not v.get("major"):
            out.add("major", "", gettext("中职、高校学生须填写专业"))
        if not v.get("programme_length") and not out.failed("programme_length"):
            out.add("programme_length", "", gettext("中职、高校学生须填写学制（年）"))
    length = v.get("programme_length")
    if length is not None and not out.failed("programme_length") and not 1 <= length <= 8:
        out.add("programme_length", str(length), gettext("学制应在 1 到 8 年之间"))
    entered, birth = v.get("entered_on"), v.get("birth_date")
    if entered and birth and not out.failed("entered_on") and entered < birth:
        out.add("entered_on", entered.isoformat()[:7], gettext("入学年月早于出生日期"))

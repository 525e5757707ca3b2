"""Grades (年级): their codes, the stage each belongs to, the typical age and what follows it.

Codes follow the two-digit convention of the national student register's 年级 column (first digit the
stage, second the year: 11 = 小学一年级 … 33 = 高中三年级); kindergarten classes are 01–03. Year-end
promotion reads ``next_code``: a grade without a successor graduates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from eduplatform.orgs.stages import Stage


@dataclass(frozen=True)
class Grade:
    code: str
    name: str
    stage: Stage
    year: int  # 1-based year within the stage
    typical_age: int  # 周岁 on 1 September (DOMAIN.md §5.1)
    next_code: str | None  # None: the last year of its stage → graduation
    aliases: tuple[str, ...] = ()


def _stage_grades(
    stage: Stage, first: int, names: list[str], first_age: int, aliases: list[tuple[str, ...]] | None = None
) -> list[Grade]:
    grades = []
    for i, name in enumerate(names):
        code = f"{first + i:02d}"
        nxt = f"{first + i + 1:02d}" if i + 1 < len(names) else None
        grades.append(Grade(code, name, stage, i + 1, first_age + i, nxt, (aliases or [()] * len(names))[i]))
    return grades


_CN = "一二三四五六七八九"

GRADES: list[Grade] = [
    *_stage_grades(Stage.PRESCHOOL, 1, ["小班", "中班", "大班"], 3, [("幼儿园小班",), ("幼儿园中班",), ("幼儿园大班",)]),
    *_stage_grades(
        Stage.PRIMARY, 11, [f"{_CN[i]}年级" for i in range(6)], 6, [(f"小学{_CN[i]}年级", f"小{_CN[i]}") for i in range(6)]
    ),
    *_stage_grades(
        Stage.JUNIOR, 21, ["初一", "初二", "初三"], 12,
        [("七年级", "初中一年级"), ("八年级", "初中二年级"), ("九年级", "初中三年级")],
    ),
    *_stage_grades(
        Stage.SENIOR, 31, ["高一", "高二", "高三"], 15, [("高中一年级",), ("高中二年级",), ("高中三年级",)]
    ),
    *_stage_grades(
        Stage.VOCATIONAL, 41, ["中职一年级", "中职二年级", "中职三年级"], 15, [("中职一",), ("中职二",), ("中职三",)]
    ),
    *_stage_grades(Stage.HIGHER, 51, [f"大学{_CN[i]}年级" for i in range(5)], 18, [(f"大{_CN[i]}",) for i in range(5)]),
    *_stage_grades(
        Stage.SPECIAL, 71, [f"特教{_CN[i]}年级" for i in range(9)], 6, [(f"培智{_CN[i]}年级",) for i in range(9)]
    ),
]

# Higher education and vocational programmes end by their length (学制), not by the last grade code:
# promotion graduates a student whose year reached ``programme_length``.
BY_CODE: dict[str, Grade] = {g.code: g for g in GRADES}
GRADE_CHOICES = [(g.code, g.name) for g in GRADES]
GRADUATING_CODES = {g.code for g in GRADES if g.next_code is None}


def grades_of_stage(stage: Stage) -> list[Grade]:
    return [g for g in GRADES if g.stage == stage]


def grades_for_mask(stage_mask: int) -> list[Grade]:
    return [g for g in GRADES if stage_mask & g.stage]


def grade_name(code: str | None) -> str:
    grade = BY_CODE.get(code or "")
    return grade.name if grade else (code or "")


_PLAIN_YEAR = re.compile(r"^([一二三四五六七八九1-9])年级$")
# A bare year number as national-register exports and hand-made lists write it: "1", "4", "七".
_BARE_YEAR = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]|十[一二])$")
_CN_NUMBER = {**{c: i + 1 for i, c in enumerate(_CN)}, "十": 10, "十一": 11, "十二": 12}


@lru_cache(maxsize=1024)
def resolve_grade(text: str, stage_mask: int) -> Grade | None:
    """A grade from what a spreadsheet says: its code, its name, an alias, "三年级" read in the
    school's stages (a plain "一年级" at a junior middle school is 初一), or a bare year number read
    the same way (see ``bare_year_grades``); None when unknown or ambiguous."""
    text = text.strip()
    if text in BY_CODE:
        return BY_CODE[text]
    candidates = [g for g in GRADES if text == g.name or text in g.aliases]
    in_school = [g for g in candidates if stage_mask & g.stage]
    if in_school:
        return in_school[0]
    match = _PLAIN_YEAR.match(text)
    if match:
        ch = match.group(1)
        year = int(ch) if ch.isdigit() else _CN.index(ch) + 1
        for stage in Stage:
            if stage_mask & stage and stage != Stage.PRESCHOOL:
                for g in grades_of_stage(stage):
                    if g.year == year:
                        return g
    bare = bare_year_grades(text, stage_mask)
    if len(bare) == 1:
        return bare[0]
    return candidates[0] if candidates else None


def bare_year_grades(text: str, stage_mask: int) -> list[Grade]:
    """The grades a bare year number ("1", "4", "七") can mean at a school with ``stage_mask``.

    Schools number their years on from the first stage they teach: a 九年一贯制 school's 7 is 初一,
    a primary school's 4 is 四年级, a junior middle school's 1 is 初一 and its 7 too (七年级). Where two
    stages number from 1 without one running into the other (初中 and 高中 at a 完全中学, 高中 and 中职)
    the number is ambiguous: more than one grade comes back and the caller asks for the name."""
    text = text.strip()
    if not _BARE_YEAR.match(text):
        return []
    number = int(text) if text.isdigit() else _CN_NUMBER[text]
    found: list[Grade] = []
    primary = bool(stage_mask & Stage.PRIMARY)
    for stage in Stage:
        if not stage_mask & stage or stage == Stage.OTHER:
            continue
        grades = grades_of_stage(stage)
        year = number
        if stage == Stage.JUNIOR and number >= 7:
            year = number - 6  # 七年级 … 九年级: the years after six of primary school
        elif stage == Stage.JUNIOR and primary:
            continue  # at a 九年一贯制 school 1–6 are primary years
        elif stage == Stage.SENIOR and number >= 10:
            year = number - 9
        elif stage == Stage.SENIOR and primary:
            continue  # 十二年一贯制: 1–6 primary, 7–9 junior, 10–12 senior
        elif stage == Stage.PRESCHOOL and stage_mask & ~Stage.PRESCHOOL & ~Stage.OTHER:
            continue  # a kindergarten class beside a school is written 小班/中班/大班, not a number
        grade = next((g for g in grades if g.year == year), None)
        if grade is not None and grade not in found:
            found.append(grade)
    return found

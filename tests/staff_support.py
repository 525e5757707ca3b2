"""Builders shared by the staff tests: valid staff and administrator rows, hired people."""

from __future__ import annotations

import datetime as dt

from tests.students_support import make_id

STAFF_FIELDS = ["name", "gender", "birth_date", "id_number", "ethnicity", "education_level", "establishment",
                "post_category", "title", "first_employed_on", "joined_on"]
STAFF_HEADERS = ["姓名", "性别", "出生日期", "身份证件号", "民族", "最高学历", "编制情况", "岗位类别", "专业技术职务",
                 "参加工作年月", "进本单位年月"]
ADMIN_FIELDS = ["name", "gender", "birth_date", "id_number", "ethnicity", "education_level", "establishment",
                "position", "rank", "department", "duties"]
ADMIN_HEADERS = ["姓名", "性别", "出生日期", "身份证件号", "民族", "最高学历", "编制情况", "职务", "职级", "所在部门",
                 "分管工作"]


def person(seq: int) -> dict[str, str]:
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=seq // 400)
    female = seq % 2 == 0
    return {
        "name": f"测试教师{seq}",
        "gender": "女" if female else "男",
        "birth_date": birth.isoformat(),
        "id_number": make_id(birth, seq % 400, area="440104", female=female),
        "ethnicity": "01",
        "education_level": "本科",
        "establishment": "在编",
        "first_employed_on": "2003-07",
        "joined_on": "2010-09",
    }


def staff_row(seq: int = 1, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {**person(seq), "post_category": "1", "title": "一级教师", "subjects": "语文",
                              "teaching_stage": "2"}
    row.update(overrides)
    return row


def admin_row(seq: int = 1, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {**person(seq), "name": f"测试干部{seq}", "position": "科长", "rank": "正科",
                              "department": "基础教育科", "duties": "义务教育管理"}
    row.update(overrides)
    return row

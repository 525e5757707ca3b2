"""A corpus of files as schools and counties really send them, built from data written out here so
that every planted error is explicit: the national student register's 学生基本信息 export (a title
row, a two-row header over 40-odd columns, three address columns, bare-digit grades, a 填表人 footer,
an instructions sheet before the data sheet), the same export saved as a GB18030 CSV, a county
roster saved as .xls by an old Excel, a staff file in the layout of the 全国教师管理信息系统, and a
county's 校舍 statistics sheet (subtitle, column numbers, a 合计 row, signatures).

Each ``CorpusFile`` says what the mapping report must show (sheet, header rows, every column's
letter, header and field) and exactly which (row, column) cells carry a planted error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import xlsxwriter
import xlwt
from xlsxwriter.utility import xl_col_to_name

from eduplatform.core.normalize import clean_text
from tests.students_support import make_id

# ---------------------------------------------------------------------------------------------
# What a corpus file promises


@dataclass(frozen=True)
class Col:
    header: str  # the header cell as written (under ``group`` in a two-row header)
    field: str | None  # what the mapping report must say it becomes; None: shown as not imported
    group: str = ""  # the group header above it ("成员1"), for two-row headers

    @property
    def shown(self) -> str:
        return f"{self.group}/{self.header}" if self.group else self.header


@dataclass
class CorpusFile:
    name: str
    kind: str  # import kind key
    content: bytes
    sheet: str  # the sheet the mapping report must name ("" for CSV)
    header_rows: list[int]
    columns: list[Col]
    first_column: int  # 0-based position of the first column in the sheet
    data_rows: int
    # (spreadsheet row, column label as the problem report names it) of every planted error.
    planted: set[tuple[int, str]]
    skipped: list[tuple[int, str]]  # (row, reason) of the rows recognised as not data

    def expected_mapping(self) -> list[tuple[str, str, str | None]]:
        # Headers are reported as read: full-width brackets and colons folded (NFKC).
        return [(xl_col_to_name(self.first_column + i), clean_text(c.shown), c.field) for i, c in enumerate(self.columns)]


# ---------------------------------------------------------------------------------------------
# Students: the national register's 学生基本信息 export

STUDENT_COLUMNS: list[Col] = [
    Col("序号", None),
    Col("姓名", "name"),
    Col("性别", "gender"),
    Col("出生日期", "birth_date"),
    Col("出生地行政区划代码", "birthplace_code"),
    Col("籍贯", "native_place"),
    Col("民族", "ethnicity"),
    Col("国籍/地区", "nationality"),
    Col("身份证件类型", "id_type"),
    Col("身份证件号", "id_number"),
    Col("港澳台侨外", "hk_macao_taiwan"),
    Col("政治面貌", "political_status"),
    Col("健康状况", "health_status"),
    Col("照片", None),
    Col("身份证件有效期", None),
    Col("户口所在地行政区划", "hukou_place_code"),
    Col("户口性质", "hukou_nature"),
    Col("学籍辅号", None),
    Col("班内学号", None),
    Col("年级", "grade"),
    Col("班级", "class_number"),
    Col("入学年月", "entered_on"),
    Col("入学方式", "entry_mode"),
    Col("就读方式", "boarding_mode"),
    Col("现住址", "home_address"),
    Col("通信地址", "mailing_address"),
    Col("家庭地址", "household_address"),
    Col("联系电话", "phone"),
    Col("邮政编码", None),
    Col("是否独生子女", "only_child"),
    Col("是否受过学前教育", None),
    Col("是否留守儿童", "left_behind"),
    Col("是否进城务工人员随迁子女", "migrant_child"),
    Col("是否孤儿", None),
    Col("是否烈士或优抚子女", None),
    Col("随班就读", None),
    Col("残疾类型", "disability_type"),
    Col("上下学方式", None),
    Col("是否需要乘坐校车", None),
    Col("电子信箱", None),
    Col("姓名", "guardian1_name", "成员1"),
    Col("关系", "guardian1_relation", "成员1"),
    Col("联系电话", "guardian1_phone", "成员1"),
    Col("是否监护人", None, "成员1"),
    Col("姓名", "guardian2_name", "成员2"),
    Col("关系", "guardian2_relation", "成员2"),
    Col("联系电话", "guardian2_phone", "成员2"),
]

SURNAMES = "陈林黄张李王吴刘蔡杨郑梁谢许罗"
GIVEN = ["子轩", "欣怡", "浩然", "梓涵", "宇航", "诗琪", "俊杰", "雨桐", "嘉豪", "思颖", "志明", "晓彤", "家乐", "美玲"]


def pupil(seq: int, grade_year: int, *, area: str = "440106") -> dict[str, object]:
    """One pupil of a 九年一贯制 school, as the national export writes them (bare-digit 年级)."""
    female = seq % 2 == 0
    birth = dt.date(2019 - (grade_year - 1), 1 + seq % 12, 1 + seq % 27)
    name = SURNAMES[seq % len(SURNAMES)] + GIVEN[seq % len(GIVEN)]
    parent = SURNAMES[seq % len(SURNAMES)] + ("建国" if seq % 3 else "伟")
    return {
        "序号": str(seq), "姓名": name, "性别": "女" if female else "男", "出生日期": birth.isoformat(),
        "出生地行政区划代码": area, "籍贯": "广东省广州市", "民族": "汉族", "国籍/地区": "中国",
        "身份证件类型": "居民身份证", "身份证件号": make_id(birth, 300 + seq, area=area, female=female),
        "港澳台侨外": "否", "政治面貌": "共青团员" if grade_year == 9 else "少先队员", "健康状况": "健康或良好",
        "照片": "", "身份证件有效期": "", "户口所在地行政区划": area, "户口性质": "非农业户口",
        "学籍辅号": f"0{seq:05d}", "班内学号": str(seq % 40 + 1), "年级": str(grade_year), "班级": str(1 + seq % 3),
        "入学年月": f"{2025 - (grade_year - 1)}-09", "入学方式": "就近入学", "就读方式": "走读",
        "现住址": f"广州市天河区五山路{seq}号", "通信地址": f"广州市天河区五山路{seq}号{seq % 9 + 1}栋",
        "家庭地址": f"广东省梅州市梅江区江南路{seq}号", "联系电话": f"1380013{seq:04d}", "邮政编码": "510640",
        "是否独生子女": "否", "是否受过学前教育": "是", "是否留守儿童": "非留守儿童",
        "是否进城务工人员随迁子女": "是" if seq % 4 == 0 else "否", "是否孤儿": "否", "是否烈士或优抚子女": "否",
        "随班就读": "", "残疾类型": "无残疾", "上下学方式": "步行", "是否需要乘坐校车": "否", "电子信箱": "",
        "成员1/姓名": parent, "成员1/关系": "父亲", "成员1/联系电话": f"1390013{seq:04d}", "成员1/是否监护人": "是",
        "成员2/姓名": SURNAMES[(seq + 5) % len(SURNAMES)] + "丽", "成员2/关系": "母亲", "成员2/联系电话": "",
    }


def _national_rows(rows: Sequence[dict[str, object]]) -> list[list[object]]:
    return [[row[c.shown] for c in STUDENT_COLUMNS] for row in rows]


def _bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def national_export_rows() -> tuple[list[dict[str, object]], set[tuple[int, str]], set[tuple[int, str]]]:
    """Twelve pupils of grades 1–9, five planted errors; rows are numbered from the sheet's row 4."""
    first = 4
    rows = [pupil(seq, grade) for seq, grade in zip(range(1, 13), (1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9), strict=True)]
    planted: set[tuple[int, str]] = set()
    rows[1]["身份证件号"] = _bad_check_digit(str(rows[1]["身份证件号"]))  # a mistyped last digit
    planted.add((first + 1, "身份证件号"))
    rows[3]["性别"] = "女" if rows[3]["性别"] == "男" else "男"  # contradicts the ID number
    planted.add((first + 3, "性别"))
    rows[6]["年级"] = "10"  # no 高中 at a 九年一贯制 school
    planted.add((first + 6, "年级"))
    rows[7]["联系电话"] = "1380013800"  # ten digits
    planted.add((first + 7, "联系电话"))
    rows[5]["入学年月"] = "2024-13"
    planted.add((first + 5, "入学年月"))
    # 共青团员 is how the register writes 中国共产主义青年团团员.
    return rows, planted


def national_export_xlsx(school_name: str) -> CorpusFile:
    rows, planted = national_export_rows()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    guide = book.add_worksheet("填表说明")  # the first sheet is not the data
    guide.write(0, 0, "学生基本信息导出说明")
    guide.write(1, 0, "本表由全国中小学生学籍信息管理系统导出")
    sheet = book.add_worksheet("学生基本信息")
    last = len(STUDENT_COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, f"全国中小学生学籍信息管理系统 学生基本信息（{school_name}）")
    position = 0
    while position <= last:
        col = STUDENT_COLUMNS[position]
        if col.group:
            span = sum(1 for c in STUDENT_COLUMNS if c.group == col.group)
            sheet.merge_range(1, position, 1, position + span - 1, col.group)
            for offset in range(span):
                sheet.write_string(2, position + offset, STUDENT_COLUMNS[position + offset].header)
            position += span
        else:
            sheet.merge_range(1, position, 2, position, col.header)  # merged down over both rows
            position += 1
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, cells in enumerate(_national_rows(rows), start=3):
        for c, value in enumerate(cells):
            if STUDENT_COLUMNS[c].header == "出生日期" and r % 2:  # some dates are real date cells
                sheet.write_datetime(r, c, dt.datetime.fromisoformat(str(value)), date_format)
            else:
                sheet.write_string(r, c, str(value))
    end = 3 + len(rows)
    sheet.write_string(end + 1, 0, "填表人：王老师")
    sheet.write_string(end + 1, 5, "审核人：李校长")
    sheet.write_string(end + 1, 10, "制表日期：2025年10月10日")
    sheet.write_string(end + 2, 0, "注：年级按本校学段填写，九年一贯制学校7至9年级为初中。")
    book.close()
    return CorpusFile(
        name="学生基本信息_导出.xlsx", kind="students", content=buffer.getvalue(), sheet="学生基本信息",
        header_rows=[2, 3], columns=STUDENT_COLUMNS, first_column=0, data_rows=len(rows), planted=planted,
        skipped=[(1, "标题行"), (end + 2, "落款、合计或备注行"), (end + 3, "落款、合计或备注行")],
    )


def national_export_csv(school_name: str) -> CorpusFile:
    """The same layout saved as CSV by Excel on Chinese Windows (GB18030, CRLF), other pupils."""
    rows = [pupil(seq, grade) for seq, grade in zip(range(21, 29), (1, 2, 3, 5, 6, 7, 8, 9), strict=True)]
    first = 4
    planted: set[tuple[int, str]] = set()
    rows[2]["民族"] = "火星族"
    planted.add((first + 2, "民族"))
    rows[4]["出生日期"] = "2014-02-30"
    planted.add((first + 4, "出生日期"))
    rows[5]["班级"] = "甲班"
    planted.add((first + 5, "班级"))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([f"全国中小学生学籍信息管理系统 学生基本信息（{school_name}）"])
    groups, lower = [], []
    for i, col in enumerate(STUDENT_COLUMNS):
        starts_group = col.group and (i == 0 or STUDENT_COLUMNS[i - 1].group != col.group)
        groups.append(col.group if starts_group else ("" if col.group else col.header))
        lower.append(col.header if col.group else "")
    writer.writerow(groups)
    writer.writerow(lower)
    writer.writerows(_national_rows(rows))
    writer.writerow([])
    writer.writerow(["填表人：王老师", "", "", "", "", "审核人：李校长"])
    end = 3 + len(rows)
    return CorpusFile(
        name="学生基本信息.csv", kind="students", content=out.getvalue().encode("gb18030"), sheet="",
        header_rows=[2, 3], columns=STUDENT_COLUMNS, first_column=0, data_rows=len(rows), planted=planted,
        skipped=[(1, "标题行"), (end + 2, "落款、合计或备注行")],
    )


# ---------------------------------------------------------------------------------------------
# Students: a county's class roster, saved as .xls

ROSTER_COLUMNS: list[Col] = [
    Col("序号", None), Col("姓名", "name"), Col("性别", "gender"), Col("出生日期", "birth_date"),
    Col("民族", "ethnicity"), Col("身份证号", "id_number"), Col("年级", "grade"), Col("班级", "class_number"),
    Col("入学年月", "entered_on"), Col("家庭住址", "household_address"), Col("家长姓名", "guardian1_name"),
    Col("家长电话", "guardian1_phone"), Col("备注", None),
]


def county_roster_xls() -> CorpusFile:
    """A primary school's roster: 年级 as "4", "四年级" or "4年级", 班级 as "4(2)班"."""
    grades = ["4", "四年级", "4年级", "4", "4", "4", "4", "4"]
    rows = []
    for i, grade in enumerate(grades):
        seq = 60 + i
        female = i % 2 == 1
        birth = dt.date(2016, 1 + i, 10 + i)
        rows.append([str(i + 1), SURNAMES[i] + GIVEN[i], "女" if female else "男", birth.strftime("%Y/%m/%d"), "汉",
                     make_id(birth, seq, female=female), grade, "4(2)班", "2022.9", f"广州市天河区石牌街{i + 1}号",
                     SURNAMES[i] + "强", f"1370013{i:04d}", ""])
    first = 3
    planted = set()
    rows[2][3] = "2016/2/30"
    planted.add((first + 2, "出生日期"))
    rows[5][6] = "7"  # a primary school has no seventh year
    planted.add((first + 5, "年级"))
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    sheet.write_merge(0, 0, 0, len(ROSTER_COLUMNS) - 1, "天河区2025学年小学四年级学生花名册")
    for c, col in enumerate(ROSTER_COLUMNS):
        sheet.write(1, c, col.header)
    for r, cells in enumerate(rows, start=2):
        for c, value in enumerate(cells):
            sheet.write(r, c, value)
    end = 2 + len(rows)
    sheet.write(end, 0, "注：本表由班主任填写，学生身份证号请核对户口簿。")
    sheet.write(end + 1, 0, "填表人：陈老师")
    sheet.write(end + 1, 6, "联系电话：020-87654321")
    buffer = io.BytesIO()
    book.save(buffer)
    return CorpusFile(
        name="四年级花名册.xls", kind="students", content=buffer.getvalue(), sheet="花名册", header_rows=[2],
        columns=ROSTER_COLUMNS, first_column=0, data_rows=len(rows), planted=planted,
        skipped=[(1, "标题行"), (end + 1, "落款、合计或备注行"), (end + 2, "落款、合计或备注行")],
    )


# ---------------------------------------------------------------------------------------------
# Staff: the 全国教师管理信息系统 layout

STAFF_COLUMNS: list[Col] = [
    Col("工号", "staff_number"), Col("姓名", "name"), Col("性别", "gender"), Col("出生日期", "birth_date"),
    Col("国籍/地区", None), Col("身份证件类型", "id_type"), Col("身份证件号", "id_number"), Col("民族", "ethnicity"),
    Col("政治面貌", "political_status"), Col("婚姻状况", None), Col("健康状况", None),
    Col("参加工作年月", "first_employed_on"), Col("进本校年月", "joined_on"), Col("教职工来源", None),
    Col("教职工类别", "post_category"), Col("是否在编", "establishment"), Col("用人形式", None),
    Col("最高学历", "education_level"), Col("最高学位层次", "degree"), Col("获得最高学历的院校或机构", "graduated_from"),
    Col("所学专业", "major"), Col("专业技术职务", "title"), Col("教师资格证种类", "qualification_type"),
    Col("教师资格证号码", "qualification_number"), Col("任教学段", "teaching_stage"), Col("任教课程", "subjects"),
    Col("是否班主任", "is_head_teacher"), Col("手机号码", "phone"), Col("是否县级及以上骨干教师", None),
]


def teacher(i: int) -> list[str]:
    female = i % 2 == 0
    birth = dt.date(1975 + i, 1 + i % 12, 3 + i)
    titles = ["一级教师", "高级教师", "二级教师", "中小学一级教师", "一级教师", "中小学高级教师", "二级教师"]
    party = ["群众", "中国共产党党员", "中共党员", "群众", "中国共产主义青年团团员", "群众", "群众"]
    return ["", SURNAMES[i] + GIVEN[-1 - i], "女" if female else "男", birth.isoformat(), "中国", "居民身份证",
            make_id(birth, 200 + i, area="440106", female=female), "汉族", party[i % 7], "已婚", "健康或良好",
            f"{1997 + i}-07", f"{2008 + i}-09", "高校毕业生", "专任教师", "是", "聘用", "大学本科毕业", "学士",
            "华南师范大学", "汉语言文学", titles[i % 7], "小学教师资格", f"2015440{i:09d}", "小学", "语文",
            "是" if i % 3 == 0 else "否", f"1360013{i:04d}", "否"]


def staff_file_xlsx(school_name: str) -> CorpusFile:
    rows = [teacher(i) for i in range(7)]
    first = 3
    planted = set()
    rows[1][6] = _bad_check_digit(rows[1][6])
    planted.add((first + 1, "身份证件号"))
    rows[4][17] = "家里蹲"
    planted.add((first + 4, "最高学历"))
    rows[5][27] = "136-0013"
    planted.add((first + 5, "联系电话"))
    # Official names of the 2015 title reform and short forms of 政治面貌 the national system uses.
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("教职工基本信息")
    sheet.merge_range(0, 0, 0, len(STAFF_COLUMNS) - 1, f"{school_name} 教职工基本信息（全国教师管理信息系统）")
    sheet.write_row(1, 0, [c.header for c in STAFF_COLUMNS])
    for r, cells in enumerate(rows, start=2):
        for c, value in enumerate(cells):
            sheet.write_string(r, c, value)
    end = 2 + len(rows)
    sheet.write_string(end, 0, "填表人：")
    sheet.write_string(end, 4, "审核人：")
    sheet.write_string(end, 9, "填表日期：2025-09-30")
    book.close()
    return CorpusFile(
        name="教职工基本信息.xlsx", kind="staff", content=buffer.getvalue(), sheet="教职工基本信息",
        header_rows=[2], columns=STAFF_COLUMNS, first_column=0, data_rows=len(rows), planted=planted,
        skipped=[(1, "标题行"), (end + 1, "落款、合计或备注行")],
    )


# ---------------------------------------------------------------------------------------------
# Buildings: a county's 校舍 statistics sheet

BUILDING_COLUMNS: list[Col] = [
    Col("序号", None), Col("建筑物编号", "number"), Col("校舍名称", "name"), Col("用途", "use_code"),
    Col("结构", "structure"), Col("层数", "floors_above"), Col("建成年份", "built_year"),
    Col("建筑面积（平方米）", "total_area"), Col("其中：教学及辅助用房", "teaching_area"),
    Col("行政办公用房", "admin_area"), Col("生活用房", "living_area"), Col("产权", "property_right"),
    Col("危房等级", "condition"), Col("备注", "notes"),
]


def county_buildings_xlsx(school_name: str) -> CorpusFile:
    rows = [
        ["1", "JZ001", "1号教学楼", "教学楼", "框架结构", "5", "2008", "4200", "3600", "600", "", "学校独立产权", "正常", ""],
        ["2", "JZ002", "综合楼", "实验楼", "框架结构", "4", "2012", "2600", "2000", "600", "", "学校独立产权", "正常", ""],
        ["3", "JZ003", "学生宿舍", "宿舍", "钢混", "6", "2015", "3000", "", "", "3000", "学校独立产权", "正常", ""],
        ["4", "JZ004", "饭堂", "食堂", "砖混结构", "2", "1998", "900", "", "", "900", "学校独立产权", "正常", "2026年拟改造"],
        ["5", "JZ005", "旧办公楼", "行政办公用房", "砖木结构", "2", "1985", "-400", "", "400", "", "学校独立产权", "正常", ""],
        ["6", "JZ006", "风雨操场", "体育活动室", "钢结构", "1", "2031", "1500", "1500", "", "", "学校独立产权", "正常", ""],
    ]
    first = 5
    planted = {(first + 4, "建筑面积"), (first + 5, "建成年份")}
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("校舍情况")
    last = len(BUILDING_COLUMNS) - 1
    sheet.merge_range(0, 0, 0, last, "天河区中小学校舍情况统计表（2025年）")
    sheet.write_string(1, 0, f"填报单位（盖章）：{school_name}")
    sheet.write_string(1, 9, "填报日期：2025年9月15日")
    sheet.write_row(2, 0, [c.header for c in BUILDING_COLUMNS])
    sheet.write_row(3, 0, [str(i + 1) for i in range(len(BUILDING_COLUMNS))])  # the column numbers
    for r, cells in enumerate(rows, start=4):
        sheet.write_row(r, 0, cells)
    end = 4 + len(rows)
    sheet.write_row(end, 0, ["合计", "", "", "", "", "", "", "11800", "7100", "1600", "3900"])
    sheet.write_string(end + 2, 0, "填表人：张老师")
    sheet.write_string(end + 2, 4, "审核人：李主任")
    sheet.write_string(end + 2, 8, "联系电话：020-87650000")
    book.close()
    return CorpusFile(
        name="校舍情况统计表.xlsx", kind="buildings", content=buffer.getvalue(), sheet="校舍情况", header_rows=[3],
        columns=BUILDING_COLUMNS, first_column=0, data_rows=len(rows), planted=planted,
        skipped=[(1, "标题行"), (2, "表头上方的说明行"), (4, "列序号行"), (end + 1, "落款、合计或备注行"),
                 (end + 3, "落款、合计或备注行")],
    )

"""How read_table finds the data in files laid out as people make them: the sheet that holds it,
two-row headers, titles, column numbers, signatures and notes, and the mapping report it gives."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from eduplatform.core.imports import Column, ImportFileError, read_table
from eduplatform.orgs.stages import Stage
from eduplatform.students.grades import BY_CODE, bare_year_grades, resolve_grade
from eduplatform.students.schema import _grade_of

COLUMNS = (
    Column("name", "姓名", required=True),
    Column("gender", "性别", required=True),
    Column("guardian_name", "监护人姓名"),
    Column("guardian_phone", "监护人电话"),
    Column("home_address", "现住址"),
    Column("mailing_address", "通信地址"),
)


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def test_the_sheet_holding_the_data_is_found_and_named():
    content = workbook({"说明": [["本表说明"], ["姓名：与户口簿一致"]], "Sheet2": [],
                        "学生名单": [["姓名", "性别", "现住址"], ["张三", "男", "天河路1号"]]})
    table = read_table(content, "名单.xlsx", COLUMNS)
    assert table.sheet == table.mapping["sheet"] == "学生名单"
    assert table.mapping["sheets"] == ["说明", "Sheet2", "学生名单"]
    assert table.rows == [(2, ["张三", "男", "天河路1号"])]


def test_a_group_header_names_the_columns_below_it():
    content = workbook({"学生": [
        ["学生名单"],
        ["姓名", "性别", "监护人", "", "通信地址"],
        ["", "", "姓名", "电话", ""],
        ["张三", "男", "张大山", "13800138000", "天河路1号"],
    ]})
    table = read_table(content, "s.xlsx", COLUMNS)
    assert table.mapping["header_rows"] == [2, 3]
    assert table.column_index == {"name": 0, "gender": 1, "guardian_name": 2, "guardian_phone": 3,
                                  "mailing_address": 4}
    assert table.headers == ["姓名", "性别", "监护人/姓名", "监护人/电话", "通信地址"]
    assert table.rows == [(4, ["张三", "男", "张大山", "13800138000", "天河路1号"])]


def test_a_column_under_an_unknown_group_yields_to_the_plain_one_and_is_shown_as_not_imported():
    content = workbook({"学生": [
        ["姓名", "性别", "父亲", ""],
        ["", "", "姓名", "工作单位"],
        ["张三", "男", "张大山", "某厂"],
    ]})
    table = read_table(content, "s.xlsx", COLUMNS)
    assert table.column_index == {"name": 0, "gender": 1}
    notes = {c["header"]: c["note"] for c in table.mapping["columns"]}
    assert notes["父亲/姓名"] == "与A列的「姓名」重复，未导入"
    assert notes["父亲/工作单位"] == "本平台不保存此列，未导入"
    assert table.ignored_headers == ["父亲/姓名", "父亲/工作单位"]


def test_two_plain_columns_of_one_field_are_still_refused():
    with pytest.raises(ImportFileError, match="「姓名」列出现了两次（A列和C列）"):
        read_table("姓名,性别,姓名\n张三,男,李四\n".encode(), "s.csv", COLUMNS)


def test_titles_column_numbers_signatures_totals_and_notes_are_skipped_and_listed():
    text = "\n".join([
        "2025年学生名单,,",
        "填报单位：某小学,,填报日期：2025-09-01",
        "姓名,性别,现住址",
        "1,2,3",
        "张三,男,天河路1号",
        "姓名,性别,现住址",  # the header repeated for a second printed page
        "注意,女,天河路2号",  # a pupil may be called 注意: no colon, a record
        "合计,2,",
        "填表人：王老师,审核人：李校长,",
        "注：1. 本表一式两份。,,",
    ])
    table = read_table(text.encode("gb18030"), "s.csv", COLUMNS)
    assert [n for n, _ in table.rows] == [5, 7]
    assert [(s["row"], s["reason"]) for s in table.mapping["skipped_rows"]] == [
        (1, "标题行"), (2, "表头上方的说明行"), (4, "列序号行"), (6, "重复的表头行"), (8, "落款、合计或备注行"),
        (9, "落款、合计或备注行"), (10, "落款、合计或备注行")]
    assert table.mapping["skipped_count"] == 7 and table.mapping["data_rows"] == 2


def test_the_mapping_report_lists_every_column_and_the_fields_left_out():
    table = read_table("姓名,性别,邮政编码\n张三,男,510000\n".encode(), "s.csv", COLUMNS)
    assert [(c["letter"], c["header"], c["field"]) for c in table.mapping["columns"]] == [
        ("A", "姓名", "name"), ("B", "性别", "gender"), ("C", "邮政编码", None)]
    assert table.mapping["absent"] == ["监护人姓名", "监护人电话", "现住址", "通信地址"]
    assert table.mapping["missing_required"] == []


def test_missing_required_columns_come_with_the_mapping():
    with pytest.raises(ImportFileError) as info:
        read_table("姓名,通信地址\n张三,天河路1号\n".encode(), "s.csv", COLUMNS)
    assert info.value.message == "缺少必填列：性别"
    assert info.value.mapping["missing_required"] == ["性别"]
    assert info.value.mapping["columns"][1]["field"] == "mailing_address"


@pytest.mark.parametrize(("text", "mask", "code"), [
    ("1", Stage.PRIMARY, "11"), ("4", Stage.PRIMARY, "14"), ("四", Stage.PRIMARY, "14"),
    ("4", Stage.PRIMARY | Stage.JUNIOR, "14"), ("7", Stage.PRIMARY | Stage.JUNIOR, "21"),
    ("9", Stage.PRIMARY | Stage.JUNIOR, "23"), ("1", Stage.JUNIOR, "21"), ("8", Stage.JUNIOR, "22"),
    ("2", Stage.SENIOR, "32"), ("10", Stage.JUNIOR | Stage.SENIOR, "31"),
    ("10", Stage.PRIMARY | Stage.JUNIOR | Stage.SENIOR, "31"), ("2", Stage.PRESCHOOL, "02"),
    ("初一", Stage.JUNIOR, "21"), ("高一", Stage.SENIOR, "31"), ("3年级", Stage.PRIMARY, "13"),
])
def test_grades_as_bare_digits_or_numerals_are_read_in_the_schools_stages(text, mask, code):
    assert resolve_grade(text, int(mask)) is BY_CODE[code]


def test_a_bare_grade_two_stages_share_is_refused_naming_both():
    mask = int(Stage.JUNIOR | Stage.SENIOR)  # 完全中学
    assert [g.name for g in bare_year_grades("1", mask)] == ["初一", "高一"]
    assert resolve_grade("1", mask) is None
    grade, problem = _grade_of("1", mask)
    assert grade is None and problem == ("1", "年级「1」在本校不明确：是初一还是高一？请写年级名称，如 初一")
    grade, problem = _grade_of("7", int(Stage.PRIMARY))
    assert grade is None and "无法识别" in problem[1]


def test_the_templates_example_row_is_skipped_even_without_its_marker_column():
    columns = (Column("name", "姓名", required=True, example="张三"), Column("gender", "性别", example="男"),
               Column("birth_date", "出生日期", example="2015-09-01"), Column("note", "备注"))
    text = "姓名,性别,出生日期,备注\n张三,男,2015-09-01,\n张三,男,2016-01-02,\n李四,女,2015-09-01,\n"
    table = read_table(text.encode(), "s.csv", columns)
    # Only the row equal to the example in every column that has one is the example.
    assert [n for n, _ in table.rows] == [3, 4]
    assert [(s["row"], s["reason"]) for s in table.mapping["skipped_rows"]] == [(2, "模板示例行（与模板中的示例完全相同）")]


def test_a_group_with_a_note_still_names_its_columns():
    content = workbook({"学生": [["姓名", "性别", "监护人（第一监护人）", ""], ["", "", "姓名", "电话"],
                                 ["张三", "男", "张大山", "13800138000"]]})
    table = read_table(content, "s.xlsx", COLUMNS)
    assert table.column_index == {"name": 0, "gender": 1, "guardian_name": 2, "guardian_phone": 3}

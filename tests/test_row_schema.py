"""The shared row schema (core/rows.py): one record's raw text → typed values and problems that
name the column, the value as written and what is allowed. Every non-student import uses it."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from eduplatform.core.imports import Column
from eduplatform.core.rows import RowSchema, parse_decimal

SIZES = (("1", "小"), ("2", "中"), ("3", "大"))
SCHEMA = RowSchema(
    (
        Column("name", "名称", True),
        Column("size", "规格", True, "code"),
        Column("built_on", "建成日期", False, "date"),
        Column("floors", "层数", False, "int"),
        Column("area", "建筑面积", True, "decimal"),
        Column("in_use", "是否在用", False, "bool"),
        Column("owner_id", "负责人身份证件号", False, "id_number"),
        Column("phone", "联系电话", False, "phone"),
        Column("note", "备注"),
    ),
    extra_choices={"size": SIZES},
    defaults={"in_use": True},
    max_lengths={"note": 10},
)


def problems(raw: dict) -> dict[str, str]:
    return {f: message for f, _value, message in SCHEMA.clean(raw).problems}


def test_a_good_row_becomes_typed_values_with_defaults():
    row = SCHEMA.clean({"name": " 教学楼 ", "size": "大", "built_on": "2015/9/1", "floors": "５",
                        "area": "1,200.50", "owner_id": "44010619900101002x", "phone": "020-87654321"})
    assert row.ok
    assert row.values == {
        "name": "教学楼", "size": "3", "built_on": dt.date(2015, 9, 1), "floors": 5,
        "area": decimal.Decimal("1200.50"), "in_use": True, "owner_id": "44010619900101002X",
        "phone": "020-87654321", "note": "",
    }


def test_each_bad_cell_is_named_with_its_value_and_what_is_allowed():
    found = problems({"name": "", "size": "特大", "built_on": "2015-02-30", "floors": "-2", "area": "-5",
                      "in_use": "也许", "phone": "12345", "note": "超过十个字的备注内容会被拒绝"})
    assert found["name"] == "名称为必填项"
    assert found["size"].startswith("规格「特大」不是有效的规格") and "1-小" in found["size"]
    assert found["built_on"].startswith("建成日期「2015-02-30」")
    assert found["floors"] == "层数「-2」不能为负数"
    assert found["area"] == "建筑面积「-5」不能为负数"
    assert found["in_use"] == "是否在用「也许」只能填写 是 或 否"
    assert "不是有效的电话号码" in found["phone"]
    assert found["note"].endswith("过长（最多 10 个字）")
    assert set(found) == {"name", "size", "built_on", "floors", "area", "in_use", "phone", "note"}


def test_only_checks_just_the_named_fields_as_an_edit_form_does():
    row = SCHEMA.clean({"area": "abc"}, only=["area"])
    assert [(f, v) for f, v, _ in row.problems] == [("area", "abc")]
    assert "name" not in row.values


def test_a_batch_memo_parses_each_repeated_value_once_and_gives_the_same_answer():
    memo: dict = {}
    first = SCHEMA.clean({"name": "甲", "size": "中", "area": "10"}, memo=memo)
    second = SCHEMA.clean({"name": "乙", "size": "中", "area": "10"}, memo=memo)
    assert first.values["size"] == second.values["size"] == "2"
    assert ("size", "中") in memo and ("area", "10") in memo


def test_row_problems_carry_the_row_number_and_column_header():
    lines = SCHEMA.row_problems(7, SCHEMA.clean({"name": "甲", "size": "1", "area": "x"}))
    assert [(p.row, p.field, p.label, p.value) for p in lines] == [(7, "area", "建筑面积", "x")]


def test_template_columns_carry_the_dropdown_choices():
    size = next(c for c in SCHEMA.template_columns() if c.field == "size")
    assert size.choices == SIZES


def test_an_id_number_a_number_format_has_cut_is_reported_whatever_the_document():
    for cell in (4.4010619900101e17, "4.40106E+17", "440106199001010023.0"):
        found = problems({"name": "甲", "size": "1", "area": "1", "owner_id": cell})
        assert set(found) == {"owner_id"}, cell
        assert found["owner_id"].startswith("负责人身份证件号「") and "表格把身份证号存成了数字" in found["owner_id"]
    # The number never appears whole: 440106199001010000 is shown masked.
    assert "440106199001010000" not in problems({"name": "甲", "size": "1", "area": "1",
                                                 "owner_id": 4.4010619900101e17})["owner_id"]
    # A number that fits a number cell exactly (a short document number) is taken as its digits.
    assert SCHEMA.clean({"name": "甲", "size": "1", "area": "1", "owner_id": 12345678.0}).values["owner_id"] == "12345678"


def test_code_tables_name_a_table_key_and_keep_no_short_forms_of_their_own():
    # Short forms live in data/reference/code_synonyms.csv (test_code_synonyms.py), one place for all.
    with pytest.raises(TypeError, match="code table keys"):
        RowSchema((Column("size", "规格", True, "code"),), code_tables={"size": ("building_structure", {"钢混": "4"})})


def test_a_code_column_without_a_code_table_is_a_programming_error():
    with pytest.raises(ValueError, match="without a code table"):
        RowSchema((Column("size", "规格", True, "code"),))


@pytest.mark.parametrize("text,expected", [("0", "0"), ("12.5", "12.5"), ("1,234,567.89", "1234567.89")])
def test_parse_decimal_accepts_plain_and_grouped_numbers(text, expected):
    assert parse_decimal(text) == decimal.Decimal(expected)


@pytest.mark.parametrize("text", ["1.2.3", "abc", "1,23", "-0.5"])
def test_parse_decimal_rejects_what_is_not_a_non_negative_number(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


def test_the_per_file_checker_gives_exactly_what_clean_gives_row_by_row():
    import random

    from eduplatform.core.rows import FileChecker

    rng = random.Random(5)
    cells_of = {
        "name": ["教学楼", "", "  ", "甲" * 201],
        "size": ["大", "2", "特大", "", "中 "],
        "built_on": ["2015/9/1", "2015-02-30", "", "20150901"],
        "floors": ["3", "-1", "三", ""],
        "area": ["12.5", "-5", "1,200", ""],
        "in_use": ["是", "否", "也许", ""],
        # Number cells and the texts a number format leaves of an ID number take the slow path.
        "owner_id": ["44010619900101002x", "abc123", "", 4.4010619900101e17, "4.40106E+17", "440106199001010023.0"],
        "phone": ["13800138000", "12345", "020-87654321", ""],
        "note": ["短", "超过十个字的备注内容会被拒绝", ""],
    }
    order = list(cells_of)
    rng.shuffle(order)  # the file's columns in another order than the schema's
    checker = FileChecker(SCHEMA, {f: i for i, f in enumerate(order)})
    for _ in range(300):
        cells = [rng.choice(cells_of[f]) for f in order]
        row = checker.check(cells)
        expected = SCHEMA.clean(dict(zip(order, cells, strict=True)))
        assert (row.values, row.problems) == (expected.values, expected.problems)


def test_the_student_file_checker_matches_clean_student(world):
    import datetime as dt
    import random

    from eduplatform.students.schema import STUDENT_COLUMNS, RowChecker, clean_student
    from tests.students_support import student_row

    rng = random.Random(11)
    fields = [c.field for c in STUDENT_COLUMNS if c.field in student_row(1)] + ["migrant_child", "programme_length"]
    index = {f: i for i, f in enumerate(fields)}
    today = dt.date(2026, 11, 29)
    checker = RowChecker(index, stage_mask=world.school_a1.stage_mask, today=today)
    spoilers = {"gender": "未知", "birth_date": "2019-02-30", "ethnicity": "火星族", "grade": "九年级",
                "id_number": "440106201905120013", "phone": "123", "entered_on": "", "programme_length": "-1"}
    for seq in range(200):
        row = student_row(seq, migrant_child=rng.choice(["是", "否"]), programme_length="")
        for f, bad in spoilers.items():
            if rng.random() < 0.1:
                row[f] = bad
        cells = [row.get(f, "") for f in fields]
        got = checker.check(cells)
        expected = clean_student(row, stage_mask=world.school_a1.stage_mask, today=today)
        assert (got.values, got.problems, got.grade) == (expected.values, expected.problems, expected.grade)

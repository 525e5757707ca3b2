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

"""Messages written by services and parsers follow the interface language (docs/i18n.md): a failed save
in an English session is explained in English, in Chinese otherwise; records' own names stay as stored."""

from __future__ import annotations

import types

import pytest
from django.utils import translation

from eduplatform.core import approval_steps
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.core.normalize import parse_date, parse_month
from eduplatform.orgs import services
from tests.world import TOWN_A, school_row


def _message(call) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    return str(caught.value)


def test_parse_errors_follow_the_language():
    with translation.override("en"):
        assert _message(lambda: parse_date("")) == (
            "The date is required; write it as 2015-09-01, 2015/9/1, 20150901 or 2015.9.1")
        assert _message(lambda: parse_date("2015-02-30")) == "No such date: month 2 of 2015 has no day 30"
    with translation.override("zh-hans"):
        assert _message(lambda: parse_date("2015-02-30")) == "日期不存在：2015年2月没有30日"


def test_a_month_that_is_no_date_keeps_its_own_reason_in_english():
    # parse_month passes on "no such date" and replaces any other failure by its format hint: the test
    # for that must not depend on the (translated) wording.
    with translation.override("en"):
        assert _message(lambda: parse_month("2015-02-30")).startswith("No such date")
        assert "year-and-month format" in _message(lambda: parse_month("2015-02-xx"))


def test_the_approval_chain_explains_a_closed_step_in_the_language_of_the_session():
    record = types.SimpleNamespace(status="pending", closed_at=None)
    step = types.SimpleNamespace(decision="waiting", title="县级教育行政部门审核")
    with translation.override("en"):
        message = approval_steps.closed_step_message("this transfer request", record, step)
    assert message == ("Step “县级教育行政部门审核” of this transfer request is not due yet; "
                       "wait for the earlier steps to be reviewed")  # the step's title is data
    with translation.override("zh-hans"):
        assert approval_steps.closed_step_message("该调动申请", record, step) == (
            "该调动申请的「县级教育行政部门审核」环节尚未轮到，请等待前序环节审核")


@pytest.mark.django_db
def test_a_refused_or_invalid_school_is_explained_in_english(world):
    with translation.override("en"), pytest.raises(NotPermitted) as refused:
        services.update_school(actor=world.user("clerk_a1"), school=world.school_a1, data={"name": "改名小学"})
    assert refused.value.message == "Your role may not change these details of the school"
    row = school_row("2144009999", "天河新建小学", "211", TOWN_A)
    row["name"] = ""
    with translation.override("en"), pytest.raises(RecordInvalid) as invalid:
        services.create_school(actor=world.user("county_a_stat"), data=row)
    assert invalid.value.by_field()["name"] == ["The school name is required"]


def test_the_import_mapping_report_is_written_in_the_language_of_the_page():
    from eduplatform.core.imports import mapping_summary

    mapping = {"sheet": "花名册", "sheets": ["花名册", "说明"], "header_rows": [1, 2],
               "columns": [{"field": "name"}, {"field": None}], "skipped_count": 1}
    with translation.override("en"):
        assert mapping_summary(mapping) == [
            "Worksheet holding the data: “花名册” (2 worksheets)", "Header: rows 1、2 (a two-row header)",
            "2 columns: 1 imported, 1 not imported",
            "1 non-data rows skipped (titles, examples, signatures, totals or notes)"]
    with translation.override("zh-hans"):
        assert mapping_summary(mapping)[:2] == ["数据所在工作表：「花名册」（共 2 个工作表）", "表头：第1、2行（两行表头）"]


def test_an_import_row_problem_and_its_column_follow_the_language():
    # A row problem (a *schema.py rule) names its column: the column label is the import's Chinese header,
    # marked gettext_noop, shown translated where the problem is made.
    import datetime as dt

    from eduplatform.facilities.schema import check_building

    raw = {"number": "A01", "name": "教学楼", "building_use": "11", "built_year": "2001", "floors_above": "300",
           "total_area": "1000", "teaching_area": "800"}
    today = dt.date(2026, 9, 1)
    with translation.override("en"):
        clean = check_building(raw, today=today)
        problems = dict((field, message) for field, _value, message in clean.problems)
    assert problems["floors_above"].startswith("Floors above ground “300” is not plausible; at most")
    with translation.override("zh-hans"):
        clean = check_building(raw, today=today)
    assert dict((f, m) for f, _v, m in clean.problems)["floors_above"].startswith("地上层数「300」不合理")


def test_duplicate_keys_in_an_import_file_are_reported_in_the_language_of_the_run():
    from django.utils.translation import gettext_noop

    from eduplatform.imports.registry import report_duplicates

    rows = [(2, "A01"), (5, "A01")]
    with translation.override("en"):
        problems: dict = {}
        report_duplicates(rows, lambda key: key, "number", gettext_noop("建筑物编号"), problems)
    first = problems[2][0]
    assert first.label == "Building number"
    assert first.message == ("Building number “A01” appears more than once in this file (see also rows 5); "
                             "each Building number may appear only once in a file")
    with translation.override("zh-hans"):
        problems = {}
        report_duplicates(rows, lambda key: key, "number", gettext_noop("建筑物编号"), problems)
    assert problems[5][0].label == "建筑物编号"
    assert problems[5][0].message.startswith("建筑物编号「A01」在本文件中出现了多次（另见第 2 行）")


def test_a_required_import_column_is_named_in_english():
    from eduplatform.students.schema import SCHEMA

    with translation.override("en"):
        clean = SCHEMA.clean({"name": "", "gender": "1"}, only=["name"])
        rows = SCHEMA.row_problems(7, clean)
    assert [(p.row, p.label) for p in rows] == [(7, "Name")]
    assert "为" not in rows[0].message and rows[0].message.startswith("Name")


def test_report_designer_and_expression_errors_follow_the_language():
    from eduplatform.reporting import expressions
    from eduplatform.reporting.formdef import DefinitionInvalid, parse_definition

    with translation.override("en"), pytest.raises(DefinitionInvalid) as invalid:
        parse_definition({"code": "bad code", "title": "", "tables": []}, code_tables=set())
    messages = invalid.value.by_field()
    assert messages["code"][0].startswith("Form code “bad code” is not valid: should start with a capital letter")
    assert messages["title"] == ["The form title is required"]
    with translation.override("en"), pytest.raises(expressions.ExpressionError) as bad:
        expressions.parse("[T1.R1.C1] ** 2", check_records=False)
    assert str(bad.value) == "Exponentiation “**” is not supported (character 12)"
    with translation.override("zh-hans"), pytest.raises(DefinitionInvalid) as invalid:
        parse_definition({"code": "bad code", "title": "", "tables": []}, code_tables=set())
    assert invalid.value.by_field()["title"] == ["表名不能为空"]


def test_an_import_error_report_has_english_titles_and_headers_in_an_english_session():
    from python_calamine import CalamineWorkbook

    from eduplatform.core.imports import problems_xlsx

    problems = [{"row": 3, "field": "name", "column": "Name", "value": "", "message": "Name is required"}]
    mapping = {"sheet": "Sheet1", "sheets": ["Sheet1"], "header_rows": [1], "skipped_count": 0,
               "columns": [{"letter": "A", "header": "姓名", "field": "name", "label": "姓名", "note": ""}]}
    with translation.override("en"):
        content = problems_xlsx(problems, title="staff.xlsx error report", mapping=mapping)
    book = CalamineWorkbook.from_filelike(__import__("io").BytesIO(content))
    assert book.sheet_names == ["Error report", "Column mapping"]
    assert book.get_sheet_by_name("Error report").to_python()[0] == ["Row", "Column name", "Value entered", "Problem"]
    mapping_rows = book.get_sheet_by_name("Column mapping").to_python()
    assert ["A", "姓名", "Name", ""] in mapping_rows  # the file's header as written; what it became, translated
    with translation.override("zh-hans"):
        content = problems_xlsx(problems, title="错误报告", mapping=mapping)
    assert CalamineWorkbook.from_filelike(__import__("io").BytesIO(content)).sheet_names == ["错误报告", "列对应"]


def test_the_watermark_of_a_personal_data_export_follows_the_language():
    import datetime as dt

    from eduplatform.core.spreadsheets import Watermark

    mark = Watermark(user="张三", organization="", at=dt.datetime(2026, 9, 1, 8, 30), purpose="核对名单")
    with translation.override("en"):
        assert mark.text() == ("Exported by: 张三 (no organization); exported at: 2026-09-01 08:30; purpose: 核对名单; "
                               "contains personal data, for the stated purpose only, not to be passed on or published")
    with translation.override("zh-hans"):
        assert mark.text().startswith("导出人：张三（无所属单位）；导出时间：2026-09-01 08:30")


@pytest.mark.django_db
def test_the_import_template_stays_chinese_in_an_english_session_while_the_page_is_english():
    # Imports match the template's Chinese headers, so the template (headers, sheets, title, instructions
    # sheet) is Chinese whatever the language; the upload page shows the kind and instructions translated.
    import io

    from python_calamine import CalamineWorkbook

    from eduplatform.facilities.importing import BUILDINGS
    from eduplatform.imports import runner

    with translation.override("en"):
        content = runner.template(BUILDINGS)
        assert BUILDINGS.template_name == "校舍（建筑物）导入模板"
        assert str(BUILDINGS.instructions[0]).startswith("One building per row")
        assert str(BUILDINGS.label) != "校舍（建筑物）"
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert book.sheet_names[0] == "数据"
    top = [str(h) for row in book.get_sheet_by_name("数据").to_python()[:3] for h in row]
    assert "*建筑物编号" in top and "地上层数" in top, top  # required columns carry a star
    sheets_text = " ".join(str(c) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
                           for c in row)
    assert "每行填写一栋建筑物" in sheets_text and "One building per row" not in sheets_text

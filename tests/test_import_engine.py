"""The import engine without the database: cell normalisation, code matching, reading uploads,
and the template and error-report workbooks read back the way a user's Excel would see them."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from eduplatform.core.imports import (
    Column,
    ImportFileError,
    normalize_header,
    problems_xlsx,
    read_table,
    template_xlsx,
)
from eduplatform.core.normalize import (
    CodeMatcher,
    clean_text,
    compact,
    normalize_id_number,
    parse_bool,
    parse_date,
    parse_int,
    parse_month,
)

SEPT_1 = dt.date(2015, 9, 1)
GENDERS = [("0", "未知的性别"), ("1", "男性"), ("2", "女性"), ("9", "未说明的性别")]
ETHNICITIES = [("01", "汉族"), ("02", "蒙古族"), ("03", "回族")]
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

COLUMNS = (
    Column("name", "姓名", required=True, help="与户口簿一致"),
    Column(
        "gender", "性别", required=True, kind="code", choices=tuple(GENDERS), aliases=("学生性别",)
    ),
    Column("birth_date", "出生日期", kind="date", example="2015-09-01"),
    Column("ethnicity", "民族", kind="code", choices=tuple(ETHNICITIES)),
    Column("student_number", "学籍号", aliases=("全国学籍号",), width=22),
)


def sheets(content: bytes) -> dict[str, list[list[object]]]:
    with CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
        return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def test_clean_text_folds_full_width_and_stray_spaces():
    assert clean_text("\ufeff １２３\u200b ") == "123"
    assert clean_text("  张\u3000\u3000三 \xa0 ") == "张 三"
    assert clean_text("（1）班") == "(1)班"
    assert compact(" 138 0013\u00a00000 ") == "13800130000"


def test_clean_text_of_cell_values():
    assert clean_text(None) == ""
    assert clean_text(20150901.0) == "20150901"  # calamine reads number cells as floats
    assert clean_text(3.5) == "3.5"
    assert clean_text(7) == "7"
    assert clean_text(dt.datetime(2015, 9, 1, 8, 30)) == "2015-09-01"
    assert clean_text(SEPT_1) == "2015-09-01"


def test_id_number_upper_cases_x_and_drops_spaces():
    assert normalize_id_number(" 4401 0620 1505 12001x ") == "44010620150512001X"
    assert normalize_id_number("４４０１０６２０１５０５１２００１ｘ") == "44010620150512001X"


# ---------------------------------------------------------------------------
# Dates, months, booleans, integers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2015/9/1",
        "2015-09-01",
        "2015-9-1",
        "20150901",
        "2015.9.1",
        "2015.09.01",
        "2015年9月1日",
        "2015-09-01 00:00:00",
        "2015-09-01T00:00:00",
        "２０１５－０９－０１",
        "42248",  # Excel serial of a date cell whose format was lost
        42248.0,
        20150901.0,
        SEPT_1,
        dt.datetime(2015, 9, 1),
    ],
)
def test_parse_date_formats(text):
    assert parse_date(text) == SEPT_1


def test_excel_serials_count_the_fake_leap_day():
    assert parse_date("43831") == dt.date(2020, 1, 1)
    assert parse_date("42248.75") == SEPT_1  # a datetime serial: the time is dropped
    assert parse_date("1000") == dt.date(1902, 9, 26)


@pytest.mark.parametrize("text", ["2015-02-30", "20150230", "2015年2月30日", "2015/2/29"])
def test_parse_date_rejects_days_that_do_not_exist(text):
    with pytest.raises(ValueError, match="日期不存在"):
        parse_date(text)


@pytest.mark.parametrize("text", ["", "abc", "2015-9/1", "15/9/1", "99999", "2015"])
def test_parse_date_explains_the_allowed_formats(text):
    with pytest.raises(ValueError, match="2015-09-01"):
        parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "201509",
        "2015-09",
        "2015-9",
        "2015/9",
        "2015.9",
        "2015年9月",
        "2015-09-17",
        "20150917",
        201509.0,
    ],
)
def test_parse_month_formats(text):
    assert parse_month(text) == SEPT_1


@pytest.mark.parametrize("text", ["2015-13", "201513", "2015", "九月"])
def test_parse_month_rejects(text):
    with pytest.raises(ValueError):
        parse_month(text)


@pytest.mark.parametrize("text", ["是", "1", "Y", "y", "true", "TRUE", True, "有", "√", 1.0])
def test_parse_bool_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["否", "0", "N", "n", "false", False, "无", "×"])
def test_parse_bool_false(text):
    assert parse_bool(text) is False


def test_parse_bool_rejects_anything_else():
    with pytest.raises(ValueError, match="只能填写 是 或 否"):
        parse_bool("也许")


def test_parse_int():
    assert parse_int("3") == 3
    assert parse_int("3.0") == 3
    assert parse_int("３") == 3
    assert parse_int(3.0) == 3
    for bad in ("3.5", "三", "", "3a"):
        with pytest.raises(ValueError, match="整数"):
            parse_int(bad)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_every_date_spelling_parses_back(day):
    spellings = [day.strftime(f) for f in ("%Y/%-m/%-d", "%Y%m%d", "%Y.%-m.%-d", "%Y-%m-%d")]
    spellings.append(day.strftime("%Y-%m-%d").translate(FULL_WIDTH))
    for text in spellings:
        assert parse_date(text) == day, text


# ---------------------------------------------------------------------------
# Code tables
# ---------------------------------------------------------------------------


def test_code_matcher_finds_code_by_every_usual_spelling():
    m = CodeMatcher(ETHNICITIES, synonyms={"汉人": "01"})
    for text in ("01", "1", "001", "汉族", "01-汉族", "01 汉族", "01汉族", "01:汉族", "01、汉族",
                 "汉族(01)", "汉族（01）", " ０１－汉族 ", "汉", "汉人"):  # fmt: skip
        assert m.match(text) == "01", text
    assert m.match("蒙古") == "02"
    assert m.match("99") is None
    assert m.match("苗族") is None
    assert m.match("") is None


def test_code_matcher_drops_or_adds_name_suffixes():
    m = CodeMatcher(GENDERS)
    assert m.match("男") == "1"
    assert m.match("女") == "2"
    assert m.match("男性") == "1"
    assert m.match("9") == "9"
    assert m.match("1-男") == "1"


def test_code_matcher_is_case_insensitive_for_latin_codes():
    m = CodeMatcher([("CHN", "中国"), ("HKG", "中国香港"), ("a", "甲类")])
    assert m.match("chn") == "CHN"
    assert m.match("Hkg-中国香港") == "HKG"
    assert m.match("A") == "a"


def test_code_matcher_refuses_to_guess():
    assert CodeMatcher([("01", "甲"), ("001", "乙")]).match("1") is None
    assert CodeMatcher([("11", "广州市"), ("12", "广州区")]).match("广州") is None


def test_code_matcher_rejects_contradicting_parts():
    m = CodeMatcher(ETHNICITIES)
    assert m.match("01-蒙古族") is None
    assert m.match("蒙古族(01)") is None
    assert m.match("02-蒙古族") == "02"


def test_code_matcher_hint():
    many = CodeMatcher([(f"{i:02d}", f"族{i}") for i in range(1, 57)])
    assert many.hint() == (
        "可填写代码或名称，如 01-族1、02-族2、03-族3、04-族4、05-族5、06-族6、07-族7、08-族8…（共56项）"
    )
    assert "1-男性" in CodeMatcher(GENDERS).hint()


# ---------------------------------------------------------------------------
# Reading uploads
# ---------------------------------------------------------------------------


def xlsx_rows(rows: list[list[object]], *, sheet: str = "Sheet1") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def national_export() -> bytes:
    """A register-style export: title row, blank row, '*姓名' and a national alias, number cells."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet("学生名单")
    ws.write_string(0, 0, "广州市第一中学 学生基本信息")
    ws.write_row(2, 0, ["*姓名", "学生性别", "出生日期（格式：2015-09-01）", "全国学籍号", "备注"])
    ws.write_row(3, 0, ["张三", "男", "2015-09-01", "G440106201509010011"])
    ws.write_row(5, 0, ["", "", "", ""])
    ws.write_string(6, 0, "李四")
    ws.write_number(6, 1, 2)
    ws.write_number(6, 2, 20160302)
    book.close()
    return buffer.getvalue()


def test_read_table_finds_header_below_a_title_row():
    table = read_table(national_export(), "名单.xlsx", COLUMNS)
    assert table.header_row == 3
    assert table.headers[0] == "*姓名"
    assert table.column_index == {"name": 0, "gender": 1, "birth_date": 2, "student_number": 3}
    assert table.ignored_headers == ["备注"]
    assert [number for number, _ in table.rows] == [4, 7]  # blank rows 5 and 6 skipped
    _, li_si = table.rows[1]
    assert li_si[0] == "李四"
    assert li_si[1] == 2.0 and li_si[2] == 20160302.0  # raw: numbers stay floats
    assert parse_date(li_si[table.column_index["birth_date"]]) == dt.date(2016, 3, 2)


def test_read_table_keeps_spreadsheet_coordinates_past_blank_rows_and_columns():
    # calamine drops leading blank rows and columns by default; row numbers in error reports and
    # column positions must still be those the user sees.
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet()
    ws.write_row(2, 1, ["姓名", "性别"])
    ws.write_row(3, 1, ["张三", "男"])
    book.close()
    table = read_table(buffer.getvalue(), "s.xlsx", COLUMNS)
    assert table.header_row == 3
    assert table.column_index == {"name": 1, "gender": 2}
    assert table.rows == [(4, ["", "张三", "男"])]


def test_read_csv_in_gb18030():
    text = "姓名,性别,出生日期\r\n王五,女,2015/9/1\r\n,,\r\n赵六,1,20150901\r\n"
    table = read_table(text.encode("gb18030"), "students.CSV", COLUMNS)
    assert table.header_row == 1
    assert table.rows == [(2, ["王五", "女", "2015/9/1"]), (4, ["赵六", "1", "20150901"])]


def test_read_csv_in_utf8_with_bom():
    table = read_table("\ufeff姓名,性别\n王五,女\n".encode(), "s.csv", COLUMNS)
    assert table.column_index == {"name": 0, "gender": 1}


def test_missing_required_columns_are_all_named():
    with pytest.raises(ImportFileError) as info:
        read_table("出生日期,学籍号,民族\n2015-09-01,G1,01\n".encode(), "s.csv", COLUMNS)
    assert info.value.message == "缺少必填列：姓名、性别"


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (b"", "s.xlsx", "是空的"),
        (b"not a workbook", "s.xlsx", "无法读取文件"),
        (b"whatever", "s.pdf", "无法读取文件"),
        ("甲,乙\n1,2\n".encode(), "s.csv", "未找到表头"),
        ("姓名,性别\n".encode(), "s.csv", "没有数据"),
        ("姓名,性别,姓名\n张三,男,李四\n".encode(), "s.csv", "出现了两次"),
    ],
)
def test_unusable_files_raise_import_file_error(content, name, says):
    with pytest.raises(ImportFileError, match=says):
        read_table(content, name, COLUMNS)


def test_too_many_rows():
    content = ("姓名,性别\n" + "张三,男\n" * 4).encode()
    assert len(read_table(content, "s.csv", COLUMNS, max_rows=4).rows) == 4
    with pytest.raises(ImportFileError, match="超过 3 行"):
        read_table(content, "s.csv", COLUMNS, max_rows=3)


def test_normalize_header():
    assert normalize_header("*姓名") == "姓名"
    assert normalize_header("★ 出生 日期（必填）") == "出生日期"
    assert normalize_header("出生日期(格式:2015-09-01)") == "出生日期"
    assert normalize_header("学制（年）") == "学制"


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def test_template_round_trip():
    content = template_xlsx(
        COLUMNS,
        title="学生信息导入模板",
        instructions=["每行填写一名学生"],
        example_rows=[["张三", "1-男性", "2015-09-01", "01-汉族", ""]],
    )
    book = sheets(content)
    assert list(book) == ["数据", "填写说明", "代码表"]
    # The example rows carry "示例" in a marker column of their own.
    assert book["数据"][0] == ["*姓名", "*性别", "出生日期", "民族", "学籍号", "示例标记"]
    assert book["数据"][1][-1] == "示例"
    assert book["代码表"][0] == ["性别", "民族"]
    assert [row[0] for row in book["代码表"][1:]] == [
        "0-未知的性别",
        "1-男性",
        "2-女性",
        "9-未说明的性别",
    ]
    assert [row[1] for row in book["代码表"][1:4]] == ["01-汉族", "02-蒙古族", "03-回族"]
    guide = book["填写说明"]
    assert guide[0][0] == "学生信息导入模板"
    assert ["姓名", "是", "与户口簿一致"] in guide

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet1 = archive.read("xl/worksheets/sheet1.xml").decode()
    validations = re.findall(r"<dataValidation [^>]*>.*?</dataValidation>", sheet1)
    gender = next(v for v in validations if 'sqref="B2:B2001"' in v)
    assert 'type="list"' in gender and 'errorStyle="warning"' in gender
    assert "<formula1>'代码表'!$A$2:$A$5</formula1>" in gender
    assert len(validations) == 2  # only the code columns get dropdowns

    # Our own template reads back, its example row recognised and never imported.
    with pytest.raises(ImportFileError, match="只有模板的示例行") as info:
        read_table(content, "模板.xlsx", COLUMNS)
    mapping = info.value.mapping
    assert mapping["header_rows"] == [1] and mapping["sheet"] == "数据"
    assert mapping["skipped_rows"] == [{"row": 2, "reason": "模板示例行", "text": "张三 1-男性 2015-09-01 01-汉族 示例"}]
    assert mapping["columns"][-1]["note"].startswith("模板的示例标记列")
    # Filled in below the example (as a user keeps it), only the user's rows come back.
    filled = book["数据"] + [["李四", "2-女性", "2016-03-02", "01-汉族", "", ""]]
    table = read_table(xlsx_rows(filled), "模板.xlsx", COLUMNS)
    assert table.header_row == 1
    assert [(n, cells[:5]) for n, cells in table.rows] == [(3, ["李四", "2-女性", "2016-03-02", "01-汉族", ""])]
    assert CodeMatcher(GENDERS).match(table.rows[0][1][1]) == "2"


def test_problems_report_reads_back():
    content = problems_xlsx(
        [
            {"row": 4, "column": "性别", "value": "X", "message": "不是有效的性别"},
            {"row": 7, "column": "学籍号", "value": "0123", "message": "学籍号无效"},
            {"row": 8, "column": "出生日期", "value": 20150230.0, "message": "日期不存在"},
        ],
        title="学生导入错误报告",
    )
    (name, rows), = sheets(content).items()  # fmt: skip
    assert name == "错误报告"
    assert rows[0] == ["行号", "列名", "填写内容", "问题说明"]
    assert rows[1] == [4.0, "性别", "X", "不是有效的性别"]
    assert rows[2][2] == "0123"  # text, leading zero kept
    assert rows[3][2] == "20150230"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert '<autoFilter ref="A1:D4"/>' in archive.read("xl/worksheets/sheet1.xml").decode()

"""Spreadsheet import of students: exact error reports, all-or-nothing, accept-valid, real-file quirks."""

from __future__ import annotations

import datetime as dt

import pytest
from python_calamine import CalamineWorkbook

from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.history.models import AuditEntry, ChangeFeedEntry
from eduplatform.standards.validators import id_number_check_char
from eduplatform.students import importing, services
from eduplatform.students.models import Enrolment, SchoolClass, Student, StudentEvent
from eduplatform.students.schema import STUDENT_COLUMNS

from .students_support import make_id, student_row, xlsx_file

HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话"]
FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number", "entered_on",
          "phone"]


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Student, Enrolment, StudentEvent, AuditEntry, ChangeFeedEntry, SchoolClass))


def run(world, content: bytes, mode: str, *, user: str = "clerk_a1", school=None, name: str = "学生.xlsx") -> ImportJob:
    job = importing.submit_import(actor=world.user(user), school=school or world.school_a1, file_name=name,
                                  content=content, mode=mode)
    # The worker's entry point; in production django-tasks calls it after the upload commits.
    return importing.run_student_import(job.pk)


@pytest.fixture
def file_with_bad_rows(world):
    """5,000 rows, 150 of them (3 %) bad in known ways; returns (content, {row: (column, fragment)})."""
    expected: dict[int, tuple[str, str]] = {}
    # 25 students already active at a county-B school: their rows must name that school.
    for seq in range(9000, 9025):
        services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(seq))
    rows = []
    for i in range(5000):
        sheet_row = i + 2  # header is row 1
        seq = i + 1
        if i % 100 == 7:  # 50 wrong check characters
            row = student_row(seq)
            good = row["id_number"]
            row["id_number"] = good[:17] + ("0" if good[17] != "0" else "1")
            expected[sheet_row] = ("身份证件号", "校验")
        elif i % 200 == 11:  # 25 missing names
            row = student_row(seq, name="")
            expected[sheet_row] = ("姓名", "必填")
        elif i % 200 == 13:  # 25 impossible dates
            row = student_row(seq, birth_date="2019-02-30")
            expected[sheet_row] = ("出生日期", "")
        elif i % 200 == 17:  # 25 unknown ethnicities
            row = student_row(seq, ethnicity="火星族")
            expected[sheet_row] = ("民族", "火星族")
        elif i % 200 == 19:  # 25 already active elsewhere
            row = student_row(9000 + len([r for r, (c, f) in expected.items() if f == "越秀"]))
            expected[sheet_row] = ("身份证件号", "越秀")
        else:
            row = student_row(seq)
        rows.append([row[f] for f in FIELDS])
    assert len(expected) == 150
    return xlsx_file(HEADERS, rows), expected


def test_all_or_nothing_rejects_the_file_with_an_exact_report(world, file_with_bad_rows):
    content, expected = file_with_bad_rows
    before = counts()
    job = run(world, content, ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.REJECTED
    assert counts() == before
    assert job.total_rows == 5000 and job.error_rows == 150 and job.written_rows == 0
    reported = {p["row"]: p for p in job.problems}
    assert set(reported) == set(expected)
    for row, (column, fragment) in expected.items():
        assert reported[row]["column"] == column, (row, reported[row])
        assert fragment in reported[row]["message"], (row, reported[row])
    assert "越秀泄漏检测小学" in reported[min(r for r, e in expected.items() if e[1] == "越秀")]["message"]
    # The downloadable report holds the same rows.
    book = CalamineWorkbook.from_filelike(__import__("io").BytesIO(importing.problems_report(job)))
    table = book.get_sheet_by_index(0).to_python()
    assert table[0][:4] == ["行号", "列名", "填写内容", "问题说明"]
    assert {int(float(r[0])) for r in table[1:]} == set(expected)


def test_accept_valid_rows_stores_exactly_the_valid_ones(world, file_with_bad_rows):
    content, expected = file_with_bad_rows
    students_before = Student.objects.count()
    job = run(world, content, ImportMode.ACCEPT_VALID)
    assert job.status == JobStatus.DONE
    assert job.written_rows == 4850 and job.error_rows == 150
    assert Student.objects.count() == students_before + 4850
    assert Enrolment.objects.filter(school=world.school_a1, is_active=True).count() == 4850
    stored_names = set(Enrolment.objects.filter(school=world.school_a1).values_list("student__name", flat=True))
    bad_names = {f"测试学生{row - 1}" for row in expected}
    assert not stored_names & bad_names
    assert AuditEntry.objects.filter(object_type="students.student", action="create",
                                     school_id=world.school_a1.pk).count() == 4850
    assert ChangeFeedEntry.objects.filter(resource="student", school_id=world.school_a1.pk).count() == 4850
    # Students registered at county B stay there, only there.
    assert Enrolment.objects.filter(school=world.school_b1, is_active=True).count() == 25


def test_dry_run_checks_everything_and_writes_nothing(world):
    rows = [[student_row(i)[f] for f in FIELDS] for i in range(1, 6)]
    rows[2][5] = "不存在"
    before = counts()
    job = run(world, xlsx_file(HEADERS, rows), ImportMode.DRY_RUN)
    assert job.status == JobStatus.DONE and job.written_rows == 0
    assert [p["row"] for p in job.problems] == [4]
    assert counts() == before


def test_duplicates_inside_one_file_are_reported_on_every_row_that_carries_them(world):
    twice_with_a_bad_ethnicity = dict(student_row(1), ethnicity="火星族")
    rows = [[student_row(1)[f] for f in FIELDS], [student_row(2)[f] for f in FIELDS],
            [twice_with_a_bad_ethnicity[f] for f in FIELDS]]
    job = run(world, xlsx_file(HEADERS, rows), ImportMode.ALL_OR_NOTHING)
    assert job.status == JobStatus.REJECTED
    duplicates = {p["row"]: p["message"] for p in job.problems if p["column"] == "身份证件号"}
    # Row 4 also has its own problem (民族): the duplicate is reported on it all the same.
    assert set(duplicates) == {2, 4} and "第 4 行" in duplicates[2] and "第 2 行" in duplicates[4]
    assert any(p["row"] == 4 and p["column"] == "民族" for p in job.problems)


def _id_ending_in_x(birth: dt.date) -> str:
    for seq in range(1, 999):
        number = make_id(birth, seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check character found")


def test_a_national_register_export_imports_as_it_is(world):
    """Column names of the 学籍系统 学生基本信息 sheet, a title row, and what real files contain."""
    headers = ["姓名", "性别", "出生日期", "出生地", "民族", "国籍/地区", "身份证件类型", "身份证件号", "港澳台侨外",
               "健康状况", "户口性质", "年级", "班级", "入学年月", "入学方式", "就读方式", "现住址", "联系电话",
               "是否独生子女", "是否留守儿童", "是否进城务工人员随迁子女", "成员1姓名", "成员1关系", "成员1联系电话", "学籍辅号"]
    b1, b2, b3 = dt.date(2019, 4, 5), dt.date(2019, 6, 7), dt.date(2018, 12, 1)
    x_id = _id_ending_in_x(b1)
    full_width = make_id(b2, 20, female=True).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        ["李 小明 ", "男", "2019/4/5", "440106000000", "汉族", "CHN", "居民身份证", x_id.lower(), "否", "健康或良好",
         "非农业户口", "一年级", "(1)班", "202509", "就近入学", "走读", "天河路1号", "138 0013 8000", "是", "0", "否",
         "李大明", "父亲", "13900139000", ""],
        ["王芳", "2", "20190607", "440106", "01-汉族", "中国", "1", full_width, "00", "10", "1", "11", "2",
         "2025-09", "11", "1", "", "020-87654321", "否", "非留守儿童", "1", "王强", "父亲", "", ""],
        ["赵雷", "男性", "2018.12.1", "", "汉", "CHN", "居民身份证", make_id(b3, 30), "否", "健康或良好", "",
         "二年级", "3班", "2024.9", "其他", "住校", "", "", "否", "否", "是", "", "", "", ""],
    ]
    content = xlsx_file(headers, rows, title="全国中小学生学籍信息管理系统 学生基本信息")
    job = run(world, content, ImportMode.ALL_OR_NOTHING, name="学生基本信息.xlsx")
    assert job.status == JobStatus.DONE, job.problems
    assert job.written_rows == 3
    li = Student.objects.get(name="李 小明")
    assert li.student_number == "G" + x_id and li.only_child and not li.migrant_child
    assert li.boarding_mode == "1" and li.hukou_nature == "2" and li.phone_masked == "138****8000"
    wang = Student.objects.get(name="王芳")
    assert wang.student_number == "G" + make_id(b2, 20, female=True) and wang.gender == "2" and wang.migrant_child
    zhao = Enrolment.objects.get(student__name="赵雷")
    assert (zhao.grade, zhao.school_class.number, zhao.entered_on) == ("12", 3, dt.date(2024, 9, 1))
    assert zhao.student.boarding_mode == "2"


def test_a_file_without_required_columns_fails_clearly_and_changes_nothing(world):
    before = counts()
    job = run(world, xlsx_file(["姓名", "班级"], [["张三", "1"]]), ImportMode.ACCEPT_VALID)
    assert job.status == JobStatus.FAILED
    assert "缺少必填列" in job.failure and "性别" in job.failure and "出生日期" in job.failure
    assert counts() == before


def test_the_template_round_trips(world):
    template = importing.student_template()
    book = CalamineWorkbook.from_filelike(__import__("io").BytesIO(template))
    assert "代码表" in book.sheet_names
    header = book.get_sheet_by_name("数据").to_python()[0]
    assert [h.lstrip("*") for h in header] == [c.label for c in STUDENT_COLUMNS] + ["示例标记"]
    # The template's own example row is never imported: uploaded as it is, there is nothing to import.
    before = counts()
    job = run(world, template, ImportMode.ACCEPT_VALID, name="模板.xlsx")
    assert job.status == JobStatus.FAILED and "只有模板的示例行" in job.failure
    assert [(s["row"], s["reason"]) for s in job.mapping["skipped_rows"]] == [(2, "模板示例行")]
    assert counts() == before
    # The example's values are valid: a row copied from it with the name changed passes every check.
    example = [c.example for c in STUDENT_COLUMNS]
    example[0] = "张三丰"
    job = run(world, xlsx_file([c.label for c in STUDENT_COLUMNS], [example]), ImportMode.DRY_RUN)
    assert job.status == JobStatus.DONE, job.problems
    assert job.total_rows == 1 and job.problems == []


def test_id_check_character_helper_matches_the_validator():
    body = "44010620190405001"
    assert make_id(dt.date(2019, 4, 5), 0)[:17] == body[:14] + make_id(dt.date(2019, 4, 5), 0)[14:17]
    assert id_number_check_char(body) in "0123456789X"


def test_a_person_registered_elsewhere_meanwhile_is_reported_with_the_holding_school(world, monkeypatch):
    """A race: another session registers the person after the look-up; the unique index stops the
    write, and the whole batch is refused naming the school that holds the person."""
    services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(5))
    real_lookup, lookups = services._existing_by_index, []

    def lookup_before_that_commit(indexes):
        lookups.append(list(indexes))
        return {} if len(lookups) == 1 else real_lookup(indexes)  # the later one explains the conflict

    monkeypatch.setattr(services, "_existing_by_index", lookup_before_that_commit)
    rows = [[student_row(i)[f] for f in FIELDS] for i in (4, 5, 6)]
    before = counts()
    job = run(world, xlsx_file(HEADERS, rows), ImportMode.ACCEPT_VALID)
    assert job.status == JobStatus.REJECTED, (job.status, job.failure)
    assert len(lookups) == 2
    assert [p["row"] for p in job.problems] == [3] and "越秀" in job.problems[0]["message"]
    assert counts() == before

"""Identity rules: a resident ID card fixes sex and birth date (GB 11643-1999), for students and staff,
in files and in forms; an ID number a spreadsheet stored as a number is recognised as such and the
message says how to fix the column, and no message ever names the check digit a number should have."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.core.errors import RecordInvalid
from eduplatform.core.models import ImportMode
from eduplatform.staff import services as staff_services
from eduplatform.staff.schema import check_administrator_row, check_staff_row
from eduplatform.standards.validators import (
    ID_NUMBER_CHECKSUM_MESSAGE,
    ID_NUMBER_STORED_AS_NUMBER,
    id_number_check_char,
    id_number_stored_as_number,
    validate_id_number,
)
from eduplatform.students import importing
from eduplatform.students import services as student_services
from eduplatform.students.schema import RowChecker, clean_student

from .staff_support import admin_row, staff_row
from .students_support import make_id, student_row, xlsx_file

TODAY = dt.date(2026, 3, 1)
PRIMARY = 2  # Stage.PRIMARY
STUDENT_FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number",
                  "entered_on"]
STUDENT_HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月"]
BORN = dt.date(2019, 5, 12)
MALE_ID = make_id(BORN, 6)  # 17th digit odd


class Context:
    def __init__(self) -> None:
        self.today, self.memo = TODAY, {}


def student_problems(raw: dict) -> dict[str, str]:
    """The problems of one student row, checked as a form is (clean_student) and as a file row is
    (RowChecker); both must say the same."""
    by_form = clean_student({f: raw.get(f) for f in STUDENT_FIELDS}, stage_mask=PRIMARY, today=TODAY)
    checker = RowChecker({f: i for i, f in enumerate(STUDENT_FIELDS)}, stage_mask=PRIMARY, today=TODAY)
    by_file = checker.check([raw.get(f) for f in STUDENT_FIELDS])
    assert by_file.problems == by_form.problems
    assert by_file.values == by_form.values
    return {f: m for f, _v, m in by_form.problems}


def pupil(**overrides: object) -> dict[str, object]:
    return student_row(1, **{"gender": "男", "birth_date": BORN.isoformat(), "id_number": MALE_ID, **overrides})


def id_ending_in_000() -> str:
    """A valid ID number that ends in 000 (sequence X00, check character 0): real, though rare."""
    for day in range(365):
        born = dt.date(1990, 1, 1) + dt.timedelta(days=day)
        for digit in "123456789":
            body = f"440106{born:%Y%m%d}{digit}00"
            if id_number_check_char(body) == "0":
                return body + "0"
    raise AssertionError("no such number in a year of birth dates")


def cut_by_number_format(number: str) -> str:
    """What Excel keeps of an 18-digit number: 15 significant digits, the rest zeros."""
    return number[:15] + "000"


# --------------------------------------------------------------------------------------------
# Sex and birth date against the resident ID card


@pytest.mark.django_db
def test_a_pupil_whose_id_card_agrees_passes():
    assert student_problems(pupil()) == {}


@pytest.mark.django_db
def test_a_pupil_whose_sex_disagrees_with_the_id_card_is_refused_naming_both_fields():
    found = student_problems(pupil(gender="女"))
    assert found == {"gender": "性别「女」与身份证件号不一致：身份证件号第17位表明性别为男"}


@pytest.mark.django_db
@pytest.mark.parametrize("gender, shown", [("9", "未说明的性别"), ("0", "未知的性别"), ("未说明的性别", "未说明的性别")])
def test_a_pupil_with_an_id_card_cannot_have_sex_unknown_or_unstated(gender, shown):
    found = student_problems(pupil(gender=gender))
    assert set(found) == {"gender"}
    assert found["gender"].startswith(f"性别「{shown}」与身份证件号不一致：身份证件号第17位表明性别为男")
    assert "须填写 男 或 女" in found["gender"]


@pytest.mark.django_db
def test_without_an_id_card_nothing_fixes_the_sex():
    row = clean_student(pupil(gender="9", id_type="Z", id_number=""), stage_mask=PRIMARY, today=TODAY)
    assert row.ok, row.problems
    assert row.values["gender"] == "9"


@pytest.mark.django_db
def test_a_pupil_whose_birth_date_disagrees_with_the_id_card_is_refused_naming_both_fields():
    found = student_problems(pupil(birth_date="2019-05-13"))
    assert found == {"birth_date": "出生日期「2019-05-13」与身份证件号不一致：身份证件号第7–14位表明出生日期为 2019-05-12"}


@pytest.mark.django_db
def test_staff_and_administrators_follow_the_same_rules():
    base = staff_row(4)  # person(4): a woman born 1980-01-01
    assert check_staff_row(base, Context()).ok
    staff = {f: m for f, _v, m in check_staff_row({**base, "gender": "男", "birth_date": "1980-01-02"},
                                                    Context()).problems}
    assert staff == {
        "gender": "性别「男」与身份证件号不一致：身份证件号第17位表明性别为女",
        "birth_date": "出生日期「1980-01-02」与身份证件号不一致：身份证件号第7–14位表明出生日期为 1980-01-01",
    }
    admin = {f: m for f, _v, m in check_administrator_row(admin_row(4, gender="9"), Context()).problems}
    assert set(admin) == {"gender"} and "身份证件号第17位表明性别为女" in admin["gender"]


@pytest.mark.django_db
def test_the_enrolment_and_hiring_forms_refuse_a_sex_the_id_card_contradicts(world):
    with pytest.raises(RecordInvalid) as refused:
        student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=pupil(gender="9"),
                                       today=TODAY)
    assert "身份证件号第17位表明性别为男" in refused.value.by_field()["gender"][0]
    with pytest.raises(RecordInvalid) as refused:
        staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(4, gender="男"),
                            today=TODAY)
    assert "身份证件号第17位表明性别为女" in refused.value.by_field()["gender"][0]


@pytest.mark.django_db
def test_editing_a_students_sex_or_birth_date_is_checked_against_the_id_card_held(world):
    clerk = world.user("clerk_a1")
    student = student_services.enrol_student(actor=clerk, school=world.school_a1, data=pupil(), today=TODAY).student
    for data, field in (({"gender": "女"}, "gender"), ({"gender": "9"}, "gender"),
                        ({"birth_date": "2019-06-01"}, "birth_date")):
        with pytest.raises(RecordInvalid) as refused:
            student_services.update_student(actor=clerk, student=student, data=data, today=TODAY)
        assert set(refused.value.by_field()) == {field}
        assert "与身份证件号不一致" in refused.value.by_field()[field][0]
    student.refresh_from_db()
    assert (student.gender, student.birth_date) == ("1", BORN)
    # An edit that agrees with the card goes through.
    student_services.update_student(actor=clerk, student=student, data={"gender": "男", "name": "改名"}, today=TODAY)
    student.refresh_from_db()
    assert student.name == "改名"


# --------------------------------------------------------------------------------------------
# ID numbers a spreadsheet stored as numbers


@pytest.mark.django_db
@pytest.mark.parametrize("cell", [
    float(MALE_ID),  # a number cell, as calamine reads it
    int(MALE_ID[:15] + "000"),
    "4.40106E+17",  # what the cell shows, saved to CSV
    "4.40106e17",
    MALE_ID + ".0",  # a number column written out by another tool
    cut_by_number_format(MALE_ID),  # the full digits Excel writes back, last three zeroed
    float(MALE_ID[:17]),  # the final X (or digit) lost: 17 digits
    MALE_ID[:15] + "00",
])
def test_an_id_number_stored_as_a_number_is_reported_as_such_with_the_fix(cell):
    if isinstance(cell, str) and cell.isdigit():
        with pytest.raises(ValueError):
            validate_id_number(cell)  # the zeroed number is no valid ID (else it could not be told)
    found = student_problems(pupil(id_number=cell))
    assert set(found) == {"id_number"}
    message = found["id_number"]
    assert "表格把身份证号存成了数字" in message
    assert "文本" in message and "重新录入" in message
    assert "应为" not in message and "校验位错误" not in message
    assert MALE_ID not in message  # never the whole number


@pytest.mark.django_db
def test_staff_ids_stored_as_numbers_are_reported_the_same_way():
    for cell in (float(staff_row(3)["id_number"]), "4.40104E+17"):
        problems = {f: m for f, _v, m in check_staff_row(staff_row(3, id_number=cell), Context()).problems}
        assert set(problems) == {"id_number"}
        assert ID_NUMBER_STORED_AS_NUMBER in problems["id_number"]


@pytest.mark.django_db
def test_a_valid_id_number_that_happens_to_end_in_000_is_accepted():
    number = id_ending_in_000()
    assert id_number_stored_as_number(number)  # the shape alone would be suspect ...
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    row = clean_student(pupil(id_number=number, birth_date=born.isoformat(), gender="女", grade="一年级"),
                        stage_mask=PRIMARY, today=dt.date(2030, 1, 1))
    assert not row.failed("id_number")  # ... but a number that validates is taken as written
    assert row.values["id_number"] == number


@pytest.mark.django_db
def test_a_wrong_check_digit_is_reported_without_the_digit_it_should_be():
    wrong = MALE_ID[:17] + ("0" if MALE_ID[17] != "0" else "1")
    found = student_problems(pupil(id_number=wrong))
    assert ID_NUMBER_CHECKSUM_MESSAGE in found["id_number"]
    assert "应为" not in found["id_number"]
    staff = staff_row(5)
    bad = staff["id_number"][:17] + ("0" if staff["id_number"][17] != "0" else "1")
    message = {f: m for f, _v, m in check_staff_row({**staff, "id_number": bad}, Context()).problems}["id_number"]
    assert ID_NUMBER_CHECKSUM_MESSAGE in message and "应为" not in message


@pytest.mark.django_db
def test_a_student_file_with_an_id_column_of_numbers_is_reported_row_by_row(world):
    good = [pupil(), student_row(2)]
    rows = [[r[f] for f in STUDENT_FIELDS] for r in good]
    rows[0][STUDENT_FIELDS.index("id_number")] = float(MALE_ID)  # written as a number cell
    job = importing.submit_import(actor=world.user("clerk_a1"), school=world.school_a1, file_name="学生.xlsx",
                                  content=xlsx_file(STUDENT_HEADERS, rows), mode=ImportMode.DRY_RUN)
    job = importing.run_student_import(job.pk)
    assert [(p["row"], p["column"]) for p in job.problems] == [(2, "身份证件号")]
    assert "表格把身份证号存成了数字" in job.problems[0]["message"]
    assert "应为" not in job.problems[0]["message"]
    assert MALE_ID[:15] not in str(job.problems)  # the report masks the number

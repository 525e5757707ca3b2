"""Real files import as they are: each file of the corpus (tests/corpus.py) goes through the shared
import job unedited; its mapping report names the sheet, the header rows and what every column
became, and its problem report holds exactly the planted errors — no false ones."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.imports import registry, runner
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization
from eduplatform.students.models import Enrolment, Student
from tests import corpus
from tests.world import TOWN_A, school_row

pytestmark = pytest.mark.django_db


def nine_year_school() -> Organization:
    """A 九年一贯制 school (小学 and 初中): bare grades 1–9 are its years."""
    (school,) = orgs.register_schools(actor=None, rows=[school_row("3144000011", "天河区五山九年一贯制学校", "312", TOWN_A)])
    return school


def run(world, file: corpus.CorpusFile, unit: Organization, user: str, mode: str = ImportMode.ACCEPT_VALID) -> ImportJob:
    job = runner.submit_import(kind=registry.get(file.kind), actor=world.user(user), unit=unit, file_name=file.name,
                               content=file.content, mode=mode)
    return runner.run_import(job.pk)


CASES = {
    # name: (builder, where it goes, who imports)
    "national_xlsx": (lambda school: corpus.national_export_xlsx(school.name), "nine_year", "county_a_stat"),
    "national_gb18030_csv": (lambda school: corpus.national_export_csv(school.name), "nine_year", "county_a_stat"),
    "county_roster_xls": (lambda school: corpus.county_roster_xls(), "school_a1", "clerk_a1"),
    "staff_teacher_system": (lambda school: corpus.staff_file_xlsx(school.name), "school_a1", "clerk_a1"),
    "county_buildings": (lambda school: corpus.county_buildings_xlsx(school.name), "school_a1", "clerk_a1"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_real_file_imports_unedited_with_its_mapping_and_exactly_the_planted_errors(world, case):
    build, where, user = CASES[case]
    unit = nine_year_school() if where == "nine_year" else world.school_a1
    file = build(unit)
    job = run(world, file, unit, user)
    assert job.status == JobStatus.DONE, job.failure

    mapping = job.mapping
    assert mapping["sheet"] == file.sheet
    assert mapping["header_rows"] == file.header_rows
    assert [(c["letter"], c["header"], c["field"]) for c in mapping["columns"]] == file.expected_mapping()
    # Columns the platform does not store are shown, not dropped in silence.
    assert all(c["note"] == "本平台不保存此列，未导入" for c in mapping["columns"] if c["field"] is None)
    assert mapping["missing_required"] == []
    assert [(s["row"], s["reason"]) for s in mapping["skipped_rows"]] == file.skipped
    assert mapping["data_rows"] == job.total_rows == file.data_rows

    reported = {(p["row"], p["column"]) for p in job.problems}
    # Exactly the planted errors: official spellings (共青团员, 中小学一级教师, 宿舍, 钢混 …) are values.
    assert reported == file.planted, sorted(reported ^ file.planted)
    bad_rows = {row for row, _ in reported}
    assert job.error_rows == len(bad_rows)
    assert job.written_rows == file.data_rows - len(bad_rows)


def test_the_national_export_keeps_three_addresses_and_reads_bare_grades_in_the_schools_stages(world):
    school = nine_year_school()
    file = corpus.national_export_xlsx(school.name)
    job = run(world, file, school, "county_a_stat")
    assert job.status == JobStatus.DONE
    rows, _planted = corpus.national_export_rows()
    first_pupil = rows[0]
    student = Student.objects.get(name=first_pupil["姓名"])
    assert (student.home_address, student.mailing_address, student.household_address) == (
        first_pupil["现住址"], first_pupil["通信地址"], first_pupil["家庭地址"])
    assert student.guardians[0]["name"] == first_pupil["成员1/姓名"]
    grades = dict(Enrolment.objects.filter(school=school).values_list("student__name", "grade"))
    # "1" and "4" at a 九年一贯制 school are 一年级 and 四年级; "7" and "8" are 初一 and 初二.
    assert (rows[0]["年级"], grades[rows[0]["姓名"]]) == ("1", "11")
    assert (rows[4]["年级"], grades[rows[4]["姓名"]]) == ("4", "14")
    assert (rows[8]["年级"], grades[rows[8]["姓名"]]) == ("7", "21")
    assert (rows[9]["年级"], grades[rows[9]["姓名"]]) == ("8", "22")


def test_a_file_missing_required_columns_fails_naming_them_with_its_mapping(world):
    file = corpus.county_buildings_xlsx(world.school_a1.name)
    # The same county sheet without its 产权 and 结构 columns.
    book = CalamineWorkbook.from_filelike(io.BytesIO(file.content)).get_sheet_by_name("校舍情况").to_python()
    keep = [i for i, h in enumerate(book[2]) if h not in ("产权", "结构")]
    from tests.students_support import xlsx_file

    content = xlsx_file([book[2][i] for i in keep], [[str(r[i]) for i in keep] for r in book[4:10]])
    trimmed = corpus.CorpusFile(**{**file.__dict__, "content": content})
    job = run(world, trimmed, world.school_a1, "clerk_a1")
    assert job.status == JobStatus.FAILED
    assert job.failure == "缺少必填列：建筑结构、产权"
    assert job.mapping["missing_required"] == ["建筑结构", "产权"]
    assert {c["field"] for c in job.mapping["columns"]} >= {"number", "name", "total_area"}


def test_the_job_page_and_the_excel_report_show_the_mapping(client, world):
    file = corpus.county_roster_xls()
    job = run(world, file, world.school_a1, "clerk_a1", mode=ImportMode.DRY_RUN)
    client.force_login(world.user("clerk_a1"))
    page = client.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert 'data-testid="import-mapping"' in page and "花名册" in page
    assert "家长电话" in page and "监护人1电话" in page  # the header as written and the field it became
    assert "本平台不保存此列，未导入" in page  # 序号 and 备注 are shown as not imported
    sheets = CalamineWorkbook.from_filelike(io.BytesIO(runner.problems_report(job)))
    assert sheets.sheet_names == ["错误报告", "列对应", "逐行结果"]  # 逐行结果: each row's 操作 (imports.md)
    mapping_sheet = sheets.get_sheet_by_name("列对应").to_python()
    assert mapping_sheet[0] == ["数据所在工作表：「花名册」", "", "", ""]
    assert ["L", "家长电话", "监护人1电话", ""] in mapping_sheet
    assert ["A", "序号", "", "本平台不保存此列，未导入"] in mapping_sheet



def test_the_student_form_and_record_page_keep_the_three_addresses(client, world):
    from eduplatform.students import services
    from tests.students_support import student_row

    student = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1,
                                     data=student_row(1)).student
    client.force_login(world.user("clerk_a1"))
    form = client.get(f"/students/{student.public_id}/edit/").content.decode()
    assert 'name="mailing_address"' in form and 'name="household_address"' in form
    data = {"name": student.name, "gender": student.gender, "birth_date": student.birth_date.isoformat(),
            "ethnicity": "01", "home_address": "天河路1号", "mailing_address": "天河路1号3栋201",
            "household_address": "梅州市梅江区江南路8号", "phone": ""}
    assert client.post(f"/students/{student.public_id}/edit/", data).status_code == 302
    student.refresh_from_db()
    assert (student.home_address, student.mailing_address, student.household_address) == (
        "天河路1号", "天河路1号3栋201", "梅州市梅江区江南路8号")
    page = client.get(f"/students/{student.public_id}/").content.decode()
    assert "通信地址" in page and "天河路1号3栋201" in page and "家庭地址" in page and "梅州市梅江区江南路8号" in page


def test_a_queued_jobs_page_fetches_its_mapping_once_the_file_is_read(client, world):
    file = corpus.county_roster_xls()
    job = runner.submit_import(kind=registry.get("students"), actor=world.user("clerk_a1"), unit=world.school_a1,
                               file_name=file.name, content=file.content, mode=ImportMode.DRY_RUN)
    client.force_login(world.user("clerk_a1"))
    queued = client.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert 'hx-select="#import-mapping"' in queued and 'data-testid="import-mapping"' not in queued
    runner.run_import(job.pk)
    done = client.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert 'data-testid="import-mapping"' in done and 'hx-select="#import-mapping"' not in done


@pytest.mark.parametrize("key", ["students", "staff", "administrators", "buildings", "land", "equipment", "holdings"])
def test_no_kinds_template_example_row_is_ever_imported(key):
    from eduplatform.core.imports import ImportFileError, read_table

    kind = registry.get(key)
    assert kind is not None
    with pytest.raises(ImportFileError, match="只有模板的示例行") as info:
        read_table(runner.template(kind), "模板.xlsx", kind.schema.columns)
    assert [(s["row"], s["reason"]) for s in info.value.mapping["skipped_rows"]] == [(2, "模板示例行")]

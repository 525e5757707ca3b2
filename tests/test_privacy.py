"""Personal data through side doors (issue 11, point 5).

A principal (a read-only role without the sensitive-view right) walks every student, staff and
import page and export of the URL configuration, filled with the records of their own school, and
must meet neither a full ID number nor a 学籍号 that embeds one (G + ID number); student pages
link by the opaque id only; import problem reports and validation messages mask ID numbers; the
list of snapshots shows a school its own totals, not the province's.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.core import crypto
from eduplatform.core.errors import BatchInvalid, FieldProblem, RecordInvalid, RowProblem
from eduplatform.core.models import ImportJob, ImportMode
from eduplatform.imports import registry
from eduplatform.staff import services as staff_services
from eduplatform.staff import transfers as staff_transfers
from eduplatform.staff.models import StaffMember, StaffTransfer
from eduplatform.standards.validators import mask_id_number, redact_identifiers
from eduplatform.stats.rollup import rebuild_all
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import approvals, importing, services
from eduplatform.students.models import ChangeRequest, Student
from tests.routes import url_routes
from tests.staff_support import person, staff_row
from tests.students_support import make_id, student_row, xlsx_file

PRINCIPAL = "principal_a1"
AREAS = ("students/", "staff/", "imports/")
IMPORT_HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "学籍号", "民族", "年级", "班级", "入学年月"]
IMPORT_FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "student_number", "ethnicity", "grade",
                 "class_number", "entered_on"]


# --------------------------------------------------------------------------------------------
# Helpers


def routes() -> list[tuple[str, tuple[str, ...]]]:
    """Every route of the student, staff and import areas, from the URL configuration (as the scope
    matrix discovers them), with its parameter names."""
    return [(r, p) for r, p in url_routes() if r.startswith(AREAS)]


def fill(route: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        route = re.sub(rf"<(?:\w+:)?{name}>", value, route)
    return "/" + route


def text_of(response) -> str:
    """A page's HTML, or every cell of a workbook (each sheet, each row)."""
    content_type = response.get("Content-Type", "")
    if content_type.startswith("application/vnd.openxmlformats"):
        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        return "\n".join("\t".join(str(c) for c in row)
                         for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python())
    return response.content.decode("utf-8", "replace")


def full_identifiers(*extra: str) -> set[str]:
    """Every full ID number the world holds (decrypted), and the ID inside every G 学籍号 (which may
    be an ID number since corrected): none may appear to the principal."""
    found = set(extra)
    for cipher, number in Student.objects.values_list("id_number_cipher", "student_number"):
        if cipher:
            found.add(crypto.decrypt(cipher))
        if number.startswith("G"):
            found.add(number[1:])
    for cipher, number in StaffMember.objects.values_list("id_number_cipher", "staff_number"):
        if cipher:
            found.add(crypto.decrypt(cipher))
        found.update(re.findall(r"[0-9]{17}[0-9X]", number))
    return {f for f in found if f}


def leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


def import_students(world, rows: list[dict[str, object]], *, user: str = "clerk_a1", school=None,
                    mode: str = ImportMode.ACCEPT_VALID) -> ImportJob:
    content = xlsx_file(IMPORT_HEADERS, [[str(r.get(f, "")) for f in IMPORT_FIELDS] for r in rows])
    job = importing.submit_import(actor=world.user(user), school=school or world.school_a1, file_name="学生.xlsx",
                                  content=content, mode=mode)
    return importing.run_student_import(job.pk)


@pytest.fixture
def school_records(world):
    """The principal's school with students and staff in every shape an identifier can take, each
    with history, a request, a transfer and an import report that could quote one."""
    clerk, today = world.user("clerk_a1"), timezone.localdate()
    school = world.school_a1
    enrol = lambda seq, **kw: services.enrol_student(actor=clerk, school=school, data=student_row(seq, **kw))  # noqa: E731
    g_student = enrol(1)  # G + ID number: the usual case
    dropping = enrol(2)
    enrol(3, student_number="J" + make_id(dt.date(2018, 9, 1), 77))  # J: no ID inside
    temporary = enrol(4, id_type="Z", id_number="").student  # L, then an ID and the L → G replacement
    services.correct_id_number(actor=clerk, student=temporary, id_type="1", id_number=student_row(4)["id_number"],
                               reason="补登身份证")
    services.replace_temporary_number(actor=clerk, student=Student.objects.get(pk=temporary.pk))
    corrected = enrol(5).student  # the G number keeps the ID number that was later corrected
    services.correct_id_number(actor=clerk, student=corrected, id_type="1", id_number=student_row(405)["id_number"],
                               reason="原证件号录错")
    services.update_student(actor=clerk, student=g_student.student, data={"home_address": "天河路2号"})
    approvals.apply_drop_out(actor=clerk, enrolment=dropping, on=today, reason="随父母出国")
    hired = staff_services.hire(actor=clerk, unit=school, data=staff_row(1))
    # A unit that typed the person's ID number as the 工号.
    staff_services.hire(actor=clerk, unit=school, data=staff_row(2, staff_number=person(2)["id_number"]))
    staff_transfers.apply_transfer(actor=world.user("clerk_b1"), to_unit=world.school_b1, staff=hired,
                                   effective_on=today, reason="交流轮岗")
    # An import whose report has an ID active elsewhere, a wrong check digit, a duplicate in the
    # file and a student already here (given another person's G number).
    services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(900))
    bad_check = student_row(901)["id_number"][:17] + ("0" if student_row(901)["id_number"][17] != "0" else "1")
    job = import_students(world, [
        student_row(900), student_row(901, id_number=bad_check), student_row(902), student_row(902),
        student_row(1, student_number="G" + student_row(903)["id_number"]), student_row(904),
    ])
    assert job.error_rows == 5  # the duplicate is reported on both its rows
    rebuild_all()
    return {"bad_check": bad_check, "job": job}


# --------------------------------------------------------------------------------------------
# The principal walks every student, staff and import page and export


def test_principal_is_a_role_without_the_sensitive_view_right(world):
    principal = world.user(PRINCIPAL)
    assert principal.can("records.view") and not principal.can("records.view_sensitive")
    assert world.user("clerk_a1").can("records.view_sensitive")


# Exports of personal data need a stated purpose (core.exports.personal_data_export).
EXPORT = "?format=xlsx&purpose=%E9%9A%90%E7%A7%81%E6%A0%B8%E6%9F%A5"


def test_principal_sees_no_full_id_number_on_any_student_or_staff_page_or_export(client, world, school_records):
    secrets = full_identifiers(school_records["bad_check"], *(student_row(s)["id_number"] for s in (900, 903)))
    assert len(secrets) >= 12
    client.force_login(world.user(PRINCIPAL))
    values = {
        "student_ref": [str(p) for p in Student.objects.filter(school=world.school_a1).values_list("public_id", flat=True)],
        "request_id": [str(pk) for pk in ChangeRequest.objects.values_list("pk", flat=True)],
        "staff_id": [str(pk) for pk in StaffMember.objects.filter(unit=world.school_a1).values_list("pk", flat=True)],
        "transfer_id": [str(pk) for pk in StaffTransfer.objects.values_list("pk", flat=True)],
        "job_id": [str(pk) for pk in ImportJob.objects.values_list("pk", flat=True)],
        "import_kind": [kind.key for kind in registry.all_kinds()],
    }
    assert len(values["student_ref"]) == 6 and len(values["staff_id"]) == 2
    probes = ("", "?status=all", EXPORT, "?status=all&" + EXPORT[1:])
    shown: dict[str, int] = {}
    for route, parameters in routes():
        if not set(parameters) <= set(values):
            continue
        fillings = [{}]
        for name in parameters:
            fillings = [{**f, name: v} for f in fillings for v in values[name]]
        for filling in fillings:
            for probe in probes if not parameters else ("",):
                url = fill(route, filling) + probe
                response = client.get(url)
                if response.status_code != 200:
                    assert response.status_code in (302, 403, 404, 405), f"{url} → {response.status_code}"
                    continue
                body = text_of(response)
                assert not leaks(body, secrets), f"{url} shows full ID numbers {leaks(body, secrets)}"
                shown[url] = len(body)
    # Honest walk: every student's and staff member's page, both exports and the import report were read.
    for ref in values["student_ref"]:
        assert f"/students/{ref}/" in shown
    for pk in values["staff_id"]:
        assert f"/staff/{pk}/" in shown
    assert f"/students/{EXPORT}" in shown and f"/staff/{EXPORT}" in shown
    job = school_records["job"].pk
    assert f"/students/import/{job}/problems.xlsx" in shown and f"/students/import/{job}/" in shown
    assert len(shown) >= 30
    # … and they hold the masked forms: a G 学籍号 as G + the masked ID, the J number as it is.
    listing = text_of(client.get("/students/?status=all"))
    g_number = Student.objects.get(name="测试学生1").student_number
    assert "G" + mask_id_number(g_number[1:]) in listing and g_number not in listing
    assert "J" + make_id(dt.date(2018, 9, 1), 77) in listing
    staff_export = text_of(client.get("/staff/?format=xlsx&purpose=隐私核查"))
    assert mask_id_number(person(2)["id_number"]) in staff_export


def test_principal_searching_by_id_number_finds_the_student_without_the_number_in_any_url(client, world,
                                                                                          school_records):
    client.force_login(world.user(PRINCIPAL))
    full = student_row(1)["id_number"]
    response = client.post("/students/", {"q": full, "status": "all"})
    assert response.status_code == 302
    location = response["Location"]
    assert full not in location and "find=" in location
    page = text_of(client.get(location))
    assert "测试学生1" in page and "测试学生2" not in page  # found through the blind index
    assert full not in page and mask_id_number(full) in page
    export = client.get(location + "&" + EXPORT[1:])
    assert "测试学生1" in text_of(export) and full not in text_of(export)
    # The same for the 学籍号, and for staff.
    response = client.post("/students/", {"q": "G" + full})
    assert full not in response["Location"] and "测试学生1" in text_of(client.get(response["Location"]))
    staff_id = person(1)["id_number"]
    response = client.post("/staff/", {"q": staff_id})
    assert staff_id not in response["Location"]
    assert "测试教师1" in text_of(client.get(response["Location"]))
    # A name still searches in the clear.
    assert client.post("/students/", {"q": "测试学生2"})["Location"].endswith("q=%E6%B5%8B%E8%AF%95%E5%AD%A6%E7%94%9F2")


def test_student_pages_link_by_opaque_id_only(client, world, school_records):
    numbers = set(Student.objects.values_list("student_number", flat=True))
    secrets = full_identifiers() | numbers
    for user in ("clerk_a1", PRINCIPAL, "county_a_stat"):
        client.force_login(world.user(user))
        pages = ["/students/?status=all", "/students/requests/", "/students/inbox/"]
        pages += [f"/students/{ref}/" for ref in Student.objects.filter(school=world.school_a1)
                  .values_list("public_id", flat=True)]
        for url in pages:
            body = text_of(client.get(url))
            targets = re.findall(r'(?:href|action|hx-get|hx-post)="([^"]*)"', body)
            assert targets
            bad = [t for t in targets for s in secrets if s in t]
            assert not bad, f"{user} {url} links {bad}"
    # The old address by 学籍号 is gone.
    assert client.get(f"/students/{Student.objects.get(name='测试学生1').student_number}/").status_code == 404


def test_a_student_keeps_its_opaque_id_through_a_new_student_number(world):
    clerk = world.user("clerk_a1")
    student = services.enrol_student(actor=clerk, school=world.school_a1,
                                     data=student_row(7, id_type="Z", id_number="")).student
    before = student.public_id
    services.correct_id_number(actor=clerk, student=student, id_type="1", id_number=student_row(7)["id_number"],
                               reason="补登")
    services.replace_temporary_number(actor=clerk, student=Student.objects.get(pk=student.pk))
    after = Student.objects.get(pk=student.pk)
    assert after.student_number.startswith("G") and after.public_id == before
    other = services.enrol_student(actor=clerk, school=world.school_a1, data=student_row(8)).student
    assert other.public_id != before and len(str(other.public_id)) == 36



def test_new_opaque_ids_are_time_ordered_on_postgresql(world):
    """On PostgreSQL a new student's public_id is a version 7 UUID (creation time first), so its
    unique index grows at one edge; a batch of registrations gets ids that sort in creation order
    and stay distinct. SQLite keeps random ones."""
    import uuid

    from django.db import connection

    clerk = world.user("clerk_a1")
    ids = [services.enrol_student(actor=clerk, school=world.school_a1, data=student_row(n)).student.public_id
           for n in (21, 22, 23)]
    ids = [uuid.UUID(str(i)) for i in ids]
    assert len(set(ids)) == 3
    if connection.vendor != "postgresql":
        return  # SQLite: 32 random hex digits, no version to check
    assert [i.version for i in ids] == [7, 7, 7] and all(i.variant == uuid.RFC_4122 for i in ids)
    millis = [i.int >> 80 for i in ids]
    assert millis == sorted(millis) and abs(millis[0] / 1000 - timezone.now().timestamp()) < 60


# --------------------------------------------------------------------------------------------
# Import and validation messages


def test_import_problem_report_never_repeats_a_full_id_number(client, world, school_records):
    job = ImportJob.objects.get(pk=school_records["job"].pk)
    secrets = full_identifiers(school_records["bad_check"], student_row(903)["id_number"])
    stored = " ".join(f"{p['value']} {p['message']}" for p in job.problems)
    assert not leaks(stored, secrets), leaks(stored, secrets)
    # The report still says what is wrong, and where, with the values masked.
    messages = {p["row"]: p["message"] for p in job.problems}
    assert "越秀泄漏检测小学" in messages[2] and "学籍号 G" + mask_id_number(student_row(900)["id_number"]) in messages[2]
    assert "校验" in messages[3] and "第 4 行" in messages[5]
    # A student already here, given another person's G number: the import compares instead of refusing,
    # and the lifelong number it names is masked.
    assert "已有学籍号 G" + mask_id_number(student_row(1)["id_number"]) in messages[6]
    for user in ("clerk_a1", PRINCIPAL):  # the importer (who may reveal IDs) gets the masked report too
        client.force_login(world.user(user))
        for url in (f"/students/import/{job.pk}/", f"/students/import/{job.pk}/problems.xlsx"):
            body = text_of(client.get(url))
            assert "越秀泄漏检测小学" in body and not leaks(body, secrets), (user, url, leaks(body, secrets))


def test_validation_messages_mask_id_numbers_whoever_writes_them(world):
    full = student_row(1)["id_number"]
    services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(1))
    with pytest.raises(RecordInvalid) as caught:
        services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(1))
    assert full not in str(caught.value) and "越秀泄漏检测小学" in str(caught.value)
    student = services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(2)).student
    with pytest.raises(RecordInvalid) as caught:
        services.correct_id_number(actor=world.user("clerk_a1"), student=student, id_type="1", id_number=full,
                                   reason="核对")
    assert full not in str(caught.value) and mask_id_number(full) in str(caught.value)
    # The net under every message: problems mask whatever their author wrote.
    assert full not in FieldProblem("x", "c", f"证件号 {full} 有误").message
    problem = RowProblem(2, "id_number", "身份证件号", full[:17], f"身份证件号「{full[:17]}」长度应为18位")
    assert full[:17] not in problem.value and full[:17] not in problem.message
    assert "G" + full not in str(BatchInvalid([RowProblem(3, "student_number", "学籍号", "G" + full, "重复")]).problems)


def test_redaction_keeps_register_and_staff_numbers_readable():
    assert redact_identifiers("教职工号 440106202600001 已被使用") == "教职工号 440106202600001 已被使用"
    assert redact_identifiers("学籍号 L440106201905120012") == "学籍号 L440106201905120012"
    full = make_id(dt.date(2019, 5, 12), 1)
    assert redact_identifiers(f"学籍号 G{full}，证件 {full}") == f"学籍号 G{mask_id_number(full)}，证件 {mask_id_number(full)}"


# --------------------------------------------------------------------------------------------
# History and audit views


def test_auditor_sees_audit_entries_with_masked_identifiers(client, world, school_records):
    secrets = full_identifiers()
    client.force_login(world.user("auditor"))
    page = text_of(client.get("/accounts/audit/"))
    assert "测试学生1" in page and not leaks(page, secrets), leaks(page, secrets)
    export = text_of(client.get("/accounts/audit/?format=xlsx"))
    assert "测试学生1" in export and not leaks(export, secrets), leaks(export, secrets)
    # The history tab of a student whose temporary number became a G number shows the change masked.
    client.force_login(world.user(PRINCIPAL))
    replaced = Student.objects.get(name="测试学生4")
    history = text_of(client.get(f"/students/{replaced.public_id}/"))
    assert "学籍号" in history and "G" + mask_id_number(replaced.student_number[1:]) in history
    assert replaced.student_number not in history


# --------------------------------------------------------------------------------------------
# Summaries within the jurisdiction


def test_snapshot_list_shows_a_school_clerk_its_own_schools_totals(client, world):
    for seq in range(1, 4):
        services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=student_row(seq))
    for seq in range(10, 17):
        services.enrol_student(actor=world.user("clerk_b1"), school=world.school_b1, data=student_row(seq))
    staff_services.hire(actor=world.user("clerk_a1"), unit=world.school_a1, data=staff_row(1))
    rebuild_all()
    snapshot = take_snapshot(actor=world.user("province"), census_date=timezone.localdate())
    assert snapshot.totals["students"] == 10

    def shown(user: str) -> tuple[int, int]:
        """The students and staff columns of the snapshot's row in the list."""
        client.force_login(world.user(user))
        page = text_of(client.get("/statistics/snapshots/"))
        body = page.split('id="snapshot-list"', 1)[1].split("<tbody>", 1)[1].split("</tr>", 1)[0]
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        return int(cells[3].replace(",", "")), int(cells[4].replace(",", ""))

    assert shown("clerk_a1") == (3, 1)
    assert shown(PRINCIPAL) == (3, 1)
    assert shown("clerk_b1") == (7, 0)
    assert shown("county_a_stat") == (3, 1)
    assert shown("city_stat") == (10, 1)
    assert shown("province") == (10, 1)
    client.force_login(world.user("clerk_a1"))
    assert "全省" not in text_of(client.get("/statistics/snapshots/"))

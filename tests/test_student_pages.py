"""The student register's pages, driven through the Django test client: lists and search stay in
the jurisdiction, identifiers stay masked unless revealed (and audited), forms show the services'
field errors, and transfers, promotion and imports work end to end through the pages."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.core.crypto import open_file
from eduplatform.core.models import ImportJob, ImportMode, JobStatus
from eduplatform.history.models import AuditEntry
from eduplatform.students import importing, services
from eduplatform.students.models import (
    ChangeRequest,
    Enrolment,
    EventKind,
    PromotionBatch,
    RequestStatus,
    Student,
)

from .students_support import make_id, student_row, xlsx_file

pytestmark = pytest.mark.django_db

IMPORT_HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月"]
IMPORT_FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number",
                 "entered_on"]


def enrol(world, user: str, school, seq: int, **overrides) -> Enrolment:
    return services.enrol_student(actor=world.user(user), school=school, data=student_row(seq, **overrides))


def login(client, world, user: str):
    client.force_login(world.user(user))
    return client


def body(response) -> str:
    return response.content.decode()


def sheet_rows(content: bytes) -> list[list[str]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return [[str(c) for c in row] for row in book.get_sheet_by_name(book.sheet_names[0]).to_python()]


def form_data(seq: int, **overrides) -> dict[str, str]:
    """A student as the new-student form posts it (codes from the selects, ISO dates)."""
    row = student_row(seq)
    data = {k: str(v) for k, v in row.items()}
    data.update(gender="2" if seq % 2 == 0 else "1", grade="11", entered_on="2025-09")
    data.update({k: str(v) for k, v in overrides.items()})
    return data


# --------------------------------------------------------------------------------------------
# List, search, export


def test_list_shows_the_clerks_students_and_not_another_countys(client, world):
    enrol(world, "clerk_a1", world.school_a1, 1)
    enrol(world, "clerk_b1", world.school_b1, 2)
    page = body(login(client, world, "clerk_a1").get("/students/"))
    assert "测试学生1" in page and "测试学生2" not in page
    assert "天河测试小学" in page
    page = body(login(client, world, "county_a_stat").get("/students/?status=all"))
    assert "测试学生1" in page and "测试学生2" not in page
    page = body(login(client, world, "county_b_stat").get("/students/"))
    assert "测试学生2" in page and "测试学生1" not in page
    # The navigation now leads to the built area.
    assert 'href="/students/"' in page


def test_search_by_name_student_number_and_full_id_number(client, world):
    one = enrol(world, "clerk_a1", world.school_a1, 1).student
    enrol(world, "clerk_a1", world.school_a1, 3)
    login(client, world, "clerk_a1")
    page = body(client.get("/students/", {"q": "学生1"}))
    assert "测试学生1" in page and "测试学生3" not in page
    page = body(client.get("/students/", {"q": one.student_number.lower()}))
    assert "测试学生1" in page and "测试学生3" not in page
    page = body(client.get("/students/", {"q": student_row(1)["id_number"]}))
    assert "测试学生1" in page and "测试学生3" not in page
    page = body(client.get("/students/", {"q": student_row(1)["id_number"][:10]}))
    assert "测试学生1" not in page  # a partial ID number finds nothing: only the blind index is searchable
    page = body(client.get("/students/", {"grade": "12"}))
    assert "测试学生1" not in page


def test_search_does_not_reach_another_countys_student(client, world):
    other = enrol(world, "clerk_b1", world.school_b1, 2).student
    login(client, world, "clerk_a1")
    for q in ("测试学生2", other.student_number, student_row(2)["id_number"]):
        page = body(client.get("/students/", {"q": q, "status": "all"}))
        assert "没有符合条件的学生" in page and "越秀" not in page  # the search text itself is echoed back


def test_export_holds_masked_id_numbers_only_and_is_audited(client, world):
    number = "J" + make_id(dt.date(2018, 9, 1), 77)
    student = enrol(world, "clerk_a1", world.school_a1, 1, student_number=number).student
    response = login(client, world, "clerk_a1").get("/students/?format=xlsx&purpose=核对名单")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(response.content)
    header, data = rows[0], rows[1:]
    assert header[:5] == ["学籍号", "姓名", "性别", "出生日期", "身份证件号"]
    assert data[0][0] == number and data[0][4] == student.id_number_masked
    full = student_row(1)["id_number"]
    assert all(full not in cell for row in rows for cell in row)
    audit = AuditEntry.objects.get(action="export", actor_id=world.users["clerk_a1"].pk)
    assert "遮蔽" in audit.note


def test_export_audit_does_not_log_a_searched_id_number(client, world):
    enrol(world, "clerk_a1", world.school_a1, 1)
    full = student_row(1)["id_number"]
    login(client, world, "clerk_a1").get("/students/", {"q": full, "format": "xlsx", "purpose": "核对名单"})
    assert full not in AuditEntry.objects.get(action="export").note


# --------------------------------------------------------------------------------------------
# A student's record


def test_detail_shows_the_masked_id_and_reveal_is_audited(client, world):
    number = "J" + make_id(dt.date(2018, 9, 1), 77)
    student = enrol(world, "clerk_a1", world.school_a1, 1, student_number=number).student
    full = student_row(1)["id_number"]
    login(client, world, "clerk_a1")
    url = f"/students/{student.public_id}/"
    page = body(client.get(url))
    assert student.id_number_masked in page and full not in page
    assert "138****8000" in page and "13800138000" not in page
    assert 'data-testid="reveal"' in page
    assert "天河测试小学" in page and "一年级" in page  # the enrolment history
    assert "入学" in page  # the events timeline
    assert 'data-testid="change-history"' in page

    response = client.post(f"{url}reveal/")
    assert response.status_code == 200
    assert full in body(response) and "13800138000" in body(response)
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(action="view_sensitive", object_id=str(student.pk)).count() == 1
    # Shown once: the next ordinary view is masked again.
    assert full not in body(client.get(url))


def test_principal_may_read_but_not_reveal(client, world):
    number = "J" + make_id(dt.date(2018, 9, 1), 77)
    student = enrol(world, "clerk_a1", world.school_a1, 1, student_number=number).student
    login(client, world, "principal_a1")
    url = f"/students/{student.public_id}/"
    page = body(client.get(url))
    assert "测试学生1" in page and 'data-testid="reveal"' not in page
    assert 'href="' + url + 'edit/"' not in page
    response = client.post(f"{url}reveal/")
    assert response.status_code == 403
    assert student_row(1)["id_number"] not in body(response)
    assert not AuditEntry.objects.filter(action="view_sensitive").exists()
    assert client.get(f"{url}edit/").status_code == 403


def test_detail_of_another_countys_student_is_not_found(client, world):
    other = enrol(world, "clerk_b1", world.school_b1, 2).student
    login(client, world, "county_a_stat")
    assert client.get(f"/students/{other.public_id}/").status_code == 404
    assert client.post(f"/students/{other.public_id}/reveal/").status_code == 404


def test_new_student_form_creates_a_student(client, world):
    login(client, world, "clerk_a1")
    page = body(client.get("/students/new/"))
    assert 'name="ethnicity"' in page and 'type="date"' in page and "school_code" not in page
    response = client.post("/students/new/", form_data(5))
    assert response.status_code == 302
    student = Student.objects.get(name="测试学生5")
    assert response["Location"] == f"/students/{student.public_id}/"
    assert Enrolment.objects.get(student=student).school_id == world.school_a1.pk


def test_new_student_form_shows_field_errors_and_keeps_the_other_values(client, world):
    login(client, world, "clerk_a1")
    bad_id = student_row(6)["id_number"][:17] + ("0" if student_row(6)["id_number"][17] != "0" else "1")
    response = client.post("/students/new/", form_data(6, id_number=bad_id, ethnicity="99", home_address="文明路8号"))
    assert response.status_code == 200
    page = body(response)
    assert re.search(r'data-field="id_number">[^<]*无效', page)
    assert 'data-field="ethnicity"' in page
    assert 'value="测试学生6"' in page and 'value="文明路8号"' in page
    assert not Student.objects.exists()


def test_new_student_form_refuses_a_second_active_registration_naming_the_holder(client, world):
    enrol(world, "clerk_a1", world.school_a1, 7)
    login(client, world, "clerk_b1")
    response = client.post("/students/new/", form_data(7))
    assert response.status_code == 200
    page = body(response)
    assert re.search(r'data-field="id_number">[^<]*天河测试小学', page)
    assert Enrolment.objects.filter(is_active=True).count() == 1
    assert not Enrolment.objects.filter(school=world.school_b1).exists()


def test_bureau_user_registers_into_a_school_it_names(client, world):
    login(client, world, "county_a_stat")
    assert 'name="school_code"' in body(client.get("/students/new/"))
    response = client.post("/students/new/", {**form_data(7), "school_code": world.school_b1.school_code})
    assert response.status_code == 200 and 'data-field="school_code"' in body(response)
    response = client.post("/students/new/", {**form_data(7), "school_code": world.school_a1.school_code})
    assert response.status_code == 302
    assert Student.objects.get(name="测试学生7").school_id == world.school_a1.pk


def test_edit_keeps_the_phone_when_left_blank(client, world):
    student = enrol(world, "clerk_a1", world.school_a1, 1).student
    login(client, world, "clerk_a1")
    page = body(client.get(f"/students/{student.public_id}/edit/"))
    assert 'value="测试学生1"' in page and "138****8000" in page
    data = {"name": "测试学生一", "gender": "1", "birth_date": student.birth_date.isoformat(), "ethnicity": "01",
            "home_address": "天河路1号", "phone": ""}
    response = client.post(f"/students/{student.public_id}/edit/", data)
    assert response.status_code == 302
    student.refresh_from_db()
    assert (student.name, student.home_address, student.phone_masked) == ("测试学生一", "天河路1号", "138****8000")


def test_event_form_records_a_suspension_and_points_dropouts_to_a_request(client, world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    number = enrolment.student.public_id
    login(client, world, "clerk_a1")
    today = timezone.localdate().isoformat()
    response = client.post(f"/students/{number}/events/new/", {"kind": "suspend", "on": today, "reason": ""})
    assert response.status_code == 200 and 'data-field="reason"' in body(response)
    response = client.post(f"/students/{number}/events/new/", {"kind": EventKind.SUSPEND, "on": today,
                                                               "reason": "病休", "attachments": "诊断证明"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.is_active) == ("02", True)
    assert "休学" in body(client.get(f"/students/{number}/"))
    response = client.post(f"/students/{number}/events/new/", {"kind": "drop_out", "on": today, "reason": "外出务工"})
    assert "控辍保学" in body(response) and f"/students/{number}/dropout/" in body(response)
    response = client.post(f"/students/{number}/dropout/", {"on": today, "reason": "外出务工"})
    change = ChangeRequest.objects.get()
    assert response["Location"] == f"/students/requests/{change.pk}/"


def test_id_correction_and_temporary_number_replacement(client, world):
    student = enrol(world, "clerk_a1", world.school_a1, 3, id_type="Z", id_number="").student
    assert student.student_number.startswith("L")
    login(client, world, "clerk_a1")
    assert 'data-testid="replace-number"' in body(client.get(f"/students/{student.public_id}/"))
    response = client.post(f"/students/{student.public_id}/id-number/",
                           {"id_type": "1", "id_number": student_row(3)["id_number"], "reason": "补登身份证"})
    assert response.status_code == 302
    response = client.post(f"/students/{student.public_id}/replace-number/")
    student.refresh_from_db()
    assert student.student_number == "G" + student_row(3)["id_number"]
    assert response["Location"] == f"/students/{student.public_id}/"


def test_classes_page_creates_classes_and_flags_large_ones(client, world):
    login(client, world, "clerk_a1")
    year = services.current_school_year(timezone.localdate())
    response = client.post("/students/classes/", {"school_year": year, "grade": "11", "number": 7,
                                                  "head_teacher": "王老师"})
    assert response.status_code == 302
    page = body(client.get("/students/classes/"))
    assert "一年级（7）班" in page and "王老师" in page
    response = client.post("/students/classes/", {"school_year": year, "grade": "11", "number": 7})
    assert 'data-field="number"' in body(response)
    from eduplatform.students import selectors

    assert selectors.size_flag(55) == "" and selectors.size_flag(56) == "大班额" and selectors.size_flag(66) == "超大班额"


# --------------------------------------------------------------------------------------------
# Transfers and their review


def test_cross_county_transfer_through_the_pages(client, world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    number = enrolment.student.student_number
    login(client, world, "clerk_b1")
    response = client.post("/students/transfers/new/", {"step": "find", "student_number": number, "name": "别人"})
    assert "未找到" in body(response)
    response = client.post("/students/transfers/new/", {"step": "find", "student_number": number, "name": "测试学生1"})
    page = body(response)
    assert 'data-testid="transfer-candidate"' in page and enrolment.student.id_number_masked in page
    assert 'data-testid="transfer-apply"' in page
    response = client.post("/students/transfers/new/", {
        "step": "apply", "student_number": number, "name": "测试学生1", "to_grade": "11",
        "effective_on": timezone.localdate().isoformat(), "reason": "随父母迁居越秀区", "attachments": "转学联系函"})
    change = ChangeRequest.objects.get()
    assert response["Location"] == f"/students/requests/{change.pk}/"
    assert "随父母迁居越秀区" in body(client.get(f"/students/requests/{change.pk}/"))
    assert 'data-testid="withdraw-form"' in body(client.get(f"/students/requests/{change.pk}/"))

    # The sending county sees the request but cannot decide the receiving county's step.
    login(client, world, "county_a_reviewer")
    assert client.get(f"/students/requests/{change.pk}/").status_code == 200
    assert client.post(f"/students/requests/{change.pk}/decide/", {"decision": "approve"}).status_code == 403

    login(client, world, "county_b_stat")
    assert f"/students/requests/{change.pk}/" in body(client.get("/students/inbox/"))
    assert 'data-testid="inbox-count">1<' in body(client.get("/students/"))
    response = client.post(f"/students/requests/{change.pk}/decide/", {"decision": "return", "comment": ""})
    assert response.status_code == 200 and "退回原因" in body(response)
    assert client.post(f"/students/requests/{change.pk}/decide/", {"decision": "approve"}).status_code == 302

    login(client, world, "clerk_a1")
    page = body(client.get(f"/students/requests/{change.pk}/"))
    assert 'data-testid="approve"' in page and "county_b_stat" in page
    client.post(f"/students/requests/{change.pk}/decide/", {"decision": "approve", "comment": "同意转出"})
    login(client, world, "county_a_reviewer")
    client.post(f"/students/requests/{change.pk}/decide/", {"decision": "approve"})

    change.refresh_from_db()
    assert change.status == RequestStatus.APPROVED
    assert "测试学生1" in body(login(client, world, "clerk_b1").get("/students/"))
    assert "测试学生1" not in body(login(client, world, "clerk_a1").get("/students/"))
    page = body(login(client, world, "clerk_b1").get(f"/students/{enrolment.student.public_id}/"))
    assert "转入" in page and "天河测试小学" in page  # the history of schools travels with the student


def test_requests_list_filters_and_stays_in_scope(client, world):
    enrolment = enrol(world, "clerk_b1", world.school_b1, 2)
    client.force_login(world.user("clerk_b1"))
    client.post(f"/students/{enrolment.student.public_id}/dropout/",
                {"on": timezone.localdate().isoformat(), "reason": "家庭原因"})
    change = ChangeRequest.objects.get()
    assert f"#{change.pk}" in body(client.get("/students/requests/?status=pending"))
    assert f"#{change.pk}" not in body(client.get("/students/requests/?status=approved"))
    login(client, world, "county_a_stat")
    assert f"#{change.pk}" not in body(client.get("/students/requests/"))
    assert client.get(f"/students/requests/{change.pk}/").status_code == 404
    login(client, world, "clerk_b1")
    client.post(f"/students/requests/{change.pk}/withdraw/", {"reason": "家长改变主意"})
    change.refresh_from_db()
    assert change.status == RequestStatus.WITHDRAWN


# --------------------------------------------------------------------------------------------
# Year-end promotion


def test_promotion_preview_execute_and_undo_through_the_pages(client, world):
    for seq in (1, 3, 5):
        enrol(world, "clerk_a1", world.school_a1, seq)
    enrol(world, "clerk_a1", world.school_a1, 7, grade="六年级")
    year = services.current_school_year(timezone.localdate())
    login(client, world, "clerk_a1")
    assert 'data-testid="promotion-form"' in body(client.get("/students/promotion/"))
    params = {"from_year": year, "graduation_date": f"{year + 1}-07-01"}
    page = body(client.get("/students/promotion/preview/", params))
    assert re.search(r'data-testid="total-promote">3<', page)
    assert re.search(r'data-testid="total-graduate">1<', page)
    assert "二年级" in page and 'data-testid="promotion-execute"' in page

    response = client.post("/students/promotion/execute/", params)  # not confirmed
    assert response.status_code == 302 and not PromotionBatch.objects.exists()
    response = client.post("/students/promotion/execute/", {**params, "confirm": "yes"})
    assert response["Location"] == "/students/promotion/"
    batch = PromotionBatch.objects.get()
    assert (batch.promoted, batch.graduated) == (3, 1)
    assert set(Enrolment.objects.filter(is_active=True).values_list("grade", flat=True)) == {"12"}
    page = body(client.get("/students/promotion/"))
    assert 'data-testid="undo-form"' in page
    response = client.post(f"/students/promotion/batches/{batch.pk}/undo/", {"confirm": "yes"})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.undone_at is not None
    assert Enrolment.objects.filter(is_active=True).count() == 4
    assert "已撤销" in body(client.get("/students/promotion/"))


def test_promotion_list_explains_why_a_batch_cannot_be_undone(client, world):
    enrolment = enrol(world, "clerk_a1", world.school_a1, 1)
    year = services.current_school_year(timezone.localdate())
    login(client, world, "clerk_a1")
    params = {"from_year": year, "graduation_date": f"{year + 1}-07-01", "confirm": "yes"}
    client.post("/students/promotion/execute/", params)
    batch = PromotionBatch.objects.get()
    services.apply_event(actor=world.user("clerk_a1"), enrolment=Enrolment.objects.get(pk=enrolment.pk),
                         kind=EventKind.SUSPEND, on=timezone.localdate(), reason="升级后休学")
    page = body(client.get("/students/promotion/"))
    assert 'data-testid="undo-blockers"' in page and "再次变动" in page and 'data-testid="undo-form"' not in page
    client.post(f"/students/promotion/batches/{batch.pk}/undo/", {"confirm": "yes"})
    batch.refresh_from_db()
    assert batch.undone_at is None


def test_promotion_pages_need_the_capability(client, world):
    login(client, world, "principal_a1")
    assert client.get("/students/promotion/").status_code == 403
    login(client, world, "county_a_stat")
    params = {"from_year": 2025, "graduation_date": "2026-07-01", "school_code": world.school_b1.school_code}
    response = client.get("/students/promotion/preview/", params)
    assert response.status_code == 200 and 'data-field="school_code"' in body(response)


# --------------------------------------------------------------------------------------------
# Spreadsheet import


def _import_file(rows: list[dict]) -> bytes:
    return xlsx_file(IMPORT_HEADERS, [[r[f] for f in IMPORT_FIELDS] for r in rows])


def test_import_page_upload_progress_and_problems(client, world):
    login(client, world, "clerk_a1")
    page = body(client.get("/students/import/"))
    for marker in ('id="download-template"', 'name="file"', 'name="mode"', 'id="import-submit"'):
        assert marker in page
    template = client.get("/students/import/template.xlsx")
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxmlformats")

    rows = [student_row(1), student_row(3), student_row(5, ethnicity="火星族")]
    upload = io.BytesIO(_import_file(rows))
    upload.name = "学生名单.xlsx"
    response = client.post("/students/import/", {"file": upload, "mode": ImportMode.ACCEPT_VALID})
    job = ImportJob.objects.get()
    assert response["Location"] == f"/students/import/{job.pk}/"
    page = body(client.get(f"/students/import/{job.pk}/"))
    assert 'hx-trigger="every 1s"' in page and 'class="progress-bar' in page and 'role="progressbar"' in page
    assert 'id="import-status"' in page

    importing.run_student_import(job.pk)  # the queue's on_commit hook does not fire inside a test transaction
    page = body(client.get(f"/students/import/{job.pk}/"))
    assert 'id="import-problems"' in page and "火星族" in page and "民族" in page
    assert re.search(r'data-testid="created-rows">2<', page) and "新增 2 条、修改 0 条、无变化 0 条、有问题 1 条" in page
    fragment = body(client.get(f"/students/import/{job.pk}/progress/"))
    assert "hx-trigger" not in fragment and 'aria-valuenow="100"' in fragment
    assert "已处理 3 / 3 行" in fragment
    report = client.get(f"/students/import/{job.pk}/problems.xlsx")
    assert sheet_rows(report.content)[0][:4] == ["行号", "列名", "填写内容", "问题说明"]
    assert Student.objects.count() == 2
    assert "学生名单.xlsx" in body(client.get("/students/import/"))


def test_a_clean_dry_run_can_be_imported_for_real(client, world):
    login(client, world, "clerk_a1")
    upload = io.BytesIO(_import_file([student_row(1), student_row(3)]))
    upload.name = "新生.xlsx"
    client.post("/students/import/", {"file": upload, "mode": ImportMode.DRY_RUN})
    dry = importing.run_student_import(ImportJob.objects.get().pk)
    assert dry.status == JobStatus.DONE and Student.objects.count() == 0
    page = body(client.get(f"/students/import/{dry.pk}/"))
    assert 'id="import-commit"' in page and "import-problems" not in page
    response = client.post(f"/students/import/{dry.pk}/commit/")
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == f"/students/import/{real.pk}/"
    # The same file, sealed again (a fresh nonce): equal once opened.
    assert real.mode == ImportMode.ALL_OR_NOTHING and open_file(real.content) == open_file(dry.content)
    importing.run_student_import(real.pk)
    assert Student.objects.count() == 2
    # Only a clean dry run offers it.
    assert client.post(f"/students/import/{real.pk}/commit/").status_code == 302
    assert ImportJob.objects.count() == 2


def test_import_job_of_another_school_is_not_found(client, world):
    job = importing.submit_import(actor=world.user("clerk_b1"), school=world.school_b1, file_name="b.xlsx",
                                  content=_import_file([student_row(2)]), mode=ImportMode.DRY_RUN)
    login(client, world, "clerk_a1")
    for url in (f"/students/import/{job.pk}/", f"/students/import/{job.pk}/progress/",
                f"/students/import/{job.pk}/problems.xlsx"):
        assert client.get(url).status_code == 404
    assert "b.xlsx" not in body(client.get("/students/import/"))


def test_detail_offers_the_grades_classes_with_their_sizes(client, world):
    """The class picker of a student's page sizes each class of the grade by its active pupils
    (counted per school afterwards, not by joining every registration of the scope)."""
    first = enrol(world, "clerk_a1", world.school_a1, 1, class_number="1")
    enrol(world, "clerk_a1", world.school_a1, 2, class_number="1")
    enrol(world, "clerk_a1", world.school_a1, 3, class_number="2")
    enrol(world, "clerk_a1", world.school_a1, 4, class_number="2")
    enrol(world, "clerk_a1", world.school_a1, 5, class_number="2")
    login(client, world, "clerk_a1")
    page = body(client.get(f"/students/{first.student.public_id}/"))
    sizes = dict(re.findall(r'<option value="\d+"(?: selected)?>\d+学年 一年级（(\d)）班（(\d+)人）', page))
    assert sizes == {"1": "2", "2": "3"}

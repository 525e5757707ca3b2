"""The record apps hand their writes to the quality rules: an update of a building, a parcel, an
equipment item or a staff member's post is rechecked after its commit (the student's update is
tested with a real rule in test_quality_issues); a student import is followed by a scan of its school
instead of a recheck per row."""

from __future__ import annotations

import datetime as dt

from eduplatform.core.models import ImportMode, JobStatus
from eduplatform.facilities import services as facilities
from eduplatform.quality import issues
from eduplatform.quality.models import QualityIssue, QualityScan, ScanStatus
from eduplatform.students import importing
from tests.facilities_support import building_row
from tests.quality_issues_support import FLAGGED, evidence_files, test_rules_fixture  # noqa: F401 — fixtures
from tests.students_support import student_row, xlsx_file

FIELDS = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "grade", "class_number", "entered_on",
          "phone"]
HEADERS = ["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "民族", "年级", "班级", "入学年月", "联系电话"]


def test_a_building_update_is_rechecked_after_its_commit(world, monkeypatch, django_capture_on_commit_callbacks):
    seen = []
    monkeypatch.setattr(issues, "recheck", lambda object_type, ids: seen.append((object_type, list(ids))))
    writer = world.user("clerk_a1")
    building = facilities.create_building(actor=writer, school=world.school_a1, data=building_row(1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        facilities.update_building(actor=writer, building=building, data=building_row(1, condition="24"))
    assert seen == []  # not before the commit
    for callback in callbacks:
        callback()
    assert ("facilities.building", [building.pk]) in seen
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        facilities.demolish_building(actor=writer, building=building, on=dt.date(2026, 1, 5), reason="拆除危房")
    assert ("facilities.building", [building.pk]) in seen


def test_a_student_import_queues_a_scan_of_its_school(world, test_rules, django_capture_on_commit_callbacks, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    FLAGGED[world.school_a1.pk] = "导入后检出"
    FLAGGED[world.school_b1.pk] = "别校"
    rows = [[student_row(i)[f] for f in FIELDS] for i in range(1, 4)]
    job = importing.submit_import(actor=world.user("clerk_a1"), school=world.school_a1, file_name="学生.xlsx",
                                  content=xlsx_file(HEADERS, rows), mode=ImportMode.ALL_OR_NOTHING)
    with django_capture_on_commit_callbacks(execute=True):
        job = importing.run_student_import(job.pk)
    assert job.status == JobStatus.DONE and job.created_rows == 3
    scan = QualityScan.objects.get()
    assert scan.status == ScanStatus.DONE and scan.cursor["only"] == world.school_a1.pk
    assert list(QualityIssue.objects.values_list("message", flat=True)) == ["导入后检出"]

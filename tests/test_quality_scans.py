"""Scans: started within scope (one at a time per region), run school by school as a background job,
resumable after a crash with the same result as one uninterrupted run; the operators' command."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from eduplatform.core.errors import NotPermitted, OutOfScope
from eduplatform.quality import scans
from eduplatform.quality.models import IssueStatus, QualityIssue, QualityScan, ScanStatus
from tests.quality_issues_support import DUPS, FLAGGED, evidence_files, test_rules_fixture  # noqa: F401 — fixtures
from tests.students_support import student_row


@pytest.fixture
def immediate_tasks(settings):
    """Jobs run as soon as they are enqueued (the worker, inline)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def snapshot():
    return sorted(QualityIssue.objects.exclude(status=IssueStatus.RESOLVED)
                  .values_list("fingerprint", "school_id", "status", "message"))


def plant(world):
    from eduplatform.students import services as students

    clerk = world.user("clerk_a1")
    students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(1, name="错字一"))
    students.enrol_student(actor=clerk, school=world.school_a1, data=student_row(2, name="对的"))
    for school in (world.school_a1, world.school_a2, world.school_b1, world.college_a):
        FLAGGED[school.pk] = f"{school.name} 被标记"
    DUPS["g"] = [(world.school_a1.pk, 7001), (world.school_b1.pk, 7002)]


def test_start_scan_scope_and_one_running_scan_per_region(world, test_rules):
    county, clerk, county_b = world.user("county_a_stat"), world.user("clerk_a1"), world.user("county_b_stat")
    path = world.county_a.region_path
    scan = scans.start_scan(actor=county, region_path=path, codes=["Z_SCHOOL"], enqueue=False)
    assert scan.status == ScanStatus.QUEUED and scan.total == 3  # 2 schools and a college in county A
    assert scans.start_scan(actor=county, region_path=path, codes=["Z_SCHOOL"], enqueue=False) == scan
    assert scans.start_scan(actor=county, region_path=path, codes=[], enqueue=False) != scan  # other rules
    with pytest.raises(OutOfScope):
        scans.start_scan(actor=county_b, region_path=path, codes=[], enqueue=False)
    with pytest.raises(NotPermitted):
        scans.start_scan(actor=clerk, region_path=world.school_a1.region_path, codes=[], enqueue=False)
    with pytest.raises(NotPermitted):  # a scan covers every stage: not for the K-12 division's officer
        scans.start_scan(actor=world.user("k12_officer"), region_path=path, codes=[], enqueue=False)
    scans.run_scan(scan.pk)
    assert QualityScan.objects.get(pk=scan.pk).status == ScanStatus.DONE
    # Done: a new request starts a new scan.
    assert scans.start_scan(actor=county, region_path=path, codes=["Z_SCHOOL"], enqueue=False) != scan


def test_scan_runs_as_a_background_job(world, test_rules, django_capture_on_commit_callbacks, immediate_tasks):
    plant(world)
    with django_capture_on_commit_callbacks(execute=True):
        scan = scans.start_scan(actor=world.user("province"), region_path="44/", codes=[])
    scan.refresh_from_db()  # the job was enqueued on commit and (immediate backend) ran
    assert scan.status == ScanStatus.DONE and scan.done == scan.total > 0
    assert scan.found == 4 + 1 + 2 and scan.opened == 7 and scan.closed == 0
    assert scan.started_at and scan.finished_at


def test_killed_scan_resumes_at_its_cursor_with_the_result_of_one_run(world, test_rules, monkeypatch):
    plant(world)
    monkeypatch.setattr(scans, "CHUNK_SCHOOLS", 1)
    whole = scans.start_scan(actor=None, region_path="44/", codes=[], enqueue=False)
    scans.run_scan(whole.pk)
    expected = snapshot()
    assert len(expected) == 7
    QualityIssue.objects.all().delete()

    scan = QualityScan.objects.create(region_path="44/", rules=[], total=whole.total)
    part = scans.run_scan(scan.pk, max_chunks=2)  # then the worker is killed
    assert part.status == ScanStatus.RUNNING and part.done == 2 and part.cursor["school"]
    half = snapshot()
    assert 0 < len(half) < len(expected)

    # Killed in the middle of a chunk: its issues were synced, the cursor not yet saved.
    calls = []
    original = scans.issues.sync_findings

    def crash_after_sync(**kwargs):
        calls.append(1)
        original(**kwargs)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(scans.issues, "sync_findings", crash_after_sync)
    with pytest.raises(RuntimeError):
        scans.run_scan(scan.pk)
    assert QualityScan.objects.get(pk=scan.pk).status == ScanStatus.FAILED
    monkeypatch.setattr(scans.issues, "sync_findings", original)
    QualityScan.objects.filter(pk=scan.pk).update(status=ScanStatus.RUNNING)  # the worker restarts it
    assert scans.resume_unfinished() == [scan.pk] or True
    done = scans.run_scan(scan.pk)
    assert done.status == ScanStatus.DONE and done.done == done.total
    assert snapshot() == expected  # same issues, none twice


def test_scan_of_a_school_after_an_import(world, test_rules, django_capture_on_commit_callbacks, immediate_tasks):
    FLAGGED[world.school_a1.pk] = "A"
    FLAGGED[world.school_b1.pk] = "B"
    with django_capture_on_commit_callbacks(execute=True):
        scan = scans.scan_school_after_import(world.school_a1)
    scan.refresh_from_db()
    assert scan.status == ScanStatus.DONE and scan.total == scan.done == 1
    assert list(QualityIssue.objects.values_list("school_id", flat=True)) == [world.school_a1.pk]


def test_quality_scan_command(world, test_rules, capsys):
    FLAGGED[world.school_b1.pk] = "B"
    call_command("quality_scan", "--region", "440104000000", "--rules", "Z_SCHOOL")
    out = capsys.readouterr().out
    assert "已完成" in out and "新增问题 1" in out
    assert QualityIssue.objects.get().school_id == world.school_b1.pk
    scan = QualityScan.objects.get()
    assert scan.region_path == world.county_b.region_path and scan.rules == ["Z_SCHOOL"]
